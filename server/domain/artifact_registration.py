"""Artifacts a run's runner reported (status.runner.artifacts), registered as Artifact resources in the same
transaction as the run's terminal transition (RunExecution.finish_in calls this once per run), each linked
back from the run by its `artifactId`. docs/storage.md describes the rules.

Registration never fails the transition: an artifact without a URI (a path a Job runner left in a Pod that is
gone) or with values the Artifact kind refuses is left unregistered, and logged."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from jangar.server.core import custom_resources as cr
from jangar.server.core.context import RequestContext
from jangar.server.core.kinds import Kind
from jangar.server.core.query import Ref
from jangar.server.domain import common
from jangar.server.domain.kinds import rules_for
from jangar.server.domain.validation import Violations, validate_envelope
from jangar.server.repository import rows
from jangar.server.repository.database import Tx
from jangar.server.repository.mapping import STORED
from jangar.v1 import artifact_pb2, execution_pb2

log = logging.getLogger("jangar.server.artifacts")

KIND = "Artifact"
_NOT_IN_LABEL = re.compile(r"[^a-z0-9-]+")


def artifact_name(run_name: str, run_id: str, artifact: str) -> str:
    """A DNS-1123 label naming the run, the artifact and a hash of both (so that two runs, or two artifacts
    whose names shorten alike, never share one): the same inputs always give the same name."""
    digest = hashlib.sha256(f"{run_id}/{artifact}".encode()).hexdigest()[:10]
    readable = _NOT_IN_LABEL.sub("-", artifact.lower()).strip("-")[:20].strip("-")
    parts = [run_name[:30].strip("-"), readable, digest]
    return "-".join(part for part in parts if part)


def _artifact(kind: Kind, run: Any, item: execution_pb2.RunArtifact) -> artifact_pb2.Artifact:
    artifact = artifact_pb2.Artifact(
        name=artifact_name(run.name, run.id, item.name or item.path),
        namespace=run.namespace,
        labels={cr.RUN_ID_LABEL: run.id, cr.RUN_KIND_LABEL: kind.name},
        annotations={"artifacts.proompteng.ai/name": item.name[:253]} if item.name else {},
        spec=artifact_pb2.ArtifactSpec(
            producer_ref=artifact_pb2.ProducerReference(kind=kind.name, id=run.id),
            uri=item.uri,
            digest=item.digest,
            size_bytes=item.size_bytes,
            media_type=item.media_type,
            lifecycle=artifact_pb2.ArtifactLifecycle(ttl_days=item.ttl_days),
        ),
        generation=1,
    )
    return artifact


def _problems(artifact: artifact_pb2.Artifact) -> list[str]:
    violations = Violations()
    violations.required_fields(artifact)
    validate_envelope(artifact, violations)
    rules_for(KIND).validate_spec(artifact.spec, violations)
    return [f"{v.field}: {v.description}" for v in violations.items]


async def register_artifacts(db: Tx, context: RequestContext, kind: Kind, run: Any) -> None:
    """Registers every artifact of `run.status.runner` that has a URI and is not registered yet, and sets
    its `artifactId`; in the caller's transaction, which holds the run's row locked."""
    stored = STORED[KIND]
    rules = rules_for(KIND)
    for item in run.status.runner.artifacts:
        if not item.uri or item.artifact_id:
            continue
        artifact = _artifact(kind, run, item)
        problems = _problems(artifact)
        if problems:
            log.warning(
                "artifact %r of %s %s is not registered: %s",
                item.name,
                kind.name,
                run.id,
                "; ".join(problems[:5]),
            )
            continue
        assert rules.initial_status is not None
        rules.initial_status(artifact)
        if not await rows.insert(db, stored, artifact):
            # Its deterministic name is taken: by the same artifact (a runner that listed it twice), which
            # is linked, or by an Artifact created by hand, which is not this run's.
            existing = await rows.find(db, stored, Ref(namespace=artifact.namespace, name=artifact.name))
            if existing is None or existing.spec.producer_ref.id != run.id:
                log.warning("artifact name %s in %s is taken; not registered", artifact.name, run.namespace)
                continue
            artifact = existing
        else:
            await common.record_audit(
                db,
                context,
                kind=KIND,
                entity_id=artifact.id,
                event="Created",
                namespace=artifact.namespace,
                payload={
                    "name": artifact.name,
                    "generation": 1,
                    "producer": {"kind": kind.name, "id": run.id, "name": run.name},
                },
            )
        item.artifact_id = artifact.id
