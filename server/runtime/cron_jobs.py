"""The CronJob of a Schedule on Kubernetes: written by the outbox worker, never by a request. Its pod does one
thing: POST the Schedule's FireSchedule through Jangar's REST address, with its Job's name (one per scheduled
time, the same for every retried pod of that Job) as the Idempotency-Key. Jangar then creates the run of the
latest scheduled time, applying the Schedule's concurrency policy itself, so the CronJob's own policy is
`Allow`: its pods only knock."""

from __future__ import annotations

from typing import Any

from kubernetes_asyncio.client import ApiClient, BatchV1Api
from kubernetes_asyncio.client.exceptions import ApiException

from jangar.server.core.cron_jobs import ALLOW, CronJobSpec, fire_path
from jangar.server.core.custom_resources import MANAGED_BY, MANAGED_BY_LABEL
from jangar.server.runtime.kube_errors import (
    REQUEST_TIMEOUT_SECONDS,
    call,
    classify,
    is_already_exists,
    unavailable,
)

CONTAINER = "fire"
# A pod that cannot reach Jangar is retried (curl's own retries first), within the time a scheduled time is
# worth firing for.
BACKOFF_LIMIT = 4
FIRE_DEADLINE_SECONDS = 600
KEEP_FINISHED_SECONDS = 3600


def manifest(spec: CronJobSpec, fire_url: str, image: str) -> dict[str, Any]:
    labels = {MANAGED_BY_LABEL: MANAGED_BY, **spec.labels}
    fire = fire_url + fire_path(spec.schedule_id)
    container = {
        "name": CONTAINER,
        "image": image,
        "env": [
            {
                "name": "JOB_NAME",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['batch.kubernetes.io/job-name']"}},
            }
        ],
        "command": ["curl"],
        "args": [
            "--fail-with-body",
            "--silent",
            "--show-error",
            "--retry",
            "5",
            "--retry-all-errors",
            "--max-time",
            "30",
            "--request",
            "POST",
            "--header",
            "Content-Type: application/json",
            "--header",
            "Idempotency-Key: $(JOB_NAME)",
            "--data",
            "{}",
            fire,
        ],
        "resources": {
            "requests": {"cpu": "10m", "memory": "16Mi"},
            "limits": {"memory": "64Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": spec.name, "namespace": spec.namespace, "labels": labels},
        "spec": {
            "schedule": spec.cron,
            # null removes a zone or deadline that the Schedule no longer has (the update is a merge patch).
            "timeZone": spec.timezone or None,
            "suspend": spec.suspend,
            "startingDeadlineSeconds": spec.starting_deadline_seconds or None,
            "concurrencyPolicy": ALLOW,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 1,
            "jobTemplate": {
                "metadata": {"labels": labels},
                "spec": {
                    "backoffLimit": BACKOFF_LIMIT,
                    "activeDeadlineSeconds": FIRE_DEADLINE_SECONDS,
                    "ttlSecondsAfterFinished": KEEP_FINISHED_SECONDS,
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "restartPolicy": "Never",
                            "automountServiceAccountToken": False,
                            "containers": [container],
                        },
                    },
                },
            },
        },
    }


class CronJobWriter:
    """Writes Schedules' CronJobs through `api`; every call is bounded and safe to repeat."""

    def __init__(
        self, api: ApiClient, fire_url: str, image: str, request_timeout: float = REQUEST_TIMEOUT_SECONDS
    ) -> None:
        self._batch = BatchV1Api(api)
        self._fire_url = fire_url
        self._image = image
        self._timeout = request_timeout

    async def apply(self, spec: CronJobSpec) -> None:
        body = manifest(spec, self._fire_url, self._image)
        what = f"CronJob {spec.namespace}/{spec.name}"
        try:
            await call(
                self._batch.create_namespaced_cron_job(
                    spec.namespace, _without_nulls(body), _request_timeout=self._timeout
                ),
                what,
            )
            return
        except ApiException as error:
            if not is_already_exists(error):
                raise classify(error, what) from None
        try:
            await call(
                self._batch.patch_namespaced_cron_job(
                    spec.name,
                    spec.namespace,
                    body,
                    _content_type="application/merge-patch+json",
                    _request_timeout=self._timeout,
                ),
                what,
            )
        except ApiException as error:
            raise classify(error, what) from None

    async def delete(self, namespace: str, name: str) -> None:
        what = f"CronJob {namespace}/{name}"
        try:
            await call(
                self._batch.delete_namespaced_cron_job(
                    name, namespace, propagation_policy="Background", _request_timeout=self._timeout
                ),
                what,
            )
        except ApiException as error:
            if error.status != 404:
                raise unavailable(error, what) from None


def _without_nulls(body: dict[str, Any]) -> dict[str, Any]:
    """A create states only what is set (the nulls are for a merge patch to remove fields)."""
    return {k: _without_nulls(v) if isinstance(v, dict) else v for k, v in body.items() if v is not None}
