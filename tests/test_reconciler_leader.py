"""Leader election and the health port of the reconciler: one replica streams, the others stand by and take
over when the Lease is released or expires."""

from __future__ import annotations

import datetime

import httpx
import pytest

from tests.reconciler_fake import FakeReconcilerServer
from tests.reconciler_support import agent_run, config_for, running


@pytest.fixture
async def sink():
    server = await FakeReconcilerServer().start()
    yield server
    await server.stop()


def _lease(fake_kube):
    return fake_kube.get("leases", "jangar-reconciler", namespace="jangar")


def _holder(fake_kube) -> str | None:
    lease = _lease(fake_kube)
    return None if lease is None else lease["spec"].get("holderIdentity", "")


def _lease_reads(fake_kube) -> int:
    return sum(1 for r in fake_kube.requests if r.method == "GET" and r.path.endswith("/jangar-reconciler"))


async def test_of_two_reconcilers_exactly_one_streams_and_the_other_takes_over(fake_kube, sink, tmp_path):
    fake_kube.create("agentruns", agent_run("run-1"))
    config_a = config_for(fake_kube, sink.address, tmp_path, identity="reconciler-a")
    config_b = config_for(fake_kube, sink.address, tmp_path, identity="reconciler-b")
    async with running(config_a) as a:
        await sink.wait_for(lambda: a.leading and sink.sessions)
        async with running(config_b) as b:
            # b keeps trying (every retry period) and keeps finding a's valid Lease.
            await sink.wait_for(lambda: b.elector and b.elector.holder == "reconciler-a")
            reads = _lease_reads(fake_kube)
            await fake_kube.wait_for(lambda: _lease_reads(fake_kube) >= reads + 10, within=30)
            assert b.elector.holder == "reconciler-a" and not b.leading
            assert [session.hello.identity for session in sink.sessions] == ["reconciler-a"]
            assert _holder(fake_kube) == "reconciler-a"

            a.stop()  # graceful: releases the Lease
            await sink.wait_for(lambda: b.leading and len(sink.sessions) == 2)
            assert sink.sessions[1].hello.identity == "reconciler-b"
            assert _holder(fake_kube) == "reconciler-b"
            await sink.wait_for(
                lambda: [i for i in sink.sessions[1].items() if i.list_completed.kind == "AgentRun"]
            )
            assert not a.leading


async def test_a_leader_that_dies_without_releasing_is_replaced_after_the_lease_expires(
    fake_kube, sink, tmp_path
):
    config_a = config_for(fake_kube, sink.address, tmp_path, identity="reconciler-a")
    config_b = config_for(fake_kube, sink.address, tmp_path, identity="reconciler-b")
    async with running(config_a) as a, running(config_b) as b:
        await sink.wait_for(lambda: (a.leading or b.leading) and sink.sessions)
        leader, standby = (a, b) if a.leading else (b, a)
        transitions = _lease(fake_kube)["spec"].get("leaseTransitions", 0)
        leader.stop(release=False)  # as a crash: the Lease still names it
        await sink.wait_for(lambda: standby.leading and len(sink.sessions) == 2)
        assert sink.sessions[1].hello.identity == standby.config.identity
        lease = _lease(fake_kube)
        assert lease["spec"]["holderIdentity"] == standby.config.identity
        assert lease["spec"]["leaseTransitions"] == transitions + 1


async def test_a_leader_whose_lease_is_taken_stops_streaming_and_stands_by(fake_kube, sink, tmp_path):
    async with running(config_for(fake_kube, sink.address, tmp_path)) as reconciler:
        await sink.wait_for(lambda: reconciler.leading and sink.current)
        lease = _lease(fake_kube)
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lease["spec"].update(holderIdentity="someone-else", renewTime=now, acquireTime=now)
        fake_kube.store.replace(fake_kube.resource("leases"), "jangar", "jangar-reconciler", lease)
        await sink.wait_for(lambda: sink.current is None)
        # The other holder never renews: once its Lease expires this replica leads again, with a fresh list.
        await sink.wait_for(lambda: reconciler.leading and len(sink.sessions) == 2)
        await sink.wait_for(
            lambda: [i for i in sink.sessions[1].items() if i.list_completed.kind == "AgentRun"]
        )


async def test_health_readiness_and_metrics(fake_kube, sink, tmp_path):
    fake_kube.create("agentruns", agent_run("run-1"))
    config_a = config_for(fake_kube, sink.address, tmp_path, identity="reconciler-a")
    config_b = config_for(fake_kube, sink.address, tmp_path, identity="reconciler-b")
    async with running(config_a) as a, httpx.AsyncClient(timeout=10) as http:
        await sink.wait_for(lambda: a.leading and sink.markers("AgentRun") and sink.sessions[0].acked)
        base = f"http://127.0.0.1:{a.http_port}"
        assert (await http.get(base + "/healthz")).status_code == 200
        ready = await http.get(base + "/readyz")
        assert ready.status_code == 200 and "leader" in ready.text
        await fake_kube.wait_for(lambda: a.metrics.verdicts.labels("applied")._value.get() > 0)
        metrics = (await http.get(base + "/metrics")).text
        assert "jangar_reconciler_leader 1.0" in metrics
        assert 'jangar_reconciler_snapshots_sent_total{kind="AgentRun"} 1.0' in metrics
        assert 'jangar_reconciler_verdicts_total{verdict="applied"}' in metrics
        assert 'jangar_reconciler_relists_total{kind="AgentRun",reason="initial"} 1.0' in metrics
        assert "jangar_reconciler_ack_lag_seconds_count" in metrics
        assert "jangar_reconciler_unacknowledged_items" in metrics
        assert "jangar_reconciler_stream_reconnects_total 0.0" in metrics

        async with running(config_b) as b:
            await fake_kube.wait_for(
                lambda: b.http_port and b.elector and b.elector.holder == "reconciler-a", within=20
            )
            standby = f"http://127.0.0.1:{b.http_port}"
            ready = await http.get(standby + "/readyz")
            assert ready.status_code == 200 and "standby" in ready.text
            assert "jangar_reconciler_leader 0.0" in (await http.get(standby + "/metrics")).text

        fake_kube.create("agentruns", agent_run("run-2"))
        await sink.wait_for(lambda: sink.latest("AgentRun", "run-2"))
        event_metric = 'jangar_reconciler_watch_events_total{kind="AgentRun",type="ADDED"} 1.0'
        assert event_metric in (await http.get(base + "/metrics")).text

        # The server goes away: the leader is alive but not ready.
        await sink.stop()
        await fake_kube.wait_for(lambda: not a.streamer.connected, within=20)
        assert (await http.get(base + "/readyz")).status_code == 503
        assert (await http.get(base + "/healthz")).status_code == 200
        assert (await http.get(base + "/nothing")).status_code == 404


async def test_a_leader_that_cannot_renew_steps_down_before_its_lease_expires(fake_kube, sink, tmp_path):
    async with running(config_for(fake_kube, sink.address, tmp_path)) as reconciler:
        await sink.wait_for(lambda: reconciler.leading and sink.current)
        async with fake_kube.outage():
            # Others would take over once the Lease expires: by then this replica no longer streams.
            await sink.wait_for(lambda: not reconciler.leading and sink.current is None)
        await sink.wait_for(lambda: reconciler.leading and len(sink.sessions) == 2)
        await sink.wait_for(lambda: [i for i in sink.sessions[1].items() if i.list_completed.kind == "Pod"])
