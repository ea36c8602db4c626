"""A definition row already turned into a message is not parsed again, and never served stale: a new version
of the row, or a row created again under the same id, is read anew, and changing what was read changes
nothing the next reader gets."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from jangar.server.core import proto_json
from jangar.server.repository.mapping import STORED
from jangar.v1 import agent_provider_pb2

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def provider_row(row_id: uuid.UUID, version: int, image: str, *, created: datetime = T0) -> Any:
    return SimpleNamespace(
        id=row_id,
        name="codex",
        namespace="default",
        labels={},
        annotations={},
        generation=version,
        resource_version=version,
        created_at=created,
        updated_at=created + timedelta(seconds=version),
        spec={"binary": "codex", "workload": {"image": image}},
        status={},
    )


def test_a_new_version_is_read_anew() -> None:
    stored = STORED["AgentProvider"]
    row_id = uuid.uuid4()
    assert stored.from_row(provider_row(row_id, 1, "a:1")).spec.workload.image == "a:1"
    assert stored.from_row(provider_row(row_id, 2, "a:2")).spec.workload.image == "a:2"
    again = stored.from_row(provider_row(row_id, 1, "b:1", created=T0 + timedelta(hours=1)))
    assert again.spec.workload.image == "b:1"


def test_changing_what_was_read_leaves_the_next_read_alone() -> None:
    stored = STORED["AgentProvider"]
    row = provider_row(uuid.uuid4(), 1, "a:1")
    first = stored.from_row(row)
    first.spec.workload.image = "changed"
    first.labels["x"] = "y"
    second = stored.from_row(row)
    assert second.spec.workload.image == "a:1"
    assert dict(second.labels) == {}


def test_remembered_json_is_a_new_dict_each_time_and_follows_its_content() -> None:
    provider = agent_provider_pb2.AgentProvider(name="codex")
    provider.spec.workload.image = "a:1"
    first = proto_json.remembered_dict(provider)
    first["spec"]["workload"]["image"] = "changed"
    assert proto_json.remembered_dict(provider) == {"name": "codex", "spec": {"workload": {"image": "a:1"}}}
    provider.spec.workload.image = "a:2"
    assert proto_json.remembered_dict(provider)["spec"]["workload"]["image"] == "a:2"
