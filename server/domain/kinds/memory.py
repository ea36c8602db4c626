"""Memory: which stores need a connection, the embedding settings, and the phase of a new Memory."""

from __future__ import annotations

from jangar.server.core.names import dns1123_subdomain_problems
from jangar.server.domain import common
from jangar.server.domain.embeddings import MAX_DIMENSION, dimension_of
from jangar.server.domain.kinds import KindRules
from jangar.server.domain.validation import Violations
from jangar.v1 import memory_pb2

KIND = "Memory"


def validate_spec(spec: memory_pb2.MemorySpec, v: Violations) -> None:
    secret = spec.connection.secret_ref
    cluster = spec.connection.cluster_ref
    # A postgres Memory without a connection lives in Jangar's own database (docs/memory.md).
    embedded = spec.type == memory_pb2.MemorySpec.postgres and not (secret.name or secret.key or cluster.name)
    if cluster.name:
        v.extend("spec.connection.clusterRef.name", dns1123_subdomain_problems(cluster.name))
        if spec.type != memory_pb2.MemorySpec.postgres:
            v.add("spec.connection.clusterRef", "names a CNPG Cluster, which only a postgres Memory can use")
        if secret.name or secret.key:
            v.add("spec.connection", "give secretRef or clusterRef, not both")
    elif not embedded and (spec.type != memory_pb2.MemorySpec.custom or secret.name or secret.key):
        if v.required("spec.connection.secretRef.name", secret.name):
            v.extend("spec.connection.secretRef.name", dns1123_subdomain_problems(secret.name))
        if v.required("spec.connection.secretRef.key", secret.key) and len(secret.key) > 253:
            v.add("spec.connection.secretRef.key", "must be at most 253 characters")
    for index, capability in enumerate(spec.capabilities):
        if capability == memory_pb2.MemorySpec.CAPABILITY_UNSPECIFIED:
            v.add(f"spec.capabilities[{index}]", "must be one of vector, kv, blob")
    v.unique("spec.capabilities", [str(c) for c in spec.capabilities])
    validate_embeddings(spec, v)
    if spec.retention.ttl_days < 0:
        v.add("spec.retention.ttlDays", "must not be negative")


def validate_embeddings(spec: memory_pb2.MemorySpec, v: Violations) -> None:
    embeddings = spec.embeddings
    if embeddings.endpoint:
        if not embeddings.endpoint.startswith(("http://", "https://")):
            v.add("spec.embeddings.endpoint", "must be an http:// or https:// URL")
        v.required("spec.embeddings.model", embeddings.model)
        if not embeddings.dimension:
            v.add("spec.embeddings.dimension", "is required with an endpoint")
    elif embeddings.dimension and embeddings.dimension != dimension_of(memory_pb2.MemorySpec()):
        v.add("spec.embeddings.dimension", "must be 256 (the embedded model's) without an endpoint")
    if not 0 <= embeddings.dimension <= MAX_DIMENSION:
        v.add("spec.embeddings.dimension", f"must be between 1 and {MAX_DIMENSION}")
    ref = embeddings.api_key_secret_ref
    if ref.name or ref.key:
        v.required("spec.embeddings.apiKeySecretRef.name", ref.name)
        v.required("spec.embeddings.apiKeySecretRef.key", ref.key)


def initial_status(memory: memory_pb2.Memory) -> None:
    common.accepted_status(memory)
    # Nothing has checked the store yet: the memory upkeep does (domain/memory_upkeep.py).
    memory.status.phase = memory_pb2.MemoryStatus.Pending


RULES = KindRules(validate_spec=validate_spec, initial_status=initial_status)
