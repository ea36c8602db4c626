"""Workspaces' PersistentVolumeClaims, written and deleted by the outbox worker (docs/storage.md). Both calls
are idempotent: a claim that exists is written, one that is gone is deleted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubernetes_asyncio.client import ApiClient, CoreV1Api
from kubernetes_asyncio.client.exceptions import ApiException

from jangar.server.runtime.kube_errors import (
    REQUEST_TIMEOUT_SECONDS,
    call,
    classify,
    is_already_exists,
    unavailable,
)


class ClaimWriter:
    def __init__(self, api: ApiClient, request_timeout: float = REQUEST_TIMEOUT_SECONDS) -> None:
        self._core = CoreV1Api(api)
        self._timeout = request_timeout

    async def create_claim(self, body: Mapping[str, Any]) -> None:
        metadata = body["metadata"]
        what = f"PersistentVolumeClaim {metadata['namespace']}/{metadata['name']}"
        try:
            await call(
                self._core.create_namespaced_persistent_volume_claim(
                    metadata["namespace"], dict(body), _request_timeout=self._timeout
                ),
                what,
            )
        except ApiException as error:
            # The name comes from the Workspace's id: an existing claim is the one an earlier try wrote.
            if not is_already_exists(error):
                raise classify(error, what) from None

    async def delete_claim(self, namespace: str, name: str) -> None:
        what = f"PersistentVolumeClaim {namespace}/{name}"
        try:
            await call(
                self._core.delete_namespaced_persistent_volume_claim(
                    name, namespace, _request_timeout=self._timeout
                ),
                what,
            )
        except ApiException as error:
            if error.status != 404:
                raise unavailable(error, what) from None
