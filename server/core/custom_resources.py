"""A Jangar resource as a Kubernetes custom resource and back (docs/kubernetes.md, "The CRDs"): the envelope's
name, namespace, labels and annotations are metadata's; spec and status are their proto3 JSON. The server's
bookkeeping (id, etag, generation, times, deliveryId, parent ids) stays out of the custom resource."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from jangar.server.core import proto_json
from jangar.server.core.kinds import Kind

# Labels the server puts on what it writes to the cluster; anything under this prefix is Jangar's.
# DELIVERY_ID_LABEL is where a run created with kubectl may carry its idempotency key.
LABEL_PREFIX = "jangar.proompteng.ai/"
RUN_ID_LABEL = LABEL_PREFIX + "run-id"
RUN_KIND_LABEL = LABEL_PREFIX + "run-kind"
ATTEMPT_LABEL = LABEL_PREFIX + "attempt"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "jangar"
DELIVERY_ID_LABEL = "agents.proompteng.ai/delivery-id"


def custom_resource(kind: Kind, resource: Message, *, extra_labels: Mapping[str, str] | None = None) -> dict:
    """The custom resource the server writes for `resource` (spec only: status is written separately)."""
    labels = dict(resource.labels)  # type: ignore[attr-defined]
    labels.update(extra_labels or {})
    metadata: dict[str, Any] = {
        "name": resource.name,  # type: ignore[attr-defined]
        "namespace": resource.namespace,  # type: ignore[attr-defined]
        "labels": labels,
    }
    if resource.annotations:  # type: ignore[attr-defined]
        metadata["annotations"] = dict(resource.annotations)  # type: ignore[attr-defined]
    return {
        "apiVersion": kind.crd_api_version,
        "kind": kind.name,
        "metadata": metadata,
        "spec": proto_json.to_dict(resource.spec),  # type: ignore[attr-defined]
    }


def from_custom_resource(kind: Kind, body: Mapping[str, Any]) -> Message:
    """The Jangar resource a custom resource describes (name, namespace, labels, annotations and spec).
    Raises json_format.ParseError when the spec is not the kind's proto3 JSON."""
    metadata = body.get("metadata") or {}
    resource = kind.message_class()
    json_format.ParseDict(body.get("spec") or {}, resource.spec, ignore_unknown_fields=False)  # type: ignore[attr-defined]
    resource.name = str(metadata.get("name", ""))  # type: ignore[attr-defined]
    resource.namespace = str(metadata.get("namespace", ""))  # type: ignore[attr-defined]
    resource.labels.update({str(k): str(v) for k, v in (metadata.get("labels") or {}).items()})  # type: ignore[attr-defined]
    annotations = {str(k): str(v) for k, v in (metadata.get("annotations") or {}).items()}
    # kubectl apply's bookkeeping is the client's, not part of the resource.
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    resource.annotations.update(annotations)  # type: ignore[attr-defined]
    return resource
