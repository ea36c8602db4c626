"""Memory: which stores need a connection Secret, and the phase of a new Memory."""

from __future__ import annotations

from jangar.server.core.names import dns1123_subdomain_problems
from jangar.server.domain import common
from jangar.server.domain.kinds import KindRules
from jangar.server.domain.validation import Violations
from jangar.v1 import memory_pb2

KIND = "Memory"


def validate_spec(spec: memory_pb2.MemorySpec, v: Violations) -> None:
    secret = spec.connection.secret_ref
    if spec.type != memory_pb2.MemorySpec.custom or secret.name or secret.key:
        if v.required("spec.connection.secretRef.name", secret.name):
            v.extend("spec.connection.secretRef.name", dns1123_subdomain_problems(secret.name))
        if v.required("spec.connection.secretRef.key", secret.key) and len(secret.key) > 253:
            v.add("spec.connection.secretRef.key", "must be at most 253 characters")
    for index, capability in enumerate(spec.capabilities):
        if capability == memory_pb2.MemorySpec.CAPABILITY_UNSPECIFIED:
            v.add(f"spec.capabilities[{index}]", "must be one of vector, kv, blob")
    v.unique("spec.capabilities", [str(c) for c in spec.capabilities])


def initial_status(memory: memory_pb2.Memory) -> None:
    common.accepted_status(memory)
    # Nothing has checked the store yet: that is the reconciler's job.
    memory.status.phase = memory_pb2.MemoryStatus.Pending


RULES = KindRules(validate_spec=validate_spec, initial_status=initial_status)
