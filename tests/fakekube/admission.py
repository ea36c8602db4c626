"""What the API server does to an object before storing it: defaulting (as the v1 SetDefaults_* functions
do for the fields Jangar touches), the registries' PrepareForCreate/Update, and validation.

Defaulting runs on every incoming body, so it must be idempotent. Validation covers what a client of
Jangar's kind is likely to get wrong (names, labels, a Job's restartPolicy, immutable Job fields), not the
whole of Kubernetes' validation."""

from __future__ import annotations

import copy
import json
import re
import zoneinfo
from typing import Any

from jangar.server.core.names import (
    dns1123_label_problems,
    dns1123_subdomain_problems,
    label_value_problems,
    qualified_name_problems,
)

from .kinds import CONFIGMAPS, CRONJOBS, JOBS, NAMESPACES, PERSISTENT_VOLUME_CLAIMS, PODS, ResourceType

Cause = tuple[str, str, str]

CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID = "controller-uid"
LEGACY_JOB_NAME = "job-name"
CONFIG_MAP_KEY = re.compile(r"[-._a-zA-Z0-9]+")
# api.MaxSecretSize: the limit for a ConfigMap's data and binaryData together.
MAX_CONFIG_MAP_BYTES = 1024 * 1024
MAX_CRONJOB_NAME = 52


def _invalid(field: str, value: Any, detail: str) -> Cause:
    return (field, "FieldValueInvalid", f"{field}: Invalid value: {json.dumps(value)}: {detail}")


def _required(field: str, detail: str = "") -> Cause:
    return (field, "FieldValueRequired", f"{field}: Required value" + (f": {detail}" if detail else ""))


def _default_container(container: dict[str, Any]) -> None:
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    image = str(container.get("image", ""))
    tagged = ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest")
    container.setdefault("imagePullPolicy", "IfNotPresent" if tagged or "@" in image else "Always")
    container.setdefault("resources", {})


def default_pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    for field in ("containers", "initContainers"):
        for container in spec.get(field) or []:
            if isinstance(container, dict):
                _default_container(container)


def apply_defaults(resource_type: ResourceType, obj: dict[str, Any]) -> None:
    if resource_type is PODS:
        spec = obj.setdefault("spec", {})
        default_pod_spec(spec)
        # The ServiceAccount admission plug-in.
        spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
    elif resource_type is JOBS:
        spec = obj.setdefault("spec", {})
        if spec.get("completions") is None and spec.get("parallelism") is None:
            spec["completions"] = 1
        spec.setdefault("parallelism", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        spec.setdefault(
            "podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed"
        )
        template = spec.setdefault("template", {})
        default_pod_spec(template.setdefault("spec", {}))
        template_labels = (template.get("metadata") or {}).get("labels")
        metadata = obj.setdefault("metadata", {})
        if template_labels and not metadata.get("labels"):
            metadata["labels"] = dict(template_labels)
    elif resource_type is CRONJOBS:
        # SetDefaults_CronJob; the Job template's pod spec gets the pod defaults.
        spec = obj.setdefault("spec", {})
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        template = spec.setdefault("jobTemplate", {}).setdefault("spec", {}).setdefault("template", {})
        default_pod_spec(template.setdefault("spec", {}))
    elif resource_type is PERSISTENT_VOLUME_CLAIMS:
        obj.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
    elif resource_type is NAMESPACES:
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        labels = obj.setdefault("metadata", {}).setdefault("labels", {})
        labels.setdefault("kubernetes.io/metadata.name", obj["metadata"].get("name", ""))


def _qos_class(spec: dict[str, Any]) -> str:
    resources = [c.get("resources") or {} for c in spec.get("containers") or []]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(
        (r.get("limits") or {}).get(k)
        and (r.get("requests") or r.get("limits") or {}).get(k) == (r.get("limits") or {}).get(k)
        for r in resources
        for k in ("cpu", "memory")
    )
    return "Guaranteed" if guaranteed else "Burstable"


def prepare_for_create(resource_type: ResourceType, obj: dict[str, Any]) -> None:
    """The registries' PrepareForCreate: status is the server's, not the client's."""
    metadata = obj["metadata"]
    if resource_type is PODS:
        obj["status"] = {"phase": "Pending", "qosClass": _qos_class(obj.get("spec") or {})}
    elif resource_type is NAMESPACES:
        obj["status"] = {"phase": "Active"}
    elif resource_type is PERSISTENT_VOLUME_CLAIMS:
        # PrepareForCreate clears the status; SetDefaults_PersistentVolumeClaim then reads it as Pending.
        obj["status"] = {"phase": "Pending"}
    elif resource_type.status_subresource:
        obj.pop("status", None)
        if resource_type in (JOBS, CRONJOBS):
            obj["status"] = {}
    if resource_type is JOBS and not obj["spec"].get("manualSelector"):
        uid, name = metadata["uid"], metadata["name"]
        obj["spec"]["selector"] = {"matchLabels": {CONTROLLER_UID: uid}}
        template_metadata = obj["spec"]["template"].setdefault("metadata", {})
        labels = template_metadata.setdefault("labels", {})
        labels.update(
            {CONTROLLER_UID: uid, JOB_NAME: name, LEGACY_CONTROLLER_UID: uid, LEGACY_JOB_NAME: name}
        )


def _metadata_causes(resource_type: ResourceType, metadata: dict[str, Any]) -> list[Cause]:
    causes: list[Cause] = []
    name = metadata.get("name", "")
    if resource_type is NAMESPACES:
        problems = dns1123_label_problems(name)
    else:
        problems = dns1123_subdomain_problems(name)
        # A Job's name goes into its Pods' job-name label, so it must also be a valid label value.
        if resource_type is JOBS and not problems:
            problems = label_value_problems(name)
        # The CronJob controller names each Job `<name>-<minutes since the epoch>`, which must fit in 63.
        if resource_type is CRONJOBS and not problems and len(name) > MAX_CRONJOB_NAME:
            problems = [f"must be no more than {MAX_CRONJOB_NAME} characters"]
    causes += [_invalid("metadata.name", name, p) for p in problems]
    for field in ("labels", "annotations"):
        values = metadata.get(field) or {}
        if not isinstance(values, dict):
            causes.append(_invalid(f"metadata.{field}", values, "must be a map of strings"))
            continue
        for key, value in values.items():
            causes += [_invalid(f"metadata.{field}", key, p) for p in qualified_name_problems(key)]
            if not isinstance(value, str):
                causes.append(_invalid(f"metadata.{field}", value, "must be a string"))
            elif field == "labels":
                causes += [_invalid("metadata.labels", value, p) for p in label_value_problems(value)]
    return causes


def _pod_spec_causes(path: str, spec: dict[str, Any]) -> list[Cause]:
    containers = spec.get("containers")
    if not containers:
        return [_required(f"{path}.containers")]
    causes: list[Cause] = []
    for index, container in enumerate(containers):
        where = f"{path}.containers[{index}]"
        if not container.get("name"):
            causes.append(_required(f"{where}.name"))
        else:
            causes += [
                _invalid(f"{where}.name", container["name"], p)
                for p in dns1123_label_problems(container["name"])
            ]
        if not container.get("image"):
            causes.append(_required(f"{where}.image"))
        policy = container.get("terminationMessagePolicy")
        if policy not in ("File", "FallbackToLogsOnError"):
            causes.append(
                (
                    f"{where}.terminationMessagePolicy",
                    "FieldValueNotSupported",
                    f"{where}.terminationMessagePolicy: Unsupported value: {json.dumps(policy)}: "
                    'supported values: "File", "FallbackToLogsOnError"',
                )
            )
    return causes


def _config_map_key_problems(key: str) -> list[str]:
    """validation.IsConfigMapKey."""
    problems = []
    if len(key) > 253:
        problems.append("must be no more than 253 characters")
    if not CONFIG_MAP_KEY.fullmatch(key):
        problems.append(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
            "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
        )
    if key in (".", ".."):
        problems.append(f"must not be '{key}'")
    elif key.startswith(".."):
        problems.append("must not start with '..'")
    return problems


def _config_map_causes(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    """ValidateConfigMap and, for an update, ValidateConfigMapUpdate's immutability."""
    causes: list[Cause] = []
    size = 0
    data, binary = obj.get("data") or {}, obj.get("binaryData") or {}
    for field, values in (("data", data), ("binaryData", binary)):
        for key, value in values.items():
            causes += [_invalid(f"{field}[{key}]", key, p) for p in _config_map_key_problems(key)]
            if field == "binaryData" and key in data:
                causes.append(_invalid(f"binaryData[{key}]", key, "duplicate of key present in data"))
            # binaryData is base64 on the wire: the limit counts the decoded bytes.
            size += len(str(value).encode()) if field == "data" else len(str(value)) * 3 // 4
    if size > MAX_CONFIG_MAP_BYTES:
        too_long = f"Too long: may not be more than {MAX_CONFIG_MAP_BYTES} bytes"
        causes.append(("", "FieldValueTooLong", too_long))
    if old is not None and old.get("immutable"):
        forbidden = "field is immutable when `immutable` is set"
        for field in ("data", "binaryData"):
            if (obj.get(field) or {}) != (old.get(field) or {}):
                causes.append((field, "FieldValueForbidden", f"{field}: Forbidden: {forbidden}"))
        if not obj.get("immutable"):
            causes.append(("immutable", "FieldValueForbidden", f"immutable: Forbidden: {forbidden}"))
    return causes


def _restart_policy_causes(path: str, template_spec: dict[str, Any]) -> list[Cause]:
    restart = template_spec.get("restartPolicy")
    if restart in ("OnFailure", "Never"):
        return []
    return [
        (
            f"{path}.restartPolicy",
            "FieldValueNotSupported",
            f"{path}.restartPolicy: Unsupported value: {json.dumps(restart)}: "
            'supported values: "OnFailure", "Never"',
        )
    ]


def _cron_job_causes(spec: dict[str, Any]) -> list[Cause]:
    """ValidateCronJobSpec, in part: the schedule, the time zone, the policies and the Job template."""
    causes: list[Cause] = []
    schedule = spec.get("schedule")
    if not schedule:
        causes.append(_required("spec.schedule"))
    elif len(str(schedule).split()) != 5 and not str(schedule).startswith("@"):
        causes.append(_invalid("spec.schedule", schedule, "unparseable cron format"))
    elif "TZ=" in str(schedule):
        causes.append(
            _invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone")
        )
    zone = spec.get("timeZone")
    if zone is not None:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            causes.append(_invalid("spec.timeZone", zone, "unknown time zone"))
    policy = spec.get("concurrencyPolicy")
    if policy not in ("Allow", "Forbid", "Replace"):
        causes.append(
            (
                "spec.concurrencyPolicy",
                "FieldValueNotSupported",
                f"spec.concurrencyPolicy: Unsupported value: {json.dumps(policy)}: "
                'supported values: "Allow", "Forbid", "Replace"',
            )
        )
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None and (not isinstance(deadline, int) or deadline < 0):
        causes.append(
            _invalid("spec.startingDeadlineSeconds", deadline, "must be greater than or equal to 0")
        )
    template_spec = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get(
        "spec"
    ) or {}
    path = "spec.jobTemplate.spec.template.spec"
    return causes + _pod_spec_causes(path, template_spec) + _restart_policy_causes(path, template_spec)


ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")


def _claim_causes(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    """ValidatePersistentVolumeClaim for what a client sets, and ValidatePersistentVolumeClaimUpdate's rule
    that a bound claim's spec is immutable but for its storage request."""
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    modes = spec.get("accessModes") or []
    if not modes:
        causes.append(_required("spec.accessModes", "at least 1 access mode is required"))
    for mode in modes:
        if mode not in ACCESS_MODES:
            supported = ", ".join(json.dumps(m) for m in ACCESS_MODES)
            message = (
                f"spec.accessModes: Unsupported value: {json.dumps(mode)}: supported values: {supported}"
            )
            causes.append(("spec.accessModes", "FieldValueNotSupported", message))
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if not storage:
        causes.append(_required("spec.resources[storage]"))
    if old is not None:
        before = copy.deepcopy(old.get("spec") or {})
        after = copy.deepcopy(spec)
        for claim_spec in (before, after):
            (claim_spec.get("resources") or {}).pop("requests", None)
        if not before.get("volumeName"):
            after.pop("volumeName", None)  # binding sets it, once
        if before != after:
            detail = "spec is immutable after creation except resources.requests"
            causes.append(("spec", "FieldValueForbidden", f"spec: Forbidden: {detail}"))
    return causes


def validate(resource_type: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    causes = _metadata_causes(resource_type, obj["metadata"])
    if resource_type is CRONJOBS:
        causes += _cron_job_causes(obj.get("spec") or {})
    if resource_type is PERSISTENT_VOLUME_CLAIMS:
        causes += _claim_causes(obj, old)
    elif resource_type is CONFIGMAPS:
        causes += _config_map_causes(obj, old)
    elif resource_type is PODS:
        causes += _pod_spec_causes("spec", obj.get("spec") or {})
    elif resource_type is JOBS:
        spec = obj.get("spec") or {}
        template_spec = (spec.get("template") or {}).get("spec") or {}
        causes += _pod_spec_causes("spec.template.spec", template_spec)
        causes += _restart_policy_causes("spec.template.spec", template_spec)
        for field in ("activeDeadlineSeconds", "ttlSecondsAfterFinished", "backoffLimit"):
            value = spec.get(field)
            minimum = 1 if field == "activeDeadlineSeconds" else 0
            if value is not None and (not isinstance(value, int) or value < minimum):
                detail = "must be greater than 0" if minimum else "must be greater than or equal to 0"
                causes.append(_invalid(f"spec.{field}", value, detail))
        if old is not None:
            for field in ("selector", "template", "completions", "completionMode"):
                if spec.get(field) != (old.get("spec") or {}).get(field):
                    causes.append(
                        _invalid(f"spec.{field}", copy.deepcopy(spec.get(field)), "field is immutable")
                    )
    return causes
