"""Helpers for the reconciler's tests: a running in-process reconciler against the fake API server and the
fake ReconcilerService, and objects to create."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from jangar.reconciler import Config, Reconciler
from tests.fakekube import FakeKube

AGENT_RUNS = "agents.proompteng.ai/v1alpha1"
TOOL_RUNS = "tools.proompteng.ai/v1alpha1"
MANAGED = {"app.kubernetes.io/managed-by": "jangar"}


def config_for(fake_kube: FakeKube, server_address: str, tmp_path: Path, **changes: Any) -> Config:
    fake_kube.create_namespace("jangar")
    kubeconfig = fake_kube.write_kubeconfig(tmp_path / "kubeconfig")
    base = Config(
        server=server_address,
        kubeconfig=str(kubeconfig),
        identity="reconciler-a",
        http_host="127.0.0.1",
        http_port=0,
        lease_duration_seconds=2.0,
        renew_interval_seconds=0.5,
        retry_period_seconds=0.2,
        reconnect_backoff_max_seconds=0.5,
    )
    return dataclasses.replace(base, **changes)


@contextlib.asynccontextmanager
async def running(config: Config) -> AsyncIterator[Reconciler]:
    reconciler = Reconciler(config)
    task = asyncio.get_running_loop().create_task(reconciler.run())
    try:
        yield reconciler
    finally:
        reconciler.stop()
        await asyncio.wait_for(task, 20)


def agent_run(name: str, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": AGENT_RUNS,
        "kind": "AgentRun",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"agentRef": {"name": "a"}},
    }


def tool_run(name: str, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": TOOL_RUNS,
        "kind": "ToolRun",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {},
    }


def job(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    labels = MANAGED if labels is None else labels
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "runner:1"}]},
            }
        },
    }


def patch_agent_run(
    fake_kube: FakeKube, name: str, patch: dict[str, Any], namespace: str = "default"
) -> None:
    fake_kube.store.patch(
        fake_kube.resource("agentruns"),
        namespace,
        name,
        "application/merge-patch+json",
        json.dumps(patch).encode(),
    )


def watch_requests(fake_kube: FakeKube, plural: str) -> list[dict[str, str]]:
    return [
        request.query
        for request in fake_kube.requests
        if request.method == "GET"
        and request.path.endswith("/" + plural)
        and request.query.get("watch") == "true"
    ]
