"""AgentProvider: the runner's binary, templates, secret references, files and artifacts."""

from __future__ import annotations

import posixpath
import re

from jangar.server.core.names import c_identifier_problems, dns1123_label_problems, dns1123_subdomain_problems
from jangar.server.domain.kinds import KindRules
from jangar.server.domain.validation import MAX_LIST_ITEMS, MAX_TEXT_BYTES, Violations
from jangar.v1 import agent_provider_pb2

KIND = "AgentProvider"

MAX_PATH_BYTES = 1024
# Kubernetes' rule for the keys of a Secret's data.
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")


def _relative_path_problems(path: str) -> list[str]:
    """A path inside the run's working directory: relative, normalized, never climbing out of it."""
    if not path:
        return []  # REQUIRED reports it
    problems = []
    if len(path.encode()) > MAX_PATH_BYTES:
        problems.append(f"must be at most {MAX_PATH_BYTES} bytes")
    if path.startswith("/"):
        problems.append("must be relative to the working directory")
    if ".." in path.split("/"):
        problems.append("must not contain '..' segments")
    elif path == ".":
        problems.append("must name a file inside the working directory, not the directory itself")
    elif posixpath.normpath(path) != path:
        problems.append(f"must be normalized (as {posixpath.normpath(path)!r})")
    return problems


def validate_spec(spec: agent_provider_pb2.AgentProviderSpec, v: Violations) -> None:
    v.bounded_text("spec.binary", spec.binary, MAX_PATH_BYTES)
    if any(c.isspace() for c in spec.binary):
        v.add("spec.binary", "must not contain white space (arguments go in argsTemplate)")
    if v.list_size("spec.argsTemplate", spec.args_template):
        for index, arg in enumerate(spec.args_template):
            v.bounded_text(f"spec.argsTemplate[{index}]", arg)
    v.string_map("spec.envTemplate", spec.env_template)
    for name in spec.env_template:
        v.extend(f"spec.envTemplate[{name!r}]", c_identifier_problems(name))
    if v.list_size("spec.secretEnv", spec.secret_env):
        for index, env in enumerate(spec.secret_env):
            path = f"spec.secretEnv[{index}]"
            if env.name:
                v.extend(f"{path}.name", c_identifier_problems(env.name))
                if env.name in spec.env_template:
                    v.add(f"{path}.name", f"{env.name!r} is also set by envTemplate")
            if env.secret_name:
                v.extend(f"{path}.secretName", dns1123_subdomain_problems(env.secret_name))
            if env.key and (len(env.key) > 253 or not _SECRET_KEY.fullmatch(env.key)):
                v.add(f"{path}.key", "must be at most 253 of the characters a-z, A-Z, 0-9, '-', '_' and '.'")
        v.unique("spec.secretEnv.name", [env.name for env in spec.secret_env])
    if v.list_size("spec.inputFiles", spec.input_files):
        for index, file in enumerate(spec.input_files):
            v.extend(f"spec.inputFiles[{index}].path", _relative_path_problems(file.path))
            v.bounded_text(f"spec.inputFiles[{index}].content", file.content, MAX_TEXT_BYTES)
        v.unique("spec.inputFiles.path", [file.path for file in spec.input_files])
    if v.list_size("spec.outputArtifacts", spec.output_artifacts, MAX_LIST_ITEMS):
        for index, artifact in enumerate(spec.output_artifacts):
            if artifact.name:
                v.extend(f"spec.outputArtifacts[{index}].name", dns1123_label_problems(artifact.name))
            v.extend(f"spec.outputArtifacts[{index}].path", _relative_path_problems(artifact.path))
        v.unique("spec.outputArtifacts.name", [artifact.name for artifact in spec.output_artifacts])
    v.workload("spec.workload", spec.workload)


RULES = KindRules(validate_spec=validate_spec)
