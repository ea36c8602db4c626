"""gRPC requests for an endpoint: the target's valid request with hostile edits of its slots (with near
misses for the fields that have a grammar), the metadata a POST or PATCH carries, and raw bytes that do not
decode as the request at all."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.field_mask_pb2 import FieldMask
from hypothesis import strategies as st

from tests.fuzz import json_bodies, proto_values, semantics, values
from tests.fuzz.targets import Target

# The server's limit on a request (ServerSettings.max_request_bytes). Larger ones are a different test.
MAX_REQUEST_BYTES = 1024 * 1024


@dataclass(frozen=True)
class GrpcRequest:
    payload: bytes
    metadata: tuple[tuple[str, str], ...]
    edits: str

    def __repr__(self) -> str:
        shown = self.payload[:1500]
        return f"{self.edits}\n  metadata: {self.metadata}\n  bytes ({len(self.payload)}): {shown!r}"

    @property
    def sent(self) -> str:
        return f"{self.edits} {self.metadata} {self.payload.decode('utf-8', 'replace')}"


def _overrides(target: Target) -> dict[str, st.SearchStrategy[object]]:
    overrides: dict[str, st.SearchStrategy[object]] = {
        "page_token": semantics.page_tokens(target.page_token),
        "label_selector": semantics.label_selectors(),
        "etag": semantics.etags(target.etag),
    }
    if target.real_id:
        overrides["id"] = semantics.ids(target.real_id, target.real_name)
        for name in ("agent_id", "orchestration_id"):
            overrides[name] = semantics.ids(target.real_id, target.real_name)
    kind = target.endpoint.kind
    if kind is not None:
        overrides["update_mask"] = semantics.mask_paths(kind.descriptor).map(
            lambda paths: FieldMask(paths=paths)
        )
    return overrides


def _metadata(target: Target) -> st.SearchStrategy[tuple[tuple[str, str], ...]]:
    endpoint = target.endpoint
    if endpoint.is_post:
        return json_bodies.idempotency_keys(values.grpc_metadata_value).map(
            lambda keys: tuple(("idempotency-key", key) for key in keys)
        )
    if endpoint.verb == "PATCH":
        etags = semantics.etags(target.etag).map(values.grpc_metadata_value)
        return st.one_of(st.just(()), etags.map(lambda etag: (("if-match", etag),)))
    return st.just(())


def requests(target: Target) -> st.SearchStrategy[GrpcRequest]:
    """Well-formed messages with hostile values."""
    cached = target.cache.get("grpc")
    if cached is None:
        cached = target.cache["grpc"] = st.builds(
            lambda mutated, metadata: GrpcRequest(
                mutated.message.SerializeToString(), metadata, f"edits: {mutated.edits}"
            ),
            proto_values.mutated(target.request, _overrides(target)),
            _metadata(target),
        ).filter(lambda request: len(request.payload) < MAX_REQUEST_BYTES)
    return cached  # type: ignore[return-value]


def raw_requests(target: Target) -> st.SearchStrategy[GrpcRequest]:
    """Bytes that are not a valid serialization of the request."""
    cached = target.cache.get("raw")
    if cached is None:
        base = target.request.SerializeToString()
        cached = target.cache["raw"] = st.builds(
            lambda payload, metadata: GrpcRequest(payload, metadata, "raw bytes"),
            proto_values.raw_requests(base, target.endpoint.request),
            _metadata(target),
        )
    return cached  # type: ignore[return-value]
