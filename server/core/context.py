"""What the domain knows about the caller and the request, independent of the transport."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    """Per-request facts the API layer extracts from gRPC metadata (or Envoy's HTTP headers)."""

    request_id: str
    # Full name of the RPC being served, e.g. `jangar.v1.AgentService/CreateAgent`; part of the idempotency
    # fingerprint, so one key cannot be replayed on another endpoint.
    method: str = ""
    # Who is calling. Authentication arrives in a later issue; until then every caller is `anonymous`, and
    # idempotency keys are scoped to this value so that they stay per-caller once it is real.
    principal: str = "anonymous"
    idempotency_key: str | None = None
    # The `If-Match` header, if any; an etag in the request body wins over it.
    if_match: str | None = None
