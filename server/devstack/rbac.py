"""RBAC of the two in-cluster processes, with the custom resources taken from the kind registry so that a new
kind is never forgotten in a role.

* The server (outbox worker) writes the run custom resources, their ConfigMaps and Jobs, Schedules'
  CronJobs and Workspaces' PersistentVolumeClaims (create and delete, nothing else: their state comes from
  the reconciler), in whatever namespace an API caller names, so its role is a ClusterRole with a
  ClusterRoleBinding. It updates the `finalizers` subresource of run kinds because a Job's owner reference
  to its run sets `blockOwnerDeletion`, which clusters with the OwnerReferencesPermissionEnforcement
  admission plugin allow only to who may update the owner's finalizers.
* The reconciler only reads (get, list, watch) the custom resources, Jobs, CronJobs, Pods and
  PersistentVolumeClaims, cluster-wide, and keeps
  its leader-election Lease in its own namespace: a Role there, not cluster-wide.

docs/kubernetes.md says how to narrow either to some namespaces.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from jangar.server.core.kinds import Kind, Registry
from jangar.server.devstack.crds import PART_OF, crd_plural

NAMESPACE = "jangar"
SERVER = "jangar-server"
RECONCILER = "jangar-reconciler"
LEADER_ELECTION = "jangar-reconciler-leader-election"

WRITE = ("create", "delete", "get", "list", "patch", "watch")
READ = ("get", "list", "watch")
STATUS_WRITE = ("get", "patch", "update")
LEASE = ("create", "get", "update")
CLAIM_WRITE = ("create", "delete")


def _labels(component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "jangar", "app.kubernetes.io/component": component, **PART_OF}


def _metadata(name: str, component: str, namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    metadata["labels"] = _labels(component)
    return metadata


def _rule(group: str, resources: Iterable[str], verbs: Iterable[str]) -> dict[str, Any]:
    return {"apiGroups": [group], "resources": sorted(resources), "verbs": sorted(verbs)}


def _custom_resource_rules(kinds: Iterable[Kind], verbs: Iterable[str], suffix: str = "") -> list[dict]:
    """One rule per CRD group, listing its kinds' resources (`agentruns`, or `agentruns/status`)."""
    by_group: dict[str, list[str]] = defaultdict(list)
    for kind in kinds:
        by_group[kind.crd_group].append(crd_plural(kind) + suffix)
    return [_rule(group, resources, verbs) for group, resources in sorted(by_group.items())]


def _service_account(name: str, component: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _metadata(name, component, NAMESPACE)}


def _binding(
    kind: str, name: str, account: str, component: str, namespace: str | None = None
) -> dict[str, Any]:
    """A (Cluster)RoleBinding of the role `name` to the ServiceAccount `account`, named like the role."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": f"{kind}Binding",
        "metadata": _metadata(name, component, namespace),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}],
    }


def server_objects(registry: Registry) -> list[dict[str, Any]]:
    rules = [
        _rule("", ["configmaps"], WRITE),
        # Jobs of runs; CronJobs of Schedules (runtime/cron_jobs.py).
        _rule("batch", ["cronjobs", "jobs"], WRITE),
        _rule("", ["persistentvolumeclaims"], CLAIM_WRITE),
        # The job runtime's logs: it finds an attempt's Pod by its job-name label and reads its log.
        _rule("", ["pods"], ("list",)),
        _rule("", ["pods/log"], ("get",)),
        # Memories' connection strings and embedding API keys, read at use time (docs/memory.md).
        _rule("", ["secrets"], ("get",)),
        *_custom_resource_rules(registry, WRITE),
        *_custom_resource_rules(registry, STATUS_WRITE, "/status"),
        *_custom_resource_rules(registry.runs, ["update"], "/finalizers"),
    ]
    return [
        _service_account(SERVER, "server"),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": _metadata(SERVER, "server"),
            "rules": rules,
        },
        _binding("ClusterRole", SERVER, SERVER, "server"),
    ]


def reconciler_objects(registry: Registry) -> list[dict[str, Any]]:
    rules = [
        _rule("", ["persistentvolumeclaims"], READ),
        _rule("", ["pods"], READ),
        _rule("batch", ["cronjobs", "jobs"], READ),
        # CNPG Clusters named by Memories (JANGAR_RECONCILER_WATCH_CNPG_CLUSTERS).
        _rule("postgresql.cnpg.io", ["clusters"], READ),
        *_custom_resource_rules(registry, READ),
    ]
    return [
        _service_account(RECONCILER, "reconciler"),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": _metadata(RECONCILER, "reconciler"),
            "rules": rules,
        },
        _binding("ClusterRole", RECONCILER, RECONCILER, "reconciler"),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _metadata(LEADER_ELECTION, "reconciler", NAMESPACE),
            "rules": [_rule("coordination.k8s.io", ["leases"], LEASE)],
        },
        _binding("Role", LEADER_ELECTION, RECONCILER, "reconciler", NAMESPACE),
    ]
