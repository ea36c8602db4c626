"""What a run's attempt executes, rendered from its definition's templates: shared by the kinds' plans
(domain/kinds/agent_run.py, tool_run.py), by admission (a run whose templates cannot be rendered is refused
when it is created) and by the worker (which renders them again when an attempt starts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from google.protobuf.message import Message

from jangar.server.core import custom_resources as cr
from jangar.server.core import proto_json
from jangar.server.core.errors import FieldViolation
from jangar.server.core.kinds import Kind
from jangar.server.core.query import Ref
from jangar.server.core.runtime import Launch, OwnerResource, WorkspaceMount
from jangar.server.core.templates import Root, TemplateError, render
from jangar.server.repository import rows
from jangar.server.repository.database import Tx
from jangar.server.repository.mapping import STORED
from jangar.v1 import workspace_pb2

# The id a run is rendered with at admission, before the database has given it one.
ADMISSION_RUN_ID = "00000000-0000-0000-0000-000000000000"


class PlanProblems(Exception):
    """The attempt cannot be planned: each problem is a field of the run and what is wrong there."""

    def __init__(self, problems: list[FieldViolation]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.description}" for p in problems))


@dataclass(frozen=True)
class Limits:
    """How long one attempt may run (0: no limit) and how many retries follow a failed one."""

    timeout_seconds: int
    retry_limit: int


class Renderer:
    """Renders one definition's templates against a run's context, collecting every problem."""

    def __init__(self, context: Mapping[str, Root], owner: str, field: str) -> None:
        self._context = context
        self._owner = owner  # "AgentProvider 'codex'"
        self._field = field  # the run field that names the definition: spec.agentRef
        self.problems: list[FieldViolation] = []

    def text(self, location: str, template: str) -> str:
        try:
            return render(template, self._context)
        except TemplateError as error:
            # A missing parameter is the run's to fix; anything else is the definition's.
            field = "spec.parameters" if str(error).startswith("{{parameters.") else self._field
            self.problems.append(FieldViolation(field, f"{self._owner} {location}: {error}"))
            return ""

    def raise_if_any(self) -> None:
        if self.problems:
            raise PlanProblems(self.problems)


def run_env(run: Any, attempt: int) -> dict[str, str]:
    """Variables every attempt gets, whatever its definition says."""
    return {
        "JANGAR_RUN_ID": run.id,
        "JANGAR_RUN_NAME": run.name,
        "JANGAR_RUN_NAMESPACE": run.namespace,
        "JANGAR_ATTEMPT": str(attempt),
    }


async def workspace_mount(db: Tx, run: Any) -> WorkspaceMount | None:
    """The Workspace the run names, as its attempts mount it; None when it names none. A Workspace that is
    missing, Failed or Expired cannot be used."""
    name = run.spec.workspace_ref.name
    if not name:
        return None
    workspace = await rows.find(db, STORED["Workspace"], Ref(namespace=run.namespace, name=name))
    field = "spec.workspaceRef.name"
    if workspace is None:
        problem = f"Workspace {name!r} does not exist in namespace {run.namespace!r}"
        raise PlanProblems([FieldViolation(field, problem)])
    phase = workspace.status.phase
    if phase in (workspace_pb2.WorkspaceStatus.Failed, workspace_pb2.WorkspaceStatus.Expired):
        problem = f"Workspace {name!r} is {workspace_pb2.WorkspaceStatus.Phase.Name(phase)}"
        raise PlanProblems([FieldViolation(field, problem)])
    return WorkspaceMount(workspace_id=workspace.id, claim_name=workspace.status.claim_name)


def resource_map(resources: Message) -> dict[str, dict[str, str]]:
    """A ResourceRequirements message as a container's `resources`, leaving out what is empty."""
    return {
        part: dict(getattr(resources, part)) for part in ("limits", "requests") if getattr(resources, part)
    }


def document(run: Message, parameters: Mapping[str, str], **definitions: Message) -> dict[str, Any]:
    """The run.json an attempt finds at $JANGAR_RUN_SPEC: the run, the definitions it runs (its Agent and
    AgentProvider, or its Tool) and its parameters, each as its proto3 JSON. A definition's JSON is
    remembered: every run of it writes the same."""
    written: dict[str, Any] = {"run": proto_json.to_dict(run)}
    written.update((name, proto_json.remembered_dict(value)) for name, value in definitions.items())
    written["parameters"] = dict(parameters)
    return written


@dataclass(frozen=True)
class RuntimePolicy:
    """Which runtime a run gets when its spec names none, and which ones this server may use."""

    default: str = "job"
    enabled: frozenset[str] = frozenset({"job"})


def with_cluster_identity(kind: Kind, run: Any, launch: Launch) -> Launch:
    """The launch with what links a Job's objects to the run: the labels every one of them carries, and the
    run's custom resource as their owner."""
    identity = {
        cr.RUN_ID_LABEL: run.id,
        cr.RUN_KIND_LABEL: kind.name,
        cr.ATTEMPT_LABEL: str(launch.attempt.number),
        cr.MANAGED_BY_LABEL: cr.MANAGED_BY,
    }
    owner = OwnerResource(
        api_version=kind.crd_api_version,
        kind=kind.name,
        plural=kind.crd_plural,
        name=run.name,
        body=cr.custom_resource(
            kind, run, extra_labels={cr.RUN_ID_LABEL: run.id, cr.MANAGED_BY_LABEL: cr.MANAGED_BY}
        ),
    )
    workload = replace(launch.workload, labels={**launch.workload.labels, **identity}, owner=owner)
    return replace(launch, workload=workload)
