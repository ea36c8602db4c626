"""Tool: its sample for the conformance suite and the rules of its spec fields."""

from __future__ import annotations

import grpc
import pytest

from jangar.v1 import tool_pb2, tool_pb2_grpc
from tests.builders import key
from tests.support import unique, violated_fields

KIND = "Tool"

Tool = tool_pb2.Tool
Spec = tool_pb2.ToolSpec


def sample(namespace: str, **labels: str) -> Tool:
    return Tool(
        name=unique("tool"),
        namespace=namespace,
        labels=labels,
        spec=Spec(
            image="ghcr.io/proompteng/ruff:0.17",
            command=["ruff"],
            args=["check", "{{parameters.path}}"],
            env=[{"name": "RUFF_CACHE_DIR", "value": "/tmp/ruff"}, {"name": "NO_COLOR", "value": "1"}],
            service_account="tool-runner",
            working_dir="/workspace",
            timeout_seconds=300,
            ttl_seconds_after_finished=3600,
        ),
    )


def changed_spec() -> tuple[str, Spec]:
    return "spec.timeout_seconds", Spec(timeout_seconds=60)


@pytest.fixture
def tools(channel: grpc.aio.Channel) -> tool_pb2_grpc.ToolServiceStub:
    return tool_pb2_grpc.ToolServiceStub(channel)


async def refused_fields(tools, spec: Spec) -> list[str]:
    tool = sample("tools")
    tool.spec.CopyFrom(spec)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await tools.CreateTool(tool_pb2.CreateToolRequest(tool=tool), metadata=key())
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return violated_fields(refused.value)


async def test_an_image_is_required(tools):
    assert await refused_fields(tools, Spec(command=["true"])) == ["spec.image"]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (Spec(image="ruff latest"), "spec.image"),
        (Spec(image="ruff", env=[{"name": "1BAD", "value": "x"}]), "spec.env[0].name"),
        (Spec(image="ruff", env=[{"name": "A"}, {"name": "A"}]), "spec.env.name[1]"),
        (Spec(image="ruff", service_account="Not_A_Name"), "spec.serviceAccount"),
        (Spec(image="ruff", working_dir="relative/dir"), "spec.workingDir"),
        (Spec(image="ruff", working_dir="/a/../b"), "spec.workingDir"),
        (Spec(image="ruff", timeout_seconds=-1), "spec.timeoutSeconds"),
        (Spec(image="ruff", ttl_seconds_after_finished=10**9), "spec.ttlSecondsAfterFinished"),
        (Spec(image="ruff", args=["x"] * 65), "spec.args"),
    ],
)
async def test_each_spec_rule_names_its_field(tools, spec, field):
    assert await refused_fields(tools, spec) == [field]
