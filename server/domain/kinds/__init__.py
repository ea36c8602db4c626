"""What is special about each kind, one module per kind (`agent.py` for Agent), found by name: a module
declares `KIND` (the kind's name) and `RULES` (a KindRules). A kind without a module gets the defaults of its
category: no spec rules beyond its field_behavior annotations, the `Accepted` status, for a run the `native`
provider, and for a record nothing more to check against its parent and nothing to change on it."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from jangar.server.domain.validation import Violations

RUN_PROVIDER_NATIVE = "native"


def no_rules(spec: Any, violations: Violations) -> None:
    """A spec whose field_behavior annotations say all there is to say."""


@dataclass(frozen=True)
class KindRules:
    """The rules of one kind beyond those its descriptors declare."""

    validate_spec: Callable[[Any, Violations], None] = no_rules
    # Rules that need the whole resource, not only its spec (a policy's subjects must be in its namespace).
    validate_resource: Callable[[Any, Violations], None] = no_rules
    # Definition kinds: sets the status of a newly accepted or changed resource (None: `Accepted`).
    # Definition and record kinds: sets the status of a newly accepted or changed resource (None:
    # `Accepted`).
    initial_status: Callable[[Any], None] | None = None
    # Definition kinds whose status depends on other resources: updates the status of a resource from the
    # database (db, resource), when it is written and on every round of the server's upkeep.
    observe: Callable[[Any, Any], Awaitable[None]] | None = None
    # Run kinds: completes the new, Pending run from its parent and returns its `provider` column value.
    prepare_run: Callable[[Any, Any], str] | None = None
    # Executable run kinds: what attempt N of a run executes, from (db, run, parent, N, read_along); raises
    # domain.launch.PlanProblems when its templates cannot be rendered. `read_along` holds, by kind name,
    # what `read_with_parent` names, read with the parent (None: not found); a plan reads anything else.
    plan: Callable[..., Awaitable[Any]] | None = None
    # Executable run kinds: a definition the plan needs, read in the parent's statement: its kind and the
    # JSON path in the parent's spec that names it (AgentRun: the Agent's AgentProvider).
    read_with_parent: tuple[str, tuple[str, ...]] | None = None
    # Executable run kinds: the timeout and retry limit of a run, from (run, parent).
    limits: Callable[[Any, Any], Any] | None = None
    # Record kinds: the rules a new record must keep that its parent sets, from (record, parent,
    # violations): a delivery's payload against its Signal's schema.
    check_against_parent: Callable[[Any, Any, Violations], None] | None = None
    # Record kinds: what a new record changes on its parent, from (db, context, record, parent), in the
    # record's transaction, with the parent locked: a Signal counts its deliveries.
    record_on_parent: Callable[[Any, Any, Any, Any], Awaitable[None]] | None = None


@cache
def _all_rules() -> dict[str, KindRules]:
    rules: dict[str, KindRules] = {}
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        rules[module.KIND] = module.RULES
    return rules


def rules_for(kind: str) -> KindRules:
    return _all_rules().get(kind, KindRules())
