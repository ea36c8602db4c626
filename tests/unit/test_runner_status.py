"""The runner contract: a valid status file decides the outcome; without one the exit code does."""

from __future__ import annotations

import json

from jangar.server.core.runner import outcome


def status(**report) -> bytes:
    return json.dumps(report).encode()


def test_exit_code_zero_without_a_status_file_is_success():
    result = outcome(0, None, {})
    assert (result.succeeded, result.reason) == (True, "Succeeded")


def test_a_non_zero_exit_code_without_a_status_file_is_exit_code():
    result = outcome(2, None, {})
    assert (result.succeeded, result.reason, result.runner.exit_code) == (False, "ExitCode", 2)


def test_the_status_file_wins_over_the_exit_code():
    result = outcome(0, status(status="failed", error="tests failed"), {})
    assert (result.succeeded, result.reason, result.message) == (False, "RunnerFailed", "tests failed")
    assert outcome(1, status(status="succeeded"), {}).succeeded


def test_usage_artifacts_and_a_bounded_error_are_kept():
    report = status(
        status="failed",
        error="x" * 10_000,
        artifacts=[{"name": "patch", "path": "out/p.diff"}],
        usage={"inputTokens": 10, "outputTokens": 5, "costUsd": 0.5},
    )
    runner = outcome(1, report, {"patch": "ignored", "log": "out/log.txt"}).runner
    assert len(runner.error) == 4096
    assert [(a.name, a.path) for a in runner.artifacts] == [("patch", "out/p.diff"), ("log", "out/log.txt")]
    assert (runner.usage.input_tokens, runner.usage.output_tokens, runner.usage.cost_usd) == (10, 5, 0.5)


def test_a_status_file_that_is_not_valid_is_ignored():
    for bad in (b"not json", b"[]", status(status="maybe"), b"\xff\xfe", b"{" * 100_000):
        result = outcome(3, bad, {})
        assert (result.reason, result.runner.status) == ("ExitCode", "")


def test_hostile_usage_numbers_are_dropped():
    runner = outcome(
        0, status(status="succeeded", usage={"inputTokens": -1, "outputTokens": True}), {}
    ).runner
    assert (runner.usage.input_tokens, runner.usage.output_tokens) == (0, 0)
