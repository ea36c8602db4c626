"""Tool: a container command; the rules of its spec beyond its annotations."""

from __future__ import annotations

import posixpath

from jangar.server.core.names import dns1123_subdomain_problems
from jangar.server.domain.kinds import KindRules
from jangar.server.domain.validation import Violations
from jangar.v1 import tool_pb2

KIND = "Tool"

MAX_PATH_BYTES = 1024


def _working_dir_problems(path: str) -> list[str]:
    problems = []
    if len(path.encode()) > MAX_PATH_BYTES:
        problems.append(f"must be at most {MAX_PATH_BYTES} bytes")
    if not path.startswith("/"):
        problems.append("must be an absolute path")
    elif posixpath.normpath(path) != path:
        problems.append(f"must be normalized (as {posixpath.normpath(path)!r})")
    return problems


def validate_spec(spec: tool_pb2.ToolSpec, v: Violations) -> None:
    v.image("spec.image", spec.image)
    for field, items in (("command", spec.command), ("args", spec.args)):
        if v.list_size(f"spec.{field}", items):
            for index, item in enumerate(items):
                v.bounded_text(f"spec.{field}[{index}]", item)
    v.env_vars("spec.env", spec.env)
    if spec.service_account:
        v.extend("spec.serviceAccount", dns1123_subdomain_problems(spec.service_account))
    if spec.working_dir:
        v.extend("spec.workingDir", _working_dir_problems(spec.working_dir))
    v.seconds("spec.timeoutSeconds", spec.timeout_seconds)
    v.seconds("spec.ttlSecondsAfterFinished", spec.ttl_seconds_after_finished)


RULES = KindRules(validate_spec=validate_spec)
