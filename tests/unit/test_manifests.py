"""The generator of deploy/: what it maps each proto3 JSON shape to, what it refuses to map, the comments it
reads, and the freshness check behind `make gen-check`."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from google.api import field_behavior_pb2
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, duration_pb2
from google.protobuf.descriptor import Descriptor
from google.protobuf.message_factory import GetMessageClass

from jangar.server.core.kinds import registry
from jangar.server.devstack import manifests
from jangar.server.devstack.crds import CrdError, SchemaBuilder, resource_schema
from jangar.server.devstack.proto_comments import Comments, normalize
from tests.support import PROJECT_ROOT

F = descriptor_pb2.FieldDescriptorProto


@pytest.fixture(scope="module")
def comments(tmp_path_factory: pytest.TempPathFactory) -> Comments:
    """The comments of proto/jangar/v1, from a descriptor set with source info, as gen.sh writes it."""
    out = tmp_path_factory.mktemp("descriptors") / "sources.pb"
    protos = sorted(
        str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "proto/jangar/v1").glob("*.proto")
    )
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-Iproto", "--include_source_info",
         f"--descriptor_set_out={out}", *protos],
        cwd=PROJECT_ROOT, check=True, timeout=120,
    )  # fmt: skip
    return Comments.from_descriptor_set(out)


@pytest.fixture(scope="module")
def rendered(comments: Comments) -> dict[str, str]:
    return manifests.render(registry(), comments)


def _messages(*messages: descriptor_pb2.DescriptorProto) -> dict[str, Descriptor]:
    """Descriptors of messages declared here (package `t`), in a pool of their own."""
    pool = descriptor_pool.DescriptorPool()
    for module in (any_pb2, duration_pb2):
        pool.Add(descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb))
    file = descriptor_pb2.FileDescriptorProto(
        name="t/test.proto",
        package="t",
        syntax="proto3",
        dependency=["google/protobuf/any.proto", "google/protobuf/duration.proto"],
        message_type=messages,
    )
    pool.Add(file)
    return {m.name: pool.FindMessageTypeByName(f"t.{m.name}") for m in messages}


def _field(name: str, number: int, kind: int, type_name: str = "", **options: object) -> F:
    field = F(name=name, number=number, type=kind, label=F.LABEL_OPTIONAL, **options)
    if type_name:
        field.type_name = type_name
    return field


def _message(name: str, *fields: F, **options: object) -> descriptor_pb2.DescriptorProto:
    return descriptor_pb2.DescriptorProto(name=name, field=fields, **options)


def _schema(descriptor: Descriptor) -> dict:
    return SchemaBuilder(Comments({})).message(descriptor)


# What each shape maps to.


def test_scalars_map_to_their_proto3_json_types():
    message = _message(
        "Scalars",
        _field("big", 1, F.TYPE_INT64),
        _field("count", 2, F.TYPE_UINT32),
        _field("blob", 3, F.TYPE_BYTES),
        _field("ratio", 4, F.TYPE_DOUBLE),
        _field("on", 5, F.TYPE_BOOL),
        _field("wait", 6, F.TYPE_MESSAGE, ".google.protobuf.Duration"),
    )
    properties = _schema(_messages(message)["Scalars"])["properties"]
    assert properties["big"] == {
        "x-kubernetes-int-or-string": True,
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "pattern": "^-?[0-9]+$",
    }
    assert properties["count"] == {"type": "integer", "format": "int32", "minimum": 0, "maximum": 2**32 - 1}
    assert properties["blob"] == {"type": "string", "format": "byte"}
    assert properties["ratio"] == {"type": "number", "format": "double"}
    assert properties["on"] == {"type": "boolean"}
    assert properties["wait"]["type"] == "string"


def test_a_proto3_optional_field_is_a_plain_field():
    message = _message(
        "Opt",
        _field("maybe", 1, F.TYPE_STRING, oneof_index=0, proto3_optional=True),
        oneof_decl=[descriptor_pb2.OneofDescriptorProto(name="_maybe")],
    )
    assert _schema(_messages(message)["Opt"])["properties"] == {"maybe": {"type": "string"}}


# What it refuses.


@pytest.mark.parametrize(
    "messages",
    [
        [_message("Node", _field("child", 1, F.TYPE_MESSAGE, ".t.Node"))],
        [_message("Node", F(name="children", number=1, type=F.TYPE_MESSAGE, type_name=".t.Node", label=3))],
        [
            _message("Node", _field("other", 1, F.TYPE_MESSAGE, ".t.Other")),
            _message("Other", _field("back", 1, F.TYPE_MESSAGE, ".t.Node")),
        ],
    ],
    ids=["self", "repeated-self", "mutual"],
)
def test_a_recursive_message_stops_generation(messages):
    with pytest.raises(CrdError, match="recursive"):
        _schema(_messages(*messages)["Node"])


def test_a_oneof_stops_generation():
    message = _message(
        "Choice",
        _field("text", 1, F.TYPE_STRING, oneof_index=0),
        _field("number", 2, F.TYPE_INT32, oneof_index=0),
        oneof_decl=[descriptor_pb2.OneofDescriptorProto(name="value")],
    )
    with pytest.raises(CrdError, match="oneof value"):
        _schema(_messages(message)["Choice"])


def test_an_unmapped_well_known_type_stops_generation():
    message = _message("Holder", _field("payload", 1, F.TYPE_MESSAGE, ".google.protobuf.Any"))
    with pytest.raises(CrdError, match=r"google\.protobuf\.Any"):
        _schema(_messages(message)["Holder"])


def _output_only() -> descriptor_pb2.FieldOptions:
    options = descriptor_pb2.FieldOptions()
    options.Extensions[field_behavior_pb2.field_behavior].append(field_behavior_pb2.OUTPUT_ONLY)
    return options


def test_a_top_level_field_outside_spec_status_and_metadata_stops_generation():
    spec = _message("WidgetSpec", _field("size", 1, F.TYPE_INT32))
    kept = _message(
        "Widget",
        _field("name", 1, F.TYPE_STRING),
        _field("spec", 2, F.TYPE_MESSAGE, ".t.WidgetSpec"),
        _field("etag", 3, F.TYPE_STRING, options=_output_only()),
    )
    lost = _message("Lost", *kept.field, _field("color", 4, F.TYPE_STRING))
    descriptors = _messages(spec, kept, lost)
    agent = registry()["Agent"]
    widget = dataclasses.replace(agent, message_class=GetMessageClass(descriptors["Widget"]))
    assert set(resource_schema(widget, Comments({}))["properties"]) == {
        "apiVersion",
        "kind",
        "metadata",
        "spec",
    }
    with pytest.raises(CrdError, match=r"t\.Lost\.color"):
        resource_schema(
            dataclasses.replace(agent, message_class=GetMessageClass(descriptors["Lost"])), Comments({})
        )


# Comments.


def test_comments_lose_the_source_layout_but_keep_paragraphs():
    assert normalize(" Names the Agent\n   to run.\n\n Required.\n") == "Names the Agent to run.\n\nRequired."


def test_comments_of_messages_fields_and_enum_values_are_found(comments):
    assert (
        comments["jangar.v1.LocalObjectReference.name"]
        == "Name of the referenced resource (a DNS-1123 label)."
    )
    assert comments["jangar.v1.RunPhase.Pending"] == "Accepted and waiting to start."
    assert comments["jangar.v1.MemorySpec.Type.redis"] == "Redis."
    assert comments["jangar.v1.AgentRun"] == "One execution of an Agent."
    assert comments["jangar.v1.NoSuchThing"] == ""


# The files and their freshness.


def test_committed_deploy_is_what_generation_writes(rendered):
    assert manifests.stale(PROJECT_ROOT / "deploy", rendered) == []


def test_generation_is_deterministic(comments, rendered):
    assert manifests.render(registry(), comments) == rendered
    assert list(rendered) == sorted(rendered)


def test_stale_reports_a_changed_a_missing_and_an_extra_file(tmp_path, rendered):
    deploy = tmp_path / "deploy"
    shutil.copytree(PROJECT_ROOT / "deploy", deploy)
    changed, missing = "crds/agents.proompteng.ai_agentruns.yaml", "rbac/server.yaml"
    (deploy / changed).write_text((deploy / changed).read_text().replace("Pending", "Waiting"))
    (deploy / missing).unlink()
    (deploy / "crds/old.yaml").write_text("kind: CustomResourceDefinition\n")
    assert manifests.stale(deploy, rendered) == [
        f"{changed}: differs from what generation writes",
        f"{missing}: missing",
        "crds/old.yaml: not generated",
    ]
    manifests.write(deploy, rendered)
    assert manifests.stale(deploy, rendered) == []
    assert not (deploy / "crds/old.yaml").exists()


def test_check_mode_exits_non_zero_on_a_stale_folder(tmp_path: Path, comments, capsys, monkeypatch):
    deploy = tmp_path / "deploy"
    shutil.copytree(PROJECT_ROOT / "deploy", deploy)
    (deploy / "rbac/server.yaml").write_text("# edited by hand\n")
    monkeypatch.setattr(manifests.Comments, "from_descriptor_set", classmethod(lambda cls, path: comments))
    assert manifests.main(["check", "--descriptor-set", "unused.pb", "--deploy", str(deploy)]) == 1
    assert "rbac/server.yaml: differs" in capsys.readouterr().out
    assert manifests.main(["gen", "--descriptor-set", "unused.pb", "--deploy", str(deploy)]) == 0
    assert manifests.main(["check", "--descriptor-set", "unused.pb", "--deploy", str(deploy)]) == 0
