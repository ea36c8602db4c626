"""What the run worker asks of a runtime (the local process runner, later the Kubernetes Job runner), in
types that import nothing: the domain drives runtimes through this port, and runtimes know nothing of the
domain or the database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

# The runtime types a run's `spec.runtime.type` may name.
LOCAL = "local"
JOB = "job"
RUNTIME_TYPES = (LOCAL, JOB)


@dataclass(frozen=True)
class Attempt:
    """One attempt of one run: what identifies its runtime object."""

    run_kind: str
    run_id: str
    number: int
    # The run's namespace: where a Job runtime finds the attempt's objects.
    namespace: str = ""

    @property
    def name(self) -> str:
        """The runtime object's name: deterministic, so a retried start finds what an earlier one made."""
        return f"{self.run_id}-{self.number}"


@dataclass(frozen=True)
class SecretKeyEnv:
    """An environment variable whose value is one key of a Kubernetes Secret (never read by Jangar)."""

    name: str
    secret_name: str
    key: str
    optional: bool = False


@dataclass(frozen=True)
class OwnerResource:
    """The run's custom resource, which a Job runtime writes first and makes the owner of the attempt's
    objects: `body` is the complete object (apiVersion, kind, metadata, spec)."""

    api_version: str
    kind: str
    plural: str
    name: str
    body: Mapping[str, Any]


@dataclass(frozen=True)
class Workload:
    """What a container runtime (Kubernetes Jobs) needs beyond the process: the local runtime ignores it."""

    image: str = ""
    # {"limits": {"cpu": "500m"}, "requests": {...}}, quantities as the spec wrote them.
    resources: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    service_account: str = ""
    working_dir: str = ""
    # Secrets whose every key becomes an environment variable (the run's `spec.secrets`).
    secret_refs: tuple[str, ...] = ()
    # Variables taken from one key of a Secret (an AgentProvider's `secretEnv`).
    secret_env: tuple[SecretKeyEnv, ...] = ()
    # Kubernetes' own deadline for the attempt (0: none) and how long a finished Job is kept (0: forever).
    timeout_seconds: int = 0
    ttl_seconds_after_finished: int = 0
    # Labels linking the attempt's objects to the run and its definitions (agent, provider, tool).
    labels: Mapping[str, str] = field(default_factory=dict)
    owner: OwnerResource | None = None


@dataclass(frozen=True)
class WorkspaceMount:
    """The Workspace a run names (docs/storage.md): its volume is the attempt's working directory. A Job
    mounts the PersistentVolumeClaim `claim_name`; the local runtime uses its directory for `workspace_id`."""

    workspace_id: str
    claim_name: str = ""


@dataclass(frozen=True)
class Launch:
    """Everything needed to start an attempt, templates already rendered."""

    attempt: Attempt
    argv: tuple[str, ...]
    env: Mapping[str, str]
    # Files written into the working directory before the process starts: relative path -> content.
    files: Mapping[str, str] = field(default_factory=dict)
    # The document the process finds at $JANGAR_RUN_SPEC (the run, its definition and parameters).
    run_document: Mapping[str, Any] = field(default_factory=dict)
    # Artifacts the definition declares: name -> path relative to the working directory.
    output_artifacts: Mapping[str, str] = field(default_factory=dict)
    # Variables that must come from Kubernetes Secrets (an AgentProvider's non-optional secretEnv).
    required_secrets: tuple[str, ...] = ()
    workload: Workload = field(default_factory=Workload)
    workspace: WorkspaceMount | None = None


@dataclass(frozen=True)
class StoredFile:
    """A copy of a file an attempt left behind, kept by the runtime where it outlives the attempt."""

    uri: str
    # `sha256:<64 hex digits>`.
    digest: str
    size_bytes: int
    media_type: str


@dataclass(frozen=True)
class Exited:
    """The attempt's process ended."""

    exit_code: int
    # The runner status file's content, if the process wrote one (JANGAR_RUNNER_STATUS_PATH).
    status_file: bytes | None
    # The declared output artifacts that exist: name -> path.
    artifacts: Mapping[str, str] = field(default_factory=dict)
    # The runtime's copies of the artifact files (declared or listed in the status file), by the path
    # relative to the working directory that named them.
    files: Mapping[str, StoredFile] = field(default_factory=dict)


@dataclass(frozen=True)
class Lost:
    """The attempt's runtime object is gone without a trace of how it ended."""

    message: str


@dataclass(frozen=True)
class Alive:
    """The attempt is still running."""


Observation = Exited | Lost | Alive


class StartFailed(Exception):
    """The runtime could not start the attempt (the binary does not exist, no permission, the cluster refused
    the Job as invalid): retrying will not help. The message says why and is safe to show."""


class RuntimeUnavailable(Exception):
    """The runtime could not be reached or answered with a transient error (a connection refused, a 5xx, a
    429): the same call may succeed later. The message says what happened and is safe to show."""


class Runtime(Protocol):
    """A way to execute attempts. Every method is safe to call again for the same attempt."""

    type: str

    async def start(self, launch: Launch) -> None: ...

    async def observe(self, attempt: Attempt) -> Observation: ...

    async def stop(self, attempt: Attempt) -> None: ...

    async def logs(self, attempt: Attempt, tail_bytes: int) -> tuple[str, bool]: ...


def launch_to_json(launch: Launch) -> dict[str, Any]:
    """The launch as JSON (what an outbox row keeps until a Job runtime writes it to the cluster). By hand:
    dataclasses.asdict deep-copies every nested document, which costs more than the rest of a create."""
    workload = launch.workload
    owner = workload.owner
    return {
        "attempt": {
            "run_kind": launch.attempt.run_kind,
            "run_id": launch.attempt.run_id,
            "number": launch.attempt.number,
            "namespace": launch.attempt.namespace,
        },
        "argv": list(launch.argv),
        "env": dict(launch.env),
        "files": dict(launch.files),
        "run_document": launch.run_document,
        "output_artifacts": dict(launch.output_artifacts),
        "required_secrets": list(launch.required_secrets),
        "workspace": None
        if launch.workspace is None
        else {"workspace_id": launch.workspace.workspace_id, "claim_name": launch.workspace.claim_name},
        "workload": {
            "image": workload.image,
            "resources": {part: dict(values) for part, values in workload.resources.items()},
            "service_account": workload.service_account,
            "working_dir": workload.working_dir,
            "secret_refs": list(workload.secret_refs),
            "secret_env": [
                {"name": e.name, "secret_name": e.secret_name, "key": e.key, "optional": e.optional}
                for e in workload.secret_env
            ],
            "timeout_seconds": workload.timeout_seconds,
            "ttl_seconds_after_finished": workload.ttl_seconds_after_finished,
            "labels": dict(workload.labels),
            "owner": None
            if owner is None
            else {
                "api_version": owner.api_version,
                "kind": owner.kind,
                "plural": owner.plural,
                "name": owner.name,
                "body": owner.body,
            },
        },
    }


def launch_from_json(document: Mapping[str, Any]) -> Launch:
    """The inverse of launch_to_json."""
    workload = dict(document.get("workload") or {})
    owner = workload.get("owner")
    workload["owner"] = OwnerResource(**owner) if owner else None
    workload["secret_refs"] = tuple(workload.get("secret_refs", ()))
    workload["secret_env"] = tuple(SecretKeyEnv(**item) for item in workload.get("secret_env", ()))
    workspace = document.get("workspace")
    return Launch(
        attempt=Attempt(**document["attempt"]),
        argv=tuple(document["argv"]),
        env=dict(document["env"]),
        files=dict(document.get("files") or {}),
        run_document=dict(document.get("run_document") or {}),
        output_artifacts=dict(document.get("output_artifacts") or {}),
        required_secrets=tuple(document.get("required_secrets", ())),
        workload=Workload(**workload),
        workspace=WorkspaceMount(**workspace) if workspace else None,
    )


class StatusWriter(Protocol):
    """What the Job runtime also does: write a custom resource's status (a refused kubectl-created run)."""

    async def write_status(
        self, api_version: str, plural: str, namespace: str, name: str, status: Mapping[str, Any]
    ) -> bool:
        """False when the resource does not exist."""
        ...


class VolumeClaims(Protocol):
    """What the outbox worker asks of a cluster for Workspaces: write and delete PersistentVolumeClaims."""

    async def create_claim(self, body: Mapping[str, Any]) -> None:
        """Creates the claim `body` describes; one that already exists is written."""
        ...

    async def delete_claim(self, namespace: str, name: str) -> None:
        """Deletes a claim; one already gone is deleted."""
        ...


class LocalFiles(Protocol):
    """The files the local runtime keeps under its state directory for Workspaces and Artifacts."""

    def remove_workspace(self, workspace_id: str) -> None:
        """Deletes a Workspace's directory and everything in it; nothing if there is none."""
        ...

    def remove_artifact(self, uri: str) -> bool:
        """Deletes the file of a `file://` URI if it is one of the kept artifact copies; False otherwise."""
        ...
