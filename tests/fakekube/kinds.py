"""The resource types the fake serves, and the discovery documents that describe them.

Built-in kinds are the ones Jangar uses (core v1 namespaces, pods, configmaps, secrets,
persistentvolumeclaims; batch/v1 jobs, cronjobs; coordination.k8s.io/v1 leases); custom resources are
registered from CRD-like definitions at start-up."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    singular: str = ""
    short_names: tuple[str, ...] = ()
    status_subresource: bool = False
    # metadata.generation is kept (and bumped on spec changes) by the registries of Jobs and custom
    # resources, not by those of ConfigMaps, Leases, Namespaces or (before 1.33) Pods.
    has_generation: bool = False
    # Field selectors each registry's field-label conversion accepts, besides metadata.name/namespace.
    extra_field_labels: tuple[str, ...] = ()
    # The registry default when a delete names no propagationPolicy: batch/v1 Jobs still orphan their
    # Pods for backwards compatibility; everything else deletes dependents in the background.
    default_propagation: str = "Background"
    # Pods' registry returns the deleted object; most others return a Status.
    returns_deleted_object: bool = False
    # Custom resources must be updated with a resourceVersion; built-in kinds allow unconditional PUT.
    allow_unconditional_update: bool = True
    custom: bool = False
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


NAMESPACES = ResourceType(
    "",
    "v1",
    "namespaces",
    "Namespace",
    namespaced=False,
    singular="namespace",
    short_names=("ns",),
    status_subresource=True,
    extra_field_labels=("status.phase",),
)
PODS = ResourceType(
    "",
    "v1",
    "pods",
    "Pod",
    singular="pod",
    short_names=("po",),
    status_subresource=True,
    extra_field_labels=(
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    returns_deleted_object=True,
    categories=("all",),
)
CONFIGMAPS = ResourceType("", "v1", "configmaps", "ConfigMap", singular="configmap", short_names=("cm",))
JOBS = ResourceType(
    "batch",
    "v1",
    "jobs",
    "Job",
    singular="job",
    status_subresource=True,
    has_generation=True,
    extra_field_labels=("status.successful",),
    default_propagation="Orphan",
    categories=("all",),
)
CRONJOBS = ResourceType(
    "batch",
    "v1",
    "cronjobs",
    "CronJob",
    singular="cronjob",
    short_names=("cj",),
    status_subresource=True,
    has_generation=True,
    categories=("all",),
)
LEASES = ResourceType("coordination.k8s.io", "v1", "leases", "Lease", singular="lease")
PERSISTENT_VOLUME_CLAIMS = ResourceType(
    "",
    "v1",
    "persistentvolumeclaims",
    "PersistentVolumeClaim",
    singular="persistentvolumeclaim",
    short_names=("pvc",),
    status_subresource=True,
)

# Secrets: their values are base64 in `data`, as the real API returns them.
SECRETS = ResourceType("", "v1", "secrets", "Secret", singular="secret")

BUILTIN: tuple[ResourceType, ...] = (
    NAMESPACES,
    PODS,
    CONFIGMAPS,
    JOBS,
    CRONJOBS,
    LEASES,
    PERSISTENT_VOLUME_CLAIMS,
    SECRETS,
)


@dataclass(frozen=True)
class CustomResource:
    """What the fake needs of a CustomResourceDefinition: one served version, v1alpha1 unless told."""

    group: str
    plural: str
    kind: str
    version: str = "v1alpha1"
    namespaced: bool = True
    singular: str = ""
    short_names: tuple[str, ...] = ()
    status_subresource: bool = True
    categories: tuple[str, ...] = field(default_factory=tuple)

    def resource_type(self) -> ResourceType:
        return ResourceType(
            self.group,
            self.version,
            self.plural,
            self.kind,
            namespaced=self.namespaced,
            singular=self.singular or self.kind.lower(),
            short_names=tuple(self.short_names),
            status_subresource=self.status_subresource,
            has_generation=True,
            allow_unconditional_update=False,
            custom=True,
            categories=tuple(self.categories),
        )

    @classmethod
    def from_crd(cls, crd: Mapping[str, Any]) -> list[CustomResource]:
        """One entry per served version of an apiextensions.k8s.io/v1 CustomResourceDefinition manifest."""
        spec = crd["spec"]
        names = spec["names"]
        return [
            cls(
                group=spec["group"],
                plural=names["plural"],
                kind=names["kind"],
                version=version["name"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                singular=names.get("singular", ""),
                short_names=tuple(names.get("shortNames", ())),
                status_subresource="status" in (version.get("subresources") or {}),
                categories=tuple(names.get("categories", ())),
            )
            for version in spec["versions"]
            if version.get("served", True)
        ]


class Registry:
    """The resource types by group/version and plural, with the discovery documents built from them."""

    def __init__(self, types: Iterable[ResourceType]) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        for resource_type in types:
            self.add(resource_type)

    def add(self, resource_type: ResourceType) -> None:
        self._types[(resource_type.group, resource_type.version, resource_type.plural)] = resource_type

    def find(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def all(self) -> list[ResourceType]:
        return list(self._types.values())

    def owner_type(self, api_version: str, kind: str) -> ResourceType | None:
        for resource_type in self._types.values():
            if resource_type.api_version == api_version and resource_type.kind == kind:
                return resource_type
        return None

    def group_versions(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for group, version, _ in self._types:
            versions = groups.setdefault(group, [])
            if version not in versions:
                versions.append(version)
        return groups

    def resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        types = [t for (g, v, _), t in self._types.items() if g == group and v == version]
        if not types:
            return None
        resources: list[dict[str, Any]] = []
        for t in types:
            entry: dict[str, Any] = {
                "name": t.plural,
                "singularName": t.singular,
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": VERBS,
            }
            if t.short_names:
                entry["shortNames"] = list(t.short_names)
            if t.categories:
                entry["categories"] = list(t.categories)
            resources.append(entry)
            if t.status_subresource:
                resources.append(
                    {
                        "name": f"{t.plural}/status",
                        "singularName": "",
                        "namespaced": t.namespaced,
                        "kind": t.kind,
                        "verbs": ["get", "patch", "update"],
                    }
                )
            if t is PODS:
                resources.append(
                    {
                        "name": "pods/log",
                        "singularName": "",
                        "namespaced": True,
                        "kind": "Pod",
                        "verbs": ["get"],
                    }
                )
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }

    def api_group(self, group: str) -> dict[str, Any] | None:
        versions = self.group_versions().get(group)
        if not group or not versions:
            return None
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": group,
            "versions": entries,
            "preferredVersion": entries[0],
        }

    def api_group_list(self) -> dict[str, Any]:
        groups = [self.api_group(g) for g in self.group_versions() if g]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
