"""Where Secret values come from (core/secrets.py): the cluster's Secrets when the server has a cluster,
otherwise a directory laid out as Kubernetes mounts Secrets, one file per key:
`$JANGAR_SECRETS_DIR/<namespace>/<name>/<key>` (docs/memory.md)."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from kubernetes_asyncio.client import ApiClient, CoreV1Api
from kubernetes_asyncio.client.exceptions import ApiException

from jangar.server.core.names import dns1123_subdomain_problems
from jangar.server.core.secrets import SecretUnavailable


def _reference(namespace: str, name: str, key: str) -> str:
    return f"Secret {namespace}/{name} key {key!r}"


class KubernetesSecrets:
    """Reads Secrets through the API server on every use, so a rotated Secret takes effect at once."""

    def __init__(self, client: ApiClient) -> None:
        self._core = CoreV1Api(client)

    async def read(self, namespace: str, name: str, key: str) -> str:
        try:
            secret = await self._core.read_namespaced_secret(name, namespace)
        except ApiException as error:
            raise SecretUnavailable(f"{_reference(namespace, name, key)}: HTTP {error.status}") from None
        encoded = (secret.data or {}).get(key)
        if encoded is None:
            raise SecretUnavailable(f"{_reference(namespace, name, key)} does not exist")
        try:
            return base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise SecretUnavailable(f"{_reference(namespace, name, key)} is not UTF-8 text") from None


class DirectorySecrets:
    """Reads `<root>/<namespace>/<name>/<key>` on every use (a mounted Secret volume has this shape per
    namespace). Names are checked before they become a path, so no reference reaches outside the root."""

    def __init__(self, root: Path | None) -> None:
        self._root = root

    async def read(self, namespace: str, name: str, key: str) -> str:
        where = _reference(namespace, name, key)
        if self._root is None:
            raise SecretUnavailable(f"{where}: no cluster and no JANGAR_SECRETS_DIR to read it from")
        if dns1123_subdomain_problems(namespace) or dns1123_subdomain_problems(name) or not _safe_key(key):
            raise SecretUnavailable(f"{where} is not a valid reference")
        path = self._root / namespace / name / key
        try:
            return path.read_text().rstrip("\n")
        except (OSError, UnicodeDecodeError):
            raise SecretUnavailable(f"{where} does not exist") from None


def _safe_key(key: str) -> bool:
    # A Secret key's own rule (`[-._a-zA-Z0-9]+`), and never `.` or `..`.
    return bool(key) and key not in (".", "..") and all(c.isalnum() or c in "-._" for c in key)
