"""Workspace: the volume's size, class, access modes and TTL; a new Workspace starts Pending (the
provisioning in domain/workspaces.py makes a local one Ready)."""

from __future__ import annotations

from jangar.server.core.names import dns1123_subdomain_problems
from jangar.server.core.quantity import parse_quantity, quantity_problems
from jangar.server.domain import common
from jangar.server.domain.kinds import KindRules
from jangar.server.domain.validation import Violations
from jangar.v1 import workspace_pb2

KIND = "Workspace"

# Kubernetes' PersistentVolumeAccessMode values.
ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
# Ten years: a TTL beyond it is a typo, not a retention policy.
MAX_TTL_SECONDS = 10 * 365 * 24 * 3600


def validate_spec(spec: workspace_pb2.WorkspaceSpec, v: Violations) -> None:
    if spec.size:
        problems = quantity_problems(spec.size)
        if not problems and parse_quantity(spec.size) <= 0:
            problems = ["must be greater than 0"]
        v.extend("spec.size", problems)
    if spec.storage_class_name:
        v.extend("spec.storageClassName", dns1123_subdomain_problems(spec.storage_class_name))
    if v.list_size("spec.accessModes", spec.access_modes, len(ACCESS_MODES)):
        for index, mode in enumerate(spec.access_modes):
            if mode not in ACCESS_MODES:
                v.add(f"spec.accessModes[{index}]", f"must be one of {', '.join(ACCESS_MODES)}")
        v.unique("spec.accessModes", list(spec.access_modes))
        # Kubernetes' own rule: ReadWriteOncePod excludes every other mode.
        if "ReadWriteOncePod" in spec.access_modes and len(set(spec.access_modes)) > 1:
            v.add("spec.accessModes", "ReadWriteOncePod cannot be combined with other access modes")
    if not 0 <= spec.ttl_seconds <= MAX_TTL_SECONDS:
        v.add("spec.ttlSeconds", f"must be between 0 and {MAX_TTL_SECONDS}")


def initial_status(workspace: workspace_pb2.Workspace) -> None:
    """Accepted; the phase is kept across spec changes (a new TTL does not make a Ready volume Pending)."""
    common.accepted_status(workspace)
    if not workspace.status.phase:
        workspace.status.phase = workspace_pb2.WorkspaceStatus.Pending


RULES = KindRules(validate_spec=validate_spec, initial_status=initial_status)
