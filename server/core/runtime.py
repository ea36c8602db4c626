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

    @property
    def name(self) -> str:
        """The runtime object's name: deterministic, so a retried start finds what an earlier one made."""
        return f"{self.run_id}-{self.number}"


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


@dataclass(frozen=True)
class Exited:
    """The attempt's process ended."""

    exit_code: int
    # The runner status file's content, if the process wrote one (JANGAR_RUNNER_STATUS_PATH).
    status_file: bytes | None
    # The declared output artifacts that exist: name -> path.
    artifacts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Lost:
    """The attempt's runtime object is gone without a trace of how it ended."""

    message: str


@dataclass(frozen=True)
class Alive:
    """The attempt is still running."""


Observation = Exited | Lost | Alive


class StartFailed(Exception):
    """The runtime could not start the attempt (the binary does not exist, no permission); the message says
    why and is safe to show."""


class Runtime(Protocol):
    """A way to execute attempts. Every method is safe to call again for the same attempt."""

    type: str

    async def start(self, launch: Launch) -> None: ...

    async def observe(self, attempt: Attempt) -> Observation: ...

    async def stop(self, attempt: Attempt) -> None: ...

    async def logs(self, attempt: Attempt, tail_bytes: int) -> tuple[str, bool]: ...
