"""The Kubernetes objects one attempt of a run becomes, as pure functions of its Launch: a ConfigMap with the
run document and the input files, and a Job whose one container runs the attempt. Both are named after the
attempt (`<run id>-<number>`), carry the workload's labels and are owned by the run's custom resource, so
deleting the run deletes them. docs/runtime.md ("The job runtime") describes the result; a run that names a
Workspace has its PersistentVolumeClaim as the working directory (docs/storage.md)."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from typing import Any

from jangar.server.core.runtime import Launch, OwnerResource, StartFailed

CONTAINER = "runner"
SPEC_DIR = "/var/run/jangar/spec"
RUN_DOCUMENT_KEY = "run.json"
# The runner's final status file is the container's termination message, so it comes back in the Pod's
# status without anyone reading the container's filesystem.
STATUS_PATH = "/var/run/jangar/status.json"
DEFAULT_WORKING_DIR = "/workspace"
# Set by the runtime whatever the definition says: they point into the container's own layout.
RESERVED_ENV = ("JANGAR_RUN_SPEC", "JANGAR_RUNNER_STATUS_PATH", "JANGAR_WORKSPACE")
SPEC_VOLUME = "jangar-spec"
INPUTS_VOLUME = "jangar-inputs"
WORKSPACE_VOLUME = "jangar-workspace"


def owner_reference(owner: OwnerResource, uid: str) -> dict[str, Any]:
    """The reference that makes the run's custom resource the controller of an attempt's objects."""
    return {
        "apiVersion": owner.api_version,
        "kind": owner.kind,
        "name": owner.name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def input_file_keys(files: Mapping[str, str]) -> dict[str, str]:
    """ConfigMap key -> path relative to the working directory, one per input file. Keys are positional
    (`input-0`, …) because a path's slashes are not allowed in a ConfigMap key. A path that is absolute or
    leaves the working directory is refused."""
    keys: dict[str, str] = {}
    for index, relative in enumerate(sorted(files)):
        normalized = posixpath.normpath(relative)
        if relative.startswith("/") or normalized == "." or normalized.split("/")[0] == "..":
            raise StartFailed(f"input file {relative!r} is outside the working directory")
        keys[f"input-{index}"] = relative
    return keys


def check(launch: Launch) -> None:
    """Raises StartFailed for what no cluster would run, before anything is written."""
    if not launch.attempt.namespace:
        raise StartFailed("the attempt has no namespace to run in")
    if launch.workload.owner is None:
        raise StartFailed("the launch names no custom resource to own the attempt's objects")
    if not launch.workload.image:
        raise StartFailed("no container image: the definition names none (set its workload image)")
    if launch.workspace is not None and not launch.workspace.claim_name:
        raise StartFailed(
            "the run's Workspace has no PersistentVolumeClaim (it was created by a server without a cluster)"
        )
    input_file_keys(launch.files)


def config_map(launch: Launch, owner_ref: Mapping[str, Any]) -> dict[str, Any]:
    """The ConfigMap holding the attempt's run.json and input files."""
    keys = input_file_keys(launch.files)
    data = {RUN_DOCUMENT_KEY: json.dumps(launch.run_document, indent=2, sort_keys=True)}
    data.update({key: launch.files[path] for key, path in keys.items()})
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(launch, owner_ref),
        "data": data,
        # What an attempt was started with never changes, and the kubelet need not watch it.
        "immutable": True,
    }


def job(launch: Launch, owner_ref: Mapping[str, Any]) -> dict[str, Any]:
    """The Job that runs the attempt once: no retries of its own (the server decides about retries) and
    Kubernetes' own deadline when the workload has a timeout."""
    check(launch)
    workload = launch.workload
    spec: dict[str, Any] = {
        "backoffLimit": 0,
        "template": {
            "metadata": {"labels": dict(workload.labels)},
            "spec": _pod_spec(launch),
        },
    }
    if workload.timeout_seconds > 0:
        spec["activeDeadlineSeconds"] = workload.timeout_seconds
    if workload.ttl_seconds_after_finished > 0:
        spec["ttlSecondsAfterFinished"] = workload.ttl_seconds_after_finished
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _metadata(launch, owner_ref),
        "spec": spec,
    }


def _metadata(launch: Launch, owner_ref: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": launch.attempt.name,
        "namespace": launch.attempt.namespace,
        "labels": dict(launch.workload.labels),
        "ownerReferences": [dict(owner_ref)],
    }


def _pod_spec(launch: Launch) -> dict[str, Any]:
    workload = launch.workload
    working_dir = workload.working_dir or DEFAULT_WORKING_DIR
    keys = input_file_keys(launch.files)
    mounts: list[dict[str, Any]] = [
        {"name": WORKSPACE_VOLUME, "mountPath": working_dir},
        {"name": SPEC_VOLUME, "mountPath": SPEC_DIR, "readOnly": True},
    ]
    mounts += [
        {
            "name": INPUTS_VOLUME,
            "mountPath": posixpath.join(working_dir, posixpath.normpath(path)),
            "subPath": key,
            "readOnly": True,
        }
        for key, path in keys.items()
    ]
    volumes: list[dict[str, Any]] = [
        {"name": WORKSPACE_VOLUME, **_working_volume(launch)},
        {
            "name": SPEC_VOLUME,
            "configMap": {
                "name": launch.attempt.name,
                "items": [{"key": RUN_DOCUMENT_KEY, "path": RUN_DOCUMENT_KEY}],
            },
        },
    ]
    if keys:
        volumes.append(
            {
                "name": INPUTS_VOLUME,
                "configMap": {"name": launch.attempt.name, "items": [{"key": k, "path": k} for k in keys]},
            }
        )
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": workload.image,
        "env": _env(launch),
        "workingDir": working_dir,
        "volumeMounts": mounts,
        "resources": {part: dict(values) for part, values in workload.resources.items() if values},
        "terminationMessagePath": STATUS_PATH,
        # A runner that dies without writing its status still leaves the end of its output behind.
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if launch.argv:
        container["command"] = list(launch.argv)
    if workload.secret_refs:
        container["envFrom"] = [{"secretRef": {"name": name}} for name in workload.secret_refs]
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [container],
        "volumes": volumes,
    }
    if workload.service_account:
        spec["serviceAccountName"] = workload.service_account
    return spec


def _working_volume(launch: Launch) -> dict[str, Any]:
    """The working directory's volume: the Workspace's claim, or a scratch directory of the Pod's own."""
    if launch.workspace is not None:
        return {"persistentVolumeClaim": {"claimName": launch.workspace.claim_name}}
    return {"emptyDir": {}}


def _env(launch: Launch) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": name, "value": value} for name, value in launch.env.items() if name not in RESERVED_ENV
    ]
    env += [
        {"name": "JANGAR_RUN_SPEC", "value": f"{SPEC_DIR}/{RUN_DOCUMENT_KEY}"},
        {"name": "JANGAR_RUNNER_STATUS_PATH", "value": STATUS_PATH},
    ]
    if launch.workspace is not None:
        env.append({"name": "JANGAR_WORKSPACE", "value": launch.workload.working_dir or DEFAULT_WORKING_DIR})
    env += [
        {
            "name": secret.name,
            "valueFrom": {
                "secretKeyRef": {"name": secret.secret_name, "key": secret.key, "optional": secret.optional}
            },
        }
        for secret in launch.workload.secret_env
    ]
    return env
