"""The `job` runtime: each attempt is a Kubernetes Job in the run's namespace, owned by the run's custom
resource. The outbox worker calls start and stop; the reconciler reports the Job's state, so this runtime
only writes to the cluster (and reads a Pod's log).

`start` writes three objects in order, each under a deterministic name, and treats one that already exists
as written, so a start retried after any partial failure finishes the job without writing anything twice:
the run's custom resource (kept as it is if it exists, e.g. created with kubectl), then the attempt's
ConfigMap and Job (job_manifests.py), both owned by the custom resource. docs/runtime.md describes it all.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from kubernetes_asyncio.client import ApiClient, BatchV1Api, CoreV1Api, CustomObjectsApi
from kubernetes_asyncio.client.exceptions import ApiException

from jangar.server.core.custom_resources import RUN_ID_LABEL
from jangar.server.core.runtime import (
    JOB,
    Alive,
    Attempt,
    Launch,
    Observation,
    OwnerResource,
    RuntimeUnavailable,
    StartFailed,
)
from jangar.server.runtime import job_manifests as manifests
from jangar.server.runtime.kube_errors import (
    REQUEST_TIMEOUT_SECONDS,
    call,
    classify,
    is_already_exists,
    unavailable,
)

# Lines asked of the API server for a log tail of `tail_bytes`: enough for lines of 8 bytes on average, so
# the tail is rarely short, without asking for the whole log.
BYTES_PER_LINE_ESTIMATE = 8


class JobRuntime:
    """Runs attempts as Kubernetes Jobs through `api` (see kube_client.api_client_from_environment)."""

    type = JOB

    def __init__(self, api: ApiClient, request_timeout: float = REQUEST_TIMEOUT_SECONDS) -> None:
        self._custom = CustomObjectsApi(api)
        self._core = CoreV1Api(api)
        self._batch = BatchV1Api(api)
        self._timeout = request_timeout

    async def start(self, launch: Launch) -> None:
        manifests.check(launch)
        owner = launch.workload.owner
        assert owner is not None  # check() refuses a launch without one
        namespace = launch.attempt.namespace
        uid = await self._owner_uid(owner, namespace, launch.workload.labels.get(RUN_ID_LABEL))
        owner_ref = manifests.owner_reference(owner, uid)
        name = launch.attempt.name
        await self._create(
            self._core.create_namespaced_config_map,
            namespace,
            manifests.config_map(launch, owner_ref),
            f"ConfigMap {namespace}/{name}",
        )
        await self._create(
            self._batch.create_namespaced_job,
            namespace,
            manifests.job(launch, owner_ref),
            f"Job {namespace}/{name}",
        )

    async def _owner_uid(self, owner: OwnerResource, namespace: str, run_id: str | None) -> str:
        """Creates the run's custom resource, or finds the one already there; returns its uid."""
        group, _, version = owner.api_version.rpartition("/")
        what = f"{owner.kind} {namespace}/{owner.name}"
        body = copy.deepcopy(dict(owner.body))
        metadata = body.setdefault("metadata", {})
        metadata["name"] = owner.name
        metadata["namespace"] = namespace
        try:
            created = await call(
                self._custom.create_namespaced_custom_object(
                    group, version, namespace, owner.plural, body, _request_timeout=self._timeout
                ),
                what,
            )
            return str(created["metadata"]["uid"])
        except ApiException as error:
            if not is_already_exists(error):
                raise classify(error, what) from None
        try:
            existing = await call(
                self._custom.get_namespaced_custom_object(
                    group, version, namespace, owner.plural, owner.name, _request_timeout=self._timeout
                ),
                what,
            )
        except ApiException as error:
            # Gone between the create and the read (deleted meanwhile): the next start sees which.
            raise unavailable(error, what) from None
        found = existing.get("metadata") or {}
        if found.get("deletionTimestamp"):
            raise RuntimeUnavailable(f"{what} is being deleted")
        other = (found.get("labels") or {}).get(RUN_ID_LABEL)
        if run_id and other and other != run_id:
            raise StartFailed(f"{what} already exists and belongs to another run ({other})")
        return str(found["uid"])

    async def _create(self, create: Any, namespace: str, body: dict[str, Any], what: str) -> None:
        try:
            await call(create(namespace, body, _request_timeout=self._timeout), what)
        except ApiException as error:
            # Written by an earlier start: what it holds is what this attempt was started with.
            if not is_already_exists(error):
                raise classify(error, what) from None

    async def observe(self, attempt: Attempt) -> Observation:
        """Always Alive: the server never asks this runtime, because the reconciler reports how each Job is
        doing (the port requires the method)."""
        return Alive()

    async def stop(self, attempt: Attempt) -> None:
        """Deletes the attempt's Job and, through background propagation, its Pods; a Job already gone is
        stopped. The ConfigMap stays with the run's custom resource, which owns it."""
        what = f"Job {attempt.namespace}/{attempt.name}"
        try:
            await call(
                self._batch.delete_namespaced_job(
                    attempt.name,
                    attempt.namespace,
                    propagation_policy="Background",
                    _request_timeout=self._timeout,
                ),
                what,
            )
        except ApiException as error:
            if error.status != 404:
                raise unavailable(error, what) from None

    async def write_status(
        self, api_version: str, plural: str, namespace: str, name: str, status: Mapping[str, Any]
    ) -> bool:
        """Merge-patches a custom resource's status subresource; False when there is no such resource."""
        group, _, version = api_version.partition("/")
        what = f"{plural}/{name} status in {namespace}"
        try:
            await call(
                self._custom.patch_namespaced_custom_object_status(
                    group,
                    version,
                    namespace,
                    plural,
                    name,
                    {"status": dict(status)},
                    _content_type="application/merge-patch+json",
                    _request_timeout=self._timeout,
                ),
                what,
            )
        except ApiException as error:
            if error.status != 404:
                raise unavailable(error, what) from None
            return False
        return True

    async def logs(self, attempt: Attempt, tail_bytes: int) -> tuple[str, bool]:
        """The end of the output of the attempt's newest Pod (at most `tail_bytes` bytes, cut on a UTF-8
        boundary) and whether earlier output was left out. No Pod, or one not started yet: ("", False)."""
        what = f"Pods of Job {attempt.namespace}/{attempt.name}"
        try:
            pods = await call(
                self._core.list_namespaced_pod(
                    attempt.namespace,
                    label_selector=f"job-name={attempt.name}",
                    _request_timeout=self._timeout,
                ),
                what,
            )
        except ApiException as error:
            raise unavailable(error, what) from None
        if not pods.items:
            return "", False
        newest = max(pods.items, key=lambda pod: (pod.metadata.creation_timestamp, pod.metadata.name))
        lines = max(1, tail_bytes // BYTES_PER_LINE_ESTIMATE)
        what = f"the log of Pod {attempt.namespace}/{newest.metadata.name}"
        try:
            text = await call(
                self._core.read_namespaced_pod_log(
                    newest.metadata.name,
                    attempt.namespace,
                    container=manifests.CONTAINER,
                    tail_lines=lines,
                    _request_timeout=self._timeout,
                ),
                what,
            )
        except ApiException as error:
            # 400: the container is still waiting to start; 404: the Pod went meanwhile.
            if error.status in (400, 404):
                return "", False
            raise unavailable(error, what) from None
        tail, cut = tail_of(text or "", tail_bytes)
        return tail, cut or text.count("\n") >= lines


def tail_of(text: str, tail_bytes: int) -> tuple[str, bool]:
    """The last `tail_bytes` bytes of `text`, starting on a character boundary, and whether it was cut."""
    data = text.encode()
    if len(data) <= tail_bytes:
        return text, False
    data = data[len(data) - tail_bytes :] if tail_bytes > 0 else b""
    start = 0
    while start < len(data) and data[start] & 0xC0 == 0x80:  # a UTF-8 continuation byte
        start += 1
    return data[start:].decode(), True
