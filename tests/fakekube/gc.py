"""The garbage collector and the namespace controller: what happens after a delete.

Owner references are followed by uid, as kube-controller-manager's garbage collector follows them:
deleting an owner in the background deletes its dependents afterwards; `Foreground` deletes them first
and removes the owner once they are gone; `Orphan` strips the reference from them. A dependent whose
every owner is absent (no object of that kind, name and uid) is deleted, so an owner reference to the
wrong uid loses the object, as it would on a real cluster."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .errors import ApiError
from .kinds import NAMESPACES, ResourceType
from .store import Event, Store

log = logging.getLogger(__name__)


class GarbageCollector:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        store.subscribe(self._queue.put_nowait)

    async def run(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                self._handle(event)
            except Exception:  # a bug here must not stop collection of everything else
                log.exception("fake garbage collector failed on %s", event.obj["metadata"].get("name"))

    def idle(self) -> bool:
        return self._queue.empty()

    # ---- graph ----------------------------------------------------------------------------------------

    def _dependents(self, owner: dict[str, Any], owner_type: ResourceType) -> list[tuple[ResourceType, dict]]:
        uid = owner["metadata"]["uid"]
        namespace = owner["metadata"].get("namespace") if owner_type.namespaced else None
        found = []
        for resource_type in self._store.registry.all():
            for obj in self._store.objects(resource_type, namespace):
                if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or []):
                    found.append((resource_type, obj))
        return found

    def _owner_present(
        self, dependent: dict[str, Any], dependent_type: ResourceType, ref: dict[str, Any]
    ) -> bool:
        owner_type = self._store.registry.owner_type(ref.get("apiVersion", ""), ref.get("kind", ""))
        if owner_type is None:
            return True  # the real collector cannot resolve it either, and leaves the object alone
        if owner_type.namespaced and not dependent_type.namespaced:
            return False
        namespace = dependent["metadata"].get("namespace", "") if owner_type.namespaced else ""
        owner = self._store.try_get(owner_type, namespace, ref.get("name", ""))
        return owner is not None and owner["metadata"]["uid"] == ref.get("uid")

    def _delete(self, resource_type: ResourceType, obj: dict[str, Any], policy: str) -> None:
        try:
            self._store.delete(
                resource_type, obj["metadata"].get("namespace", ""), obj["metadata"]["name"], policy
            )
        except ApiError as error:
            if error.code != 404:
                raise

    # ---- reactions ------------------------------------------------------------------------------------

    def _handle(self, event: Event) -> None:
        resource_type, obj = event.resource_type, event.obj
        metadata = obj["metadata"]
        if event.type == "DELETED":
            for dep_type, dependent in self._dependents(obj, resource_type):
                self._check_owners(dep_type, dependent)
            self._recheck_waiting_owners(resource_type, event.prev or obj)
            if resource_type.namespaced:
                self._recheck_namespace(metadata.get("namespace", ""))
            return
        current = self._store.try_get(resource_type, metadata.get("namespace", ""), metadata["name"])
        if current is None or current["metadata"]["uid"] != metadata["uid"]:
            return
        if current["metadata"].get("ownerReferences"):
            self._check_owners(resource_type, current)
        if not current["metadata"].get("deletionTimestamp"):
            return
        if resource_type is NAMESPACES:
            self._empty_namespace(current["metadata"]["name"])
            return
        finalizers = current["metadata"].get("finalizers") or []
        if "orphan" in finalizers:
            self._orphan(resource_type, current)
        if "foregroundDeletion" in finalizers:
            dependents = self._dependents(current, resource_type)
            for dep_type, dependent in dependents:
                if not dependent["metadata"].get("deletionTimestamp"):
                    self._delete(dep_type, dependent, "Foreground")
            self._recheck_waiting_owners(None, None, current, resource_type)

    def _check_owners(self, resource_type: ResourceType, obj: dict[str, Any]) -> None:
        current = self._store.try_get(
            resource_type, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
        )
        if current is None or current["metadata"].get("deletionTimestamp"):
            return
        refs = current["metadata"].get("ownerReferences") or []
        present = [ref for ref in refs if self._owner_present(current, resource_type, ref)]
        if not refs or len(present) == len(refs):
            return
        if not present:
            self._delete(resource_type, current, "Background")
            return
        current["metadata"]["ownerReferences"] = present
        self._store.replace(
            resource_type, current["metadata"].get("namespace", ""), current["metadata"]["name"], current
        )

    def _orphan(self, resource_type: ResourceType, owner: dict[str, Any]) -> None:
        uid = owner["metadata"]["uid"]
        for dep_type, dependent in self._dependents(owner, resource_type):
            refs = [ref for ref in dependent["metadata"]["ownerReferences"] if ref.get("uid") != uid]
            if refs:
                dependent["metadata"]["ownerReferences"] = refs
            else:
                del dependent["metadata"]["ownerReferences"]
            self._store.replace(
                dep_type, dependent["metadata"].get("namespace", ""), dependent["metadata"]["name"], dependent
            )
        self._store.remove_finalizer(
            resource_type, owner["metadata"].get("namespace", ""), owner["metadata"]["name"], "orphan"
        )

    def _recheck_waiting_owners(
        self,
        dep_type: ResourceType | None,
        dependent: dict[str, Any] | None,
        owner: dict[str, Any] | None = None,
        owner_type: ResourceType | None = None,
    ) -> None:
        """Finish foreground deletions whose owner no longer has dependents."""
        candidates: list[tuple[ResourceType, dict[str, Any]]] = []
        if owner is not None and owner_type is not None:
            candidates.append((owner_type, owner))
        elif dependent is not None and dep_type is not None:
            for ref in dependent["metadata"].get("ownerReferences") or []:
                ref_type = self._store.registry.owner_type(ref.get("apiVersion", ""), ref.get("kind", ""))
                if ref_type is None:
                    continue
                namespace = dependent["metadata"].get("namespace", "") if ref_type.namespaced else ""
                found = self._store.try_get(ref_type, namespace, ref.get("name", ""))
                if found is not None and found["metadata"]["uid"] == ref.get("uid"):
                    candidates.append((ref_type, found))
        for candidate_type, candidate in candidates:
            finalizers = candidate["metadata"].get("finalizers") or []
            if "foregroundDeletion" in finalizers and not self._dependents(candidate, candidate_type):
                self._store.remove_finalizer(
                    candidate_type,
                    candidate["metadata"].get("namespace", ""),
                    candidate["metadata"]["name"],
                    "foregroundDeletion",
                )

    def _empty_namespace(self, namespace: str) -> None:
        for resource_type in self._store.registry.all():
            if not resource_type.namespaced:
                continue
            for obj in self._store.objects(resource_type, namespace):
                if not obj["metadata"].get("deletionTimestamp"):
                    self._delete(resource_type, obj, "Background")
        self._recheck_namespace(namespace)

    def _recheck_namespace(self, namespace: str) -> None:
        ns = self._store.try_get(NAMESPACES, "", namespace)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        if any(self._store.objects(t, namespace) for t in self._store.registry.all() if t.namespaced):
            return
        self._store.finish_namespace(namespace)
