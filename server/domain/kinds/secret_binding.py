"""SecretBinding: the Secrets the runs of its subjects may name. It holds names only; the status says
whether every subject exists, re-checked on every write and by the server's upkeep (a subject created later
makes the binding Ready within one upkeep round)."""

from __future__ import annotations

from typing import Any

from jangar.server.core.names import dns1123_subdomain_problems
from jangar.server.domain import common, policy_subjects
from jangar.server.domain.kinds import KindRules
from jangar.server.domain.validation import MAX_LIST_ITEMS, Violations
from jangar.v1 import secret_binding_pb2

KIND = "SecretBinding"

Phase = secret_binding_pb2.SecretBindingStatus.Phase


def validate_resource(binding: secret_binding_pb2.SecretBinding, v: Violations) -> None:
    spec = binding.spec
    policy_subjects.validate(v, "spec.subjects", spec.subjects, binding.namespace)
    if v.list_size("spec.allowedSecrets", spec.allowed_secrets, MAX_LIST_ITEMS):
        for index, name in enumerate(spec.allowed_secrets):
            v.extend(f"spec.allowedSecrets[{index}]", dns1123_subdomain_problems(name))
        v.unique("spec.allowedSecrets", list(spec.allowed_secrets))


async def observe(db: Any, binding: secret_binding_pb2.SecretBinding) -> None:
    missing = await policy_subjects.missing(db, binding.spec.subjects, binding.namespace)
    status = binding.status
    if missing:
        phase, reason = Phase.Invalid, "SubjectNotFound"
        message = f"no {', '.join(missing)} in namespace {binding.namespace!r}"
    else:
        phase, reason, message = Phase.Ready, "SubjectsFound", "every subject exists"
    if (status.phase, status.reason, status.message) == (phase, reason, message):
        return  # unchanged: keep the condition's transition time
    status.phase, status.reason, status.message = phase, reason, message
    ready = common.condition(
        "Ready", "True" if phase == Phase.Ready else "False", reason, message, binding.generation
    )
    kept = [c for c in status.conditions if c.type != "Ready"]
    del status.conditions[:]
    status.conditions.extend([*kept, ready])


RULES = KindRules(validate_resource=validate_resource, observe=observe)
