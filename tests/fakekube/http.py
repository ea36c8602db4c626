"""The HTTP face of the fake: the API server's URL layout, discovery, list/watch query semantics and
Status-shaped errors, over aiohttp."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import ApiError, bad_request, expired, invalid, status_body, success_status
from .kinds import PODS, ResourceType
from .selection import Selection
from .store import Watcher

if TYPE_CHECKING:
    from .server import FakeKube

log = logging.getLogger(__name__)

KUBERNETES_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0",
    "gitCommit": "fakekube",
    "gitTreeState": "clean",
    "buildDate": "2024-12-11T00:00:00Z",
    "goVersion": "go1.23.3",
    "compiler": "gc",
    "platform": "linux/amd64",
}

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}
_DROP = ("DROP", {})
_BOOKMARK = ("BOOKMARK", {})


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def _parse_bool(name: str, value: str | None) -> bool:
    if value is None or value == "":
        return False
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise bad_request(
        f'{name}: invalid value "{value}": strconv.ParseBool: parsing "{value}": invalid syntax'
    )


def _parse_int(name: str, value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request(f'{name}: invalid value "{value}"') from None


def _list_options_invalid(causes: list[tuple[str, str]]) -> ApiError:
    return invalid(
        "ListOptions",
        "meta.k8s.io",
        "",
        [(field, "FieldValueForbidden", f"{field}: Forbidden: {why}") for field, why in causes],
    )


def _json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(body), status=status, content_type="application/json", headers=headers
    )


class Api:
    def __init__(self, fake: FakeKube) -> None:
        self.fake = fake
        self.requests: deque[RecordedRequest] = deque(maxlen=20000)
        self.internal_errors: list[str] = []
        # Open watches: the request (to cut its connection) and whether it asked for bookmarks.
        self._streams: dict[Watcher, tuple[web.Request, bool]] = {}

    def app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    # ---- live watches ----------------------------------------------------------------------------------

    def _signal_watches(self, marker: tuple[str, dict[str, Any]] | None, bookmarks_only: bool = False) -> int:
        count = 0
        for watcher, (_, bookmarks) in list(self._streams.items()):
            if bookmarks_only and not bookmarks:
                continue
            watcher.queue.put_nowait(marker)
            count += 1
        return count

    def drop_watches(self) -> int:
        return self._signal_watches(_DROP)

    def end_watches(self) -> int:
        return self._signal_watches(None)

    def send_bookmarks(self) -> int:
        return self._signal_watches(_BOOKMARK, bookmarks_only=True)

    @property
    def open_watches(self) -> int:
        return len(self._streams)

    # ---- dispatch --------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        query = dict(request.query)
        self.requests.append(
            RecordedRequest(
                request.method, request.path, query, request.headers.get("Content-Type", ""), body
            )
        )
        try:
            is_watch = request.method == "GET" and _parse_bool("watch", query.get("watch"))
            fault = self.fake.faults.take_error(request.method, request.path, is_watch)
            if fault is not None:
                raise fault
            slowness = None if is_watch else self.fake.faults.slowness_for(request.method, request.path)
            if slowness is not None:
                async with slowness.delay():
                    return await self._route(request, query, body, is_watch)
            return await self._route(request, query, body, is_watch)
        except ApiError as error:
            return _json_response(error.body, error.code, error.headers)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as error:
            log.exception("fake API server failed on %s %s", request.method, request.path)
            self.internal_errors.append(f"{request.method} {request.path}: {error!r}")
            return _json_response(
                status_body(500, "Internal error occurred: the fake API server failed"), 500
            )

    async def _route(
        self, request: web.Request, query: dict[str, str], body: bytes, is_watch: bool
    ) -> web.StreamResponse:
        path = request.path
        registry = self.fake.registry
        if path in ("/version", "/version/"):
            return _json_response(KUBERNETES_VERSION)
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if path.rstrip("/") == "/api":
            host = request.host
            return _json_response(
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
                }
            )
        if path.rstrip("/") == "/apis":
            return _json_response(registry.api_group_list())
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 2:
            if len(parts) == 2:
                group_doc = registry.api_group(parts[1])
                if group_doc is None:
                    raise _not_found_path()
                return _json_response(group_doc)
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise _not_found_path()
        if not rest:
            doc = registry.resource_list(group, version)
            if doc is None:
                raise _not_found_path()
            return _json_response(doc)
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            candidate = registry.find(group, version, rest[2])
            if candidate is not None and candidate.namespaced:
                namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise _not_found_path()
        resource_type = registry.find(group, version, rest[0])
        if resource_type is None:
            raise _not_found_path()
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if not resource_type.namespaced and namespace is not None:
            raise _not_found_path()
        if resource_type.namespaced and namespace is None and name is not None:
            raise _not_found_path()
        if subresource is not None and not (
            (subresource == "status" and resource_type.status_subresource)
            or (subresource == "log" and resource_type is PODS)
        ):
            raise _not_found_path()
        ns = namespace or ""
        method = request.method
        if _parse_bool("dryRun", "true" if query.get("dryRun") else None):
            raise bad_request("dryRun is not modelled by the fake API server")
        if name is None:
            if method == "GET":
                if is_watch:
                    return await self._watch(request, resource_type, namespace, query)
                return await self._list(resource_type, namespace, query)
            if method == "POST":
                if resource_type.namespaced and namespace is None:
                    raise _method_not_allowed()
                created = self.fake.store.create(resource_type, ns, _json_body(body))
                return _json_response(created, 201)
            if method == "DELETE":
                return self._delete_collection(resource_type, namespace, query, body)
            raise _method_not_allowed()
        if method == "GET":
            if is_watch:
                raise bad_request("watch of a single object: use fieldSelector=metadata.name=NAME")
            if subresource == "log":
                return self._pod_log(ns, name, query)
            return _json_response(self.fake.store.get(resource_type, ns, name))
        if subresource == "log":
            raise _method_not_allowed()
        if method == "PUT":
            return _json_response(
                self.fake.store.replace(resource_type, ns, name, _json_body(body), subresource)
            )
        if method == "PATCH":
            content_type = request.headers.get("Content-Type", "")
            return _json_response(
                self.fake.store.patch(resource_type, ns, name, content_type, body, subresource)
            )
        if method == "DELETE" and subresource is None:
            options = _json_body(body) if body.strip() else {}
            propagation = options.get("propagationPolicy") or query.get("propagationPolicy")
            orphan = options.get("orphanDependents")
            if orphan is None and query.get("orphanDependents"):
                orphan = _parse_bool("orphanDependents", query["orphanDependents"])
            if propagation is None and orphan is not None:
                propagation = "Orphan" if orphan else "Background"
            obj, gone = self.fake.store.delete(
                resource_type, ns, name, propagation, options.get("preconditions")
            )
            if gone and not resource_type.returns_deleted_object:
                details = {"name": name, "kind": resource_type.plural, "uid": obj["metadata"]["uid"]}
                if resource_type.group:
                    details["group"] = resource_type.group
                return _json_response(success_status(details))
            return _json_response(obj)
        raise _method_not_allowed()

    # ---- list and watch --------------------------------------------------------------------------------

    def _selection(self, resource_type: ResourceType, query: dict[str, str]) -> Selection:
        return Selection.parse(resource_type, query.get("labelSelector", ""), query.get("fieldSelector", ""))

    async def _wait_for_revision(self, wanted: int) -> None:
        """The watch cache waits a little for a resourceVersion it has not seen yet, then gives up."""
        deadline = time.monotonic() + self.fake.too_large_wait
        while self.fake.store.resource_version < wanted:
            if time.monotonic() >= deadline:
                raise ApiError(
                    504,
                    f"Too large resource version: {wanted}, current: {self.fake.store.resource_version}",
                    "Timeout",
                    {
                        "causes": [
                            {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
                        ],
                        "retryAfterSeconds": 1,
                    },
                )
            await asyncio.sleep(0.05)

    async def _list(
        self, resource_type: ResourceType, namespace: str | None, query: dict[str, str]
    ) -> web.Response:
        selection = self._selection(resource_type, query)
        rv_text = query.get("resourceVersion", "")
        match = query.get("resourceVersionMatch", "")
        token = query.get("continue", "")
        limit = _parse_int("limit", query.get("limit"))
        rv = _parse_int("resourceVersion", rv_text)
        causes = []
        if match and not rv_text:
            causes.append(
                (
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                )
            )
        if match and match not in ("Exact", "NotOlderThan"):
            causes.append(("resourceVersionMatch", f'Unsupported value: "{match}"'))
        if match == "Exact" and rv_text == "0":
            causes.append(
                ("resourceVersionMatch", 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"')
            )
        if token and rv_text:
            causes.append(
                ("resourceVersion", "specifying resource version is not allowed when using continue")
            )
        if causes:
            raise _list_options_invalid(causes)
        store = self.fake.store
        start_after: tuple[str, str] | None = None
        if token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
                at, start_after = int(decoded["rv"]), (decoded["ns"], decoded["name"])
            except (ValueError, KeyError, TypeError, binascii.Error):
                raise bad_request("continue key is not valid") from None
            try:
                items, at = store.list(resource_type, namespace, selection, exact=at)
            except ApiError:
                raise expired(
                    "The provided continue parameter is too old to display a consistent list result. You can "
                    "start a new list without the continue parameter, or use the continue token in this "
                    "response to retrieve the remainder of the results."
                ) from None
        else:
            if rv is not None and rv > store.resource_version:
                await self._wait_for_revision(rv)
            if match == "Exact":
                items, at = store.list(resource_type, namespace, selection, exact=rv)
            else:
                items, at = store.list(resource_type, namespace, selection)
                if rv_text == "0":
                    limit = None  # served from the watch cache, which does not page
        if start_after is not None:
            items = [
                i for i in items if (i["metadata"].get("namespace", ""), i["metadata"]["name"]) > start_after
            ]
        metadata: dict[str, Any] = {"resourceVersion": str(at)}
        if limit and limit > 0 and len(items) > limit:
            remaining = len(items) - limit
            items = items[:limit]
            last = items[-1]["metadata"]
            metadata["continue"] = base64.urlsafe_b64encode(
                json.dumps({"rv": at, "ns": last.get("namespace", ""), "name": last["name"]}).encode()
            ).decode()
            if not selection.filters:
                metadata["remainingItemCount"] = remaining
        if not resource_type.custom:
            # Built-in kinds' list items carry no apiVersion/kind on the wire (kubernetes/kubernetes#3030).
            for item in items:
                item.pop("apiVersion", None)
                item.pop("kind", None)
        return _json_response(
            {
                "kind": resource_type.list_kind,
                "apiVersion": resource_type.api_version,
                "metadata": metadata,
                "items": items,
            }
        )

    def _bookmark(
        self, resource_type: ResourceType, annotations: dict[str, str] | None = None
    ) -> dict[str, Any]:
        metadata: dict[str, Any] = {"resourceVersion": str(self.fake.store.resource_version)}
        if not resource_type.custom:
            metadata["creationTimestamp"] = None
        if annotations:
            metadata["annotations"] = annotations
        return {
            "type": "BOOKMARK",
            "object": {
                "kind": resource_type.kind,
                "apiVersion": resource_type.api_version,
                "metadata": metadata,
            },
        }

    async def _watch(
        self, request: web.Request, resource_type: ResourceType, namespace: str | None, query: dict[str, str]
    ) -> web.StreamResponse:
        selection = self._selection(resource_type, query)
        rv_text = query.get("resourceVersion", "")
        rv = _parse_int("resourceVersion", rv_text)
        bookmarks = _parse_bool("allowWatchBookmarks", query.get("allowWatchBookmarks"))
        initial_events = query.get("sendInitialEvents")
        send_initial = _parse_bool("sendInitialEvents", initial_events)
        match = query.get("resourceVersionMatch", "")
        if initial_events is not None and initial_events != "":
            causes = []
            if match != "NotOlderThan":
                causes.append(
                    (
                        "resourceVersionMatch",
                        "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                    )
                )
            if send_initial and not bookmarks:
                causes.append(
                    ("allowWatchBookmarks", "sendInitialEvents requires setting allowWatchBookmarks to true")
                )
            if causes:
                raise _list_options_invalid(causes)
        elif match:
            raise _list_options_invalid(
                [
                    (
                        "resourceVersionMatch",
                        "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                    )
                ]
            )
        timeout = _parse_int("timeoutSeconds", query.get("timeoutSeconds"))
        if not timeout or timeout < 0:
            # As the API server does: no (or a zero) timeoutSeconds means its own randomised
            # --min-request-timeout, so that watches spread their reconnects.
            low, high = self.fake.watch_timeout_range
            timeout_s = random.uniform(low, high)
        else:
            timeout_s = float(timeout)
        store = self.fake.store
        if rv is not None and rv > store.resource_version:
            await self._wait_for_revision(rv)
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        if self.fake.faults.take_expired_watch():
            await self._write_error(
                response,
                410,
                f"too old resource version: {rv_text or 0} ({store.resource_version + 1})",
                "Expired",
            )
            return response
        since = None if (rv is None or rv == 0) else rv
        try:
            watcher = store.watch(resource_type, namespace, selection, since)
        except ApiError as error:
            await self._write_error(response, error.code, error.body["message"], error.body["reason"])
            return response
        if send_initial and since is None:
            watcher.queue.put_nowait(("INITIAL_END", {}))
        self._streams[watcher] = (request, bookmarks)
        deadline = time.monotonic() + timeout_s
        interval = self.fake.bookmark_interval
        next_bookmark = time.monotonic() + interval
        try:
            while True:
                now = time.monotonic()
                if now >= deadline:
                    break
                wait = deadline - now
                if bookmarks:
                    wait = min(wait, max(0.0, next_bookmark - now))
                try:
                    item = await asyncio.wait_for(watcher.queue.get(), wait)
                except TimeoutError:
                    if bookmarks and time.monotonic() >= next_bookmark and time.monotonic() < deadline:
                        await self._write(response, self._bookmark(resource_type))
                        next_bookmark = time.monotonic() + interval
                    continue
                if item is None:
                    break
                kind, obj = item
                if item is _DROP:
                    if request.transport is not None:
                        request.transport.abort()
                    return response
                if item is _BOOKMARK:
                    if bookmarks:
                        await self._write(response, self._bookmark(resource_type))
                        next_bookmark = time.monotonic() + interval
                    continue
                if kind == "INITIAL_END":
                    await self._write(
                        response, self._bookmark(resource_type, {"k8s.io/initial-events-end": "true"})
                    )
                    continue
                await self._write(response, {"type": kind, "object": obj})
        except (ConnectionResetError, asyncio.CancelledError):
            return response
        finally:
            store.unwatch(watcher)
            self._streams.pop(watcher, None)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response

    @staticmethod
    async def _write(response: web.StreamResponse, event: dict[str, Any]) -> None:
        await response.write(json.dumps(event).encode() + b"\n")

    async def _write_error(self, response: web.StreamResponse, code: int, message: str, reason: str) -> None:
        await self._write(response, {"type": "ERROR", "object": status_body(code, message, reason)})
        await response.write_eof()

    # ---- the rest --------------------------------------------------------------------------------------

    def _delete_collection(
        self, resource_type: ResourceType, namespace: str | None, query: dict[str, str], body: bytes
    ) -> web.Response:
        if resource_type.namespaced and namespace is None:
            raise _method_not_allowed()
        options = _json_body(body) if body.strip() else {}
        propagation = options.get("propagationPolicy") or query.get("propagationPolicy")
        items, _ = self.fake.store.list(resource_type, namespace, self._selection(resource_type, query))
        deleted = []
        for item in items:
            try:
                obj, _ = self.fake.store.delete(
                    resource_type,
                    item["metadata"].get("namespace", ""),
                    item["metadata"]["name"],
                    propagation,
                )
            except ApiError as error:
                if error.code == 404:
                    continue
                raise
            deleted.append(obj)
        return _json_response(
            {
                "kind": resource_type.list_kind,
                "apiVersion": resource_type.api_version,
                "metadata": {"resourceVersion": str(self.fake.store.resource_version)},
                "items": deleted,
            }
        )

    def _pod_log(self, namespace: str, name: str, query: dict[str, str]) -> web.Response:
        pod = self.fake.store.get(PODS, namespace, name)
        containers = [c["name"] for c in pod["spec"]["containers"]]
        container = query.get("container")
        if container is None:
            if len(containers) > 1:
                raise bad_request(
                    f"a container name must be specified for pod {name}, choose one of: "
                    f"[{' '.join(containers)}]"
                )
            container = containers[0]
        if container not in containers:
            raise bad_request(f"container {container} is not valid for pod {name}")
        statuses = {s["name"]: s for s in (pod.get("status") or {}).get("containerStatuses") or []}
        waiting = (statuses.get(container) or {}).get("state", {}).get("waiting")
        if container not in statuses or waiting:
            reason = (waiting or {}).get("reason", "ContainerCreating")
            raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
        text = self.fake.kubelet.logs(namespace, name) or ""
        tail = _parse_int("tailLines", query.get("tailLines"))
        if tail is not None:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-tail:]) if tail > 0 else ""
        limit = _parse_int("limitBytes", query.get("limitBytes"))
        if limit is not None:
            text = text.encode()[:limit].decode(errors="ignore")
        return web.Response(text=text, content_type="text/plain")


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body) if body else None
    except ValueError as error:
        raise bad_request(f"the body of the request could not be decoded as JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise bad_request("the body of the request must be a JSON object")
    return parsed


def _not_found_path() -> ApiError:
    return ApiError(404, "the server could not find the requested resource", "NotFound")


def _method_not_allowed() -> ApiError:
    return ApiError(
        405, "the server does not allow this method on the requested resource", "MethodNotAllowed"
    )
