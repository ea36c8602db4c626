"""The contract every kind of the registry keeps, over gRPC and over REST: create with idempotency keys and
audit rows, get, paged and filtered lists, updates and deletes checked by etag (definition kinds), cancel
and the run view (run kinds), immutability and outliving the parent (record kinds). A kind is tested here as
soon as it is in the registry; it only needs a sample module in tests/kinds/."""

from __future__ import annotations

import importlib
import pkgutil
import re
import uuid
from types import ModuleType
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

import tests.kinds
from jangar.server.core.kinds import Kind, ListFilter, registry, snake_case
from jangar.v1.run_phase_pb2 import RunPhase
from tests.support import unique
from tests.transports import TRANSPORTS, ApiError, Client, GrpcClient, client_for, new_key, refused


def _sample_modules() -> dict[str, ModuleType]:
    modules: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(tests.kinds.__path__):
        if info.name.startswith("test_"):
            module = importlib.import_module(f"{tests.kinds.__name__}.{info.name}")
            assert module.KIND not in modules, f"two sample modules for {module.KIND}"
            modules[module.KIND] = module
    return modules


SAMPLES = _sample_modules()
KINDS = registry().kinds
DEFINITIONS = registry().definitions
WITH_REVISIONS = [k for k in DEFINITIONS if k.keeps_revisions]
RUNS = registry().runs
RECORDS = registry().records
# Every (kind, filter) pair: a filter of the kind's List request beyond the common ones.
FILTERS = [pytest.param(k, f, id=f"{k.name}-{f.json_name}") for k in KINDS for f in k.list_filters]
UUID_FILTERS = [p for p in FILTERS if p.values[1].is_uuid]


def kind_name(kind: Kind) -> str:
    return kind.name


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def client(kind: Kind, transport: str, request: pytest.FixtureRequest) -> Client:
    return client_for(kind, transport, request)


def sample_module(kind: Kind) -> ModuleType:
    if kind.name not in SAMPLES:
        pytest.fail(f"no sample module for {kind.name}: add tests/kinds/test_{snake_case(kind.name)}.py")
    return SAMPLES[kind.name]


def sample(kind: Kind, namespace: str, parent: Any = None, **labels: str) -> Any:
    """A new, valid resource of `kind`; a run names `parent`."""
    if kind.parent is None:
        return sample_module(kind).sample(namespace, **labels)
    assert parent is not None, f"a {kind.name} needs its {kind.parent.kind}"
    return sample_module(kind).sample(namespace, parent.name, **labels)


class World:
    """Makes resources of any kind, a run's parent first, over gRPC: they are the setting, not what is
    under test."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.channel = channel

    async def namespace(self, kind: Kind) -> str:
        """A new namespace holding what samples of `kind` and of its parent reference (the AgentProvider an
        Agent's sample names), and nothing else, so creating the samples there succeeds."""
        namespace = unique("ns")
        await self.prepare(namespace, kind)
        return namespace

    async def prepare(self, namespace: str, kind: Kind) -> None:
        """Creates in `namespace` what samples of `kind` (or of its parent) reference, unless it exists."""
        while kind.parent is not None:
            kind = registry()[kind.parent.kind]
        example = sample(kind, namespace)
        for reference in kind.references:
            target_kind = registry()[reference.kind]
            target = sample(target_kind, namespace)
            target.name = getattr(example.spec, reference.field).name
            try:
                await GrpcClient(target_kind, self.channel).create(target, key=new_key())
            except ApiError as error:
                if error.code != grpc.StatusCode.ALREADY_EXISTS:
                    raise

    async def parent(self, kind: Kind, namespace: str) -> Any:
        """A new parent for runs of `kind` (None for a kind without one)."""
        if kind.parent is None:
            return None
        return await self.create(registry()[kind.parent.kind], namespace)

    async def create(self, kind: Kind, namespace: str, parent: Any = None, **labels: str) -> Any:
        if kind.parent is not None and parent is None:
            parent = await self.parent(kind, namespace)
        resource = sample(kind, namespace, parent, **labels)
        return (await GrpcClient(kind, self.channel).create(resource, key=new_key())).resource

    async def cancel(self, kind: Kind, run_id: str) -> Any:
        return await GrpcClient(kind, self.channel).cancel(run_id, key=new_key())


@pytest.fixture
def world(channel: grpc.aio.Channel) -> World:
    return World(channel)


async def _audit(db, kind: Kind, entity_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT event_type FROM audit_events WHERE entity_type = $1 AND entity_id = $2 ORDER BY created_at",
        kind.name,
        uuid.UUID(entity_id),
    )
    return [row["event_type"] for row in rows]


async def _ids(client: Client, namespace: str, **options: Any) -> list[str]:
    items, token = await client.list(namespace, **options)
    assert not token
    return [item.id for item in items]


def _reason(kind: Kind, suffix: str) -> str:
    return f"{snake_case(kind.name).upper()}_{suffix}"


# The sample modules.


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
def test_every_kind_has_a_sample_module(kind):
    module = sample_module(kind)
    namespace = unique("ns")
    parent = None
    if kind.parent is not None:
        parent = sample(registry()[kind.parent.kind], namespace)
    first = sample(kind, namespace, parent, team="a")
    second = sample(kind, namespace, parent)
    assert isinstance(first, kind.message_class)
    assert (first.namespace, dict(first.labels), dict(second.labels)) == (namespace, {"team": "a"}, {})
    assert first.name and first.name != second.name, "each sample needs a unique name"
    if kind.parent is not None:
        assert getattr(first.spec, kind.parent.ref_field).name == parent.name
    else:
        path, spec = module.changed_spec()
        assert path.startswith("spec.") and isinstance(spec, type(first.spec))


def test_every_sample_module_is_a_kind_of_the_registry():
    assert set(SAMPLES) <= {kind.name for kind in KINDS}


# Create and idempotency keys.


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
async def test_create_returns_the_full_resource_and_writes_one_audit_row(kind, client, world, db):
    namespace = await world.namespace(kind)
    parent = await world.parent(kind, namespace)
    sent = sample(kind, namespace, parent, team="a")
    key = new_key()
    reply = await client.create(sent, key=key)
    created = reply.resource

    assert uuid.UUID(created.id)
    assert (created.name, created.namespace, dict(created.labels)) == (sent.name, namespace, {"team": "a"})
    assert created.spec == sent.spec
    assert created.generation == 1
    assert created.etag
    assert created.create_time.seconds > 0 and created.update_time == created.create_time
    assert not created.HasField("delete_time")
    assert ("Accepted", "True") in [(c.type, c.status) for c in created.status.conditions]
    assert not reply.replayed
    if kind.parent is not None:
        assert getattr(created, kind.parent.id_field) == parent.id
        assert created.delivery_id == key
    if kind.is_run:
        assert created.status.phase == RunPhase.Pending

    rows = await db.fetch(
        "SELECT entity_type, event_type, delivery_id, request_id FROM audit_events WHERE entity_id = $1",
        uuid.UUID(created.id),
    )
    assert [(r["entity_type"], r["event_type"], r["delivery_id"]) for r in rows] == [
        (kind.name, "Created", key)
    ]
    assert rows[0]["request_id"]


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
async def test_replay_with_the_same_key_returns_the_same_bytes_and_writes_nothing(kind, client, world, db):
    namespace = await world.namespace(kind)
    parent = await world.parent(kind, namespace)
    sent = sample(kind, namespace, parent)
    key = new_key()
    first = await client.create(sent, key=key)
    replay = await client.create(sent, key=key, reorder=True)

    assert replay.raw == first.raw
    assert replay.replayed and not first.replayed
    assert await _ids(client, namespace) == [first.resource.id]
    assert await _audit(db, kind, first.resource.id) == ["Created"]


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
async def test_same_key_with_another_body_is_refused(kind, client, world):
    namespace = await world.namespace(kind)
    parent = await world.parent(kind, namespace)
    key = new_key()
    first = await client.create(sample(kind, namespace, parent), key=key)
    error = await refused(
        client.create(sample(kind, namespace, parent), key=key),
        grpc.StatusCode.INVALID_ARGUMENT,
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )
    if error.transport == "rest":
        assert "x-jangar-http-status" not in error.headers  # Envoy turns it into the status and drops it
    assert await _ids(client, namespace) == [first.resource.id]


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
async def test_create_without_a_key_is_refused_and_writes_nothing(kind, client, world):
    namespace = await world.namespace(kind)
    parent = await world.parent(kind, namespace)
    await refused(
        client.create(sample(kind, namespace, parent), key=None),
        grpc.StatusCode.INVALID_ARGUMENT,
        400,
        "IDEMPOTENCY_KEY_MISSING",
    )
    assert await _ids(client, namespace) == []


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
async def test_second_create_with_the_same_name_is_refused_naming_the_existing_one(kind, client, world, db):
    namespace = await world.namespace(kind)
    parent = await world.parent(kind, namespace)
    first = (await client.create(sample(kind, namespace, parent), key=new_key())).resource
    twin = sample(kind, namespace, parent)
    twin.name = first.name
    error = await refused(
        client.create(twin, key=new_key()),
        grpc.StatusCode.ALREADY_EXISTS,
        409,
        _reason(kind, "ALREADY_EXISTS"),
    )
    assert error.metadata["existingId"] == first.id
    assert first.id in error.message
    assert await _ids(client, namespace) == [first.id]
    created = await db.fetchval(
        "SELECT count(*) FROM audit_events WHERE entity_type = $1 AND namespace = $2", kind.name, namespace
    )
    assert created == 1


# Get.


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
async def test_get_by_id_and_by_name_with_namespace(kind, client, world):
    namespace = await world.namespace(kind)
    created = await world.create(kind, namespace)

    assert await client.get(created.id) == created
    assert await client.get(created.name, namespace) == created
    for missing in (str(uuid.uuid4()), created.name):  # the name alone is looked up in `default`
        await refused(client.get(missing), grpc.StatusCode.NOT_FOUND, 404, _reason(kind, "NOT_FOUND"))


# Lists.


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
async def test_list_pages_newest_first_with_a_cursor(kind, client, world):
    namespace = await world.namespace(kind)
    parent = await world.parent(kind, namespace)
    created = [(await world.create(kind, namespace, parent)).id for _ in range(3)]

    newest_first = created[::-1]

    first, token = await client.list(namespace, page_size=2)
    assert [item.id for item in first] == newest_first[:2]
    assert token
    second, end = await client.list(namespace, page_size=2, page_token=token)
    assert [item.id for item in second] == newest_first[2:]
    assert not end


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
async def test_list_with_a_label_selector_selects_the_labelled_ones(kind, client, world):
    namespace = await world.namespace(kind)
    parent = await world.parent(kind, namespace)
    a = await world.create(kind, namespace, parent, team="a")
    b = await world.create(kind, namespace, parent, team="b")
    c = await world.create(kind, namespace, parent)

    assert await _ids(client, namespace, label_selector="team=a") == [a.id]
    assert await _ids(client, namespace, label_selector="team") == [b.id, a.id]
    assert await _ids(client, namespace, label_selector="!team") == [c.id]


def _filter_value(kind: Kind, list_filter: ListFilter, parent: Any) -> str:
    """What a parent filter compares: the parent's id or name."""
    link = kind.parent
    if link is not None and list_filter.field == link.id_field:
        return parent.id
    if link is not None and list_filter.field == link.name_field:
        return parent.name
    pytest.fail(f"the suite does not know how to exercise {kind.name}'s filter {list_filter.json_name}")


@pytest.mark.parametrize(("kind", "list_filter"), FILTERS)
async def test_list_filter_selects_the_runs_of_one_parent(kind, list_filter, client, world):
    namespace = await world.namespace(kind)
    mine, other = await world.parent(kind, namespace), await world.parent(kind, namespace)
    first = await world.create(kind, namespace, mine)
    await world.create(kind, namespace, other)
    second = await world.create(kind, namespace, mine)

    value = _filter_value(kind, list_filter, mine)
    assert await _ids(client, namespace, filters={list_filter.field: value}) == [second.id, first.id]
    assert await _ids(client, "", filters={list_filter.field: value}) == [second.id, first.id]


@pytest.mark.parametrize("kind", [k for k in KINDS if k.lists_by_phase], ids=kind_name)
async def test_list_by_phase(kind, client, world):
    namespace = await world.namespace(kind)
    parent = await world.parent(kind, namespace)
    other = await world.parent(kind, namespace)
    cancelled = await world.create(kind, namespace, parent)
    pending = await world.create(kind, namespace, parent)
    elsewhere = await world.create(kind, namespace, other)
    await world.cancel(kind, cancelled.id)

    assert await _ids(client, namespace, phases=["Pending"]) == [elsewhere.id, pending.id]
    assert await _ids(client, namespace, phases=["Cancelled"]) == [cancelled.id]
    assert await _ids(client, namespace, phases=["Pending", "Cancelled"]) == [
        elsewhere.id,
        pending.id,
        cancelled.id,
    ]
    assert await _ids(client, namespace, phases=["Succeeded"]) == []
    for list_filter in kind.list_filters:
        value = _filter_value(kind, list_filter, parent)
        filters = {list_filter.field: value}
        assert await _ids(client, namespace, filters=filters) == [pending.id, cancelled.id]
        assert await _ids(client, namespace, phases=["Cancelled"], filters=filters) == [cancelled.id]
        assert await _ids(client, namespace, phases=["Pending"], filters=filters) == [pending.id]


@pytest.mark.parametrize(("kind", "list_filter"), UUID_FILTERS)
async def test_malformed_id_filter_is_refused_naming_the_filter(kind, list_filter, client):
    error = await refused(
        client.list("", filters={list_filter.field: "not-a-uuid"}),
        grpc.StatusCode.INVALID_ARGUMENT,
        400,
        "INVALID_ARGUMENT",
    )
    assert error.violations == [list_filter.json_name]


# Definition kinds: update and delete, checked by etag.


def _labels(kind: Kind, **labels: str) -> Message:
    return kind.message_class(labels=labels)


@pytest.mark.parametrize("kind", DEFINITIONS, ids=kind_name)
async def test_update_labels_with_the_current_etag_and_not_with_a_stale_one(kind, client, world, db):
    created = await world.create(kind, await world.namespace(kind), team="a")

    updated = await client.update(created.id, _labels(kind, tier="gold"), ["labels"], etag=created.etag)
    assert dict(updated.labels) == {"tier": "gold"}
    assert updated.etag != created.etag
    assert (updated.generation, updated.spec) == (1, created.spec)

    error = await refused(
        client.update(created.id, _labels(kind, tier="silver"), ["labels"], etag=created.etag),
        grpc.StatusCode.ABORTED,
        409,
        "ETAG_MISMATCH",
    )
    assert error.metadata["currentEtag"] == updated.etag
    assert await client.get(created.id) == updated
    assert await _audit(db, kind, created.id) == ["Created", "Updated"]


@pytest.mark.parametrize("kind", DEFINITIONS, ids=kind_name)
async def test_update_of_the_spec_bumps_the_generation(kind, client, world, db):
    created = await world.create(kind, await world.namespace(kind))
    path, spec = sample_module(kind).changed_spec()
    patch = kind.message_class(spec=spec)
    expected = kind.message_class()
    expected.CopyFrom(created)
    FieldMask(paths=[path]).MergeMessage(
        patch, expected, replace_message_field=True, replace_repeated_field=True
    )
    assert expected.spec != created.spec, f"changed_spec() of {kind.name} changes nothing"

    updated = await client.update(created.id, patch, [path], etag=created.etag)
    assert updated.spec == expected.spec  # the field at `path` changed, nothing else did
    assert updated.generation == 2
    assert updated.status.observed_generation == 2
    assert updated.etag != created.etag
    assert await client.get(created.id) == updated
    assert await _audit(db, kind, created.id) == ["Created", "Updated"]


@pytest.mark.parametrize("kind", DEFINITIONS, ids=kind_name)
async def test_delete_with_the_etag_returns_the_resource_and_frees_the_name(kind, client, world, db):
    namespace = await world.namespace(kind)
    created = await world.create(kind, namespace)
    updated = await client.update(created.id, _labels(kind, tier="gold"), ["labels"])

    await refused(client.delete(created.id, etag=created.etag), grpc.StatusCode.ABORTED, 409, "ETAG_MISMATCH")
    deleted = await client.delete(created.id, etag=updated.etag)
    assert deleted.HasField("delete_time")
    deleted.ClearField("delete_time")
    assert deleted == updated

    await refused(client.get(created.id), grpc.StatusCode.NOT_FOUND, 404, _reason(kind, "NOT_FOUND"))
    assert await _ids(client, namespace) == []
    assert await _audit(db, kind, created.id) == ["Created", "Updated", "Deleted"]
    again = sample(kind, namespace)
    again.name = created.name
    recreated = (await client.create(again, key=new_key())).resource
    assert recreated.id != created.id


# Definition kinds that keep revisions.


def _spec_json(resource: Any) -> dict[str, Any]:
    return json_format.MessageToDict(resource.spec)


async def _spec_change(kind: Kind, client: Client, resource: Any) -> Any:
    path, spec = sample_module(kind).changed_spec()
    return await client.update(resource.id, kind.message_class(spec=spec), [path], etag=resource.etag)


@pytest.mark.parametrize("kind", WITH_REVISIONS, ids=kind_name)
async def test_create_and_each_spec_change_write_a_revision_and_labels_alone_do_not(kind, client, world, db):
    created = await world.create(kind, await world.namespace(kind))
    relabelled = await client.update(created.id, _labels(kind, tier="gold"), ["labels"], etag=created.etag)
    changed = await _spec_change(kind, client, relabelled)

    listed = await client.revisions(created.id)
    assert [r.number for r in listed.revisions] == [2, 1]  # newest first; the label change made none
    assert listed.next_page_token == ""
    newest, first = listed.revisions
    assert json_format.MessageToDict(first.spec) == _spec_json(created)
    assert json_format.MessageToDict(newest.spec) == _spec_json(changed)
    assert first.actor and first.actor == newest.actor
    assert first.create_time.ToDatetime() <= newest.create_time.ToDatetime()
    events = {
        str(row["id"]): row["event_type"]
        for row in await db.fetch(
            "SELECT id, event_type FROM audit_events WHERE entity_id = $1", uuid.UUID(created.id)
        )
    }
    assert (events[first.audit_event_id], events[newest.audit_event_id]) == ("Created", "Updated")


@pytest.mark.parametrize("kind", WITH_REVISIONS, ids=kind_name)
async def test_revisions_page_newest_first_and_can_be_read_by_name(kind, client, world):
    resource = await world.create(kind, await world.namespace(kind))
    first_spec = _spec_json(resource)
    for _ in range(2):  # revision 3 restores revision 1's spec: a revision is a spec, not a novelty
        resource = await _spec_change(kind, client, resource)
        restore = kind.message_class()
        json_format.ParseDict({"spec": first_spec}, restore)
        resource = await client.update(resource.id, restore, ["spec"], etag=resource.etag)

    page, token = await client.revisions(resource.name, resource.namespace, page_size=2), ""
    numbers = [r.number for r in page.revisions]
    while page.next_page_token:
        token = page.next_page_token
        page = await client.revisions(resource.id, page_size=2, page_token=token)
        numbers += [r.number for r in page.revisions]
    assert numbers == [5, 4, 3, 2, 1]
    assert (await client.diff(resource.id, 1, 5)).changes == []  # back where it started

    other = await world.create(kind, await world.namespace(kind))
    error = await refused(
        client.revisions(other.id, page_size=2, page_token=token),
        grpc.StatusCode.INVALID_ARGUMENT,
        400,
        "INVALID_ARGUMENT",
    )
    assert error.violations == ["pageToken"]  # a token is bound to its resource


@pytest.mark.parametrize("kind", WITH_REVISIONS, ids=kind_name)
async def test_diff_names_each_changed_path_with_its_old_and_new_value(kind, client, world):
    created = await world.create(kind, await world.namespace(kind))
    changed = await _spec_change(kind, client, created)
    old, new = _spec_json(created), _spec_json(changed)

    diff = await client.diff(created.id, 1, 2)
    assert (getattr(diff, "from"), diff.to) == (1, 2)
    assert diff.changes, "changed_spec() changes the spec, so the diff cannot be empty"
    for change in diff.changes:
        assert _at(old, change.path) == (
            json_format.MessageToDict(change.old_value) if change.HasField("old_value") else None
        )
        assert _at(new, change.path) == (
            json_format.MessageToDict(change.new_value) if change.HasField("new_value") else None
        )
    backwards = await client.diff(created.id, 2, 1)
    assert [(c.path, c.old_value, c.new_value) for c in backwards.changes] == [
        (c.path, c.new_value, c.old_value) for c in diff.changes
    ]
    assert (await client.diff(created.id, 2, 2)).changes == []


@pytest.mark.parametrize("kind", WITH_REVISIONS, ids=kind_name)
async def test_diff_of_a_missing_or_invalid_revision_is_refused(kind, client, world):
    created = await world.create(kind, await world.namespace(kind))
    error = await refused(client.diff(created.id, 1, 7), grpc.StatusCode.NOT_FOUND, 404, "REVISION_NOT_FOUND")
    assert error.metadata == {"missing": "7", "latest": "1"}
    error = await refused(
        client.diff(created.id, 0, -1), grpc.StatusCode.INVALID_ARGUMENT, 400, "INVALID_ARGUMENT"
    )
    assert error.violations == ["from", "to"]
    await refused(
        client.revisions(str(uuid.uuid4())), grpc.StatusCode.NOT_FOUND, 404, _reason(kind, "NOT_FOUND")
    )


@pytest.mark.parametrize("kind", WITH_REVISIONS, ids=kind_name)
async def test_deleting_a_definition_deletes_its_revisions(kind, client, world, db):
    created = await world.create(kind, await world.namespace(kind))
    await client.delete(created.id)
    left = await db.fetchval(
        "SELECT count(*) FROM definition_revisions WHERE resource_id = $1", uuid.UUID(created.id)
    )
    assert left == 0


def _at(document: Any, path: str) -> Any:
    """The value at a diff path (`spec.a.b[2]`, `spec.env["LOG.LEVEL"]`) of {"spec": ...}; None if absent."""
    value: Any = {"spec": document}
    for token in re.findall(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]', "." + path):
        name, index, quoted = token
        if index:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
        else:
            key = name or re.sub(r"\\(.)", r"\1", quoted)
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


# Run kinds: cancel and the run view.


@pytest.mark.parametrize("kind", RUNS, ids=kind_name)
async def test_cancel_moves_a_pending_run_to_cancelled_once(kind, client, world, db):
    run = await world.create(kind, await world.namespace(kind))
    assert run.status.phase == RunPhase.Pending

    cancelled = await client.cancel(run.id, "not needed", key=new_key())
    assert cancelled.status.phase == RunPhase.Cancelled
    assert cancelled.status.message == "not needed"
    assert cancelled.status.HasField("finish_time")
    assert cancelled.etag != run.etag
    assert await client.get(run.id) == cancelled

    # Cancelling a finished run changes nothing and returns it, and is not audited as a second cancel.
    again = await client.cancel(run.id, "again", key=new_key())
    assert again == cancelled
    assert await client.get(run.id) == cancelled
    assert await _audit(db, kind, run.id) == ["Created", "Cancelled"]


@pytest.mark.parametrize("kind", RUNS, ids=kind_name)
async def test_run_view_resolves_the_run_with_its_kind_and_parent(kind, client, world):
    assert kind.parent is not None
    namespace = await world.namespace(kind)
    parent = await world.parent(kind, namespace)
    run = await world.create(kind, namespace, parent)

    view = await client.view(run.id)
    assert (view.kind, view.id, view.name, view.namespace) == (kind.name, run.id, run.name, namespace)
    assert (view.phase, view.delivery_id, view.create_time) == (
        RunPhase.Pending,
        run.delivery_id,
        run.create_time,
    )
    assert (view.parent.kind, view.parent.id, view.parent.name) == (kind.parent.kind, parent.id, parent.name)


# Record kinds: immutable facts that outlive their parent.


@pytest.mark.parametrize("kind", RECORDS, ids=kind_name)
async def test_a_record_cannot_be_changed_deleted_or_cancelled(kind, world, channel, http):
    record = await world.create(kind, await world.namespace(kind))
    for verb in ("Update", "Delete", "Cancel"):
        rpc = channel.unary_unary(f"/{kind.service.full_name}/{verb}{kind.name}")
        with pytest.raises(grpc.aio.AioRpcError) as refused_call:
            await rpc(b"")
        assert refused_call.value.code() == grpc.StatusCode.UNIMPLEMENTED
    path = f"{kind.collection}/{record.id}"
    for response in (
        await http.patch(path, json={"labels": {"a": "b"}}),
        await http.delete(path),
        await http.post(f"{path}:cancel", json={}),
    ):
        assert response.status_code == 404, response.text
    assert await GrpcClient(kind, channel).get(record.id) == record


@pytest.mark.parametrize("kind", RECORDS, ids=kind_name)
async def test_a_record_outlives_its_parent(kind, client, world, db):
    assert kind.parent is not None
    namespace = await world.namespace(kind)
    parent = await world.parent(kind, namespace)
    record = await world.create(kind, namespace, parent)
    parent_client = GrpcClient(registry()[kind.parent.kind], world.channel)

    await parent_client.delete(parent.id)
    await refused(
        parent_client.get(parent.id),
        grpc.StatusCode.NOT_FOUND,
        404,
        _reason(registry()[kind.parent.kind], "NOT_FOUND"),
    )
    assert await client.get(record.id) == record
    assert await _ids(client, namespace, filters={kind.parent.id_field: parent.id}) == [record.id]
    assert await _audit(db, kind, record.id) == ["Created"]
