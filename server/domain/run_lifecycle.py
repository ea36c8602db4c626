"""The run state machine: which phase changes are legal, what a change stamps, what a failed attempt means.

One machine serves AgentRuns, OrchestrationRuns and the steps of an OrchestrationRun. It is pure: it takes
phases, flags and a clock reading and returns decisions; callers apply them to their messages and rows.

               Started                     Succeeded
    Pending ─────────────────► Running ─────────────────► Succeeded
       │                       │  ▲ │
       │                       │  └─┘ Retry: a failed attempt with retries left starts
       │                       │      attempt + 1 and the run stays Running
       │                       ├────────────────────────► Failed
       │                       └────────────────────────► Cancelled
       ├────────────────────────────────────────────────► Failed
       └────────────────────────────────────────────────► Cancelled

Rules:

- Succeeded, Failed and Cancelled are terminal: once there, the phase never changes again.
- No phase moves backwards (Running never returns to Pending).
- Pending may go to Failed (admission or runtime failure before start) or Cancelled, never to Succeeded:
  a run must have run before it can succeed, so a runtime that sees a finished Job for a Pending run reports
  Running first.
- Moving to the phase a run is already in is a no-op (`decide` returns None): observers re-report the same
  phase, and that must be idempotent rather than an error or a new timestamp.
- startTime is stamped on the first entry into Running, finishTime on entry into a terminal phase; each is
  stamped at most once. A run that fails or is cancelled while Pending never gets a startTime.
- Reasons are CamelCase codes (`Reason` lists the known ones); messages are free text for people.
- Cancelling a run that already finished changes nothing (`cancel` returns None); whether the caller reports
  that as an error is the API layer's decision.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from jangar.server.core.timestamps import set_timestamp
from jangar.v1.run_phase_pb2 import RunPhase

PHASES: tuple[int, ...] = (
    RunPhase.Pending,
    RunPhase.Running,
    RunPhase.Succeeded,
    RunPhase.Failed,
    RunPhase.Cancelled,
)
TERMINAL_PHASES: frozenset[int] = frozenset({RunPhase.Succeeded, RunPhase.Failed, RunPhase.Cancelled})
UNFINISHED_PHASES: frozenset[int] = frozenset({RunPhase.Pending, RunPhase.Running})

# Legal phase *changes*. Staying in the same phase is not listed: it is a no-op, not a transition.
ALLOWED: Mapping[int, frozenset[int]] = MappingProxyType(
    {
        RunPhase.Pending: frozenset({RunPhase.Running, RunPhase.Failed, RunPhase.Cancelled}),
        RunPhase.Running: frozenset({RunPhase.Succeeded, RunPhase.Failed, RunPhase.Cancelled}),
        RunPhase.Succeeded: frozenset(),
        RunPhase.Failed: frozenset(),
        RunPhase.Cancelled: frozenset(),
    }
)

REASON_PATTERN = re.compile(r"^[A-Z][A-Za-z0-9]*$")

# Delay before the second attempt, when the spec gives none.
DEFAULT_RETRY_BACKOFF_SECONDS = 10.0
# Doubling stops here so that a long retry series does not leave a run idle for hours between attempts.
MAX_RETRY_BACKOFF_SECONDS = 300.0


class Reason(StrEnum):
    """The reason codes the server and runtimes use; any other CamelCase code is accepted too."""

    ACCEPTED = "Accepted"
    STARTED = "Started"
    SUCCEEDED = "Succeeded"
    EXIT_CODE = "ExitCode"
    TIMEOUT = "Timeout"
    CANCELLED = "Cancelled"
    RUNTIME_LOST = "RuntimeLost"
    JOB_FAILED = "JobFailed"
    JOB_MISSING = "JobMissing"
    DEADLINE_EXCEEDED = "DeadlineExceeded"


class AttemptOutcome(StrEnum):
    """What to do with a run after one of its attempts ended."""

    SUCCEED = "Succeed"  # move the run to Succeeded
    RETRY = "Retry"  # start attempt + 1; the run stays Running
    FAIL = "Fail"  # move the run to Failed


class IllegalTransition(ValueError):
    """A phase change the machine forbids: out of a terminal phase, backwards, or Pending to Succeeded."""

    def __init__(self, from_phase: int, to_phase: int, why: str) -> None:
        self.from_phase = from_phase
        self.to_phase = to_phase
        super().__init__(
            f"run phase cannot change from {phase_name(from_phase)} to {phase_name(to_phase)}: {why}"
        )


@dataclass(frozen=True)
class Transition:
    """A decided phase change. `at` goes into startTime / finishTime only where the matching flag is set."""

    from_phase: int
    to_phase: int
    reason: str
    message: str
    at: datetime
    sets_start_time: bool
    sets_finish_time: bool

    @property
    def is_terminal(self) -> bool:
        return self.to_phase in TERMINAL_PHASES


def phase_name(phase: int) -> str:
    """The enum name of a real phase; ValueError for the unspecified zero value or an unknown number."""
    if phase not in ALLOWED:
        raise ValueError(f"unknown run phase {phase}")
    return RunPhase.Name(phase)


def is_terminal(phase: int) -> bool:
    return phase in TERMINAL_PHASES


def validate_reason(reason: str) -> str:
    # Reasons are matched by machines (clients, alerts, the CR's status), so free text there is a bug.
    if not REASON_PATTERN.fullmatch(reason):
        raise ValueError(f"reason must be a CamelCase code matching {REASON_PATTERN.pattern}, got {reason!r}")
    return str(reason)


def decide(
    current_phase: int,
    target_phase: int,
    *,
    reason: str,
    message: str,
    now: datetime,
    has_start_time: bool,
    has_finish_time: bool,
) -> Transition | None:
    """The transition from `current_phase` to `target_phase`, or None when the run is already there.

    Raises IllegalTransition for a change the diagram forbids, and ValueError for an unknown phase, a reason
    that is not a CamelCase code, or a naive `now`.
    """
    phase_name(current_phase)
    phase_name(target_phase)
    reason = validate_reason(reason)
    if now.tzinfo is None:
        # A naive datetime would be read as local time by some callers and as UTC by protobuf.
        raise ValueError("now must be timezone-aware")
    if current_phase == target_phase:
        return None
    if target_phase not in ALLOWED[current_phase]:
        raise IllegalTransition(current_phase, target_phase, _why_illegal(current_phase, target_phase))
    return Transition(
        from_phase=current_phase,
        to_phase=target_phase,
        reason=reason,
        message=message,
        at=now,
        sets_start_time=target_phase == RunPhase.Running and not has_start_time,
        sets_finish_time=target_phase in TERMINAL_PHASES and not has_finish_time,
    )


def apply_transition(status: Any, transition: Transition) -> None:
    """Writes a decision into a run's (or a step's) status message: phase, reason, message, and the times
    the decision stamps."""
    status.phase = transition.to_phase
    if hasattr(status, "reason"):  # an OrchestrationRun's step has none
        status.reason = transition.reason
    status.message = transition.message
    if transition.sets_start_time:
        set_timestamp(status.start_time, transition.at)
    if transition.sets_finish_time:
        set_timestamp(status.finish_time, transition.at)


def _why_illegal(current_phase: int, target_phase: int) -> str:
    if current_phase in TERMINAL_PHASES:
        return "a terminal phase never changes"
    if target_phase == RunPhase.Succeeded:
        return "a run must be Running before it can succeed"
    return "a phase never moves backwards"


def cancel(
    current_phase: int,
    *,
    message: str,
    now: datetime,
    has_finish_time: bool = False,
    reason: str = Reason.CANCELLED,
) -> Transition | None:
    """The move to Cancelled, or None when the run has already finished (in any terminal phase)."""
    if is_terminal(current_phase):
        return None
    # Cancelling never stamps startTime: a Pending run did not start, a Running one already has it.
    return decide(
        current_phase,
        RunPhase.Cancelled,
        reason=reason,
        message=message,
        now=now,
        has_start_time=True,
        has_finish_time=has_finish_time,
    )


def attempt_outcome(
    attempt: int, retry_limit: int, *, failed: bool, retryable: bool = True
) -> AttemptOutcome:
    """What follows attempt number `attempt` (from 1), given `retry_limit` retries after the first attempt.

    With retry_limit N a run gets at most N + 1 attempts. A failure the caller knows retrying cannot fix
    (`retryable=False`, e.g. the whole run's deadline passed) fails the run at once. An attempt beyond the
    limit (the limit was lowered meanwhile) fails too rather than raising, since the attempt already ran.
    """
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    if retry_limit < 0:
        raise ValueError(f"retry_limit must be at least 0, got {retry_limit}")
    if not failed:
        return AttemptOutcome.SUCCEED
    if retryable and attempt <= retry_limit:
        return AttemptOutcome.RETRY
    return AttemptOutcome.FAIL


def retry_backoff_seconds(
    attempt: int,
    *,
    base: float = DEFAULT_RETRY_BACKOFF_SECONDS,
    cap: float = MAX_RETRY_BACKOFF_SECONDS,
) -> float:
    """Seconds to wait after failed attempt `attempt` (from 1): base, 2·base, 4·base, ... never above cap.

    Deterministic; callers that want jitter add it themselves, so that this stays testable.
    """
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    if not (math.isfinite(base) and base >= 0):
        raise ValueError(f"base must be a finite number of seconds >= 0, got {base}")
    if not (math.isfinite(cap) and cap >= 0):
        raise ValueError(f"cap must be a finite number of seconds >= 0, got {cap}")
    # Doubling step by step, stopping at the cap, avoids float overflow for huge attempt numbers.
    delay = float(base)
    for _ in range(attempt - 1):
        if delay >= cap:
            break
        delay *= 2
    return min(delay, float(cap))


def cancel_steps(run: Any, message: str, now: datetime) -> None:
    """Cancelled is terminal: every unfinished step of the run (an OrchestrationRun's) stops with it."""
    steps = run.status.step_statuses if "step_statuses" in run.status.DESCRIPTOR.fields_by_name else ()
    for step in steps:
        transition = cancel(
            step.phase, message=message, now=now, has_finish_time=step.HasField("finish_time")
        )
        if transition is not None:
            step.phase = transition.to_phase
            if transition.sets_finish_time:
                set_timestamp(step.finish_time, transition.at)
