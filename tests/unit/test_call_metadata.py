"""The interceptor's reading of a call's metadata (one pass: request id, idempotency key, If-Match, a header
sent twice), the request ids it makes, and the metrics it keeps per method and code."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import REGISTRY

from jangar.server.api import metrics
from jangar.server.api.interceptors import (
    MAX_REQUEST_ID_LENGTH,
    new_request_id,
    read_metadata,
    refuse_duplicate,
)
from jangar.server.core.errors import DomainError

METHOD = "jangar.v1.AgentService/CreateAgent"


class Context:
    """The one ServicerContext method the reading uses."""

    def __init__(self, metadata: tuple[tuple[str, str | bytes], ...] | None) -> None:
        self._metadata = metadata

    def invocation_metadata(self) -> tuple[tuple[str, str | bytes], ...] | None:
        return self._metadata


def test_new_request_ids_are_distinct_version_4_uuids():
    ids = [new_request_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    for request_id in ids[:200]:
        parsed = uuid.UUID(request_id)
        assert str(parsed) == request_id
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_the_callers_first_non_empty_request_id_is_kept_and_bounded():
    long_id = "r" * (MAX_REQUEST_ID_LENGTH + 20)
    read = read_metadata(
        Context((("x-request-id", ""), ("x-request-id", long_id), ("x-request-id", "b"))), METHOD
    )
    assert read.context.request_id == "r" * MAX_REQUEST_ID_LENGTH
    assert read.context.method == METHOD


def test_a_call_without_a_request_id_gets_a_new_one():
    first = read_metadata(Context(None), METHOD).context.request_id
    second = read_metadata(Context((("user-agent", "grpc-python"),)), METHOD).context.request_id
    assert uuid.UUID(first) and uuid.UUID(second) and first != second


def test_the_idempotency_key_and_if_match_are_read_with_the_request_id():
    read = read_metadata(
        Context((("idempotency-key", "k-1"), ("x-request-id", "req-1"), ("if-match", '"7"'))), METHOD
    )
    assert (read.context.request_id, read.context.idempotency_key, read.context.if_match) == (
        "req-1",
        "k-1",
        '"7"',
    )
    assert read.duplicate_header is None
    refuse_duplicate(read.duplicate_header)


def test_binary_values_are_ignored():
    read = read_metadata(Context((("x-request-id-bin", b"\x00"), ("idempotency-key", "k"))), METHOD)
    assert read.context.idempotency_key == "k"


@pytest.mark.parametrize("header", ["idempotency-key", "if-match"])
def test_a_single_valued_header_sent_twice_is_refused_with_its_name(header):
    read = read_metadata(Context(((header, "one"), ("x-request-id", "req-2"), (header, "two"))), METHOD)
    assert read.duplicate_header == header
    # The request id is known even so: the refusal is answered and logged under it.
    assert read.context.request_id == "req-2"
    with pytest.raises(DomainError) as refused:
        refuse_duplicate(read.duplicate_header)
    assert refused.value.reason == "DUPLICATE_HEADER"
    assert refused.value.metadata == {"header": header}


def test_metrics_count_every_call_under_its_method_and_code():
    method = f"jangar.v1.Probe/Call{uuid.uuid4().hex[:8]}"
    for code, seconds in (("OK", 0.002), ("OK", 0.2), ("NOT_FOUND", 0.004)):
        metrics.observe(method, code, seconds)

    def sample(name: str, **labels: str) -> float | None:
        return REGISTRY.get_sample_value(name, {"method": method, **labels})

    assert sample("jangar_grpc_requests_total", code="OK") == 2
    assert sample("jangar_grpc_requests_total", code="NOT_FOUND") == 1
    assert sample("jangar_grpc_request_seconds_count") == 3
    assert sample("jangar_grpc_request_seconds_bucket", le="0.005") == 2
    assert sample("jangar_grpc_request_seconds_sum") == pytest.approx(0.206)
