"""Workspaces and Artifacts on the local runtime, over REST through Envoy (docs/storage.md): a run that names
a Workspace works in its directory, which the next run sees; the artifact files a run leaves are copied under
the state directory and registered as Artifacts when it ends, listed by GET /v1/runs/{id}; an Artifact past
its TTL is Expired and its copy removed."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from tests import test_local_runtime
from tests.support import unique

NAMESPACE = test_local_runtime.NAMESPACE
# The local server and its Envoy, module fixtures of this module too.
local_server = test_local_runtime.local_server
local = test_local_runtime.local

WAIT_SECONDS = 30.0

IN_WORKSPACE = """
import os, pathlib, sys
print("cwd:", os.getcwd())
print("workspace:", os.environ["JANGAR_WORKSPACE"])
shared = pathlib.Path(os.environ["JANGAR_WORKSPACE"]) / "notes.txt"
print("found:", shared.read_text() if shared.exists() else "nothing")
shared.write_text(sys.argv[1])
"""

WITH_ARTIFACTS = """
import json, os, pathlib
pathlib.Path("out").mkdir()
pathlib.Path("out/report.txt").write_text("done")
pathlib.Path("out/data.json").write_text('{"answer": 42}')
pathlib.Path(os.environ["JANGAR_RUNNER_STATUS_PATH"]).write_text(json.dumps({
    "status": "succeeded",
    "artifacts": [
        {"name": "data", "path": "out/data.json", "ttlDays": 1},
        {"name": "elsewhere", "path": "s3-only", "uri": "s3://bucket/result.bin",
         "digest": "sha256:" + "0" * 64, "sizeBytes": 7, "mediaType": "application/octet-stream"},
        {"name": "missing", "path": "out/never-written.txt"},
    ],
}))
"""


def _content(uri: str) -> bytes | None:
    """The content of a `file://` URI's file; None when there is none."""
    path = Path(urlsplit(uri).path)
    return path.read_bytes() if path.exists() else None


async def _until(check, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not happen within {WAIT_SECONDS}s"
        await asyncio.sleep(0.1)


async def _logs(local, run_id: str) -> str:
    return (await local.http.get(f"/v1/agent-runs/{run_id}/logs")).json()["text"]


async def test_runs_that_name_a_workspace_work_in_its_directory_and_share_it(local):
    workspace = await local.post(
        "/v1/workspaces", {"name": unique("ws"), "namespace": NAMESPACE, "spec": {"size": "1Gi"}}
    )
    assert workspace["status"]["phase"] == "Ready"
    directory = (local.state_dir / "workspaces" / workspace["id"]).resolve()
    agent = await local.agent_with(IN_WORKSPACE)

    async def run_in_workspace(objective: str) -> dict:
        run = await local.post(
            "/v1/agent-runs",
            {
                "namespace": NAMESPACE,
                "spec": {
                    "agentRef": {"name": agent["name"]},
                    "goal": {"objective": objective},
                    "parameters": {"label": "ws"},
                    "workspaceRef": {"name": workspace["name"]},
                },
            },
        )
        done = await local.settled(run["id"])
        assert done["status"]["phase"] == "Succeeded", done["status"]
        return done

    first = await run_in_workspace("first")
    text = await _logs(local, first["id"])
    assert f"cwd: {directory}" in text and f"workspace: {directory}" in text
    assert "found: nothing" in text
    second = await run_in_workspace("second")
    assert "found: first" in await _logs(local, second["id"])
    assert (directory / "notes.txt").read_text() == "second"
    assert (directory / "prompt.md").exists()  # the provider's input file, written where the run works

    deleted = await local.http.delete(f"/v1/workspaces/{workspace['id']}")
    assert deleted.status_code == 200, deleted.text
    assert not directory.exists()


async def test_a_run_cannot_name_a_workspace_that_does_not_exist(local):
    agent = await local.agent_with(IN_WORKSPACE)
    response = await local.http.post(
        "/v1/agent-runs",
        json={
            "namespace": NAMESPACE,
            "spec": {
                "agentRef": {"name": agent["name"]},
                "parameters": {"label": "x"},
                "workspaceRef": {"name": "no-such-workspace"},
            },
        },
        headers={"Idempotency-Key": f"ws-{uuid.uuid4()}"},
    )
    assert response.status_code == 400, response.text
    [bad_request] = [d for d in response.json()["details"] if "fieldViolations" in d]
    assert [v["field"] for v in bad_request["fieldViolations"]] == ["spec.workspaceRef.name"]


async def test_a_runs_artifacts_are_kept_registered_and_listed_by_the_run_view(local, db, server):
    # `server`: the session's server, without the local runtime, on the same database, runs the same upkeep;
    # an Artifact with a file: URI is left to the server whose machine holds the file.
    agent = await local.agent_with(WITH_ARTIFACTS)
    run = await local.run(agent)
    done = await local.settled(run["id"])
    assert done["status"]["phase"] == "Succeeded", done["status"]

    view = (await local.http.get(f"/v1/runs/{run['id']}")).json()
    artifacts = {a["annotations"]["artifacts.proompteng.ai/name"]: a for a in view["artifacts"]}
    # The declared report and the listed data file are copied; the s3 one is registered as reported; the one
    # never written has no URI and is not registered.
    assert set(artifacts) == {"data", "elsewhere", "report"}
    for name, content, media in (
        ("report", b"done", "text/plain"),
        ("data", b'{"answer": 42}', "application/json"),
    ):
        spec = artifacts[name]["spec"]
        kept = local.state_dir.resolve() / "artifacts" / run["id"] / "1"
        assert Path(urlsplit(spec["uri"]).path).is_relative_to(kept)
        assert _content(spec["uri"]) == content
        assert spec["digest"] == "sha256:" + hashlib.sha256(content).hexdigest()
        assert (spec["sizeBytes"], spec["mediaType"]) == (str(len(content)), media)
        assert spec["producerRef"] == {"kind": "AgentRun", "id": run["id"]}
        assert artifacts[name]["status"]["phase"] == "Ready"
    assert artifacts["data"]["spec"]["lifecycle"] == {"ttlDays": 1}
    assert artifacts["elsewhere"]["spec"]["uri"] == "s3://bucket/result.bin"

    # The run's own status links each registered artifact by id.
    linked = {a["name"]: a.get("artifactId", "") for a in done["status"]["runner"]["artifacts"]}
    assert linked["missing"] == ""
    assert {linked[name] for name in ("data", "elsewhere", "report")} == {a["id"] for a in artifacts.values()}
    listed = (
        await local.http.get(
            "/v1/artifacts", params={"labelSelector": f"jangar.proompteng.ai/run-id={run['id']}"}
        )
    ).json()["artifacts"]
    assert sorted(a["id"] for a in listed) == sorted(a["id"] for a in artifacts.values())
    rows = await db.fetch(
        "SELECT entity_id, actor FROM audit_events WHERE entity_type = 'Artifact' AND event_type = 'Created' "
        "AND entity_id = ANY($1::uuid[])",
        [uuid.UUID(a["id"]) for a in artifacts.values()],
    )
    assert sorted(r["actor"] for r in rows) == ["system:run-worker"] * 3

    # Expiry: a day later (the row is made a day older), the data file's Artifact is Expired and its copy is
    # gone; the others, without a TTL, stay.
    data = artifacts["data"]
    await db.execute(
        "UPDATE artifacts SET created_at = created_at - interval '25 hours' WHERE id = $1",
        uuid.UUID(data["id"]),
    )

    async def expired() -> dict | None:
        current = (await local.http.get(f"/v1/artifacts/{data['id']}")).json()
        return current if current["status"]["phase"] == "Expired" else None

    current = await _until(expired, "the artifact's expiry")
    assert ("Expired", "True") in [(c["type"], c["status"]) for c in current["status"]["conditions"]]
    assert _content(data["spec"]["uri"]) is None
    report = (await local.http.get(f"/v1/artifacts/{artifacts['report']['id']}")).json()
    assert report["status"]["phase"] == "Ready"
    assert _content(report["spec"]["uri"]) == b"done"
    events = await db.fetch(
        "SELECT actor FROM audit_events WHERE entity_id = $1 AND event_type = 'Expired'",
        uuid.UUID(data["id"]),
    )
    assert [e["actor"] for e in events] == ["system:storage-upkeep"]
