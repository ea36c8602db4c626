"""The resources the reconciler lists and watches."""

from __future__ import annotations

from dataclasses import dataclass

MANAGED_BY = "app.kubernetes.io/managed-by=jangar"


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core API
    version: str
    plural: str
    kind: str
    label_selector: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str) -> str:
        """The collection's URL path; namespace "" means every namespace."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{base}/namespaces/{namespace}/{self.plural}" if namespace else f"{base}/{self.plural}"


# Every run custom resource (kubectl-created ones too, so the server can adopt them); Jobs, Pods,
# PersistentVolumeClaims (Workspaces' volumes) and CronJobs (Schedules') only when Jangar made them.
WATCHED: tuple[Resource, ...] = (
    Resource("agents.proompteng.ai", "v1alpha1", "agentruns", "AgentRun"),
    Resource("tools.proompteng.ai", "v1alpha1", "toolruns", "ToolRun"),
    Resource("batch", "v1", "jobs", "Job", MANAGED_BY),
    Resource("", "v1", "pods", "Pod", MANAGED_BY),
    Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", MANAGED_BY),
    Resource("batch", "v1", "cronjobs", "CronJob", MANAGED_BY),
)

# CloudNativePG Clusters, whose readiness the Memories on them follow. Off unless configured
# (JANGAR_RECONCILER_WATCH_CNPG_CLUSTERS): without the CNPG operator the API server has no such resource.
CNPG_CLUSTERS = Resource("postgresql.cnpg.io", "v1", "clusters", "Cluster")


def watched(cnpg_clusters: bool) -> tuple[Resource, ...]:
    return (*WATCHED, CNPG_CLUSTERS) if cnpg_clusters else WATCHED
