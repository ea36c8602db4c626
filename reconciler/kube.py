"""Raw JSON access to the Kubernetes API through kubernetes-asyncio's ApiClient: no model deserialisation
(it costs more than everything else per object), and full control over watch errors such as 410 Gone."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from typing import Any

from kubernetes_asyncio import client, config

from jangar.reconciler.config import Config


class KubeError(Exception):
    """A non-2xx answer (or an ERROR watch event); `code` is the HTTP status, `body` the Status if any."""

    def __init__(self, code: int, body: Mapping[str, Any] | None = None, text: str = "") -> None:
        self.code = code
        self.body = dict(body or {})
        message = self.body.get("message") or text[:200]
        super().__init__(f"{code} {self.body.get('reason', '')}: {message}".strip())


async def api_client(cfg: Config) -> client.ApiClient:
    """An ApiClient from the configured kubeconfig, KUBECONFIG, or the in-cluster service account."""
    configuration = client.Configuration()
    if cfg.kubeconfig:
        await config.load_kube_config(config_file=cfg.kubeconfig, client_configuration=configuration)
    elif os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=configuration)
    else:
        await config.load_kube_config(client_configuration=configuration)
    return client.ApiClient(configuration)


class Kube:
    def __init__(self, api: client.ApiClient) -> None:
        self._api = api

    async def _open(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        request_timeout: tuple[float, float] | None = None,
    ) -> Any:
        # _preload_content=False: the raw aiohttp response, not raised on error statuses, nothing decoded.
        return await self._api.call_api(
            path,
            method,
            query_params=list((query or {}).items()),
            header_params={"Accept": "application/json", "Content-Type": "application/json"},
            body=body,
            auth_settings=["BearerToken"],
            _preload_content=False,
            _request_timeout=request_timeout,
        )

    async def request(
        self, method: str, path: str, query: Mapping[str, str] | None = None, body: Any = None
    ) -> dict[str, Any]:
        """One request; the decoded JSON answer, or KubeError."""
        response = await self._open(method, path, query, body, request_timeout=(10.0, 30.0))
        try:
            data = await response.read()
        finally:
            response.release()
        decoded = _decode(data)
        if not 200 <= response.status <= 299:
            raise KubeError(response.status, decoded, data.decode(errors="replace"))
        return decoded or {}

    async def watch(self, path: str, query: Mapping[str, str], inactivity_seconds: float) -> WatchStream:
        """Open one watch. Iterating it raises TimeoutError when nothing (not even a bookmark) arrived for
        `inactivity_seconds`, and KubeError when the API server refused the watch."""
        response = await self._open(
            "GET", path, {**query, "watch": "true"}, request_timeout=(10.0, inactivity_seconds)
        )
        if response.status != 200:
            try:
                data = await response.read()
            finally:
                response.close()
            raise KubeError(response.status, _decode(data), data.decode(errors="replace"))
        return WatchStream(response)


class WatchStream:
    """The events of one open watch, each decoded and with its raw line; ends when the server ends it."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self.closed = False

    def close(self) -> None:
        """Interrupt the watch (from another task, too): iteration stops."""
        self.closed = True
        self._response.close()

    async def __aiter__(self) -> AsyncIterator[tuple[dict[str, Any], bytes]]:
        pending = b""
        try:
            # Our own line splitting: aiohttp's readline() refuses lines longer than its buffer limit.
            async for chunk in self._response.content.iter_any():
                pending += chunk
                if b"\n" not in chunk:
                    continue
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield json.loads(line), line
            if pending.strip() and not self.closed:
                yield json.loads(pending), pending
        finally:
            self._response.close()


def _decode(data: bytes) -> dict[str, Any] | None:
    try:
        decoded = json.loads(data) if data else None
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None
