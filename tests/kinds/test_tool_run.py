"""ToolRun: its sample for the conformance suite, its rules, and that the run view shows it."""

from __future__ import annotations

import grpc
import pytest

from jangar.v1 import run_pb2, run_phase_pb2, tool_pb2, tool_pb2_grpc, tool_run_pb2, tool_run_pb2_grpc
from tests.builders import key
from tests.kinds import test_tool
from tests.support import reason_of, unique, violated_fields

KIND = "ToolRun"


def sample(namespace: str, parent_name: str, **labels: str) -> tool_run_pb2.ToolRun:
    return tool_run_pb2.ToolRun(
        name=unique("run"),
        namespace=namespace,
        labels=labels,
        spec=tool_run_pb2.ToolRunSpec(
            tool_ref={"name": parent_name},
            parameters={"path": "server/"},
            runtime={"type": "job"},
        ),
    )


@pytest.fixture
def tools(channel: grpc.aio.Channel) -> tool_pb2_grpc.ToolServiceStub:
    return tool_pb2_grpc.ToolServiceStub(channel)


@pytest.fixture
def tool_runs(channel: grpc.aio.Channel) -> tool_run_pb2_grpc.ToolRunServiceStub:
    return tool_run_pb2_grpc.ToolRunServiceStub(channel)


async def test_a_run_records_its_tool_and_the_image_that_runs_it(tools, tool_runs, runs, db):
    tool = await tools.CreateTool(
        tool_pb2.CreateToolRequest(tool=test_tool.sample("toolruns")), metadata=key()
    )
    run = await tool_runs.CreateToolRun(
        tool_run_pb2.CreateToolRunRequest(tool_run=sample("toolruns", tool.name)), metadata=key()
    )
    assert run.tool_id == tool.id
    assert run.status.phase == run_phase_pb2.Pending
    row = await db.fetchrow("SELECT tool_name, provider, status FROM tool_runs WHERE name = $1", run.name)
    assert (row["tool_name"], row["provider"], row["status"]) == (tool.name, tool.spec.image, "Pending")
    view = await runs.GetRun(run_pb2.GetRunRequest(id=run.id))
    assert (view.kind, view.parent.kind, view.parent.id, view.parent.name) == (
        "ToolRun",
        "Tool",
        tool.id,
        tool.name,
    )


async def test_a_run_of_a_missing_tool_is_404(tool_runs):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await tool_runs.CreateToolRun(
            tool_run_pb2.CreateToolRunRequest(tool_run=sample("toolruns", "no-such-tool")), metadata=key()
        )
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    assert reason_of(refused.value) == "TOOL_NOT_FOUND"


async def test_spec_rules_name_their_fields(tool_runs):
    run = sample("toolruns", "any")
    run.spec.runtime.type = "Not A Type"
    run.spec.parameters[""] = "x"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await tool_runs.CreateToolRun(tool_run_pb2.CreateToolRunRequest(tool_run=run), metadata=key())
    assert sorted(violated_fields(refused.value)) == ["spec.parameters['']", "spec.runtime.type"]
