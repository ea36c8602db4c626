"""The fake's etcd and registry: objects by resource type, namespace and name; one global resourceVersion
stamped on every write; a bounded history of events that watches resume from; and the generic
create/update/patch/delete semantics of k8s.io/apiserver's registry Store.

Every method is synchronous, so each write is atomic with respect to the event loop: a watch registered
and primed in one call can neither miss nor repeat an event. Stored dicts are never mutated in place;
callers always get copies."""

from __future__ import annotations

import asyncio
import copy
import random
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import admission
from .errors import STALE, ApiError, already_exists, bad_request, conflict, expired, invalid, not_found
from .kinds import NAMESPACES, Registry, ResourceType
from .patching import apply_patch
from .selection import Selection

Key = tuple[tuple[str, str], str, str]

_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rv(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))


@dataclass(frozen=True)
class Event:
    resource_version: int
    type: str  # ADDED, MODIFIED or DELETED
    resource_type: ResourceType
    obj: dict[str, Any]
    prev: dict[str, Any] | None

    @property
    def namespace(self) -> str:
        return self.obj["metadata"].get("namespace", "")


@dataclass(eq=False)
class Watcher:
    """One watch request's filter and queue. A `None` in the queue means: end the stream now."""

    resource_type: ResourceType
    namespace: str | None
    selection: Selection
    queue: asyncio.Queue[tuple[str, dict[str, Any]] | None] = field(default_factory=asyncio.Queue)

    def translate(self, event: Event) -> tuple[str, dict[str, Any]] | None:
        """The event this watcher sees: the watch cache turns a change across its selector into an ADDED
        (the object starts to match) or a DELETED (it stops matching) of the object at the new version."""
        if event.resource_type.key != self.resource_type.key:
            return None
        if self.namespace is not None and event.namespace != self.namespace:
            return None
        now_matches = event.type != "DELETED" and self.selection.matches(event.obj)
        before = event.prev if event.type != "DELETED" else event.obj
        was_matching = event.type != "ADDED" and before is not None and self.selection.matches(before)
        if now_matches and was_matching:
            return ("MODIFIED", event.obj)
        if now_matches:
            return ("ADDED", event.obj)
        if was_matching:
            if event.type == "DELETED":
                return ("DELETED", event.obj)
            gone = copy.deepcopy(event.prev)
            gone["metadata"]["resourceVersion"] = str(event.resource_version)
            return ("DELETED", gone)
        return None

    def offer(self, event: Event) -> None:
        translated = self.translate(event)
        if translated is not None:
            self.queue.put_nowait(translated)


def _same_content(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def strip(obj: dict[str, Any]) -> dict[str, Any]:
        out = dict(obj)
        out["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
        return out

    return strip(a) == strip(b)


class Store:
    def __init__(self, registry: Registry, history_size: int = 1000) -> None:
        self.registry = registry
        self.history_size = history_size
        self._revision = 0
        self._objects: dict[Key, dict[str, Any]] = {}
        self._history: deque[Event] = deque()
        # The newest revision whose events are no longer retained: a watch can resume from it or later.
        self._compacted = 0
        self._watchers: set[Watcher] = set()
        self._listeners: list[Callable[[Event], None]] = []

    # ---- revisions, history and subscribers -------------------------------------------------------

    @property
    def resource_version(self) -> int:
        return self._revision

    @property
    def compacted_revision(self) -> int:
        return self._compacted

    def compact(self) -> None:
        """Forget every retained event, as an etcd compaction does: a watch or an exact list from any
        resourceVersion older than now gets 410 Expired."""
        self._history.clear()
        self._compacted = self._revision

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def _emit(self, event: Event) -> None:
        self._history.append(event)
        while len(self._history) > self.history_size:
            self._compacted = self._history.popleft().resource_version
        for watcher in list(self._watchers):
            watcher.offer(event)
        for listener in self._listeners:
            listener(event)

    def _next_revision(self) -> int:
        self._revision += 1
        return self._revision

    # ---- reads ----------------------------------------------------------------------------------------

    @staticmethod
    def _key(resource_type: ResourceType, namespace: str, name: str) -> Key:
        return (resource_type.key, namespace if resource_type.namespaced else "", name)

    def try_get(self, resource_type: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        obj = self._objects.get(self._key(resource_type, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def get(self, resource_type: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.try_get(resource_type, namespace, name)
        if obj is None:
            raise not_found(resource_type.plural, resource_type.group, name)
        return obj

    def _current(self, resource_type: ResourceType, namespace: str | None) -> Iterator[dict[str, Any]]:
        for (type_key, ns, _), obj in sorted(self._objects.items(), key=lambda kv: kv[0][1:]):
            if type_key == resource_type.key and (namespace is None or ns == namespace):
                yield obj

    def objects(self, resource_type: ResourceType, namespace: str | None = None) -> list[dict[str, Any]]:
        return [copy.deepcopy(obj) for obj in self._current(resource_type, namespace)]

    def list(
        self,
        resource_type: ResourceType,
        namespace: str | None,
        selection: Selection,
        exact: int | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """The matching objects now, or as they were at revision `exact` (410 if that is compacted)."""
        if exact is None:
            items = [obj for obj in self._current(resource_type, namespace) if selection.matches(obj)]
            return copy.deepcopy(items), self._revision
        if exact < self._compacted:
            raise expired(f"too old resource version: {exact} ({self._compacted + 1})")
        state = {
            (ns, obj["metadata"]["name"]): obj
            for (type_key, ns, _), obj in self._objects.items()
            if type_key == resource_type.key
        }
        for event in reversed(self._history):
            if event.resource_version <= exact:
                break
            if event.resource_type.key != resource_type.key:
                continue
            key = (event.namespace, event.obj["metadata"]["name"])
            if event.type == "ADDED":
                state.pop(key, None)
            else:
                state[key] = event.prev if event.prev is not None else event.obj
        items = [
            state[key]
            for key in sorted(state)
            if (namespace is None or key[0] == namespace) and selection.matches(state[key])
        ]
        return copy.deepcopy(items), exact

    def watch(
        self, resource_type: ResourceType, namespace: str | None, selection: Selection, since: int | None
    ) -> Watcher:
        """A registered watcher, primed with what the request asked for: the current state as ADDED
        events (`since` None: resourceVersion unset or "0"), or every retained event newer than `since`."""
        if since is not None and since < self._compacted:
            raise expired(f"too old resource version: {since} ({self._compacted + 1})")
        watcher = Watcher(resource_type, namespace, selection)
        if since is None:
            for obj in self._current(resource_type, namespace):
                if selection.matches(obj):
                    watcher.queue.put_nowait(("ADDED", obj))
        else:
            for event in self._history:
                if event.resource_version > since:
                    watcher.offer(event)
        self._watchers.add(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    def watchers(self) -> list[Watcher]:
        return list(self._watchers)

    # ---- writes ---------------------------------------------------------------------------------------

    def _check_type_meta(self, resource_type: ResourceType, body: dict[str, Any]) -> None:
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if resource_type.custom and not kind:
            raise bad_request(f"Object 'Kind' is missing in '{body}'")
        if api_version and api_version != resource_type.api_version:
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({resource_type.api_version})"
            )
        if kind and kind != resource_type.kind:
            raise bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({resource_type.kind})"
            )

    def _check_namespace(self, resource_type: ResourceType, namespace: str, body: dict[str, Any]) -> None:
        metadata = body["metadata"]
        if not resource_type.namespaced:
            metadata.pop("namespace", None)
            return
        if metadata.get("namespace") and metadata["namespace"] != namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        metadata["namespace"] = namespace

    def create(self, resource_type: ResourceType, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        obj = copy.deepcopy(body)
        if not isinstance(obj.get("metadata", {}), dict):
            raise bad_request("metadata must be an object")
        self._check_type_meta(resource_type, obj)
        metadata = obj.setdefault("metadata", {})
        self._check_namespace(resource_type, namespace, obj)
        if metadata.get("resourceVersion"):
            raise bad_request("resourceVersion should not be set on objects to be created")
        if resource_type.namespaced:
            ns = self.try_get(NAMESPACES, "", namespace)
            if ns is None:
                raise not_found("namespaces", "", namespace)
            if ns["metadata"].get("deletionTimestamp"):
                raise ApiError(
                    403,
                    f'{resource_type.plural} "{metadata.get("name") or metadata.get("generateName")}" is '
                    f"forbidden: unable to create new content in namespace {namespace} because it is being "
                    "terminated",
                    "Forbidden",
                )
        if not metadata.get("name"):
            if not metadata.get("generateName"):
                raise invalid(
                    resource_type.kind,
                    resource_type.group,
                    "",
                    [
                        (
                            "metadata.name",
                            "FieldValueRequired",
                            "metadata.name: Required value: name or generateName is required",
                        )
                    ],
                )
            metadata["name"] = metadata["generateName"] + "".join(random.choices(_GENERATE_ALPHABET, k=5))
        obj["apiVersion"], obj["kind"] = resource_type.api_version, resource_type.kind
        for system_field in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"):
            metadata.pop(system_field, None)
        metadata["uid"] = str(uuid.uuid4())
        metadata["creationTimestamp"] = now()
        if resource_type.has_generation:
            metadata["generation"] = 1
        else:
            metadata.pop("generation", None)
        admission.apply_defaults(resource_type, obj)
        admission.prepare_for_create(resource_type, obj)
        causes = admission.validate(resource_type, obj, None)
        if causes:
            raise invalid(resource_type.kind, resource_type.group, metadata["name"], causes)
        key = self._key(resource_type, namespace, metadata["name"])
        if key in self._objects:
            raise already_exists(resource_type.plural, resource_type.group, metadata["name"])
        revision = self._next_revision()
        metadata["resourceVersion"] = str(revision)
        self._objects[key] = obj
        self._emit(Event(revision, "ADDED", resource_type, obj, None))
        return copy.deepcopy(obj)

    def _merge_update(
        self,
        resource_type: ResourceType,
        old: dict[str, Any],
        incoming: dict[str, Any],
        subresource: str | None,
    ) -> dict[str, Any]:
        """What an update stores: the registry keeps system metadata, a status write changes only status,
        and a main-resource write of a kind with a status subresource keeps the old status."""
        if subresource == "status":
            new = copy.deepcopy(old)
            if "status" in incoming:
                new["status"] = copy.deepcopy(incoming["status"])
            else:
                new.pop("status", None)
            return new
        new = copy.deepcopy(incoming)
        new["apiVersion"], new["kind"] = resource_type.api_version, resource_type.kind
        metadata = new.setdefault("metadata", {})
        for system_field in (
            "uid",
            "creationTimestamp",
            "namespace",
            "name",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ):
            if system_field in old["metadata"]:
                metadata[system_field] = old["metadata"][system_field]
            else:
                metadata.pop(system_field, None)
        if resource_type.status_subresource:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        admission.apply_defaults(resource_type, new)
        if resource_type.has_generation:

            def body(obj: dict[str, Any]) -> dict[str, Any]:
                return {k: v for k, v in obj.items() if k not in ("metadata", "status")}

            if body(new) != body(old):
                metadata["generation"] = old["metadata"].get("generation", 1) + 1
        return new

    def _commit_update(
        self, resource_type: ResourceType, old: dict[str, Any], new: dict[str, Any]
    ) -> dict[str, Any]:
        causes = admission.validate(resource_type, new, old)
        if causes:
            raise invalid(resource_type.kind, resource_type.group, old["metadata"]["name"], causes)
        if old["metadata"].get("deletionTimestamp"):
            added = set(new["metadata"].get("finalizers") or []) - set(
                old["metadata"].get("finalizers") or []
            )
            if added:
                raise invalid(
                    resource_type.kind,
                    resource_type.group,
                    old["metadata"]["name"],
                    [
                        (
                            "metadata.finalizers",
                            "FieldValueForbidden",
                            "metadata.finalizers: Forbidden: no new finalizers can be added if the object "
                            "is being deleted",
                        )
                    ],
                )
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if _same_content(old, new):
            return copy.deepcopy(old)
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            new["metadata"].pop("finalizers", None)
            return self._remove(resource_type, new)
        revision = self._next_revision()
        new["metadata"]["resourceVersion"] = str(revision)
        key = self._key(resource_type, old["metadata"].get("namespace", ""), old["metadata"]["name"])
        self._objects[key] = new
        self._emit(Event(revision, "MODIFIED", resource_type, new, old))
        return copy.deepcopy(new)

    def _check_name(self, resource_type: ResourceType, name: str, body: dict[str, Any]) -> None:
        body_name = (body.get("metadata") or {}).get("name")
        if body_name != name:
            raise bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )

    def replace(
        self,
        resource_type: ResourceType,
        namespace: str,
        name: str,
        body: dict[str, Any],
        subresource: str | None = None,
    ) -> dict[str, Any]:
        old = self.get(resource_type, namespace, name)
        incoming = copy.deepcopy(body)
        if not isinstance(incoming.get("metadata"), dict):
            incoming["metadata"] = {}
        self._check_type_meta(resource_type, incoming)
        self._check_name(resource_type, name, incoming)
        self._check_namespace(resource_type, namespace, incoming)
        requested = incoming["metadata"].get("resourceVersion")
        if not requested:
            if not resource_type.allow_unconditional_update:
                raise invalid(
                    resource_type.kind,
                    resource_type.group,
                    name,
                    [
                        (
                            "metadata.resourceVersion",
                            "FieldValueInvalid",
                            "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
                        )
                    ],
                )
        elif requested != old["metadata"]["resourceVersion"]:
            raise conflict(resource_type.plural, resource_type.group, name, STALE)
        return self._commit_update(
            resource_type, old, self._merge_update(resource_type, old, incoming, subresource)
        )

    def patch(
        self,
        resource_type: ResourceType,
        namespace: str,
        name: str,
        content_type: str,
        raw: bytes,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        old = self.get(resource_type, namespace, name)
        patched = apply_patch(content_type, copy.deepcopy(old), raw, resource_type.custom)
        if not isinstance(patched.get("metadata"), dict):
            patched["metadata"] = {}
        self._check_type_meta(resource_type, patched)
        if patched["metadata"].get("name") != name:
            raise bad_request("metadata.name: Invalid value: the name of a patched object cannot change")
        if resource_type.namespaced and patched["metadata"].get("namespace") != namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        requested = patched["metadata"].get("resourceVersion")
        if requested and requested != old["metadata"]["resourceVersion"]:
            raise conflict(resource_type.plural, resource_type.group, name, STALE)
        return self._commit_update(
            resource_type, old, self._merge_update(resource_type, old, patched, subresource)
        )

    def _remove(self, resource_type: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        key = self._key(resource_type, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        prev = self._objects.pop(key)
        revision = self._next_revision()
        gone = copy.deepcopy(obj)
        gone["metadata"]["resourceVersion"] = str(revision)
        self._emit(Event(revision, "DELETED", resource_type, gone, prev))
        return copy.deepcopy(gone)

    def delete(
        self,
        resource_type: ResourceType,
        namespace: str,
        name: str,
        propagation: str | None = None,
        preconditions: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """(the object, whether it is gone). An object with finalizers (including the garbage collector's
        `orphan` and `foregroundDeletion`) only gets a deletionTimestamp; the finalizers' owners finish it."""
        old = self.get(resource_type, namespace, name)
        metadata = old["metadata"]
        for field_name, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            wanted = (preconditions or {}).get(field_name)
            if wanted and wanted != metadata.get(field_name):
                raise conflict(
                    resource_type.plural,
                    resource_type.group,
                    name,
                    f"Precondition failed: {label} in precondition: {wanted}, {label} in object meta: "
                    f"{metadata.get(field_name)}",
                )
        policy = propagation or resource_type.default_propagation
        if policy not in ("Orphan", "Background", "Foreground"):
            raise bad_request(f"propagationPolicy: Unsupported value: {policy!r}")
        if metadata.get("deletionTimestamp"):
            return old, False
        finalizers = list(metadata.get("finalizers") or [])
        gc_finalizer = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}.get(policy)
        if gc_finalizer and gc_finalizer not in finalizers:
            finalizers.append(gc_finalizer)
        if resource_type is NAMESPACES:
            new = copy.deepcopy(old)
            new["metadata"]["deletionTimestamp"] = now()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            new.setdefault("status", {})["phase"] = "Terminating"
            if finalizers:
                new["metadata"]["finalizers"] = finalizers
            return self._write_terminating(resource_type, old, new), False
        if not finalizers:
            return self._remove(resource_type, old), True
        new = copy.deepcopy(old)
        new["metadata"]["deletionTimestamp"] = now()
        new["metadata"]["deletionGracePeriodSeconds"] = 0
        new["metadata"]["finalizers"] = finalizers
        return self._write_terminating(resource_type, old, new), False

    def _write_terminating(
        self, resource_type: ResourceType, old: dict[str, Any], new: dict[str, Any]
    ) -> dict[str, Any]:
        revision = self._next_revision()
        new["metadata"]["resourceVersion"] = str(revision)
        key = self._key(resource_type, old["metadata"].get("namespace", ""), old["metadata"]["name"])
        self._objects[key] = new
        self._emit(Event(revision, "MODIFIED", resource_type, new, old))
        return copy.deepcopy(new)

    def remove_finalizer(
        self, resource_type: ResourceType, namespace: str, name: str, finalizer: str
    ) -> None:
        obj = self.try_get(resource_type, namespace, name)
        if obj is None or finalizer not in (obj["metadata"].get("finalizers") or []):
            return
        new = copy.deepcopy(obj)
        new["metadata"]["finalizers"] = [f for f in obj["metadata"]["finalizers"] if f != finalizer]
        if not new["metadata"]["finalizers"]:
            del new["metadata"]["finalizers"]
        self._commit_update(resource_type, obj, new)

    def finish_namespace(self, name: str) -> None:
        obj = self.try_get(NAMESPACES, "", name)
        if (
            obj is not None
            and obj["metadata"].get("deletionTimestamp")
            and not obj["metadata"].get("finalizers")
        ):
            self._remove(NAMESPACES, obj)

    def ensure_namespace(self, name: str) -> None:
        if self.try_get(NAMESPACES, "", name) is None:
            self.create(NAMESPACES, "", {"metadata": {"name": name}})
