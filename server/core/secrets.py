"""The port through which the server reads a Secret's value when it needs one (a Memory's connection
string, an embedding endpoint's API key). Values are read at use time and never stored, logged or
returned; server/runtime/secrets.py has the implementations."""

from __future__ import annotations

from typing import Protocol


class SecretUnavailable(Exception):
    """The Secret or its key does not exist, or cannot be read. The message names the reference, never a
    value."""


class SecretReader(Protocol):
    async def read(self, namespace: str, name: str, key: str) -> str:
        """The value of `key` in Secret `namespace/name`; raises SecretUnavailable."""
        ...


class NoSecrets:
    """A server with no cluster and no secrets directory: every Secret is unavailable."""

    async def read(self, namespace: str, name: str, key: str) -> str:
        raise SecretUnavailable(
            f"Secret {namespace}/{name} key {key!r}: no cluster and no JANGAR_SECRETS_DIR to read it from"
        )
