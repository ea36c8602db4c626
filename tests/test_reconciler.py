"""The reconciler (reconciler/, docs/reconciler.md) against the fake Kubernetes API server and an in-test
fake of the server's side of the Reconcile stream."""

from __future__ import annotations

import json

import pytest

from tests.reconciler_fake import FakeReconcilerServer
from tests.reconciler_support import (
    AGENT_RUNS,
    agent_run,
    config_for,
    job,
    patch_agent_run,
    running,
    tool_run,
    watch_requests,
)


@pytest.fixture
async def sink():
    server = await FakeReconcilerServer().start()
    yield server
    await server.stop()


def _all_listed(sink: FakeReconcilerServer) -> bool:
    return {marker.kind for marker in sink.markers()} >= {"AgentRun", "ToolRun", "Job", "Pod"}


async def test_initial_list_sends_every_object_then_a_list_completed(fake_kube, sink, tmp_path):
    fake_kube.create("agentruns", agent_run("run-1"))
    fake_kube.create("agentruns", agent_run("run-2"))
    fake_kube.create("toolruns", tool_run("tool-1"))
    fake_kube.create("jobs", job("theirs", labels={"app": "other"}))
    fake_kube.create("jobs", job("ours"))
    async with running(config_for(fake_kube, sink.address, tmp_path, list_page_size=1)):
        await sink.wait_for(lambda: _all_listed(sink))
        session = sink.sessions[0]
        assert session.hello.identity == "reconciler-a"
        assert list(session.hello.namespaces) == []
        assert [batch.sequence for batch in session.batches] == list(range(1, len(session.batches) + 1))

        [runs_listed] = sink.markers("AgentRun")
        assert sorted(runs_listed.names) == ["default/run-1", "default/run-2"]
        assert runs_listed.api_version == AGENT_RUNS and runs_listed.namespace == ""
        assert runs_listed.resource_version
        [jobs_listed] = sink.markers("Job")
        assert list(jobs_listed.names) == ["default/ours"]  # the label selector keeps other Jobs out

        items = session.items()
        marker_at = next(i for i, item in enumerate(items) if item.list_completed.kind == "AgentRun")
        before = {item.object.name for item in items[:marker_at] if item.object.kind == "AgentRun"}
        assert before == {"run-1", "run-2"}
        snapshot = next(s for s in sink.snapshots("Job") if s.name == "ours")
        body = json.loads(snapshot.object)
        # Items of a list of built-in kinds come without kind/apiVersion; the snapshot's object has them.
        assert (body["apiVersion"], body["kind"]) == ("batch/v1", "Job")
        assert body["metadata"]["uid"] == snapshot.uid
        assert snapshot.resource_version == body["metadata"]["resourceVersion"]
        assert snapshot.observed_time.seconds > 0


async def test_watch_sends_changes_and_deletions(fake_kube, sink, tmp_path):
    fake_kube.create("agentruns", agent_run("run-1"))
    async with running(config_for(fake_kube, sink.address, tmp_path)):
        await sink.wait_for(lambda: _all_listed(sink))
        fake_kube.create("agentruns", agent_run("run-2"))
        patch_agent_run(fake_kube, "run-1", {"metadata": {"labels": {"seen": "yes"}}})
        await sink.wait_for(lambda: sink.latest("AgentRun", "run-2"))
        await sink.wait_for(
            lambda: sink.latest("AgentRun", "run-1")["metadata"].get("labels") == {"seen": "yes"}
        )
        uid = fake_kube.get("agentruns", "run-2")["metadata"]["uid"]
        fake_kube.store.delete(fake_kube.resource("agentruns"), "default", "run-2")
        gone = await sink.wait_for(
            lambda: (
                (sink.latest("AgentRun", "run-2") or {}).get("_deleted") and sink.latest("AgentRun", "run-2")
            )
        )
        assert gone["metadata"]["uid"] == uid
        # A Job Jangar made and its Pod, which the fake's Job controller creates with the template's labels.
        fake_kube.create("jobs", job("run-1-job"))
        await sink.wait_for(lambda: sink.latest("Job", "run-1-job"))
        await sink.wait_for(lambda: any(s.name.startswith("run-1-job-") for s in sink.snapshots("Pod")))
        assert len(sink.markers("AgentRun")) == 1  # no relist for any of this


async def test_bookmarks_move_the_resource_version_without_resending(fake_kube, sink, tmp_path):
    fake_kube.create("agentruns", agent_run("run-1"))
    async with running(config_for(fake_kube, sink.address, tmp_path)) as reconciler:
        await sink.wait_for(lambda: _all_listed(sink))
        await fake_kube.wait_for(lambda: len(watch_requests(fake_kube, "agentruns")) == 1, within=20)
        listed_at = watch_requests(fake_kube, "agentruns")[0]["resourceVersion"]
        # Writes the reconciler does not watch move the cluster's resourceVersion on.
        for index in range(3):
            fake_kube.create("configmaps", {"metadata": {"name": f"cm-{index}"}, "data": {}})
        current = str(fake_kube.resource_version)
        assert current != listed_at
        sent = len(sink.snapshots())
        events = reconciler.metrics.events
        fake_kube.send_bookmarks()
        await fake_kube.wait_for(lambda: events.labels("AgentRun", "BOOKMARK")._value.get() >= 1, within=20)
        fake_kube.end_watches()
        await fake_kube.wait_for(lambda: len(watch_requests(fake_kube, "agentruns")) >= 2, within=20)
        assert watch_requests(fake_kube, "agentruns")[1]["resourceVersion"] == current
        assert watch_requests(fake_kube, "agentruns")[1]["allowWatchBookmarks"] == "true"
        assert len(sink.snapshots()) == sent
        assert len(sink.markers("AgentRun")) == 1


async def test_a_watch_the_server_ends_is_reopened_from_the_last_resource_version(fake_kube, sink, tmp_path):
    fake_kube.create("agentruns", agent_run("run-1"))
    async with running(config_for(fake_kube, sink.address, tmp_path)):
        await sink.wait_for(lambda: _all_listed(sink))
        patch_agent_run(fake_kube, "run-1", {"spec": {"agentRef": {"name": "b"}}})
        changed = await sink.wait_for(
            lambda: sink.latest("AgentRun", "run-1")["spec"]["agentRef"]["name"] == "b"
        )
        assert changed
        last = fake_kube.get("agentruns", "run-1")["metadata"]["resourceVersion"]
        before = len(watch_requests(fake_kube, "agentruns"))
        fake_kube.end_watches()
        await fake_kube.wait_for(lambda: len(watch_requests(fake_kube, "agentruns")) > before, within=20)
        assert watch_requests(fake_kube, "agentruns")[before]["resourceVersion"] == last
        fake_kube.create("agentruns", agent_run("run-2"))
        await sink.wait_for(lambda: sink.latest("AgentRun", "run-2"))
        assert len(sink.markers("AgentRun")) == 1


async def test_a_dropped_watch_is_reopened_without_a_relist(fake_kube, sink, tmp_path):
    async with running(config_for(fake_kube, sink.address, tmp_path)):
        await sink.wait_for(lambda: _all_listed(sink))
        before = len(watch_requests(fake_kube, "toolruns"))
        fake_kube.drop_watches()
        await fake_kube.wait_for(lambda: len(watch_requests(fake_kube, "toolruns")) > before, within=20)
        fake_kube.create("toolruns", tool_run("tool-1"))
        await sink.wait_for(lambda: sink.latest("ToolRun", "tool-1"))
        assert len(sink.markers("ToolRun")) == 1


async def test_410_gone_means_a_relist(fake_kube, sink, tmp_path):
    fake_kube.create("agentruns", agent_run("run-1"))
    async with running(config_for(fake_kube, sink.address, tmp_path)) as reconciler:
        await sink.wait_for(lambda: _all_listed(sink))
        fake_kube.create("configmaps", {"metadata": {"name": "bump"}, "data": {}})
        fake_kube.compact()
        fake_kube.end_watches()
        await sink.wait_for(lambda: len(sink.markers("AgentRun")) == 2)
        assert list(sink.markers("AgentRun")[1].names) == ["default/run-1"]
        assert reconciler.metrics.relists.labels("AgentRun", "expired")._value.get() == 1
        # And it watches again, from the new list.
        fake_kube.create("agentruns", agent_run("run-2"))
        await sink.wait_for(lambda: sink.latest("AgentRun", "run-2"))


async def test_a_quiet_watch_is_reconnected_after_the_inactivity_timeout(fake_kube, sink, tmp_path):
    config = config_for(fake_kube, sink.address, tmp_path, watch_inactivity_seconds=0.5)
    async with running(config):
        await sink.wait_for(lambda: _all_listed(sink))
        # No bookmarks (the fake sends them every 60 s) and no changes: the watch is reopened anyway.
        await fake_kube.wait_for(lambda: len(watch_requests(fake_kube, "agentruns")) >= 3, within=20)
        assert len(sink.markers("AgentRun")) == 1
        fake_kube.create("agentruns", agent_run("late"))
        await sink.wait_for(lambda: sink.latest("AgentRun", "late"))


async def test_unacknowledged_items_are_sent_again_after_the_stream_breaks(fake_kube, sink, tmp_path):
    sink.hold_acks = True
    for index in range(5):
        fake_kube.create("agentruns", agent_run(f"run-{index}"))
    async with running(config_for(fake_kube, sink.address, tmp_path, batch_size=2)) as reconciler:
        await sink.wait_for(lambda: sink.sessions and len(sink.sessions[0].batches) >= 3)
        first = sink.sessions[0]
        unacked = [item for batch in first.batches for item in batch.items]
        sink.drop()
        sink.hold_acks = False
        await sink.wait_for(lambda: len(sink.sessions) >= 2 and len(sink.sessions[1].items()) >= len(unacked))
        second = sink.sessions[1]
        assert [batch.sequence for batch in second.batches][:1] == [1]
        resent = second.items()[: len(unacked)]
        assert resent == unacked
        await sink.wait_for(lambda: _all_listed(sink))
        assert reconciler.metrics.reconnects._value.get() >= 1


async def test_no_more_than_window_batches_are_unacknowledged(fake_kube, sink, tmp_path):
    sink.hold_acks = True
    for index in range(30):
        fake_kube.create("agentruns", agent_run(f"run-{index}"))
    config = config_for(fake_kube, sink.address, tmp_path, window=3, batch_size=2, flush_interval_seconds=0)
    async with running(config) as reconciler:
        await sink.wait_for(lambda: sink.sessions and sink.sessions[0].unacked == 3)
        # More is waiting to be sent, but the window is full.
        await fake_kube.wait_for(
            lambda: reconciler.metrics.pending._value.get() > 0 or len(reconciler.streamer._buffer) > 0
        )
        assert 3 <= reconciler.streamer.unacknowledged <= 6
        assert sink.sessions[0].unacked == 3
        sink.release_acks()
        await sink.wait_for(lambda: _all_listed(sink))
        assert len([s for s in sink.snapshots("AgentRun")]) == 30
        assert max(session.max_unacked for session in sink.sessions) == 3
        assert len(sink.sessions) == 1


async def test_a_relist_request_is_honoured(fake_kube, sink, tmp_path):
    fake_kube.create("jobs", job("job-1"))
    async with running(config_for(fake_kube, sink.address, tmp_path)) as reconciler:
        await sink.wait_for(lambda: _all_listed(sink))
        sink.relist("batch/v1", "Job", "default", reason="confirm a Job is gone")
        await sink.wait_for(lambda: len(sink.markers("Job")) == 2)
        again = sink.markers("Job")[1]
        assert again.namespace == "default" and list(again.names) == ["default/job-1"]
        sink.relist("batch/v1", "Job")
        await sink.wait_for(lambda: len(sink.markers("Job")) == 3)
        assert sink.markers("Job")[2].namespace == ""
        assert reconciler.metrics.relists.labels("Job", "requested")._value.get() == 2
        assert len(sink.markers("AgentRun")) == 1
        # The watch still works after the namespaced list.
        fake_kube.create("jobs", job("job-2"))
        await sink.wait_for(lambda: sink.latest("Job", "job-2"))


async def test_a_namespace_list_is_not_followed_by_the_older_events_it_covered(fake_kube, sink, tmp_path):
    fake_kube.create("agentruns", agent_run("run-1"))
    async with running(config_for(fake_kube, sink.address, tmp_path)) as reconciler:
        await sink.wait_for(lambda: _all_listed(sink))
        # The cluster-wide watch falls behind: cut, and refused while run-1 changes twice.
        fake_kube.faults.fail_next(10_000, 500, path="/agentruns$", watch=True)
        fake_kube.drop_watches()
        await fake_kube.wait_for(lambda: fake_kube.faults.injected >= 1)
        patch_agent_run(fake_kube, "run-1", {"metadata": {"labels": {"step": "1"}}})
        patch_agent_run(fake_kube, "run-1", {"metadata": {"labels": {"step": "2"}}})
        sink.relist("agents.proompteng.ai/v1alpha1", "AgentRun", "default", reason="a Job ended first")
        await sink.wait_for(lambda: len(sink.markers("AgentRun")) == 2)
        listed = sink.markers("AgentRun")[1]
        assert listed.namespace == "default"
        # The watch resumes from where it was and replays both changes, which the list already covered.
        fake_kube.faults.clear()
        modified = reconciler.metrics.events.labels("AgentRun", "MODIFIED")
        await fake_kube.wait_for(lambda: modified._value.get() >= 2)
        streamer = reconciler.streamer
        await sink.wait_for(lambda: len(streamer._buffer) == 0 and streamer.unacknowledged == 0)

        def sent_after_the_list() -> list[int]:
            items = [item for session in sink.sessions for item in session.items()]
            after = items[items.index(next(i for i in items if i.list_completed == listed)) + 1 :]
            return [
                int(i.object.resource_version)
                for i in after
                if i.WhichOneof("item") == "object" and i.object.name == "run-1"
            ]

        assert sent_after_the_list() == []
        # What follows the list still goes out.
        patch_agent_run(fake_kube, "run-1", {"metadata": {"labels": {"step": "3"}}})
        await sink.wait_for(lambda: sink.latest("AgentRun", "run-1")["metadata"]["labels"] == {"step": "3"})
        [newer] = sent_after_the_list()
        assert newer > int(listed.resource_version)


async def test_namespaced_reconciler_lists_only_its_namespaces(fake_kube, sink, tmp_path):
    fake_kube.create_namespace("team-a")
    fake_kube.create_namespace("team-b")
    fake_kube.create("agentruns", agent_run("a", "team-a"), namespace="team-a")
    fake_kube.create("agentruns", agent_run("b", "team-b"), namespace="team-b")
    config = config_for(fake_kube, sink.address, tmp_path, namespaces=("team-a",))
    async with running(config):
        await sink.wait_for(lambda: _all_listed(sink))
        assert list(sink.sessions[0].hello.namespaces) == ["team-a"]
        [listed] = sink.markers("AgentRun")
        assert listed.namespace == "team-a" and list(listed.names) == ["team-a/a"]
        assert [s.name for s in sink.snapshots("AgentRun")] == ["a"]


async def test_a_watch_refused_with_410_means_a_relist(fake_kube, sink, tmp_path):
    async with running(config_for(fake_kube, sink.address, tmp_path)) as reconciler:
        await sink.wait_for(lambda: _all_listed(sink))
        # A 410 answer to the watch request itself (not an ERROR event in a 200 stream).
        fake_kube.faults.fail_next(1, status=410, path="toolruns", watch=True)
        fake_kube.end_watches()
        await sink.wait_for(lambda: len(sink.markers("ToolRun")) == 2)
        assert reconciler.metrics.relists.labels("ToolRun", "expired")._value.get() == 1
        assert len(sink.markers("AgentRun")) == 1


async def test_api_errors_are_retried(fake_kube, sink, tmp_path):
    fake_kube.create("toolruns", tool_run("tool-1"))
    fake_kube.faults.fail_next(3, status=500, path="toolruns", watch=False)
    fake_kube.faults.fail_next(2, status=429, path="agentruns", watch=True, retry_after=1)
    async with running(config_for(fake_kube, sink.address, tmp_path)):
        await sink.wait_for(lambda: _all_listed(sink))
        assert [list(m.names) for m in sink.markers("ToolRun")] == [["default/tool-1"]]
        fake_kube.create("agentruns", agent_run("after-errors"))
        await sink.wait_for(lambda: sink.latest("AgentRun", "after-errors"))


async def test_resync_relists_periodically(fake_kube, sink, tmp_path):
    async with running(config_for(fake_kube, sink.address, tmp_path, resync_seconds=0.5)) as reconciler:
        await sink.wait_for(lambda: len(sink.markers("Pod")) >= 3)
        assert reconciler.metrics.relists.labels("Pod", "resync")._value.get() >= 2


async def test_a_server_that_stops_acknowledging_gets_a_new_session(fake_kube, sink, tmp_path):
    sink.hold_acks = True
    fake_kube.create("agentruns", agent_run("run-1"))
    async with running(config_for(fake_kube, sink.address, tmp_path, ack_timeout_seconds=1.0)):
        await sink.wait_for(lambda: len(sink.sessions) >= 2)
        sink.release_acks()
        await sink.wait_for(lambda: sink.current and sink.current.acked and _all_listed(sink))
        first = [item for batch in sink.sessions[0].batches for item in batch.items]
        again = [item for batch in sink.sessions[1].batches for item in batch.items][: len(first)]
        assert again == first


async def test_batches_stay_under_the_message_limit_and_managed_fields_are_left_out(
    fake_kube, sink, tmp_path
):
    # 40 runs of ~30 KB each: 1.2 MB in all, more than one message may carry.
    for index in range(40):
        resource = agent_run(f"big-{index}")
        resource["metadata"]["annotations"] = {"note": "x" * 30_000}
        resource["metadata"]["managedFields"] = [{"manager": "kubectl", "operation": "Apply"}]
        fake_kube.create("agentruns", resource)
    limit = 200_000
    async with running(config_for(fake_kube, sink.address, tmp_path, max_batch_bytes=limit)):
        await sink.wait_for(lambda: _all_listed(sink))
        batches = sink.sessions[0].batches
        assert all(batch.ByteSize() <= limit for batch in batches)
        names = {s.name for s in sink.snapshots("AgentRun")}
        assert names == {f"big-{index}" for index in range(40)}
        for snapshot in sink.snapshots("AgentRun"):
            assert "managedFields" not in json.loads(snapshot.object)["metadata"]
