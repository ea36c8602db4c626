"""The reconciler's coalescing buffer and its configuration, without Kubernetes or a server."""

from __future__ import annotations

import asyncio

import pytest

from jangar.reconciler import config as config_module
from jangar.reconciler.buffer import Entry, SnapshotBuffer
from jangar.reconciler.resources import watched
from jangar.v1 import reconciler_pb2


def _entry(uid: str, resource_version: str) -> Entry:
    snapshot = reconciler_pb2.ObjectSnapshot(uid=uid, resource_version=resource_version, kind="Job")
    return Entry(reconciler_pb2.SnapshotItem(object=snapshot), 1.0, "Job")


def _marker() -> Entry:
    return Entry(
        reconciler_pb2.SnapshotItem(list_completed=reconciler_pb2.ListCompleted(kind="Job")), 0.0, "Job"
    )


def _described(taken: list[Entry]) -> list[object]:
    return [
        (e.item.object.uid, e.item.object.resource_version)
        if e.item.WhichOneof("item") == "object"
        else "marker"
        for e in taken
    ]


async def test_a_newer_snapshot_replaces_a_waiting_one_in_place():
    buffer = SnapshotBuffer(capacity=10)
    await buffer.put_object("a", _entry("a", "1"))
    await buffer.put_object("b", _entry("b", "2"))
    await buffer.put_marker(_marker())
    await buffer.put_object("a", _entry("a", "3"))
    # a's newer state keeps a's place, ahead of the marker of the list that returned a.
    assert _described(await buffer.take(10, linger=0)) == [("a", "3"), ("b", "2"), "marker"]
    assert len(buffer) == 0


async def test_an_older_snapshot_never_replaces_a_waiting_newer_one():
    # A cluster-wide watch resumed after a list of one namespace replays events the list already covered:
    # had the replay taken the list's place, the marker would follow a state older than the list's (a Pod
    # still running while the list showed it terminated), and the server would decide on it.
    buffer = SnapshotBuffer(capacity=10)
    await buffer.put_object("pod", _entry("pod", "101"))
    await buffer.put_marker(_marker())
    await buffer.put_object("pod", _entry("pod", "95"))
    assert _described(await buffer.take(10, linger=0)) == [("pod", "101"), "marker"]
    # Once the newer state has been sent, an older one goes out on its own: the server calls it stale.
    await buffer.put_object("pod", _entry("pod", "96"))
    assert _described(await buffer.take(10, linger=0)) == [("pod", "96")]


async def test_a_full_buffer_holds_new_objects_back_but_not_newer_states_of_waiting_ones():
    buffer = SnapshotBuffer(capacity=2)
    await buffer.put_object("a", _entry("a", "1"))
    await buffer.put_object("b", _entry("b", "1"))
    await asyncio.wait_for(buffer.put_object("a", _entry("a", "2")), 5)
    blocked = asyncio.get_running_loop().create_task(buffer.put_object("c", _entry("c", "1")))
    await asyncio.sleep(0.05)
    assert not blocked.done()
    assert [e.item.object.uid for e in await buffer.take(1, linger=0)] == ["a"]
    await asyncio.wait_for(blocked, 5)
    assert [e.item.object.uid for e in await buffer.take(10, linger=0)] == ["b", "c"]


def test_configuration_from_the_environment_and_flags():
    environ = {
        "JANGAR_RECONCILER_SERVER": "jangar:50051",
        "JANGAR_RECONCILER_NAMESPACES": "team-b, team-a,,",
        "JANGAR_RECONCILER_RESYNC_SECONDS": "300",
        "JANGAR_RECONCILER_HTTP_PORT": "0",
        "POD_NAME": "jangar-reconciler-0",
    }
    config = config_module.load(["--window", "4", "--server", "other:1"], environ)
    assert config.server == "other:1"  # a flag wins over the variable
    assert config.namespaces == ("team-a", "team-b")
    assert config.resync_seconds == 300.0 and config.http_port == 0 and config.window == 4
    assert config.identity == "jangar-reconciler-0"
    defaults = config_module.load([], {})
    assert (
        defaults.server == "127.0.0.1:50051"
        and defaults.namespaces == ()
        and defaults.lease_namespace == "jangar"
    )
    assert defaults.http_port == 9091 and defaults.window == 8 and defaults.batch_size == 500
    assert defaults.watch_inactivity_seconds == 60.0 and defaults.resync_seconds == 0.0
    assert not defaults.watch_cnpg_clusters
    assert "Cluster" not in {r.kind for r in watched(defaults.watch_cnpg_clusters)}


def test_cnpg_clusters_are_watched_when_configured():
    config = config_module.load([], {"JANGAR_RECONCILER_WATCH_CNPG_CLUSTERS": "true"})
    assert config.watch_cnpg_clusters
    [cluster] = [r for r in watched(config.watch_cnpg_clusters) if r.kind == "Cluster"]
    assert cluster.api_version == "postgresql.cnpg.io/v1" and cluster.plural == "clusters"
    assert config_module.load(["--watch-cnpg-clusters", "0"], {}).watch_cnpg_clusters is False


@pytest.mark.parametrize(
    "environ",
    [
        {"JANGAR_RECONCILER_BATCH_SIZE": "501"},
        {"JANGAR_RECONCILER_WINDOW": "0"},
        {"JANGAR_RECONCILER_HTTP_PORT": "x"},
        {"JANGAR_RECONCILER_WATCH_CNPG_CLUSTERS": "maybe"},
    ],
)
def test_invalid_configuration_is_refused(environ):
    with pytest.raises(SystemExit):
        config_module.load([], environ)
