"""ToolRun: spec rules beyond its annotations, and the provider a new run records."""

from __future__ import annotations

from jangar.server.domain.kinds import KindRules
from jangar.server.domain.validation import Violations
from jangar.v1 import tool_pb2, tool_run_pb2

KIND = "ToolRun"


def validate_spec(spec: tool_run_pb2.ToolRunSpec, v: Violations) -> None:
    v.reference("spec.toolRef", spec.tool_ref, required=True)
    v.string_map("spec.parameters", spec.parameters)
    if spec.runtime.type:
        v.dns_label("spec.runtime.type", spec.runtime.type)
    v.struct("spec.runtime.config", spec.runtime.config)


def prepare_run(run: tool_run_pb2.ToolRun, tool: tool_pb2.Tool) -> str:
    """A tool run's `provider` column is the image that executes it: what the run's row says ran it."""
    return tool.spec.image


RULES = KindRules(validate_spec=validate_spec, prepare_run=prepare_run)
