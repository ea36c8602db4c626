"""ToolRun: spec rules beyond its annotations, the provider a new run records, and what its attempts
execute: the Tool's command and arguments, rendered for the run."""

from __future__ import annotations

from jangar.server.core.custom_resources import LABEL_PREFIX
from jangar.server.core.runtime import Attempt, Launch, Workload
from jangar.server.core.templates import Root
from jangar.server.domain.kinds import KindRules
from jangar.server.domain.launch import Limits, Renderer, document, run_env, workspace_mount
from jangar.server.domain.validation import Violations
from jangar.server.repository.database import Tx
from jangar.v1 import tool_pb2, tool_run_pb2

KIND = "ToolRun"


def validate_spec(spec: tool_run_pb2.ToolRunSpec, v: Violations) -> None:
    v.reference("spec.toolRef", spec.tool_ref, required=True)
    v.string_map("spec.parameters", spec.parameters)
    if spec.runtime.type:
        v.dns_label("spec.runtime.type", spec.runtime.type)
    v.struct("spec.runtime.config", spec.runtime.config)
    v.reference("spec.workspaceRef", spec.workspace_ref, required=False)


def prepare_run(run: tool_run_pb2.ToolRun, tool: tool_pb2.Tool) -> str:
    """A tool run's `provider` column is the image that executes it: what the run's row says ran it."""
    return tool.spec.image


async def plan(db: Tx, run: tool_run_pb2.ToolRun, tool: tool_pb2.Tool, attempt: int) -> Launch:
    context = {
        "run": Root(run),
        "toolRun": Root(run),
        "tool": Root(tool),
        "parameters": Root(run.spec.parameters),
    }
    render = Renderer(context, f"Tool {tool.name!r}", "spec.toolRef")
    command = [render.text(f"spec.command[{i}]", t) for i, t in enumerate(tool.spec.command)]
    args = [render.text(f"spec.args[{i}]", t) for i, t in enumerate(tool.spec.args)]
    env = {var.name: render.text(f"spec.env[{i}].value", var.value) for i, var in enumerate(tool.spec.env)}
    render.raise_if_any()
    env.update(run_env(run, attempt))
    return Launch(
        attempt=Attempt(KIND, run.id, attempt, run.namespace),
        argv=(*command, *args),
        env=env,
        run_document=document(run=run, tool=tool, parameters=run.spec.parameters),
        workload=Workload(
            image=tool.spec.image,
            service_account=tool.spec.service_account,
            working_dir=tool.spec.working_dir,
            timeout_seconds=tool.spec.timeout_seconds,
            ttl_seconds_after_finished=tool.spec.ttl_seconds_after_finished,
            labels={LABEL_PREFIX + "tool": tool.name},
        ),
        workspace=await workspace_mount(db, run),
    )


def limits(run: tool_run_pb2.ToolRun, tool: tool_pb2.Tool) -> Limits:
    return Limits(tool.spec.timeout_seconds, 0)


RULES = KindRules(validate_spec=validate_spec, prepare_run=prepare_run, plan=plan, limits=limits)
