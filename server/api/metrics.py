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


def observe(method: str, code: str, seconds: float) -> None:
    REQUESTS.labels(method, code).inc()
    LATENCY.labels(method).observe(seconds)
