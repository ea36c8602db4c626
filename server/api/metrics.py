"""Prometheus metrics of the API."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("jangar_grpc_requests_total", "RPCs served, by method and status code", ["method", "code"])
LATENCY = Histogram(
    "jangar_grpc_request_seconds",
    "RPC latency in seconds, by method",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


# Each (method, code)'s counter and histogram, looked up once: `labels()` checks and locks on every call.
# Bounded: the interceptor observes only the server's own methods, and codes are gRPC's seventeen.
_CHILDREN: dict[tuple[str, str], tuple[Counter, Histogram]] = {}


def observe(method: str, code: str, seconds: float) -> None:
    children = _CHILDREN.get((method, code))
    if children is None:
        children = _CHILDREN[(method, code)] = (REQUESTS.labels(method, code), LATENCY.labels(method))
    children[0].inc()
    children[1].observe(seconds)
