"""One resource in one namespace (or all): list, then watch from the list's resourceVersion, for ever.

Bookmarks move the resourceVersion on; a watch the server ends (timeoutSeconds) or that went quiet for the
inactivity timeout is re-opened from the last resourceVersion; 410 Gone means a relist; other errors are
retried after a jittered backoff."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from jangar.reconciler.backoff import Backoff
from jangar.reconciler.buffer import Entry, SnapshotBuffer
from jangar.reconciler.config import Config
from jangar.reconciler.kube import Kube, KubeError, WatchStream
from jangar.reconciler.metrics import Metrics
from jangar.reconciler.resources import Resource
from jangar.v1 import reconciler_pb2

log = logging.getLogger("jangar.reconciler.watch")

# A watch event line as API servers write it: {"type":"...","object":{...}}; the object's bytes are then
# sliced out of the line rather than encoded again.
_EVENT_PREFIX = re.compile(rb'\s*\{\s*"type"\s*:\s*"[A-Z]+"\s*,\s*"object"\s*:\s*')


class Expired(Exception):
    """410 Gone: the resourceVersion is older than the API server's window."""


@dataclass
class _RelistRequest:
    namespace: str
    reason: str


class ResourceWatcher:
    def __init__(
        self,
        kube: Kube,
        resource: Resource,
        namespace: str,
        buffer: SnapshotBuffer,
        metrics: Metrics,
        config: Config,
    ) -> None:
        self.resource = resource
        self.namespace = namespace  # "" for every namespace
        self._kube = kube
        self._buffer = buffer
        self._metrics = metrics
        self._config = config
        self._requests: list[_RelistRequest] = []
        self._current: WatchStream | None = None  # closed to interrupt the watch
        self._interrupted = False
        self.resource_version: str | None = None
        # Namespaces listed alone while the cluster-wide watch went on, with their list's resourceVersion:
        # until the watch passes it, its events there replay what the list already sent.
        self._covered: dict[str, int] = {}

    def request_relist(self, reason: str, namespace: str = "") -> None:
        """Relist (all of this watcher's scope, or one namespace of a cluster-wide watch) as soon as possible:
        the open watch is interrupted."""
        self._requests.append(_RelistRequest(namespace, reason))
        self._interrupted = True
        if self._current is not None:
            self._current.close()

    async def run(self) -> None:
        backoff = Backoff(cap=self._config.reconnect_backoff_max_seconds)
        resync = (
            asyncio.get_running_loop().create_task(self._resync()) if self._config.resync_seconds else None
        )
        reason = "initial"
        try:
            while True:
                try:
                    if self.resource_version is None:
                        self._requests.clear()
                        self._covered.clear()
                        self.resource_version = await self._list(self.namespace, reason)
                    await self._serve_requests()
                    await self._watch()
                    backoff.reset()
                except Expired:
                    reason = "expired"
                    self.resource_version = None
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    delay = backoff.next()
                    log.warning(
                        "watch failed",
                        extra={
                            **self._where(),
                            "error": str(error) or type(error).__name__,
                            "retry_in": delay,
                        },
                    )
                    reason = "error"
                    await asyncio.sleep(delay)
        finally:
            if resync is not None:
                resync.cancel()

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(self._config.resync_seconds)
            self.request_relist("resync")

    async def _serve_requests(self) -> None:
        while self._requests:
            request = self._requests.pop(0)
            if request.namespace and request.namespace != self.namespace:
                # One namespace of a cluster-wide watch: list it alone, then resume the watch where it was.
                # The watch then replays that namespace's events up to the list, older than what the list
                # sent: they are left out (deletions excepted: the list cannot show what is gone).
                listed = await self._list(request.namespace, request.reason)
                if listed.isdigit():
                    self._covered[request.namespace] = int(listed)
            else:
                self._requests.clear()
                self.resource_version = await self._list(self.namespace, request.reason)
                self._covered.clear()
        self._interrupted = False

    def _where(self, namespace: str | None = None) -> dict[str, str]:
        return {"kind": self.resource.kind, "namespace": self.namespace if namespace is None else namespace}

    async def _list(self, namespace: str, reason: str) -> str:
        """Sends every object and a ListCompleted marker; returns the list's resourceVersion."""
        resource = self.resource
        self._metrics.relists.labels(resource.kind, reason).inc()
        names: list[str] = []
        token = ""
        resource_version = ""
        while True:
            query = {"limit": str(self._config.list_page_size)}
            if resource.label_selector:
                query["labelSelector"] = resource.label_selector
            if token:
                query["continue"] = token
            try:
                page = await self._kube.request("GET", resource.path(namespace), query)
            except KubeError as error:
                if error.code == 410 and token:
                    # The continue token expired mid-list: start over for one consistent snapshot.
                    names.clear()
                    token = ""
                    continue
                raise
            observed = time.time()
            for item in page.get("items") or []:
                # Items of built-in kinds come without kind/apiVersion (kubernetes/kubernetes#3030).
                item.setdefault("apiVersion", resource.api_version)
                item.setdefault("kind", resource.kind)
                metadata = item.get("metadata") or {}
                names.append(f"{metadata.get('namespace', '')}/{metadata.get('name', '')}")
                metadata.pop("managedFields", None)
                encoded = json.dumps(item, separators=(",", ":")).encode()
                await self._send(metadata, encoded, False, observed)
            metadata = page.get("metadata") or {}
            resource_version = metadata.get("resourceVersion") or resource_version
            token = metadata.get("continue") or ""
            if not token:
                break
        marker = reconciler_pb2.ListCompleted(
            api_version=resource.api_version,
            kind=resource.kind,
            namespace=namespace,
            resource_version=resource_version,
            names=names,
        )
        await self._buffer.put_marker(
            Entry(reconciler_pb2.SnapshotItem(list_completed=marker), 0.0, resource.kind)
        )
        log.info(
            "listed",
            extra={
                **self._where(namespace),
                "reason": reason,
                "objects": len(names),
                "resource_version": resource_version,
            },
        )
        return resource_version

    async def _watch(self) -> None:
        """One watch from self.resource_version; returns when it ends or went quiet, raises Expired on 410."""
        resource = self.resource
        query = {
            "resourceVersion": self.resource_version or "",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(self._config.watch_timeout_seconds),
        }
        if resource.label_selector:
            query["labelSelector"] = resource.label_selector
        events = self._metrics.events
        try:
            stream = await self._kube.watch(
                resource.path(self.namespace), query, self._config.watch_inactivity_seconds
            )
        except KubeError as error:
            if error.code == 410:
                raise Expired(str(error)) from error
            raise
        self._current = stream
        if self._interrupted:
            stream.close()
        try:
            async for event, line in stream:
                kind = event.get("type")
                obj = event.get("object") or {}
                events.labels(resource.kind, kind).inc()
                metadata = obj.get("metadata") or {}
                if kind == "BOOKMARK":
                    self.resource_version = metadata.get("resourceVersion") or self.resource_version
                    continue
                if kind == "ERROR":
                    code = obj.get("code")
                    if code == 410:
                        raise Expired(obj.get("message", ""))
                    raise KubeError(int(code or 500), obj)
                if kind not in ("ADDED", "MODIFIED", "DELETED"):
                    continue
                version = metadata.get("resourceVersion") or ""
                if not (self._covered and kind != "DELETED" and self._replayed(metadata, version)):
                    observed = time.time()
                    await self._send(metadata, _object_bytes(event, line), kind == "DELETED", observed)
                self.resource_version = version or self.resource_version
        except KubeError as error:
            if error.code == 410:
                raise Expired(str(error)) from error
            raise
        except TimeoutError:
            log.info(
                "watch inactive, reconnecting",
                extra={**self._where(), "resource_version": self.resource_version},
            )
        except Exception:
            if stream.closed:
                return
            raise
        finally:
            self._current = None

    def _replayed(self, metadata: dict[str, Any], version: str) -> bool:
        """Whether an event is one a namespace's list already sent a newer (or the same) state of. A
        namespace stops being covered once the watch has passed its list."""
        if not version.isdigit():
            return False
        at = int(version)
        listed = self._covered.get(metadata.get("namespace", ""))
        self._covered = {namespace: until for namespace, until in self._covered.items() if until > at}
        return listed is not None and at <= listed

    async def _send(self, metadata: dict[str, Any], encoded: bytes, deleted: bool, observed: float) -> None:
        resource = self.resource
        stamp = Timestamp()
        stamp.FromNanoseconds(int(observed * 1e9))
        uid = metadata.get("uid", "")
        snapshot = reconciler_pb2.ObjectSnapshot(
            api_version=resource.api_version,
            kind=resource.kind,
            namespace=metadata.get("namespace", ""),
            name=metadata.get("name", ""),
            uid=uid,
            resource_version=metadata.get("resourceVersion", ""),
            deleted=deleted,
            object=encoded,
            observed_time=stamp,
        )
        await self._buffer.put_object(
            uid, Entry(reconciler_pb2.SnapshotItem(object=snapshot), observed, resource.kind)
        )


def _object_bytes(event: dict[str, Any], line: bytes) -> bytes:
    """The event's object, JSON-encoded: the raw bytes of the line when they can be sliced out, except that
    managedFields (server-side apply bookkeeping, often most of an object's size) are left out."""
    metadata = (event.get("object") or {}).get("metadata") or {}
    if metadata.pop("managedFields", None) is not None:
        return json.dumps(event.get("object"), separators=(",", ":")).encode()
    if len(event) == 2:
        match = _EVENT_PREFIX.match(line)
        if match:
            end = line.rstrip().rfind(b"}")
            if end > match.end():
                return line[match.end() : end].rstrip()
    return json.dumps(event.get("object"), separators=(",", ":")).encode()
