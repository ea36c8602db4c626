"""deploy/rbac/: valid for Kubernetes 1.32, and granting the server and the reconciler what they do and no
more, for every CRD in deploy/crds/. Requests are checked the way RBAC's authorizer matches rules (group,
resource or `resource/subresource`, verb; a Role only in its namespace)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from jangar.server.core.kinds import registry
from tests.support import PROJECT_ROOT

RBAC = PROJECT_ROOT / "deploy" / "rbac"
NAMESPACE = "jangar"


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


OBJECTS = [d for path in sorted(RBAC.glob("*.yaml")) for d in _documents(path)]


def _crd_resources() -> list[tuple[str, str]]:
    """(group, plural) of every CRD in deploy/crds/."""
    crds = [yaml.safe_load(p.read_text()) for p in sorted((PROJECT_ROOT / "deploy" / "crds").glob("*.yaml"))]
    return [(c["spec"]["group"], c["spec"]["names"]["plural"]) for c in crds]


CUSTOM = _crd_resources()


def _object(kind: str, name: str) -> dict[str, Any]:
    [found] = [o for o in OBJECTS if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def allowed(account: str, verb: str, group: str, resource: str, namespace: str = "tenant-a") -> bool:
    """Whether ServiceAccount `jangar/<account>` may do `verb` on `resource` in `namespace`."""
    for binding in OBJECTS:
        if binding["kind"] not in ("ClusterRoleBinding", "RoleBinding"):
            continue
        subject = {"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}
        if subject not in binding["subjects"]:
            continue
        if binding["kind"] == "RoleBinding" and binding["metadata"]["namespace"] != namespace:
            continue
        role = _object(binding["roleRef"]["kind"], binding["roleRef"]["name"])
        for rule in role["rules"]:
            if group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]:
                return True
    return False


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda o: f"{o['kind']}-{o['metadata']['name']}")
def test_manifest_is_valid_for_kubernetes_1_32(obj):
    kubernetes_validate.validate(obj, "1.32", strict=True)


def test_each_process_has_its_service_account():
    accounts = {o["metadata"]["name"] for o in OBJECTS if o["kind"] == "ServiceAccount"}
    assert accounts == {"jangar-server", "jangar-reconciler"}
    for obj in OBJECTS:
        cluster_wide = obj["kind"].startswith("Cluster")
        assert obj["metadata"].get("namespace") == (None if cluster_wide else NAMESPACE), obj["metadata"]
    assert len(CUSTOM) >= 8


@pytest.mark.parametrize("verb", ["create", "get", "list", "watch", "patch", "delete"])
def test_server_manages_jobs_config_maps_and_every_custom_resource(verb):
    assert allowed("jangar-server", verb, "batch", "jobs")
    assert allowed("jangar-server", verb, "batch", "cronjobs")  # Schedules' CronJobs
    assert allowed("jangar-server", verb, "", "configmaps")
    for group, plural in CUSTOM:
        assert allowed("jangar-server", verb, group, plural), f"{verb} {plural}.{group}"


def test_server_reads_the_logs_of_job_pods_and_nothing_else_of_pods():
    assert allowed("jangar-server", "list", "", "pods")
    assert allowed("jangar-server", "get", "", "pods/log")
    for verb in ("get", "watch", "delete", "patch"):
        assert not allowed("jangar-server", verb, "", "pods")
    assert not allowed("jangar-server", "create", "", "pods/exec")


def test_server_creates_and_deletes_workspace_claims_and_nothing_more():
    assert allowed("jangar-server", "create", "", "persistentvolumeclaims")
    assert allowed("jangar-server", "delete", "", "persistentvolumeclaims")
    for verb in ("get", "list", "watch", "patch", "update"):
        assert not allowed("jangar-server", verb, "", "persistentvolumeclaims")
    assert not allowed("jangar-server", "create", "", "persistentvolumes")


@pytest.mark.parametrize("verb", ["get", "patch", "update"])
def test_server_writes_the_status_of_every_custom_resource(verb):
    for group, plural in CUSTOM:
        assert allowed("jangar-server", verb, group, f"{plural}/status"), f"{verb} {plural}/status"


def test_server_may_block_owner_deletion_of_runs_only():
    runs = [(k.crd_group, k.plural.replace("_", "")) for k in registry().runs]
    assert runs
    for group, plural in CUSTOM:
        assert allowed("jangar-server", "update", group, f"{plural}/finalizers") == ((group, plural) in runs)


@pytest.mark.parametrize(
    ("verb", "group", "resource"),
    [
        ("list", "", "secrets"),
        ("watch", "", "secrets"),
        ("create", "", "secrets"),
        ("create", "", "pods"),
        ("get", "coordination.k8s.io", "leases"),
        ("update", "batch", "jobs"),
        ("update", "batch", "cronjobs"),
        ("escalate", "rbac.authorization.k8s.io", "clusterroles"),
    ],
)
def test_server_may_not(verb, group, resource):
    assert not allowed("jangar-server", verb, group, resource)
    assert not allowed("jangar-server", verb, group, resource, namespace=NAMESPACE)


def test_server_reads_one_named_secret_at_a_time():
    # A Memory's connection string and an embedding API key are read at use time (docs/memory.md); without
    # list or watch the server cannot enumerate Secrets.
    assert allowed("jangar-server", "get", "", "secrets")
    assert allowed("jangar-server", "get", "", "secrets", namespace="tenant-a")


@pytest.mark.parametrize("verb", ["get", "list", "watch"])
def test_reconciler_reads_cnpg_clusters(verb):
    assert allowed("jangar-reconciler", verb, "postgresql.cnpg.io", "clusters")


@pytest.mark.parametrize("verb", ["get", "list", "watch"])
def test_reconciler_reads_custom_resources_jobs_and_pods_in_every_namespace(verb):
    assert allowed("jangar-reconciler", verb, "batch", "jobs")
    assert allowed("jangar-reconciler", verb, "", "pods")
    assert allowed("jangar-reconciler", verb, "", "persistentvolumeclaims")
    for group, plural in CUSTOM:
        assert allowed("jangar-reconciler", verb, group, plural), f"{verb} {plural}.{group}"


@pytest.mark.parametrize("verb", ["create", "update", "patch", "delete"])
def test_reconciler_writes_nothing_but_its_lease(verb):
    resources = [("batch", "jobs"), ("", "pods"), ("", "configmaps"), ("", "persistentvolumeclaims"), *CUSTOM]
    for group, resource in resources:
        assert not allowed("jangar-reconciler", verb, group, resource, namespace=NAMESPACE)
    for group, plural in CUSTOM:
        assert not allowed("jangar-reconciler", verb, group, f"{plural}/status", namespace=NAMESPACE)


@pytest.mark.parametrize("verb", ["get", "create", "update"])
def test_reconciler_elects_its_leader_with_a_lease_in_its_own_namespace_only(verb):
    assert allowed("jangar-reconciler", verb, "coordination.k8s.io", "leases", namespace=NAMESPACE)
    assert not allowed("jangar-reconciler", verb, "coordination.k8s.io", "leases", namespace="tenant-a")
