"""Jangar's custom resources for the fake: the CRDs in deploy/crds/ when that folder has them, otherwise
the kinds of design.md section 4 that runs use."""

from __future__ import annotations

from pathlib import Path

from .kinds import CustomResource
from .server import load_crds

_FALLBACK = (
    CustomResource("agents.proompteng.ai", "agents", "Agent"),
    CustomResource("agents.proompteng.ai", "agentruns", "AgentRun"),
    CustomResource("agents.proompteng.ai", "agentproviders", "AgentProvider"),
    CustomResource("agents.proompteng.ai", "memories", "Memory"),
    CustomResource("orchestration.proompteng.ai", "orchestrations", "Orchestration"),
    CustomResource("orchestration.proompteng.ai", "orchestrationruns", "OrchestrationRun"),
    CustomResource("tools.proompteng.ai", "tools", "Tool"),
    CustomResource("tools.proompteng.ai", "toolruns", "ToolRun"),
)


def jangar_custom_resources(project_root: Path) -> list[CustomResource]:
    crd_dir = project_root / "deploy" / "crds"
    found = load_crds(crd_dir) if crd_dir.is_dir() else []
    return found or list(_FALLBACK)
