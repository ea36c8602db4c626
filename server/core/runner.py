"""The runner contract's status file (docs/runtime.md): what a run's process may write at
$JANGAR_RUNNER_STATUS_PATH before it exits, and how it decides the attempt's outcome."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from jangar.server.core.runtime import StoredFile
from jangar.v1 import execution_pb2

MAX_STATUS_FILE_BYTES = 64 * 1024
MAX_ERROR_CHARS = 4096
MAX_ARTIFACTS = 64
SUCCEEDED = "succeeded"
FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """An attempt's result: whether it succeeded, its reason code and message, and the runner's report."""

    succeeded: bool
    reason: str
    message: str
    runner: execution_pb2.RunnerStatus


def outcome(
    exit_code: int,
    status_file: bytes | None,
    artifacts: Mapping[str, str],
    files: Mapping[str, StoredFile] | None = None,
) -> Outcome:
    """A valid status file decides (`status` "succeeded" or "failed"); without one, or with one that is not
    valid, exit code 0 is success and anything else is failure with reason ExitCode. An artifact whose path
    the runtime kept a copy of (`files`), and for which the runner reported no URI, gets the copy's URI,
    digest, size and media type."""
    runner = execution_pb2.RunnerStatus(exit_code=exit_code)
    report = _parse(status_file)
    if report is not None:
        runner.status = report["status"]
        runner.error = str(report.get("error") or "")[:MAX_ERROR_CHARS]
        for item in report.get("artifacts") or []:
            if isinstance(item, dict) and len(runner.artifacts) < MAX_ARTIFACTS:
                runner.artifacts.add(
                    name=str(item.get("name", ""))[:253],
                    path=str(item.get("path", ""))[:1024],
                    uri=_text(item.get("uri"), 2048),
                    digest=_text(item.get("digest"), 128),
                    size_bytes=_int(item.get("sizeBytes")),
                    media_type=_text(item.get("mediaType"), 255),
                    ttl_days=min(_int(item.get("ttlDays")), 2**31 - 1),
                )
        usage = report.get("usage")
        if isinstance(usage, dict):
            runner.usage.input_tokens = _int(usage.get("inputTokens"))
            runner.usage.output_tokens = _int(usage.get("outputTokens"))
            runner.usage.cost_usd = _float(usage.get("costUsd"))
    listed = {a.name for a in runner.artifacts}
    for name, path in sorted(artifacts.items()):
        if name not in listed and len(runner.artifacts) < MAX_ARTIFACTS:
            runner.artifacts.add(name=name, path=path)
    for artifact in runner.artifacts:
        kept = (files or {}).get(artifact.path)
        # Where the runner put it itself (an upload) wins over the runtime's copy.
        if kept is not None and not artifact.uri:
            artifact.uri, artifact.digest = kept.uri, kept.digest
            artifact.size_bytes, artifact.media_type = kept.size_bytes, kept.media_type
    if report is not None:
        succeeded = report["status"] == SUCCEEDED
        message = (
            "the runner reported success" if succeeded else runner.error or "the runner reported failure"
        )
        return Outcome(succeeded, "Succeeded" if succeeded else "RunnerFailed", message, runner)
    if exit_code == 0:
        return Outcome(True, "Succeeded", "the process exited with code 0", runner)
    return Outcome(False, "ExitCode", f"the process exited with code {exit_code}", runner)


def _parse(status_file: bytes | None) -> dict | None:
    if not status_file or len(status_file) > MAX_STATUS_FILE_BYTES:
        return None
    try:
        report = json.loads(status_file)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(report, dict) or report.get("status") not in (SUCCEEDED, FAILED):
        return None
    return report


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63 else 0


def _float(value: object) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 else 0.0
    )
