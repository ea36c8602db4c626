"""A fake Kubernetes API server for tests: real HTTP on 127.0.0.1 for the real kubernetes-asyncio client,
faithful to the API's behaviour (resourceVersions, watch semantics, Status errors, garbage collection)
rather than to what any code under test needs; a scriptable kubelet runs Jobs. docs/testing.md describes
what it models and how to script it. Product code must never import it (pyproject.toml's import contracts)."""

from .errors import ApiError
from .kinds import (
    CONFIGMAPS,
    CRONJOBS,
    JOBS,
    LEASES,
    NAMESPACES,
    PERSISTENT_VOLUME_CLAIMS,
    PODS,
    CustomResource,
    ResourceType,
)
from .kubelet import JobScript, KubeletConfig, ManualJob, PodRun
from .server import FakeKube, load_crds

__all__ = [
    "CONFIGMAPS",
    "CRONJOBS",
    "JOBS",
    "LEASES",
    "NAMESPACES",
    "PERSISTENT_VOLUME_CLAIMS",
    "PODS",
    "ApiError",
    "CustomResource",
    "FakeKube",
    "JobScript",
    "KubeletConfig",
    "ManualJob",
    "PodRun",
    "ResourceType",
    "load_crds",
]
