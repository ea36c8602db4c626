"""An error's size is bounded whatever the request was: it travels in gRPC trailers, which every hop limits
(gRPC clients refuse more than 8 KiB by default)."""

from __future__ import annotations

import base64
import urllib.parse

from google.rpc import error_details_pb2, status_pb2

from jangar.server.api import errors
from jangar.server.core.errors import (
    Code,
    DomainError,
    FieldViolation,
    PreconditionViolation,
    invalid_argument,
)

TRAILER_BUDGET = 8 * 1024


def trailer_bytes(status) -> int:
    """What the trailers weigh on the wire: grpc-message is percent-encoded, binary trailers base64."""
    size = len(urllib.parse.quote(status.details, safe=" ").encode())
    for key, value in status.trailing_metadata:
        encoded = base64.b64encode(value) if isinstance(value, bytes) else value.encode()
        size += len(key) + len(encoded)
    return size


def decoded(status) -> tuple[error_details_pb2.ErrorInfo, list, list]:
    raw = dict(status.trailing_metadata)["grpc-status-details-bin"]
    message = status_pb2.Status.FromString(raw)
    info, fields, preconditions = error_details_pb2.ErrorInfo(), [], []
    for detail in message.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            detail.Unpack(info)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields = list(bad.field_violations)
        elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            preconditions = list(failure.violations)
    return info, fields, preconditions


def test_a_few_violations_are_all_listed_without_counts():
    error = invalid_argument([FieldViolation("name", "is required"), FieldViolation("spec", "is required")])
    info, fields, _ = decoded(errors.domain_status(error, "rid"))
    assert [f.field for f in fields] == ["name", "spec"]
    assert errors.VIOLATIONS_TOTAL not in info.metadata


def test_thousands_of_long_violations_are_cut_to_the_first_ones_with_the_total():
    violations = [FieldViolation(f"labels['{'k' * 5000}{i}']", "é" * 5000) for i in range(5000)]
    status = errors.domain_status(invalid_argument(violations), "rid")
    info, fields, _ = decoded(status)
    assert trailer_bytes(status) < TRAILER_BUDGET
    assert info.metadata[errors.VIOLATIONS_TOTAL] == "5000"
    assert info.metadata[errors.VIOLATIONS_SHOWN] == str(len(fields))
    assert 1 <= len(fields) <= errors.MAX_VIOLATIONS
    assert all(len(f.field.encode()) <= errors.MAX_DETAIL_TEXT_BYTES for f in fields)
    assert fields[0].field.startswith("labels['kkk") and fields[0].field.endswith("…")
    assert status.details.endswith("and 4995 more")


def test_short_violations_stop_at_fifty():
    violations = [FieldViolation(f"f{i}", "bad") for i in range(500)]
    info, fields, _ = decoded(errors.domain_status(invalid_argument(violations), "rid"))
    assert [f.field for f in fields] == [f"f{i}" for i in range(errors.MAX_VIOLATIONS)]
    assert info.metadata[errors.VIOLATIONS_SHOWN] == "50"


def test_messages_and_metadata_echoing_a_huge_input_are_bounded():
    huge = "名" * 20000
    error = DomainError(
        Code.NOT_FOUND, "AGENT_NOT_FOUND", f"Agent {huge!r} not found", metadata={"ref": huge}
    )
    status = errors.domain_status(error, "rid")
    info, _, _ = decoded(status)
    assert trailer_bytes(status) < TRAILER_BUDGET
    assert len(status.details.encode()) <= errors.MAX_MESSAGE_BYTES
    assert len(info.metadata["ref"].encode()) <= errors.MAX_DETAIL_TEXT_BYTES


def test_preconditions_share_the_budget():
    error = DomainError(
        Code.FAILED_PRECONDITION,
        "AGENT_IN_USE",
        "in use",
        precondition_violations=[PreconditionViolation("RUN", "r" * 300, "x" * 300) for _ in range(1000)],
    )
    status = errors.domain_status(error, "rid")
    info, _, preconditions = decoded(status)
    assert trailer_bytes(status) < TRAILER_BUDGET
    assert 0 < len(preconditions) < 1000
    assert info.metadata[errors.VIOLATIONS_TOTAL] == "1000"


def test_bounded_cuts_on_a_character_boundary():
    assert errors.bounded("short") == "short"
    cut = errors.bounded("é" * 300, 101)
    assert cut.endswith("…") and len(cut.encode()) <= 101
    cut.encode().decode()  # valid UTF-8
