"""The run state machine against its diagram: every ordered pair of phases, the timestamps each change
stamps, cancel, reason codes, attempt outcomes and retry backoff."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from jangar.server.domain import run_lifecycle as lc
from jangar.server.domain.run_lifecycle import (
    ALLOWED,
    DEFAULT_RETRY_BACKOFF_SECONDS,
    MAX_RETRY_BACKOFF_SECONDS,
    PHASES,
    TERMINAL_PHASES,
    UNFINISHED_PHASES,
    AttemptOutcome,
    IllegalTransition,
    Reason,
    Transition,
    attempt_outcome,
    cancel,
    decide,
    is_terminal,
    retry_backoff_seconds,
)
from jangar.v1.run_phase_pb2 import RunPhase

PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED = (
    RunPhase.Pending,
    RunPhase.Running,
    RunPhase.Succeeded,
    RunPhase.Failed,
    RunPhase.Cancelled,
)
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)

# The diagram, written out independently of ALLOWED so that a wrong table cannot pass by construction.
LEGAL = {
    (PENDING, RUNNING),
    (PENDING, FAILED),
    (PENDING, CANCELLED),
    (RUNNING, SUCCEEDED),
    (RUNNING, FAILED),
    (RUNNING, CANCELLED),
}
ALL_PAIRS = list(itertools.product(PHASES, PHASES))


def _expected(pair: tuple[int, int]) -> str:
    if pair[0] == pair[1]:
        return "noop"
    return "allowed" if pair in LEGAL else "illegal"


def _decide(current: int, target: int, *, has_start_time: bool = False, has_finish_time: bool = False, **kw):
    return decide(
        current,
        target,
        reason=kw.pop("reason", "Observed"),
        message=kw.pop("message", "seen by the runtime"),
        now=kw.pop("now", NOW),
        has_start_time=has_start_time,
        has_finish_time=has_finish_time,
    )


def _ids(pair: tuple[int, int]) -> str:
    return f"{RunPhase.Name(pair[0])}->{RunPhase.Name(pair[1])}"


# --- phase sets ------------------------------------------------------------------------------------------


def test_phase_sets_cover_the_five_real_phases():
    assert len(ALL_PAIRS) == 25
    assert set(PHASES) == set(ALLOWED) == TERMINAL_PHASES | UNFINISHED_PHASES
    assert not TERMINAL_PHASES & UNFINISHED_PHASES
    assert {SUCCEEDED, FAILED, CANCELLED} == TERMINAL_PHASES
    assert {PENDING, RUNNING} == UNFINISHED_PHASES
    assert RunPhase.RUN_PHASE_UNSPECIFIED not in ALLOWED


@pytest.mark.parametrize("phase", PHASES, ids=RunPhase.Name)
def test_is_terminal(phase):
    assert is_terminal(phase) is (phase in {SUCCEEDED, FAILED, CANCELLED})


def test_allowed_table_matches_the_diagram_and_is_read_only():
    assert {(a, b) for a, targets in ALLOWED.items() for b in targets} == LEGAL
    with pytest.raises(TypeError):
        ALLOWED[PENDING] = frozenset({SUCCEEDED})  # type: ignore[index]


# --- every ordered pair ----------------------------------------------------------------------------------


@pytest.mark.parametrize("pair", ALL_PAIRS, ids=_ids)
def test_every_ordered_pair(pair):
    current, target = pair
    expected = _expected(pair)
    if expected == "noop":
        assert _decide(current, target) is None
    elif expected == "allowed":
        transition = _decide(current, target, reason="Started", message="go")
        assert transition == Transition(
            from_phase=current,
            to_phase=target,
            reason="Started",
            message="go",
            at=NOW,
            sets_start_time=target == RUNNING,
            sets_finish_time=target in TERMINAL_PHASES,
        )
        assert transition.is_terminal is (target in TERMINAL_PHASES)
    else:
        with pytest.raises(IllegalTransition) as raised:
            _decide(current, target)
        assert isinstance(raised.value, ValueError)
        assert (raised.value.from_phase, raised.value.to_phase) == pair
        text = str(raised.value)
        assert RunPhase.Name(current) in text
        assert RunPhase.Name(target) in text


@pytest.mark.parametrize("terminal", sorted(TERMINAL_PHASES), ids=RunPhase.Name)
@pytest.mark.parametrize("target", PHASES, ids=RunPhase.Name)
def test_a_terminal_phase_never_changes(terminal, target):
    if target == terminal:
        assert _decide(terminal, target, has_start_time=True, has_finish_time=True) is None
        return
    with pytest.raises(IllegalTransition, match="terminal phase never changes"):
        _decide(terminal, target, has_start_time=True, has_finish_time=True)


def test_backwards_and_pending_to_succeeded_say_why():
    with pytest.raises(IllegalTransition, match="from Running to Pending: a phase never moves backwards"):
        _decide(RUNNING, PENDING)
    with pytest.raises(IllegalTransition, match="from Pending to Succeeded: a run must be Running"):
        _decide(PENDING, SUCCEEDED)


@pytest.mark.parametrize("phase", [RunPhase.RUN_PHASE_UNSPECIFIED, 6, -1])
def test_unknown_phases_are_rejected(phase):
    with pytest.raises(ValueError, match="unknown run phase") as raised:
        _decide(phase, RUNNING)
    assert not isinstance(raised.value, IllegalTransition)
    with pytest.raises(ValueError, match="unknown run phase"):
        _decide(PENDING, phase)


def test_a_naive_clock_reading_is_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        _decide(PENDING, RUNNING, now=datetime(2025, 1, 2, 3, 4, 5))


# --- timestamps ------------------------------------------------------------------------------------------


def test_entering_running_sets_start_time_once():
    first = _decide(PENDING, RUNNING, has_start_time=False)
    assert first is not None
    assert (first.sets_start_time, first.sets_finish_time) == (True, False)
    again = _decide(PENDING, RUNNING, has_start_time=True)
    assert again is not None
    assert again.sets_start_time is False


@pytest.mark.parametrize("terminal", sorted(TERMINAL_PHASES), ids=RunPhase.Name)
def test_leaving_running_never_sets_start_time(terminal):
    for has_start in (False, True):
        transition = _decide(RUNNING, terminal, has_start_time=has_start)
        assert transition is not None
        assert transition.sets_start_time is False


@pytest.mark.parametrize("pair", sorted(LEGAL), ids=_ids)
def test_finish_time_only_on_entering_a_terminal_phase_and_only_once(pair):
    current, target = pair
    fresh = _decide(current, target, has_start_time=True, has_finish_time=False)
    assert fresh is not None
    assert fresh.sets_finish_time is (target in TERMINAL_PHASES)
    stamped = _decide(current, target, has_start_time=True, has_finish_time=True)
    assert stamped is not None
    assert stamped.sets_finish_time is False


@pytest.mark.parametrize("terminal", [FAILED, CANCELLED], ids=RunPhase.Name)
def test_a_run_that_ends_while_pending_gets_no_start_time(terminal):
    transition = _decide(PENDING, terminal)
    assert transition is not None
    assert (transition.sets_start_time, transition.sets_finish_time) == (False, True)


def test_same_phase_observations_stamp_nothing():
    for phase in PHASES:
        assert _decide(phase, phase, has_start_time=False, has_finish_time=False) is None


# --- cancel ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", PHASES, ids=RunPhase.Name)
def test_cancel_each_phase(phase):
    transition = cancel(phase, message="cancelled by alice", now=NOW)
    if phase in TERMINAL_PHASES:
        assert transition is None
        return
    assert transition == Transition(
        from_phase=phase,
        to_phase=CANCELLED,
        reason="Cancelled",
        message="cancelled by alice",
        at=NOW,
        sets_start_time=False,
        sets_finish_time=True,
    )
    assert type(transition.reason) is str


def test_cancel_takes_a_custom_reason_and_validates_it():
    transition = cancel(RUNNING, message="over budget", now=NOW, reason="BudgetExceeded")
    assert transition is not None
    assert transition.reason == "BudgetExceeded"
    with pytest.raises(ValueError, match="CamelCase"):
        cancel(RUNNING, message="x", now=NOW, reason="budget exceeded")


def test_cancel_does_not_restamp_finish_time():
    transition = cancel(PENDING, message="x", now=NOW, has_finish_time=True)
    assert transition is not None
    assert transition.sets_finish_time is False


# --- reasons ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", [*(r.value for r in Reason), "A", "Http503", "BudgetExceeded"])
def test_camel_case_reasons_are_accepted(reason):
    transition = _decide(PENDING, RUNNING, reason=reason)
    assert transition is not None
    assert transition.reason == reason


@pytest.mark.parametrize(
    "reason",
    [
        "",
        "accepted",
        "Job Failed",
        "JOB_FAILED",
        "Job-Failed",
        "1Failed",
        "Failed.",
        " Failed",
        "Failed\n",
        "É",
    ],
)
def test_other_reasons_are_rejected(reason):
    with pytest.raises(ValueError, match="CamelCase") as raised:
        _decide(PENDING, RUNNING, reason=reason)
    assert not isinstance(raised.value, IllegalTransition)


def test_reasons_are_checked_even_for_a_no_op():
    with pytest.raises(ValueError, match="CamelCase"):
        _decide(RUNNING, RUNNING, reason="still running")


def test_reason_enum_members_are_the_codes():
    assert Reason.RUNTIME_LOST == "RuntimeLost"
    assert Reason.DEADLINE_EXCEEDED == "DeadlineExceeded"
    assert all(lc.REASON_PATTERN.fullmatch(r) for r in Reason)


# --- attempts --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "retry_limit", "failed", "expected"),
    [
        (1, 0, False, AttemptOutcome.SUCCEED),
        (1, 0, True, AttemptOutcome.FAIL),  # no retries: the first failure is final
        (1, 1, True, AttemptOutcome.RETRY),
        (2, 1, True, AttemptOutcome.FAIL),  # the last of retry_limit + 1 attempts
        (2, 1, False, AttemptOutcome.SUCCEED),
        (3, 3, True, AttemptOutcome.RETRY),
        (4, 3, True, AttemptOutcome.FAIL),
        (5, 3, True, AttemptOutcome.FAIL),  # the limit was lowered after this attempt started
        (5, 3, False, AttemptOutcome.SUCCEED),
    ],
)
def test_attempt_outcome_boundaries(attempt, retry_limit, failed, expected):
    assert attempt_outcome(attempt, retry_limit, failed=failed) is expected


def test_a_run_gets_retry_limit_plus_one_attempts():
    for retry_limit in range(5):
        outcomes = [attempt_outcome(a, retry_limit, failed=True) for a in range(1, retry_limit + 2)]
        assert outcomes == [AttemptOutcome.RETRY] * retry_limit + [AttemptOutcome.FAIL]


def test_a_non_retryable_failure_fails_at_once():
    assert attempt_outcome(1, 5, failed=True, retryable=False) is AttemptOutcome.FAIL
    assert attempt_outcome(1, 5, failed=False, retryable=False) is AttemptOutcome.SUCCEED


def test_a_retry_keeps_the_run_running():
    # Retry is not a phase change: the caller bumps the attempt and the run stays where it is.
    assert attempt_outcome(1, 2, failed=True) is AttemptOutcome.RETRY
    assert _decide(RUNNING, RUNNING, has_start_time=True) is None


@pytest.mark.parametrize(("attempt", "retry_limit"), [(0, 1), (-1, 1), (1, -1)])
def test_attempt_outcome_rejects_bad_counts(attempt, retry_limit):
    with pytest.raises(ValueError):
        attempt_outcome(attempt, retry_limit, failed=True)


# --- backoff ---------------------------------------------------------------------------------------------


def test_backoff_doubles_from_base():
    assert [retry_backoff_seconds(a, base=1, cap=1000) for a in range(1, 6)] == [1, 2, 4, 8, 16]
    assert retry_backoff_seconds(1) == DEFAULT_RETRY_BACKOFF_SECONDS


def test_backoff_is_capped_and_monotonic():
    delays = [retry_backoff_seconds(a) for a in range(1, 60)]
    assert all(a <= b for a, b in itertools.pairwise(delays))
    assert max(delays) == MAX_RETRY_BACKOFF_SECONDS
    assert delays[-1] == MAX_RETRY_BACKOFF_SECONDS
    assert retry_backoff_seconds(10**9) == MAX_RETRY_BACKOFF_SECONDS  # no overflow


def test_backoff_cap_below_base_wins():
    assert retry_backoff_seconds(1, base=600, cap=300) == 300


def test_backoff_with_zero_base_is_immediate():
    assert retry_backoff_seconds(7, base=0) == 0


def test_backoff_is_deterministic():
    assert retry_backoff_seconds(4, base=3, cap=100) == retry_backoff_seconds(4, base=3, cap=100) == 24


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempt": 0},
        {"attempt": 1, "base": -1},
        {"attempt": 1, "cap": -1},
        {"attempt": 1, "base": float("nan")},
        {"attempt": 1, "cap": float("inf")},
    ],
)
def test_backoff_rejects_bad_input(kwargs):
    with pytest.raises(ValueError):
        retry_backoff_seconds(**kwargs)
