"""Validation of what users send: collects every problem with its JSON field path, then raises once, so a
client sees all its mistakes in one BadRequest."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from typing import Any, Protocol

from google.protobuf.message import Message

from jangar.server.core.errors import FieldViolation, invalid_argument
from jangar.server.core.field_behavior import clear_output_only, missing_required
from jangar.server.core.names import (
    c_identifier_problems,
    dns1123_label_problems,
    dns1123_subdomain_problems,
    label_value_problems,
    qualified_name_problems,
)
from jangar.server.core.quantity import non_negative_quantity_problems

DEFAULT_NAMESPACE = "default"

# Bounds (Kubernetes' own where it has one) so that no single request can grow rows without limit.
MAX_LABELS = 64
MAX_ANNOTATIONS_BYTES = 256 * 1024  # Kubernetes' total annotation size limit
MAX_MAP_ENTRIES = 64
MAX_MAP_VALUE_BYTES = 16 * 1024
MAX_LIST_ITEMS = 64
MAX_STRUCT_BYTES = 64 * 1024
MAX_TEXT_BYTES = 64 * 1024
MAX_SECONDS = 7 * 24 * 3600
MAX_RETRIES = 100


class Named(Protocol):
    """Anything with a name: LocalObjectReference, SecretKeySelector."""

    name: str


class EnvVar(Protocol):
    """A literal environment variable (jangar.v1.EnvVar)."""

    name: str
    value: str


class Resources(Protocol):
    """ResourceRequirements: quantities by resource name."""

    @property
    def limits(self) -> Mapping[str, str]: ...

    @property
    def requests(self) -> Mapping[str, str]: ...


class Workload(Protocol):
    """A container's settings (AgentRunWorkload, ProviderWorkload)."""

    image: str
    service_account_name: str

    @property
    def resources(self) -> Resources: ...


class Envelope(Protocol):
    """The envelope fields every resource message has (design.md section 4)."""

    name: str
    namespace: str

    @property
    def labels(self) -> MutableMapping[str, str]: ...

    @property
    def annotations(self) -> MutableMapping[str, str]: ...


class Violations:
    """Collects field violations for one request."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []
        self._seen: set[FieldViolation] = set()

    def add(self, field: str, description: str) -> None:
        # A kind's own rule may find what a field_behavior annotation already reported ("is required").
        violation = FieldViolation(field, description)
        if violation not in self._seen:
            self._seen.add(violation)
            self.items.append(violation)

    def extend(self, field: str, problems: Iterable[str]) -> None:
        for problem in problems:
            self.add(field, problem)

    def raise_if_any(self) -> None:
        if self.items:
            raise invalid_argument(self.items)

    # Rules shared by every kind.

    def required(self, field: str, value: str) -> bool:
        if not value:
            self.add(field, "is required")
            return False
        return True

    def dns_label(self, field: str, value: str, *, required: bool = True) -> None:
        if value or required:
            self.extend(field, dns1123_label_problems(value) if value else ["is required"])

    def reference(self, field: str, ref: Named, *, required: bool) -> None:
        """A LocalObjectReference: its name is a DNS-1123 label. `required` is for references whose need
        depends on other fields (a step's kind); a reference that is always needed is REQUIRED in its
        .proto."""
        if ref.name or required:
            self.dns_label(f"{field}.name", ref.name)

    def required_fields(self, message: Message) -> None:
        """Everything the message's REQUIRED annotations ask for."""
        for field, problem in missing_required(message):
            self.add(field, problem)

    def bounded_text(self, field: str, value: str, limit: int = MAX_TEXT_BYTES) -> None:
        if len(value.encode()) > limit:
            self.add(field, f"must be at most {limit} bytes")

    def seconds(self, field: str, value: int) -> None:
        if not 0 <= value <= MAX_SECONDS:
            self.add(field, f"must be between 0 and {MAX_SECONDS}")

    def retries(self, field: str, value: int) -> None:
        if not 0 <= value <= MAX_RETRIES:
            self.add(field, f"must be between 0 and {MAX_RETRIES}")

    def list_size(self, field: str, items: Iterable[object], limit: int = MAX_LIST_ITEMS) -> bool:
        if sum(1 for _ in items) > limit:
            self.add(field, f"must have at most {limit} items")
            return False
        return True

    def unique(self, field: str, values: list[str]) -> None:
        seen: set[str] = set()
        for index, value in enumerate(values):
            if value in seen:
                self.add(f"{field}[{index}]", f"duplicate value {value!r}")
            seen.add(value)

    def string_map(self, field: str, values: Mapping[str, str]) -> None:
        """Free-form string maps (parameters, `with`): bounded, non-empty keys."""
        if len(values) > MAX_MAP_ENTRIES:
            self.add(field, f"must have at most {MAX_MAP_ENTRIES} entries")
            return
        for key, value in values.items():
            if not key or len(key) > 253:
                self.add(f"{field}[{key!r}]", "keys must be 1 to 253 characters")
            if len(value.encode()) > MAX_MAP_VALUE_BYTES:
                self.add(f"{field}[{key!r}]", f"must be at most {MAX_MAP_VALUE_BYTES} bytes")

    def image(self, field: str, image: str) -> None:
        """A container image reference."""
        self.bounded_text(field, image, 1024)
        if any(c.isspace() for c in image):
            self.add(field, "must not contain white space")

    def env_vars(self, field: str, env: Sequence[EnvVar]) -> None:
        """Literal environment variables: Kubernetes' name rule, bounded values, each name once."""
        if self.list_size(field, env):
            for index, var in enumerate(env):
                self.extend(
                    f"{field}[{index}].name", c_identifier_problems(var.name) if var.name else ["is required"]
                )
                self.bounded_text(f"{field}[{index}].value", var.value)
            self.unique(f"{field}.name", [var.name for var in env])

    def workload(self, field: str, workload: Workload) -> None:
        """A container: image reference, resource quantities and service account name."""
        self.image(f"{field}.image", workload.image)
        for part, quantities in (
            ("limits", workload.resources.limits),
            ("requests", workload.resources.requests),
        ):
            for resource, quantity in quantities.items():
                path = f"{field}.resources.{part}[{resource!r}]"
                self.extend(path, dns1123_subdomain_problems(resource.split("/")[-1]))
                self.extend(path, non_negative_quantity_problems(quantity))
        if workload.service_account_name:
            self.extend(
                f"{field}.serviceAccountName", dns1123_subdomain_problems(workload.service_account_name)
            )

    def struct(self, field: str, value: Message) -> None:
        if value.ByteSize() > MAX_STRUCT_BYTES:
            self.add(field, f"must be at most {MAX_STRUCT_BYTES} bytes when encoded")

    def metadata(self, labels: Mapping[str, str], annotations: Mapping[str, str]) -> None:
        if len(labels) > MAX_LABELS:
            # Checking each of thousands of keys would only spend the CPU other callers are waiting for.
            self.add("labels", f"must have at most {MAX_LABELS} entries")
            labels = {}
        for key, value in labels.items():
            self.extend(f"labels[{key!r}]", qualified_name_problems(key))
            self.extend(f"labels[{key!r}]", (f"value {p}" for p in label_value_problems(value)))
        size = sum(len(key.encode()) + len(value.encode()) for key, value in annotations.items())
        if size > MAX_ANNOTATIONS_BYTES:
            # As with labels: one problem, and no per-key work for a request that is refused anyway.
            self.add("annotations", f"must be at most {MAX_ANNOTATIONS_BYTES} bytes in total")
            return
        for key in annotations:
            self.extend(f"annotations[{key!r}]", qualified_name_problems(key))


def normalize_envelope(resource: Message) -> None:
    """Applies the envelope's defaults and drops OUTPUT_ONLY fields a client may have sent, in place, so that
    two requests that mean the same thing are the same message (and have the same idempotency fingerprint)."""
    if not resource.namespace:  # type: ignore[attr-defined]
        resource.namespace = DEFAULT_NAMESPACE  # type: ignore[attr-defined]
    clear_output_only(resource)
    resource.DiscardUnknownFields()


class SpecRules(Protocol):
    """The part of a kind's KindRules (domain/kinds) that checks what a client sent."""

    @property
    def validate_spec(self) -> Callable[[Any, Violations], None]: ...

    @property
    def validate_resource(self) -> Callable[[Any, Violations], None]: ...


def check_resource(resource: Message, rules: SpecRules) -> None:
    """Every rule a resource's own content must keep, whatever its category: its REQUIRED fields, the
    envelope's rules and its kind's rules, all problems in one 400."""
    violations = Violations()
    violations.required_fields(resource)
    validate_envelope(resource, violations)  # type: ignore[arg-type]
    rules.validate_spec(resource.spec, violations)  # type: ignore[attr-defined]
    rules.validate_resource(resource, violations)
    violations.raise_if_any()


def validate_envelope(resource: Envelope, violations: Violations) -> None:
    """The envelope's rules: a name (when given; REQUIRED says when it must be) and a namespace that are
    DNS-1123 labels, and labels and annotations with Kubernetes' rules."""
    violations.dns_label("name", resource.name, required=False)
    violations.dns_label("namespace", resource.namespace)
    violations.metadata(resource.labels, resource.annotations)
