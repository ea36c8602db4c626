"""The fake Kubernetes API server (tests/fakekube) behaves as the real API does for the real
kubernetes-asyncio client over HTTP: Status errors, resourceVersions, list-then-watch, bookmarks, 410 Gone,
selectors, the status subresource, garbage collection, the kubelet's Job and Pod sequences, and faults."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import watch
from kubernetes_asyncio.client import (
    ApiClient,
    BatchV1Api,
    Configuration,
    CoordinationV1Api,
    CoreV1Api,
    CustomObjectsApi,
    VersionApi,
)
from kubernetes_asyncio.client.exceptions import ApiException

from tests.fakekube import CustomResource, FakeKube, JobScript, KubeletConfig, PodRun

GROUP, VERSION, PLURAL = "example.com", "v1alpha1", "widgets"
MERGE = "application/merge-patch+json"
WITHIN = 15.0  # generous: the machine is shared


@pytest.fixture
async def kube() -> AsyncIterator[FakeKube]:
    fake = FakeKube(
        crds=[CustomResource(GROUP, PLURAL, "Widget")],
        history_size=50,
        bookmark_interval=0.2,
        kubelet=KubeletConfig(backoff_seconds=0.01),
    )
    async with fake:
        yield fake
        assert fake.internal_errors == []


@pytest.fixture
async def api(kube: FakeKube) -> AsyncIterator[ApiClient]:
    async with ApiClient(Configuration(host=kube.url)) as client:
        yield client


def status_of(error: ApiException) -> dict[str, Any]:
    return json.loads(error.body)


def widget(name: str, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": spec,
    }


def job(name: str, **spec: Any) -> dict[str, Any]:
    container = {"name": "main", "image": "runner:1", "terminationMessagePolicy": "FallbackToLogsOnError"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": {"app": "jangar"}},
        "spec": {
            "backoffLimit": 0,
            **spec,
            "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
        },
    }


async def raw(kube: FakeKube, path: str, method: str = "GET", **kwargs: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.request(method, kube.url + path, **kwargs) as r:
        text = await r.text()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text


def condition_types(obj: dict[str, Any]) -> list[str]:
    return [c["type"] for c in (obj.get("status") or {}).get("conditions") or []]


async def finished_job(kube: FakeKube, name: str) -> dict[str, Any]:
    return await kube.wait_for(
        lambda: (j := kube.get("jobs", name)) and {"Complete", "Failed"} & set(condition_types(j)) and j,
        WITHIN,
    )


# ---- discovery --------------------------------------------------------------------------------------------


async def test_discovery_lists_the_served_kinds(kube, api):
    assert (await VersionApi(api).get_code()).git_version.startswith("v1.")  # the client asks /version/
    assert (await raw(kube, "/version"))[0] == 200
    status, versions = await raw(kube, "/api")
    assert (status, versions["kind"], versions["versions"]) == (200, "APIVersions", ["v1"])
    _, core = await raw(kube, "/api/v1")
    names = {r["name"]: r for r in core["resources"]}
    assert {"pods", "pods/status", "configmaps", "namespaces"} <= set(names)
    assert names["pods"]["kind"] == "Pod" and names["pods"]["namespaced"] is True
    _, groups = await raw(kube, "/apis")
    served = {g["name"]: [v["version"] for v in g["versions"]] for g in groups["groups"]}
    assert (
        served["batch"] == ["v1"] and served["coordination.k8s.io"] == ["v1"] and served[GROUP] == [VERSION]
    )
    _, batch = await raw(kube, "/apis/batch/v1")
    assert {"jobs", "jobs/status"} <= {r["name"] for r in batch["resources"]}
    _, custom = await raw(kube, f"/apis/{GROUP}/{VERSION}")
    widgets = {r["name"]: r for r in custom["resources"]}
    assert widgets["widgets"]["kind"] == "Widget" and "widgets/status" in widgets
    status, missing = await raw(kube, "/apis/nothing.example/v1")
    assert (status, missing["kind"], missing["reason"]) == (404, "Status", "NotFound")


# ---- create, get, list, patch, replace, delete -------------------------------------------------------------


async def test_create_get_and_the_status_errors(api):
    core = CoreV1Api(api)
    created = await core.create_namespaced_config_map(
        "default", {"metadata": {"name": "a"}, "data": {"k": "v"}}
    )
    assert created.kind == "ConfigMap" and created.metadata.uid and created.metadata.creation_timestamp
    assert int(created.metadata.resource_version) > 0
    with pytest.raises(ApiException) as duplicate:
        await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    assert duplicate.value.status == 409
    assert status_of(duplicate.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'configmaps "a" already exists',
        "reason": "AlreadyExists",
        "details": {"name": "a", "kind": "configmaps"},
        "code": 409,
    }
    with pytest.raises(ApiException) as missing:
        await BatchV1Api(api).read_namespaced_job("nope", "default")
    body = status_of(missing.value)
    assert missing.value.status == 404 and body["reason"] == "NotFound"
    assert body["message"] == 'jobs.batch "nope" not found'
    assert body["details"] == {"name": "nope", "group": "batch", "kind": "jobs"}
    with pytest.raises(ApiException) as no_namespace:
        await core.create_namespaced_config_map("elsewhere", {"metadata": {"name": "a"}})
    assert no_namespace.value.status == 404 and "namespaces" in status_of(no_namespace.value)["message"]
    with pytest.raises(ApiException) as rv_set:
        await core.create_namespaced_config_map(
            "default", {"metadata": {"name": "b", "resourceVersion": "1"}}
        )
    assert rv_set.value.status == 400


async def test_lists_have_a_kind_and_a_resource_version_and_span_namespaces(kube, api):
    core = CoreV1Api(api)
    kube.create_namespace("other")
    await core.create_namespaced_config_map("default", {"metadata": {"name": "one"}})
    await core.create_namespaced_config_map("other", {"metadata": {"name": "two"}})
    status, body = await raw(kube, "/api/v1/namespaces/default/configmaps")
    assert status == 200 and body["kind"] == "ConfigMapList" and body["apiVersion"] == "v1"
    assert body["metadata"]["resourceVersion"] == str(kube.resource_version)
    assert [i["metadata"]["name"] for i in body["items"]] == ["one"]
    # On the wire, items of built-in kinds carry no kind/apiVersion; custom resources' do.
    assert "kind" not in body["items"][0]
    everywhere = await core.list_config_map_for_all_namespaces()
    assert {(i.metadata.namespace, i.metadata.name) for i in everywhere.items} == {
        ("default", "one"),
        ("other", "two"),
    }
    await CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, widget("w")
    )
    _, widgets = await raw(kube, f"/apis/{GROUP}/{VERSION}/widgets")
    assert widgets["kind"] == "WidgetList" and widgets["items"][0]["kind"] == "Widget"


async def test_every_write_takes_the_next_global_resource_version(kube, api):
    core, leases = CoreV1Api(api), CoordinationV1Api(api)
    seen = [(await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})).metadata]
    lease = {"metadata": {"name": "leader"}, "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15}}
    seen.append((await leases.create_namespaced_lease("default", lease)).metadata)
    seen.append((await core.patch_namespaced_config_map("a", "default", {"data": {"k": "v"}})).metadata)
    versions = [int(m.resource_version) for m in seen]
    assert versions == sorted(versions) and len(set(versions)) == 3
    before = kube.resource_version
    await core.delete_namespaced_config_map("a", "default")
    assert kube.resource_version == before + 1
    # A write that changes nothing is not a write: no new resourceVersion, no event.
    unchanged = await leases.patch_namespaced_lease("leader", "default", {"spec": {"holderIdentity": "me"}})
    assert unchanged.metadata.resource_version == seen[1].resource_version


async def test_patch_by_content_type(api):
    core, custom = CoreV1Api(api), CustomObjectsApi(api)
    await core.create_namespaced_config_map("default", {"metadata": {"name": "a", "labels": {"x": "1"}}})
    # The typed client sends a strategic merge patch: maps merge, null deletes.
    patched = await core.patch_namespaced_config_map("a", "default", {"metadata": {"labels": {"y": "2"}}})
    assert patched.metadata.labels == {"x": "1", "y": "2"}
    patched = await core.patch_namespaced_config_map("a", "default", {"metadata": {"labels": {"x": None}}})
    assert patched.metadata.labels == {"y": "2"}
    await custom.create_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, widget("w", size=1, colour="red")
    )
    # For a dict body CustomObjectsApi picks application/json-patch+json, which the API server rejects:
    # callers must ask for a merge patch.
    with pytest.raises(ApiException) as wrong_type:
        await custom.patch_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, "w", {"spec": {"size": 2}}
        )
    assert wrong_type.value.status == 400
    assert "jsonpatch.Patch" in status_of(wrong_type.value)["message"]
    merged = await custom.patch_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, "w", {"spec": {"size": 2}}, _content_type=MERGE
    )
    assert merged["spec"] == {"size": 2, "colour": "red"}
    replaced = await custom.patch_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, "w", [{"op": "replace", "path": "/spec/colour", "value": "blue"}]
    )
    assert replaced["spec"] == {"size": 2, "colour": "blue"}
    with pytest.raises(ApiException) as strategic:
        await custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            "default",
            PLURAL,
            "w",
            {"spec": {}},
            _content_type="application/strategic-merge-patch+json",
        )
    assert strategic.value.status == 415
    # A patch that names a resourceVersion is a precondition.
    with pytest.raises(ApiException) as stale:
        await custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            "default",
            PLURAL,
            "w",
            {"metadata": {"resourceVersion": "1"}},
            _content_type=MERGE,
        )
    assert stale.value.status == 409 and status_of(stale.value)["reason"] == "Conflict"


async def test_replace_with_a_stale_resource_version_is_a_conflict(api):
    core, custom = CoreV1Api(api), CustomObjectsApi(api)
    first = await core.create_namespaced_config_map(
        "default", {"metadata": {"name": "a"}, "data": {"n": "0"}}
    )
    first.data = {"n": "1"}
    second = await core.replace_namespaced_config_map("a", "default", first)
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)
    first.data = {"n": "2"}  # still carries the first resourceVersion
    with pytest.raises(ApiException) as stale:
        await core.replace_namespaced_config_map("a", "default", first)
    body = status_of(stale.value)
    assert stale.value.status == 409 and body["reason"] == "Conflict"
    assert body["message"] == (
        'Operation cannot be fulfilled on configmaps "a": the object has been modified; please apply your '
        "changes to the latest version and try again"
    )
    assert (await core.read_namespaced_config_map("a", "default")).data == {"n": "1"}
    # Custom resources, unlike built-in kinds, refuse an update without a resourceVersion.
    created = await custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("w"))
    del created["metadata"]["resourceVersion"]
    with pytest.raises(ApiException) as unconditional:
        await custom.replace_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "w", created)
    assert unconditional.value.status == 422


async def test_status_subresource_separates_spec_writes_from_status_writes(api):
    custom = CustomObjectsApi(api)
    body = widget("w", size=1)
    body["status"] = {"phase": "Made up"}
    created = await custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, body)
    assert "status" not in created and created["metadata"]["generation"] == 1
    with_status = await custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        "default",
        PLURAL,
        "w",
        {"status": {"phase": "Ready"}, "spec": {"size": 9}},
        _content_type=MERGE,
    )
    assert with_status["status"] == {"phase": "Ready"} and with_status["spec"] == {"size": 1}
    assert with_status["metadata"]["generation"] == 1
    with_status["spec"] = {"size": 2}
    with_status["status"] = {"phase": "Ignored"}
    replaced = await custom.replace_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, "w", with_status
    )
    assert replaced["spec"] == {"size": 2} and replaced["status"] == {"phase": "Ready"}
    assert replaced["metadata"]["generation"] == 2
    replaced["status"] = {"phase": "Done"}
    done = await custom.replace_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "w", replaced
    )
    assert done["status"] == {"phase": "Done"} and done["metadata"]["generation"] == 2


async def test_delete_answers_a_status_and_the_object_is_gone(kube, api):
    core, custom = CoreV1Api(api), CustomObjectsApi(api)
    created = await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    answer = await core.delete_namespaced_config_map("a", "default", propagation_policy="Background")
    assert answer.status == "Success" and answer.details.uid == created.metadata.uid
    with pytest.raises(ApiException) as gone:
        await core.read_namespaced_config_map("a", "default")
    assert gone.value.status == 404
    with pytest.raises(ApiException) as again:
        await core.delete_namespaced_config_map("a", "default")
    assert again.value.status == 404
    await custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("w"))
    await custom.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "w")
    assert (await custom.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL))["items"] == []
    # Foreground deletion is never immediate: the answer is the object with a deletionTimestamp and the
    # garbage collector's finalizer, and it goes once its dependents (here: none) are gone.
    await core.create_namespaced_config_map("default", {"metadata": {"name": "b"}})
    pending = await core.delete_namespaced_config_map("b", "default", propagation_policy="Foreground")
    assert pending.kind == "ConfigMap" and pending.status is None
    await kube.wait_for(lambda: kube.get("configmaps", "b") is None, WITHIN)


async def test_validation_is_422_invalid(api):
    core, batch = CoreV1Api(api), BatchV1Api(api)
    with pytest.raises(ApiException) as bad_name:
        await core.create_namespaced_config_map("default", {"metadata": {"name": "Not_Valid"}})
    body = status_of(bad_name.value)
    assert bad_name.value.status == 422 and body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    always = job("j")
    always["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    with pytest.raises(ApiException) as restart:
        await batch.create_namespaced_job("default", always)
    assert restart.value.status == 422 and "restartPolicy" in status_of(restart.value)["message"]


def cron_job(name: str, **spec: Any) -> dict[str, Any]:
    template = {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}
    return {
        "metadata": {"name": name},
        "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}, **spec},
    }


async def test_cron_jobs_are_defaulted_and_validated_as_batch_v1_does(api):
    batch = BatchV1Api(api)
    created = await batch.create_namespaced_cron_job("default", cron_job("every-five"))
    assert created.spec.concurrency_policy == "Allow"
    assert (created.spec.suspend, created.spec.successful_jobs_history_limit) == (False, 3)
    assert created.metadata.generation == 1
    for name, spec, field in [
        ("a" * 53, {}, "metadata.name"),
        ("zone", {"timeZone": "Mars/Olympus_Mons"}, "spec.timeZone"),
        ("cron", {"schedule": "every day"}, "spec.schedule"),
        ("policy", {"concurrencyPolicy": "Sometimes"}, "spec.concurrencyPolicy"),
    ]:
        with pytest.raises(ApiException) as refused:
            await batch.create_namespaced_cron_job("default", cron_job(name, **spec))
        assert refused.value.status == 422
        assert status_of(refused.value)["details"]["causes"][0]["field"] == field


async def test_config_map_keys_and_size_are_validated_and_immutable_data_stays(api):
    core = CoreV1Api(api)
    with pytest.raises(ApiException) as path_key:
        await core.create_namespaced_config_map(
            "default", {"metadata": {"name": "keys"}, "data": {"dir/file.txt": "x", "..hidden": "y"}}
        )
    causes = status_of(path_key.value)["details"]["causes"]
    assert path_key.value.status == 422
    assert sorted(c["field"] for c in causes) == ["data[..hidden]", "data[dir/file.txt]"]
    with pytest.raises(ApiException) as too_big:
        await core.create_namespaced_config_map(
            "default", {"metadata": {"name": "big"}, "data": {"a": "x" * (1024 * 1024 + 1)}}
        )
    assert too_big.value.status == 422 and "Too long" in status_of(too_big.value)["message"]
    fixed = {"metadata": {"name": "fixed"}, "data": {"run.json": "{}"}, "immutable": True}
    await core.create_namespaced_config_map("default", fixed)
    with pytest.raises(ApiException) as changed:
        await core.patch_namespaced_config_map("fixed", "default", {"data": {"run.json": "[]"}})
    assert changed.value.status == 422
    assert "field is immutable when `immutable` is set" in status_of(changed.value)["message"]
    labelled = await core.patch_namespaced_config_map(
        "fixed", "default", {"metadata": {"labels": {"a": "b"}}}
    )
    assert labelled.metadata.labels == {"a": "b"} and labelled.data == {"run.json": "{}"}


# ---- selectors ---------------------------------------------------------------------------------------------


async def test_label_and_field_selectors(api):
    core = CoreV1Api(api)
    for name, labels in [("a", {"tier": "web", "env": "prod"}), ("b", {"tier": "db"}), ("c", {})]:
        await core.create_namespaced_config_map("default", {"metadata": {"name": name, "labels": labels}})

    async def names(**selectors: str) -> list[str]:
        return [
            i.metadata.name for i in (await core.list_namespaced_config_map("default", **selectors)).items
        ]

    assert await names(label_selector="tier=web") == ["a"]
    assert await names(label_selector="tier!=web") == ["b", "c"]
    assert await names(label_selector="tier in (web,db)") == ["a", "b"]
    assert await names(label_selector="tier notin (web)") == ["b", "c"]
    assert await names(label_selector="env") == ["a"]
    assert await names(label_selector="!env") == ["b", "c"]
    assert await names(label_selector="tier,!env") == ["b"]
    assert await names(field_selector="metadata.name=b") == ["b"]
    assert await names(field_selector="metadata.name!=b", label_selector="tier") == ["a"]
    with pytest.raises(ApiException) as bad:
        await names(label_selector="tier in (web")
    assert bad.value.status == 400
    with pytest.raises(ApiException) as unsupported:
        await names(field_selector="data.k=v")
    assert unsupported.value.status == 400


async def test_pages_are_one_consistent_snapshot(kube, api):
    core = CoreV1Api(api)
    for name in "abcde":
        await core.create_namespaced_config_map("default", {"metadata": {"name": name}})
    first = await core.list_namespaced_config_map("default", limit=2)
    assert [i.metadata.name for i in first.items] == ["a", "b"]
    assert first.metadata.remaining_item_count == 3 and first.metadata._continue
    await core.delete_namespaced_config_map("d", "default")
    await core.create_namespaced_config_map("default", {"metadata": {"name": "bb"}})
    second = await core.list_namespaced_config_map("default", limit=2, _continue=first.metadata._continue)
    third = await core.list_namespaced_config_map("default", limit=2, _continue=second.metadata._continue)
    assert [i.metadata.name for i in second.items + third.items] == ["c", "d", "e"]
    assert third.metadata._continue is None
    assert second.metadata.resource_version == first.metadata.resource_version
    kube.compact()
    with pytest.raises(ApiException) as expired:
        await core.list_namespaced_config_map("default", limit=2, _continue=first.metadata._continue)
    assert expired.value.status == 410 and status_of(expired.value)["reason"] == "Expired"


# ---- watch ------------------------------------------------------------------------------------------------


async def collect(func: Any, *args: Any, count: int | None = None, **kwargs: Any) -> list[tuple[str, dict]]:
    """Events of one watch until `count` have arrived or the server ends the stream."""
    events = []
    async with asyncio.timeout(WITHIN), watch.Watch() as stream:
        async for event in stream.stream(func, *args, **kwargs):
            events.append((event["type"], event["raw_object"]))
            if count is not None and len(events) >= count:
                break
    return events


async def test_list_then_watch_sees_only_newer_events(api):
    core = CoreV1Api(api)
    await core.create_namespaced_config_map("default", {"metadata": {"name": "old"}})
    listed = await core.list_namespaced_config_map("default")
    await core.create_namespaced_config_map("default", {"metadata": {"name": "new"}})
    await core.patch_namespaced_config_map("old", "default", {"data": {"k": "v"}})
    await core.delete_namespaced_config_map("new", "default")
    events = await collect(
        core.list_namespaced_config_map,
        "default",
        resource_version=listed.metadata.resource_version,
        timeout_seconds=1,
    )
    assert [(kind, obj["metadata"]["name"]) for kind, obj in events] == [
        ("ADDED", "new"),
        ("MODIFIED", "old"),
        ("DELETED", "new"),
    ]
    versions = [int(obj["metadata"]["resourceVersion"]) for _, obj in events]
    assert versions == sorted(versions) and versions[0] > int(listed.metadata.resource_version)
    assert events[0][1]["kind"] == "ConfigMap"  # watch events carry the kind, unlike list items


async def test_a_watch_from_nothing_starts_with_the_current_state(api):
    core = CoreV1Api(api)
    await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    await core.create_namespaced_config_map("default", {"metadata": {"name": "b"}})
    for resource_version in (None, "0"):
        kwargs = {"resource_version": resource_version} if resource_version else {}
        events = await collect(core.list_namespaced_config_map, "default", timeout_seconds=1, **kwargs)
        assert [(kind, obj["metadata"]["name"]) for kind, obj in events] == [("ADDED", "a"), ("ADDED", "b")]


async def test_watch_accepts_every_spelling_of_true(kube, api):
    await CoreV1Api(api).create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    for spelling in ("true", "True", "1"):
        status, body = await raw(
            kube, f"/api/v1/namespaces/default/configmaps?watch={spelling}&timeoutSeconds=1"
        )
        first = body if isinstance(body, dict) else json.loads(body.splitlines()[0])  # one event: one line
        assert (status, first["type"]) == (200, "ADDED")
    status, listed = await raw(kube, "/api/v1/namespaces/default/configmaps?watch=false")
    assert listed["kind"] == "ConfigMapList"
    status, bad = await raw(kube, "/api/v1/namespaces/default/configmaps?watch=yes")
    assert (status, bad["reason"]) == (400, "BadRequest")


async def test_timeout_seconds_ends_the_stream(kube, api):
    events = await collect(CoreV1Api(api).list_namespaced_pod, "default", timeout_seconds=1)
    assert events == []
    await kube.wait_for(lambda: kube.open_watches == 0, WITHIN)


async def test_bookmarks_carry_the_current_resource_version(kube, api):
    core = CoreV1Api(api)
    listed = await core.list_namespaced_config_map("default")
    await CoordinationV1Api(api).create_namespaced_lease("default", {"metadata": {"name": "l"}, "spec": {}})
    events = await collect(
        core.list_namespaced_config_map,
        "default",
        resource_version=listed.metadata.resource_version,
        allow_watch_bookmarks=True,
        timeout_seconds=30,
        count=1,
    )
    assert events[0][0] == "BOOKMARK"
    assert events[0][1]["metadata"]["resourceVersion"] == str(kube.resource_version)
    assert events[0][1]["kind"] == "ConfigMap"
    without = await collect(
        core.list_namespaced_config_map,
        "default",
        resource_version=listed.metadata.resource_version,
        timeout_seconds=1,
    )
    assert without == []


async def test_a_resource_version_older_than_the_window_is_410_gone(kube, api):
    core = CoreV1Api(api)
    start = (await core.list_namespaced_config_map("default")).metadata.resource_version
    for index in range(kube.store.history_size + 5):
        await core.create_namespaced_config_map("default", {"metadata": {"name": f"cm-{index}"}})
    with pytest.raises(ApiException) as gone:
        await collect(core.list_namespaced_config_map, "default", resource_version=start, timeout_seconds=5)
    assert gone.value.status == 410 and "Expired" in gone.value.reason
    with pytest.raises(ApiException) as exact:
        await core.list_namespaced_config_map(
            "default", resource_version=start, resource_version_match="Exact"
        )
    assert exact.value.status == 410
    # Recent enough is fine, and an exact list shows the state as it was.
    recent = str(kube.resource_version - 3)
    at = await core.list_namespaced_config_map(
        "default", resource_version=recent, resource_version_match="Exact"
    )
    assert at.metadata.resource_version == recent and len(at.items) == kube.store.history_size + 2
    events = await collect(
        core.list_namespaced_config_map, "default", resource_version=recent, timeout_seconds=1
    )
    assert len(events) == 3


async def test_a_selector_watch_sees_objects_enter_and_leave_it(api):
    core = CoreV1Api(api)
    start = (await core.list_namespaced_config_map("default")).metadata.resource_version
    await core.create_namespaced_config_map("default", {"metadata": {"name": "a", "labels": {"on": "yes"}}})
    await core.patch_namespaced_config_map("a", "default", {"metadata": {"labels": {"on": "no"}}})
    await core.patch_namespaced_config_map("a", "default", {"data": {"k": "v"}})
    await core.patch_namespaced_config_map("a", "default", {"metadata": {"labels": {"on": "yes"}}})
    events = await collect(
        core.list_namespaced_config_map,
        "default",
        resource_version=start,
        label_selector="on=yes",
        timeout_seconds=1,
    )
    assert [kind for kind, _ in events] == ["ADDED", "DELETED", "ADDED"]


async def test_a_custom_resource_watch(api):
    custom = CustomObjectsApi(api)
    listed = await custom.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
    await custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("w"))
    events = await collect(
        custom.list_namespaced_custom_object,
        GROUP,
        VERSION,
        "default",
        PLURAL,
        resource_version=listed["metadata"]["resourceVersion"],
        timeout_seconds=1,
    )
    assert [(kind, obj["metadata"]["name"]) for kind, obj in events] == [("ADDED", "w")]


# ---- garbage collection --------------------------------------------------------------------------------


async def test_deleting_a_job_in_the_background_deletes_its_pods(kube, api):
    batch, core = BatchV1Api(api), CoreV1Api(api)
    kube.kubelet.script(JobScript.hang(), name="j")
    await batch.create_namespaced_job("default", job("j"))
    await kube.wait_for(lambda: kube.objects("pods"), WITHIN)
    await batch.delete_namespaced_job("j", "default", propagation_policy="Background")
    await kube.wait_for(lambda: not kube.objects("pods"), WITHIN)
    assert (await core.list_namespaced_pod("default")).items == []


async def test_deleting_a_job_without_a_policy_orphans_its_pods(kube, api):
    """batch/v1 Jobs still default to orphaning: a caller that wants the Pods gone must say so."""
    batch = BatchV1Api(api)
    kube.kubelet.script(JobScript.hang(), name="j")
    await batch.create_namespaced_job("default", job("j"))
    await kube.wait_for(lambda: kube.objects("pods"), WITHIN)
    await batch.delete_namespaced_job("j", "default")
    await kube.wait_for(lambda: kube.get("jobs", "j") is None, WITHIN)
    await kube.settled()
    [pod] = kube.objects("pods")
    assert "ownerReferences" not in pod["metadata"]


async def test_foreground_deletion_keeps_the_owner_until_its_dependents_are_gone(kube, api):
    batch = BatchV1Api(api)
    kube.kubelet.script(JobScript.hang(), name="j")
    await batch.create_namespaced_job("default", job("j"))
    await kube.wait_for(lambda: kube.objects("pods"), WITHIN)
    await kube.wait_for(lambda: kube.get("jobs", "j")["status"].get("ready") == 1, WITHIN)
    start = kube.resource_version
    answer = await batch.delete_namespaced_job("j", "default", propagation_policy="Foreground")
    assert answer.details is None  # the Job itself, with a deletionTimestamp, not a Status
    events = await collect(
        batch.list_namespaced_job, "default", resource_version=str(start), timeout_seconds=2, count=2
    )
    assert [kind for kind, _ in events] == ["MODIFIED", "DELETED"]
    assert events[0][1]["metadata"]["deletionTimestamp"]
    assert "foregroundDeletion" in events[0][1]["metadata"]["finalizers"]
    assert kube.objects("pods") == []


async def test_deleting_a_custom_resource_deletes_what_it_owns(kube, api):
    custom, core, batch = CustomObjectsApi(api), CoreV1Api(api), BatchV1Api(api)
    kube.kubelet.script(JobScript.hang(), name="run")
    owner = await custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("w"))
    reference = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "name": "w",
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    owned_job = job("run")
    owned_job["metadata"]["ownerReferences"] = [reference]
    await batch.create_namespaced_job("default", owned_job)
    await core.create_namespaced_config_map(
        "default", {"metadata": {"name": "run", "ownerReferences": [reference]}}
    )
    await kube.wait_for(lambda: kube.objects("pods"), WITHIN)
    await custom.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "w")
    await kube.wait_for(
        lambda: not kube.objects("jobs") and not kube.objects("configmaps") and not kube.objects("pods"),
        WITHIN,
    )


async def test_an_owner_reference_to_the_wrong_uid_loses_the_object(kube, api):
    custom, core = CustomObjectsApi(api), CoreV1Api(api)
    await custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("w"))
    wrong = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget", "name": "w", "uid": "not-its-uid"}
    await core.create_namespaced_config_map(
        "default", {"metadata": {"name": "c", "ownerReferences": [wrong]}}
    )
    await kube.wait_for(lambda: kube.get("configmaps", "c") is None, WITHIN)


# ---- the kubelet ------------------------------------------------------------------------------------------


async def test_a_job_that_succeeds(kube, api):
    batch = BatchV1Api(api)
    runner_status = json.dumps({"status": "succeeded", "usage": {"inputTokens": 3}})
    kube.kubelet.script(JobScript.succeed(runner_status, run_seconds=0.05, logs="hello\n"), name="ok")
    start = kube.resource_version
    created = await batch.create_namespaced_job("default", job("ok"))
    assert created.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": created.metadata.uid}
    done = await finished_job(kube, "ok")
    status = done["status"]
    assert condition_types(done) == ["SuccessCriteriaMet", "Complete"]
    assert [c["reason"] for c in status["conditions"]] == ["CompletionsReached", "CompletionsReached"]
    assert (
        status["succeeded"] == 1
        and status["active"] == 0
        and status["startTime"]
        and status["completionTime"]
    )
    [pod] = kube.objects("pods")
    labels = pod["metadata"]["labels"]
    assert labels["job-name"] == labels["batch.kubernetes.io/job-name"] == "ok"
    assert labels["controller-uid"] == labels["batch.kubernetes.io/controller-uid"] == created.metadata.uid
    assert pod["metadata"]["name"].startswith("ok-")
    [owner] = pod["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("Job", created.metadata.uid, True)
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"], terminated["message"]) == (
        0,
        "Completed",
        runner_status,
    )
    assert pod["status"]["phase"] == "Succeeded"
    pod_events = await collect(
        CoreV1Api(api).list_namespaced_pod, "default", resource_version=str(start), timeout_seconds=1
    )
    phases = [obj["status"]["phase"] for _, obj in pod_events]
    assert phases[0] == "Pending" and "Running" in phases and phases[-1] == "Succeeded"
    assert phases.index("Running") < len(phases) - 1
    log = await CoreV1Api(api).read_namespaced_pod_log(pod["metadata"]["name"], "default")
    assert log == "hello\n"


async def test_pod_log_honours_container_tail_lines_and_limit_bytes(kube, api):
    kube.kubelet.script(JobScript.succeed(logs="one\ntwo\nthree\n"), name="talk")
    await BatchV1Api(api).create_namespaced_job("default", job("talk"))
    await finished_job(kube, "talk")
    [pod] = kube.objects("pods")
    name, container = pod["metadata"]["name"], pod["spec"]["containers"][0]["name"]
    core = CoreV1Api(api)
    assert (
        await core.read_namespaced_pod_log(name, "default", container=container, tail_lines=2)
        == "two\nthree\n"
    )
    assert await core.read_namespaced_pod_log(name, "default", limit_bytes=5) == "one\nt"
    with pytest.raises(ApiException) as unknown:
        await core.read_namespaced_pod_log(name, "default", container="sidecar")
    assert unknown.value.status == 400
    assert status_of(unknown.value)["message"] == f"container sidecar is not valid for pod {name}"


async def test_a_job_that_fails_reports_the_exit_code_and_termination_message(kube, api):
    kube.kubelet.script(JobScript.fail(3, '{"error": "boom"}'), labels="app=jangar")
    await BatchV1Api(api).create_namespaced_job("default", job("bad"))
    done = await finished_job(kube, "bad")
    assert condition_types(done) == ["FailureTarget", "Failed"]
    assert {c["reason"] for c in done["status"]["conditions"]} == {"BackoffLimitExceeded"}
    assert done["status"]["failed"] == 1 and "completionTime" not in done["status"]
    [pod] = kube.objects("pods")
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (pod["status"]["phase"], terminated["exitCode"], terminated["reason"]) == ("Failed", 3, "Error")
    assert terminated["message"] == '{"error": "boom"}'


async def test_fallback_to_logs_on_error_uses_the_log_tail(kube, api):
    kube.kubelet.script(JobScript.fail(2, logs="line 1\nfatal: out of tokens\n"), name="bad")
    await BatchV1Api(api).create_namespaced_job("default", job("bad"))
    await finished_job(kube, "bad")
    [pod] = kube.objects("pods")
    assert (
        pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"]
        == "line 1\nfatal: out of tokens\n"
    )


async def test_a_job_past_its_deadline_fails_with_deadline_exceeded(kube, api):
    kube.kubelet.script(JobScript.hang(), name="slow")
    await BatchV1Api(api).create_namespaced_job("default", job("slow", activeDeadlineSeconds=1))
    done = await finished_job(kube, "slow")
    assert condition_types(done) == ["FailureTarget", "Failed"]
    assert [c["reason"] for c in done["status"]["conditions"]] == ["DeadlineExceeded", "DeadlineExceeded"]
    assert done["status"]["conditions"][1]["message"] == "Job was active longer than specified deadline"
    assert done["status"]["active"] == 0 and done["status"]["failed"] == 1
    await kube.wait_for(lambda: not kube.objects("pods"), WITHIN)


async def test_retries_until_the_backoff_limit(kube, api):
    kube.kubelet.script(
        JobScript.sequence(PodRun("Failed", 1), PodRun("Failed", 1), PodRun("Succeeded")), name="flaky"
    )
    await BatchV1Api(api).create_namespaced_job("default", job("flaky", backoffLimit=2))
    done = await finished_job(kube, "flaky")
    assert condition_types(done)[-1] == "Complete"
    assert (done["status"]["failed"], done["status"]["succeeded"]) == (2, 1)
    assert sorted(p["status"]["phase"] for p in kube.objects("pods")) == ["Failed", "Failed", "Succeeded"]
    kube.kubelet.script(JobScript.fail(1), name="hopeless")
    await BatchV1Api(api).create_namespaced_job("default", job("hopeless", backoffLimit=1))
    done = await finished_job(kube, "hopeless")
    assert (
        done["status"]["failed"] == 2 and done["status"]["conditions"][-1]["reason"] == "BackoffLimitExceeded"
    )


async def test_a_pod_deleted_while_it_runs_is_a_failed_attempt(kube, api):
    kube.kubelet.script(JobScript.sequence(PodRun("Hang"), PodRun("Succeeded")), name="evicted")
    await BatchV1Api(api).create_namespaced_job("default", job("evicted", backoffLimit=1))
    [first] = await kube.wait_for(lambda: kube.objects("pods"), WITHIN)
    await CoreV1Api(api).delete_namespaced_pod(first["metadata"]["name"], "default")
    done = await finished_job(kube, "evicted")
    assert condition_types(done)[-1] == "Complete"
    assert (done["status"]["failed"], done["status"]["succeeded"]) == (1, 1)
    [second] = kube.objects("pods")
    assert second["metadata"]["name"] != first["metadata"]["name"]


async def test_a_job_driven_step_by_step(kube, api):
    handle = kube.kubelet.manual("manual")
    await BatchV1Api(api).create_namespaced_job("default", job("manual"))
    pod = await handle.pod()
    assert pod["status"]["phase"] == "Pending"
    await handle.start()
    assert kube.get("pods", pod["metadata"]["name"])["status"]["phase"] == "Running"
    await kube.wait_for(lambda: kube.get("jobs", "manual")["status"].get("ready") == 1, WITHIN)
    assert condition_types(kube.get("jobs", "manual")) == []
    await handle.succeed('{"status": "succeeded"}')
    done = await finished_job(kube, "manual")
    assert condition_types(done)[-1] == "Complete"


async def test_ttl_after_finished_deletes_the_job_and_its_pods(kube, api):
    await BatchV1Api(api).create_namespaced_job("default", job("short", ttlSecondsAfterFinished=0))
    await kube.wait_for(lambda: kube.get("jobs", "short") is None and not kube.objects("pods"), WITHIN)


async def test_deleting_a_namespace_deletes_its_contents(kube, api):
    core = CoreV1Api(api)
    await core.create_namespace({"metadata": {"name": "doomed"}})
    await core.create_namespaced_config_map("doomed", {"metadata": {"name": "a"}})
    await core.delete_namespace("doomed")
    await kube.wait_for(lambda: kube.get("namespaces", "doomed", "") is None, WITHIN)
    assert kube.objects("configmaps", "doomed") == []


async def test_the_shared_fixture_serves_jangar_custom_resources(fake_kube):
    status, agents = await raw(fake_kube, "/apis/agents.proompteng.ai/v1alpha1")
    assert status == 200 and {"agentruns", "agentruns/status"} <= {r["name"] for r in agents["resources"]}
    status, tools = await raw(fake_kube, "/apis/tools.proompteng.ai/v1alpha1")
    assert status == 200 and "toolruns" in {r["name"] for r in tools["resources"]}


# ---- faults ---------------------------------------------------------------------------------------------


async def test_injected_errors_then_recovery(kube, api):
    core = CoreV1Api(api)
    kube.faults.fail_next(2, 500)
    for _ in range(2):
        with pytest.raises(ApiException) as error:
            await core.list_namespaced_config_map("default")
        assert error.value.status == 500 and status_of(error.value)["reason"] == "InternalError"
    await core.list_namespaced_config_map("default")
    kube.faults.fail_next(1, 429, path="/configmaps", method="POST")
    await core.list_namespaced_config_map("default")  # does not match the rule
    with pytest.raises(ApiException) as throttled:
        await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    assert throttled.value.status == 429 and throttled.value.headers["Retry-After"] == "1"
    assert kube.get("configmaps", "a") is None
    kube.faults.fail_next(1, 503)
    with pytest.raises(ApiException) as unavailable:
        await core.read_namespace("default")
    assert unavailable.value.status == 503


async def test_dropped_and_expired_watches(kube, api):
    core = CoreV1Api(api)

    async def watch_forever() -> None:
        await collect(core.list_namespaced_config_map, "default", timeout_seconds=60)

    task = asyncio.create_task(watch_forever())
    await kube.wait_for(lambda: kube.open_watches == 1, WITHIN)
    assert kube.drop_watches() == 1
    with pytest.raises(aiohttp.ClientError):
        await task
    kube.faults.expire_next_watches()
    now = str(kube.resource_version)
    with pytest.raises(ApiException) as expired:
        await collect(core.list_namespaced_config_map, "default", resource_version=now, timeout_seconds=5)
    assert expired.value.status == 410
    assert (
        await collect(core.list_namespaced_config_map, "default", resource_version=now, timeout_seconds=1)
        == []
    )


async def test_an_outage_refuses_connections_and_keeps_the_state(kube, api):
    core = CoreV1Api(api)
    await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    async with kube.outage():
        with pytest.raises(aiohttp.ClientConnectionError):
            await core.read_namespaced_config_map("a", "default")
    assert (await core.read_namespaced_config_map("a", "default")).metadata.name == "a"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
async def test_kubectl_can_read_it(kube, api):
    await BatchV1Api(api).create_namespaced_job("default", job("seen-by-kubectl"))
    await finished_job(kube, "seen-by-kubectl")
    result = await asyncio.to_thread(
        subprocess.run,
        ["kubectl", f"--server={kube.url}", "get", "jobs", "-o", "name"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "job.batch/seen-by-kubectl"


def claim(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, **spec},
    }


async def test_claims_are_validated_their_status_is_the_clusters_and_their_spec_fixed(api, kube):
    core = CoreV1Api(api)
    with pytest.raises(ApiException) as invalid:
        await core.create_namespaced_persistent_volume_claim(
            "default", {"metadata": {"name": "bare"}, "spec": {"accessModes": ["ReadWriteSometimes"]}}
        )
    assert invalid.value.status == 422
    causes = status_of(invalid.value)["details"]["causes"]
    assert sorted(c["field"] for c in causes) == ["spec.accessModes", "spec.resources[storage]"]

    body = claim("data")
    body["status"] = {"phase": "Bound"}  # a client cannot bind its own claim
    created = await core.create_namespaced_persistent_volume_claim("default", body)
    assert created.status.phase == "Pending"
    assert created.spec.volume_mode == "Filesystem"

    # What the PersistentVolume controller does: the volume name once, the phase through status.
    kube.merge_patch("persistentvolumeclaims", "data", {"spec": {"volumeName": "pv-1"}})
    kube.merge_patch("persistentvolumeclaims", "data", {"status": {"phase": "Bound"}}, subresource="status")
    bound = await core.read_namespaced_persistent_volume_claim("data", "default")
    assert (bound.spec.volume_name, bound.status.phase) == ("pv-1", "Bound")
    with pytest.raises(ApiException) as fixed:
        await core.patch_namespaced_persistent_volume_claim(
            "data", "default", {"spec": {"storageClassName": "x"}}
        )
    assert fixed.value.status == 422
    resized = await core.patch_namespaced_persistent_volume_claim(
        "data", "default", {"spec": {"resources": {"requests": {"storage": "2Gi"}}}}
    )
    assert resized.spec.resources.requests == {"storage": "2Gi"}
