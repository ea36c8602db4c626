"""The subjects of ApprovalPolicies, Budgets and SecretBindings: the Agents, Tools and Orchestrations whose
runs a policy governs, always in the policy's own namespace."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from jangar.server.core.kinds import Category, Kind, registry
from jangar.server.core.names import dns1123_label_problems
from jangar.server.core.query import Ref
from jangar.server.domain.validation import MAX_LIST_ITEMS, Violations
from jangar.server.repository import rows
from jangar.server.repository.database import Tx
from jangar.server.repository.mapping import STORED


@cache
def subject_kinds() -> tuple[str, ...]:
    """The kinds a policy can name: those that have runs (Agent, Orchestration, Tool)."""
    return tuple(sorted(k.name for k in registry().definitions if registry().children(k, Category.RUN)))


def validate(v: Violations, field: str, subjects: Sequence[Any], namespace: str) -> None:
    """Each subject names a kind that has runs and a DNS-1123 name, in `namespace`, and appears once."""
    if not v.list_size(field, subjects, MAX_LIST_ITEMS):
        return
    kinds = subject_kinds()
    for index, subject in enumerate(subjects):
        path = f"{field}[{index}]"
        if subject.kind and subject.kind not in kinds:
            v.add(f"{path}.kind", f"must be one of {', '.join(kinds)}")
        if subject.name:
            v.extend(f"{path}.name", dns1123_label_problems(subject.name))
        if subject.namespace and subject.namespace != namespace:
            v.add(f"{path}.namespace", f"must be empty or {namespace!r}: a policy governs its own namespace")
    v.unique(field, [f"{s.kind}/{s.name}" for s in subjects])


def run_subject(run_kind: Kind, run: Any) -> tuple[str, str]:
    """The (kind, name) a run belongs to: its parent, which is what policies name."""
    assert run_kind.parent is not None, f"{run_kind.name} runs have no parent"
    return run_kind.parent.kind, getattr(run.spec, run_kind.parent.ref_field).name


def names(subjects: Sequence[Any], subject: tuple[str, str]) -> bool:
    return any((s.kind, s.name) == subject for s in subjects)


async def missing(db: Tx, subjects: Sequence[Any], namespace: str) -> list[str]:
    """The subjects that do not exist, as `Kind/name`."""
    absent = []
    for subject in subjects:
        if subject.kind not in subject_kinds():
            continue
        found = await rows.find(db, STORED[subject.kind], Ref(namespace=namespace, name=subject.name))
        if found is None:
            absent.append(f"{subject.kind}/{subject.name}")
    return absent
