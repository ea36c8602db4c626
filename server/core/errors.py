"""Errors every layer may raise. The API layer turns each into a gRPC status with google.rpc details
(design.md section 5); nothing below it imports gRPC."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Code(enum.IntEnum):
    """The gRPC status codes the domain uses (values equal grpc.StatusCode's)."""

    INVALID_ARGUMENT = 3
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    FAILED_PRECONDITION = 9
    ABORTED = 10
    RESOURCE_EXHAUSTED = 8
    UNAVAILABLE = 14


@dataclass(frozen=True)
class FieldViolation:
    """One problem with one field of a request; `field` is its JSON path (`spec.steps[2].dependsOn[0]`)."""

    field: str
    description: str


@dataclass(frozen=True)
class PreconditionViolation:
    """One unmet precondition, as google.rpc.PreconditionFailure.Violation."""

    type: str
    subject: str
    description: str


@dataclass
class DomainError(Exception):
    """An expected failure, safe to show to the client as it is."""

    code: Code
    reason: str
    message: str
    metadata: dict[str, str] = field(default_factory=dict)
    field_violations: list[FieldViolation] = field(default_factory=list)
    precondition_violations: list[PreconditionViolation] = field(default_factory=list)
    # An HTTP status for REST clients when the gRPC code's standard mapping is not the one a standard asks for
    # (422 for a reused idempotency key). Envoy applies it; gRPC clients see only `code`.
    http_status: int | None = None

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


SUMMARY_ITEM_CHARS = 90


def _summary_item(violation: FieldViolation) -> str:
    text = f"{violation.field}: {violation.description}"
    return text if len(text) <= SUMMARY_ITEM_CHARS else text[: SUMMARY_ITEM_CHARS - 1] + "…"


def invalid_argument(violations: list[FieldViolation], reason: str = "INVALID_ARGUMENT") -> DomainError:
    # The message names the first few, each cut short, so the count at its end survives the API's bound on
    # error messages; BadRequest has the details.
    summary = "; ".join(_summary_item(v) for v in violations[:5])
    if len(violations) > 5:
        summary += f"; and {len(violations) - 5} more"
    return DomainError(
        Code.INVALID_ARGUMENT, reason, f"invalid request: {summary}", field_violations=violations
    )


def not_found(kind: str, ref: str, namespace: str | None = None) -> DomainError:
    where = f" in namespace {namespace!r}" if namespace else ""
    return DomainError(
        Code.NOT_FOUND,
        f"{_snake(kind)}_NOT_FOUND",
        f"{kind} {ref!r}{where} not found",
        metadata={"kind": kind, "ref": ref, **({"namespace": namespace} if namespace else {})},
    )


def _snake(kind: str) -> str:
    out = []
    for index, char in enumerate(kind):
        if char.isupper() and index:
            out.append("_")
        out.append(char.upper())
    return "".join(out)


def kind_reason(kind: str, suffix: str) -> str:
    """`AgentRun`, `NOT_FOUND` -> `AGENT_RUN_NOT_FOUND`."""
    return f"{_snake(kind)}_{suffix}"


class ServiceUnavailable(Exception):
    """A dependency (the database) failed in a way that a retry may not: the request had no effect. The
    repository raises it in place of driver errors, so no layer above it knows the driver's exceptions."""


class LockNotAvailable(ServiceUnavailable):
    """A row another in-flight request holds could not be locked in time."""


class WriteConflict(Exception):
    """A unique index already held a row a statement meant to insert, so it wrote nothing (`args[0]` is the
    index's name)."""
