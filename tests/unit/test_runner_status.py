"""The runner contract: a valid status file decides the outcome; without one the exit code does."""

from __future__ import annotations

import json

from jangar.server.core.runner import outcome
from jangar.server.core.runtime import StoredFile


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


def test_an_artifacts_reported_location_and_the_runtimes_copy_are_kept():
    report = status(
        status="succeeded",
        artifacts=[
            {
                "name": "up",
                "path": "x",
                "uri": "s3://b/x",
                "digest": "sha256:" + "a" * 64,
                "sizeBytes": 3,
                "mediaType": "text/plain",
                "ttlDays": 7,
            },
            {"name": "bad", "path": "y", "uri": 5, "sizeBytes": -1, "ttlDays": True},
        ],
    )
    copy = StoredFile("file:///state/artifacts/r/1/out/r.txt", "sha256:" + "b" * 64, 4, "text/plain")
    result = outcome(0, report, {"report": "out/r.txt"}, {"out/r.txt": copy})
    up, bad, declared = result.runner.artifacts
    assert (up.uri, up.digest, up.size_bytes, up.media_type, up.ttl_days) == (
        "s3://b/x",
        "sha256:" + "a" * 64,
        3,
        "text/plain",
        7,
    )
    assert (bad.uri, bad.size_bytes, bad.ttl_days) == ("", 0, 0)
    assert (declared.name, declared.uri, declared.digest, declared.size_bytes) == (
        "report",
        copy.uri,
        copy.digest,
        4,
    )
