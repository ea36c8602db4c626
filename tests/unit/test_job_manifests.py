"""The job runtime's pure parts: the ConfigMap and Job built from a Launch, the log tail cut, and how API
errors are classified."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from jangar.server.core.runtime import (
    Attempt,
    Launch,
    OwnerResource,
    RuntimeUnavailable,
    SecretKeyEnv,
    StartFailed,
    Workload,
    WorkspaceMount,
    launch_from_json,
    launch_to_json,
)
from jangar.server.runtime import job_manifests as manifests
from jangar.server.runtime.job import tail_of
from jangar.server.runtime.kube_errors import classify, is_already_exists

OWNER = OwnerResource("tools.proompteng.ai/v1alpha1", "ToolRun", "toolruns", "lint", {"kind": "ToolRun"})
REF = manifests.owner_reference(OWNER, "uid-1")


def tool_launch(files: dict[str, str] | None = None, argv: tuple[str, ...] = ("ruff", "check"), **workload):
    fields: dict[str, Any] = {
        "image": "ghcr.io/astral-sh/ruff:0.8",
        "labels": {"app": "lint"},
        "owner": OWNER,
    }
    fields.update(workload)
    return Launch(
        attempt=Attempt("ToolRun", "run-9", 2, "ci"),
        argv=argv,
        env={"LEVEL": "strict"},
        files=files or {},
        run_document={"run": {"name": "lint"}},
        workload=Workload(**fields),
    )


def container(job: dict[str, Any]) -> dict[str, Any]:
    [only] = job["spec"]["template"]["spec"]["containers"]
    return only


def test_owner_reference_makes_the_custom_resource_the_controller():
    assert REF == {
        "apiVersion": "tools.proompteng.ai/v1alpha1",
        "kind": "ToolRun",
        "name": "lint",
        "uid": "uid-1",
        "controller": True,
        "blockOwnerDeletion": True,
    }


def test_the_config_map_holds_the_run_document_and_each_input_file_under_a_valid_key():
    launch = tool_launch({"b.txt": "B", "conf/a.toml": "A"})
    config_map = manifests.config_map(launch, REF)
    assert config_map["metadata"] == {
        "name": "run-9-2",
        "namespace": "ci",
        "labels": {"app": "lint"},
        "ownerReferences": [REF],
    }
    assert json.loads(config_map["data"]["run.json"]) == {"run": {"name": "lint"}}
    assert {k: v for k, v in config_map["data"].items() if k != "run.json"} == {
        "input-0": "B",
        "input-1": "A",
    }
    assert config_map["immutable"] is True


def test_a_minimal_job_leaves_out_what_the_workload_does_not_set():
    job = manifests.job(tool_launch(), REF)
    spec = job["spec"]
    assert spec["backoffLimit"] == 0
    assert "activeDeadlineSeconds" not in spec and "ttlSecondsAfterFinished" not in spec
    pod = spec["template"]["spec"]
    assert "serviceAccountName" not in pod
    assert [v["name"] for v in pod["volumes"]] == ["jangar-workspace", "jangar-spec"]
    runner = container(job)
    assert "envFrom" not in runner and runner["resources"] == {}
    assert runner["workingDir"] == "/workspace"
    assert [e["name"] for e in runner["env"]] == ["LEVEL", "JANGAR_RUN_SPEC", "JANGAR_RUNNER_STATUS_PATH"]


def test_a_job_without_argv_uses_the_images_entrypoint():
    assert "command" not in container(manifests.job(tool_launch(argv=()), REF))


def test_a_job_has_the_workload_deadline_ttl_account_secrets_and_working_dir():
    launch = tool_launch(
        {"cfg/ruff.toml": "x"},
        timeout_seconds=60,
        ttl_seconds_after_finished=30,
        service_account="linter",
        working_dir="/src",
        secret_refs=("a", "b"),
        secret_env=(SecretKeyEnv("TOKEN", "gh", "token", optional=True),),
        resources={"limits": {"memory": "1Gi"}, "requests": {}},
    )
    job = manifests.job(launch, REF)
    assert (job["spec"]["activeDeadlineSeconds"], job["spec"]["ttlSecondsAfterFinished"]) == (60, 30)
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "linter"
    runner = container(job)
    assert runner["envFrom"] == [{"secretRef": {"name": "a"}}, {"secretRef": {"name": "b"}}]
    assert runner["env"][-1] == {
        "name": "TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "gh", "key": "token", "optional": True}},
    }
    assert runner["resources"] == {"limits": {"memory": "1Gi"}}
    assert runner["workingDir"] == "/src"
    mounts = {m["mountPath"]: m for m in runner["volumeMounts"]}
    assert mounts["/src"]["name"] == "jangar-workspace"
    assert mounts["/src/cfg/ruff.toml"] == {
        "name": "jangar-inputs",
        "mountPath": "/src/cfg/ruff.toml",
        "subPath": "input-0",
        "readOnly": True,
    }
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    assert volumes["jangar-inputs"]["configMap"] == {
        "name": "run-9-2",
        "items": [{"key": "input-0", "path": "input-0"}],
    }


def test_the_runtimes_own_variables_win_over_a_definitions():
    launch = tool_launch()
    launch = Launch(**{**launch.__dict__, "env": {"JANGAR_RUN_SPEC": "/elsewhere", "A": "1"}})
    env = container(manifests.job(launch, REF))["env"]
    assert [e for e in env if e["name"] == "JANGAR_RUN_SPEC"] == [
        {"name": "JANGAR_RUN_SPEC", "value": "/var/run/jangar/spec/run.json"}
    ]


@pytest.mark.parametrize("path", ["/etc/passwd", "../up.txt", "a/../../b", ".", ""])
def test_an_input_file_outside_the_working_directory_is_refused(path):
    with pytest.raises(StartFailed, match="outside the working directory"):
        manifests.check(tool_launch({path: "x"}))


def test_an_input_path_is_mounted_normalized():
    runner = container(manifests.job(tool_launch({"./a//b.txt": "x"}), REF))
    assert "/workspace/a/b.txt" in {m["mountPath"] for m in runner["volumeMounts"]}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"image": ""}, "no container image"),
        ({"owner": None}, "no custom resource"),
    ],
)
def test_a_launch_no_cluster_would_run_is_refused(fields, message):
    with pytest.raises(StartFailed, match=message):
        manifests.check(tool_launch(**fields))


def test_the_log_tail_is_cut_on_a_character_boundary():
    assert tail_of("abc", 10) == ("abc", False)
    assert tail_of("aé€x", 4) == ("€x", True)  # 4 bytes from the end start inside "é"
    assert tail_of("aé€x", 5) == ("€x", True)
    assert tail_of("aé€x", 6) == ("é€x", True)
    assert tail_of("abc", 0) == ("", True)


def api_error(status: int, reason: str, message: str) -> ApiException:
    error = ApiException(status=status, reason=reason)
    error.body = json.dumps({"kind": "Status", "status": "Failure", "reason": reason, "message": message})
    return error


def test_an_invalid_object_is_permanent_with_the_api_servers_message_cut():
    failed = classify(api_error(422, "Invalid", "Job.batch is invalid: " + "x" * 2000), "Job ci/run-9-2")
    assert isinstance(failed, StartFailed)
    assert str(failed).startswith("the cluster refused Job ci/run-9-2: Job.batch is invalid: xxx")
    assert len(str(failed)) <= 512


@pytest.mark.parametrize("status", [401, 403, 404, 409, 429, 500, 503])
def test_everything_else_is_transient(status):
    error = api_error(status, "Conflict" if status == 409 else "Whatever", "the object has been modified")
    assert not is_already_exists(error)
    unavailable = classify(error, "Job ci/run-9-2")
    assert isinstance(unavailable, RuntimeUnavailable)
    assert str(unavailable).startswith(f"Job ci/run-9-2: the API server answered {status}")


def test_already_exists_is_a_409_with_that_reason():
    assert is_already_exists(api_error(409, "AlreadyExists", 'jobs.batch "x" already exists'))


def test_a_body_that_is_not_a_status_still_classifies():
    error = ApiException(status=502, reason="Bad Gateway")
    error.body = "<html>bad gateway</html>"
    assert str(classify(error, "Job ci/x")) == "Job ci/x: the API server answered 502 Bad Gateway"


def test_a_workspace_claim_is_the_working_directory_and_named_in_the_environment():
    launch = replace(
        tool_launch({"cfg/a.toml": "x"}, working_dir="/src"), workspace=WorkspaceMount("ws-1", "claim-1")
    )
    job = manifests.job(launch, REF)
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    assert volumes[manifests.WORKSPACE_VOLUME] == {
        "name": manifests.WORKSPACE_VOLUME,
        "persistentVolumeClaim": {"claimName": "claim-1"},
    }
    runner = container(job)
    assert {"name": manifests.WORKSPACE_VOLUME, "mountPath": "/src"} in runner["volumeMounts"]
    assert {"name": "JANGAR_WORKSPACE", "value": "/src"} in runner["env"]
    # An input file is still mounted inside the working directory, now on the claim.
    assert any(m["mountPath"] == "/src/cfg/a.toml" for m in runner["volumeMounts"])


def test_without_a_workspace_the_working_directory_is_the_pods_own():
    job = manifests.job(tool_launch(), REF)
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    assert volumes[manifests.WORKSPACE_VOLUME] == {"name": manifests.WORKSPACE_VOLUME, "emptyDir": {}}
    assert "JANGAR_WORKSPACE" not in {e["name"] for e in container(job)["env"]}


def test_a_workspace_without_a_claim_cannot_run_as_a_job():
    launch = replace(tool_launch(), workspace=WorkspaceMount("ws-1", ""))
    with pytest.raises(StartFailed, match="no PersistentVolumeClaim"):
        manifests.job(launch, REF)


def test_a_launch_with_a_workspace_survives_the_outbox():
    launch = replace(tool_launch(), workspace=WorkspaceMount("ws-1", "claim-1"))
    assert launch_from_json(json.loads(json.dumps(launch_to_json(launch)))) == launch
