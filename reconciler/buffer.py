"""The bounded, coalescing buffer between the watchers and the stream.

Level-triggered: while a snapshot of an object waits unsent, a newer one of the same uid takes its place
(in place, so a ListCompleted marker queued after it still follows it); an older one (a watch replaying
events that a list already covered) is dropped instead, or the marker would follow a state older than the
list's. Memory is bounded by `capacity` distinct waiting entries; a watcher with a new object waits for room
(backpressure up to the watch)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Hashable
from dataclasses import dataclass

from jangar.v1 import reconciler_pb2


@dataclass(slots=True)
class Entry:
    item: reconciler_pb2.SnapshotItem
    # time.time() when the event or list item was received; 0 for list markers (no lag to measure).
    observed: float
    kind: str


class SnapshotBuffer:
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: dict[Hashable, Entry] = {}
        self._markers = itertools.count()
        self._not_empty = asyncio.Event()
        self._not_full = asyncio.Event()
        self._not_full.set()

    def __len__(self) -> int:
        return len(self._entries)

    async def put_object(self, uid: str, entry: Entry) -> None:
        key = ("object", uid)
        waiting = self._entries.get(key)
        if waiting is not None:
            if not _older(entry, waiting):
                self._entries[key] = entry
            return
        await self._put(key, entry)

    async def put_marker(self, entry: Entry) -> None:
        await self._put(("marker", next(self._markers)), entry)

    async def _put(self, key: Hashable, entry: Entry) -> None:
        while len(self._entries) >= self._capacity:
            self._not_full.clear()
            await self._not_full.wait()
        self._entries[key] = entry
        self._not_empty.set()

    async def take(self, max_items: int, linger: float) -> list[Entry]:
        """At least one entry, at most `max_items`, in order; waits up to `linger` for a batch to fill."""
        while not self._entries:
            self._not_empty.clear()
            await self._not_empty.wait()
        if len(self._entries) < max_items and linger > 0:
            deadline = time.monotonic() + linger
            while len(self._entries) < max_items:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._not_empty.clear()
                try:
                    await asyncio.wait_for(self._not_empty.wait(), remaining)
                except TimeoutError:
                    break
        taken: list[Entry] = []
        keys = list(itertools.islice(self._entries, max_items))
        for key in keys:
            taken.append(self._entries.pop(key))
        if len(self._entries) < self._capacity:
            self._not_full.set()
        if not self._entries:
            self._not_empty.clear()
        return taken


def _older(entry: Entry, than: Entry) -> bool:
    """Whether `entry` is an older state of the object than `than`. resourceVersions are opaque, but every
    etcd-backed API server issues increasing integers (the server compares them the same way); any other
    pair counts as not older, so that the later one wins."""
    new, old = entry.item.object.resource_version, than.item.object.resource_version
    return new.isdigit() and old.isdigit() and int(new) < int(old)
