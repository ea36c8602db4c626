"""Artifact: where a file is, its digest, size, media type and retention; a new Artifact is Ready."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from jangar.server.core.kinds import registry
from jangar.server.domain import common
from jangar.server.domain.kinds import KindRules
from jangar.server.domain.validation import Violations
from jangar.v1 import artifact_pb2

KIND = "Artifact"

URI_SCHEMES = ("file", "s3", "gs", "http", "https")
MAX_URI_BYTES = 2048
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# RFC 6838 section 4.2: type "/" subtype, each a restricted name of up to 127 characters (no parameters).
_MEDIA_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
MEDIA_TYPE = re.compile(rf"{_MEDIA_NAME}/{_MEDIA_NAME}")
MAX_TTL_DAYS = 10 * 365


def uri_problems(uri: str) -> list[str]:
    if len(uri.encode()) > MAX_URI_BYTES:
        return [f"must be at most {MAX_URI_BYTES} bytes"]
    if any(c.isspace() for c in uri):
        return ["must not contain white space"]
    parts = urlsplit(uri)
    if parts.scheme not in URI_SCHEMES:
        return [f"must be a URI with one of the schemes {', '.join(URI_SCHEMES)}"]
    if parts.scheme == "file" and (parts.netloc not in ("", "localhost") or not parts.path.startswith("/")):
        return ["a file URI must name an absolute path on this host (file:///...)"]
    if parts.scheme != "file" and not parts.netloc:
        return [f"a {parts.scheme} URI must name a host or bucket"]
    return []


def validate_spec(spec: artifact_pb2.ArtifactSpec, v: Violations) -> None:
    producer = spec.producer_ref
    if producer.kind or producer.id:
        runs = sorted(k.name for k in registry().runs)
        if producer.kind not in runs:
            v.add("spec.producerRef.kind", f"must be one of {', '.join(runs)}")
        try:
            uuid.UUID(producer.id)
        except ValueError:
            v.add("spec.producerRef.id", "must be the producing run's UUID")
    if spec.uri:
        v.extend("spec.uri", uri_problems(spec.uri))
    if spec.digest and not DIGEST.fullmatch(spec.digest):
        v.add("spec.digest", "must be 'sha256:' followed by 64 lower-case hex digits")
    if spec.size_bytes < 0:
        v.add("spec.sizeBytes", "must not be negative")
    if spec.media_type and not MEDIA_TYPE.fullmatch(spec.media_type):
        v.add("spec.mediaType", "must be a media type such as text/plain (type/subtype, no parameters)")
    if not 0 <= spec.lifecycle.ttl_days <= MAX_TTL_DAYS:
        v.add("spec.lifecycle.ttlDays", f"must be between 0 and {MAX_TTL_DAYS}")


def initial_status(artifact: artifact_pb2.Artifact) -> None:
    """Accepted and Ready; an Expired artifact stays Expired whatever its spec becomes."""
    common.accepted_status(artifact)
    if not artifact.status.phase:
        artifact.status.phase = artifact_pb2.ArtifactStatus.Ready


RULES = KindRules(validate_spec=validate_spec, initial_status=initial_status)
