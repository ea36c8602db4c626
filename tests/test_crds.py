"""deploy/crds/: one valid CustomResourceDefinition per kind of the registry, whose schema accepts the proto3
JSON of every sample resource (and of a message with every field set) and refuses what the server would.

Offline: `kubernetes-validate` checks each CRD against the apiextensions.k8s.io/v1 schema of Kubernetes 1.32,
and `jsonschema` checks custom resources against the generated openAPIV3Schema, as the API server would. The
API server also enforces the rules of structural schemas, which kubernetes-validate does not know;
`_structural_problems` checks the ones this generator could break.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from jangar.server.core.kinds import Kind, registry
from jangar.server.devstack.crds import VERSION
from jangar.v1 import agent_run_pb2, memory_pb2
from tests.support import PROJECT_ROOT, unique
from tests.test_conformance import sample

CRDS = PROJECT_ROOT / "deploy" / "crds"
KINDS = registry().kinds


def kind_name(kind: Kind) -> str:
    return kind.name


def crd_of(kind: Kind) -> dict[str, Any]:
    plural = kind.plural.replace("_", "")
    return yaml.safe_load((CRDS / f"{kind.crd_group}_{plural}.yaml").read_text())


def schema_of(kind: Kind) -> dict[str, Any]:
    return crd_of(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema refusing unknown fields wherever it lists the known ones, as the API server does for
    `kubectl apply` (field validation `Strict`, kubectl's default) and as its pruning would otherwise drop
    them silently."""
    schema = copy.deepcopy(schema)

    def visit(node: dict[str, Any]) -> None:
        if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        for child in node.get("properties", {}).values():
            visit(child)
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                visit(node[key])

    visit(schema)
    return schema


def custom_resource(kind: Kind, resource: Message) -> dict[str, Any]:
    """The custom resource of a Jangar resource: envelope as metadata, spec and status as proto3 JSON."""
    cr: dict[str, Any] = {
        "apiVersion": f"{kind.crd_group}/{VERSION}",
        "kind": kind.name,
        "metadata": {"name": resource.name or unique("cr"), "namespace": resource.namespace or "default"},
        "spec": json_format.MessageToDict(resource.spec),
    }
    if resource.labels:
        cr["metadata"]["labels"] = dict(resource.labels)
    if resource.HasField("status"):
        cr["status"] = json_format.MessageToDict(resource.status)
    return cr


def sample_cr(kind: Kind) -> dict[str, Any]:
    namespace = unique("ns")
    parent = sample(registry()[kind.parent.kind], namespace) if kind.parent else None
    return custom_resource(kind, sample(kind, namespace, parent, team="search"))


def errors(kind: Kind, cr: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(strict(schema_of(kind)))
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(cr)]


def _nodes(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from _nodes(child, f"{path}.{name}")
    for key, suffix in (("items", "[]"), ("additionalProperties", "{}")):
        if isinstance(node.get(key), dict):
            yield from _nodes(node[key], f"{path}{suffix}")


def _structural_problems(schema: dict[str, Any]) -> list[str]:
    int_or_string = [{"type": "integer"}, {"type": "string"}]
    problems = []
    for path, node in _nodes(schema):
        special = node.get("x-kubernetes-int-or-string") or node.get("x-kubernetes-preserve-unknown-fields")
        if "type" not in node and not special:
            problems.append(f"{path}: no type")
        if "anyOf" in node and node["anyOf"] != int_or_string:
            problems.append(f"{path}: anyOf other than the int-or-string pattern")
        if node.get("x-kubernetes-int-or-string") and "type" in node:
            problems.append(f"{path}: int-or-string with a type")
        if "properties" in node and "additionalProperties" in node:
            problems.append(f"{path}: both properties and additionalProperties")
        problems += [
            f"{path}: {key}" for key in ("$ref", "oneOf", "allOf", "not", "definitions") if key in node
        ]
    return problems


# The CRDs themselves.


def test_one_crd_file_per_kind_and_nothing_else():
    expected = {f"{k.crd_group}_{k.plural.replace('_', '')}.yaml" for k in KINDS}
    assert {p.name for p in CRDS.iterdir()} == expected


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
def test_crd_is_valid_for_kubernetes_1_32(kind):
    kubernetes_validate.validate(crd_of(kind), "1.32", strict=True)


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
def test_crd_names_the_kind_namespaced_in_v1alpha1_with_status(kind):
    crd = crd_of(kind)
    plural = kind.plural.replace("_", "")
    assert crd["metadata"]["name"] == f"{plural}.{kind.crd_group}"
    assert crd["spec"]["group"] == kind.crd_group
    assert crd["spec"]["scope"] == "Namespaced"
    names = crd["spec"]["names"]
    assert (names["kind"], names["listKind"], names["plural"]) == (kind.name, f"{kind.name}List", plural)
    assert names["singular"] == kind.singular.replace("_", "")
    [version] = crd["spec"]["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
def test_kubectl_get_shows_phase_and_age(kind):
    columns = {c["name"]: c for c in crd_of(kind)["spec"]["versions"][0]["additionalPrinterColumns"]}
    assert columns["Age"] == {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
    if kind.is_run:
        assert columns["Phase"]["jsonPath"] == ".status.phase"
        assert columns["Reason"]["jsonPath"] == ".status.reason"
        assert columns[kind.parent.kind]["jsonPath"].startswith(".spec.")
    schema = schema_of(kind)
    for column in columns.values():
        node: dict[str, Any] | None = {"properties": {**schema["properties"], "metadata": {}}}
        for part in column["jsonPath"].strip(".").split("."):
            node = (node or {}).get("properties", {}).get(part)
        assert node is not None or column["name"] == "Age", f"{column['jsonPath']} is not in the schema"


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
def test_schema_is_structural(kind):
    assert _structural_problems(schema_of(kind)) == []


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
def test_resource_has_spec_and_status_only(kind):
    schema = schema_of(kind)
    assert set(schema["properties"]) == {"apiVersion", "kind", "metadata", "spec", "status"}
    assert schema["required"] == ["spec"]


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
def test_every_field_is_described_from_its_proto_comment(kind):
    # Fields, that is: the items of a list of strings have nothing to say beyond the list's description.
    fields = [(p, n) for p, n in _nodes(schema_of(kind)) if p.count(".") > 1 and not p.endswith(("[]", "{}"))]
    undescribed = [path for path, node in fields if not node.get("description")]
    assert undescribed == []


def test_descriptions_are_the_proto_comments():
    spec = schema_of(registry()["AgentRun"])["properties"]["spec"]
    assert spec["properties"]["agentRef"]["description"] == (
        "The Agent to run, in the run's namespace. Required; the Agent must exist."
    )
    phase = schema_of(registry()["AgentRun"])["properties"]["status"]["properties"]["phase"]
    assert "* `Cancelled`: Stopped on request before it finished. Terminal." in phase["description"]


def test_enums_are_their_value_names_without_the_zero_value():
    status = schema_of(registry()["AgentRun"])["properties"]["status"]["properties"]
    assert status["phase"]["enum"] == ["Pending", "Running", "Succeeded", "Failed", "Cancelled"]
    spec = schema_of(registry()["Memory"])["properties"]["spec"]
    assert spec["properties"]["capabilities"]["items"]["enum"] == ["vector", "kv", "blob"]
    assert "type" in spec["required"]


def test_json_names_are_the_proto3_json_names():
    steps = schema_of(registry()["Orchestration"])["properties"]["spec"]["properties"]["steps"]
    assert "with" in steps["items"]["properties"]
    assert "withParams" not in steps["items"]["properties"]


# Custom resources against the schemas.


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
def test_sample_resource_is_a_valid_custom_resource(kind):
    assert errors(kind, sample_cr(kind)) == []


def _fill(message: Message) -> Message:
    """Sets every field of `message`, at any depth: one entry per list and map, the last enum value."""
    name = message.DESCRIPTOR.full_name
    if name == "google.protobuf.Struct":
        message.update({"model": "gpt-5", "nested": {"list": [1, "two", None]}})
        return message
    if name == "google.protobuf.Timestamp":
        message.FromJsonString("2026-01-02T03:04:05.123456789Z")
        return message
    assert not name.startswith("google.protobuf."), f"no test value for {name}"
    for field in message.DESCRIPTOR.fields:
        target = field.message_type
        if target is not None and target.GetOptions().map_entry:
            value = target.fields_by_name["value"]
            entries = getattr(message, field.name)
            if value.message_type is not None:
                _fill(entries["key"])
            else:
                entries["key"] = _scalar(value)
        elif field.is_repeated:
            items = getattr(message, field.name)
            if target is not None:
                _fill(items.add())
            else:
                items.append(_scalar(field))
        elif target is not None:
            _fill(getattr(message, field.name))
        else:
            setattr(message, field.name, _scalar(field))
    return message


def _scalar(field: FieldDescriptor) -> Any:
    if field.enum_type is not None:
        return field.enum_type.values[-1].number
    return {
        FieldDescriptor.CPPTYPE_STRING: b"bytes" if field.type == FieldDescriptor.TYPE_BYTES else "text",
        FieldDescriptor.CPPTYPE_BOOL: True,
        FieldDescriptor.CPPTYPE_DOUBLE: 1.5,
        FieldDescriptor.CPPTYPE_FLOAT: 1.5,
        FieldDescriptor.CPPTYPE_INT32: 7,
        FieldDescriptor.CPPTYPE_UINT32: 7,
        FieldDescriptor.CPPTYPE_INT64: 2**40,
        FieldDescriptor.CPPTYPE_UINT64: 2**40,
    }[field.cpp_type]


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
def test_resource_with_every_field_set_is_a_valid_custom_resource(kind):
    resource = kind.message_class(name=unique("full"), namespace="default")
    _fill(resource.spec)
    _fill(resource.status)
    cr = custom_resource(kind, resource)
    assert errors(kind, cr) == []
    # And nothing is lost on the way back: the CR's spec and status parse into the same messages.
    assert json_format.ParseDict(cr["spec"], type(resource.spec)()) == resource.spec
    assert json_format.ParseDict(cr["status"], type(resource.status)()) == resource.status


def _agent_run_cr() -> dict[str, Any]:
    return sample_cr(registry()["AgentRun"])


DELETE = object()


def _with(cr: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`cr` with the value at a dotted path replaced, or removed when `value` is DELETE."""
    cr = copy.deepcopy(cr)
    *parents, last = path.split(".")
    node = cr
    for part in parents:
        node = node.setdefault(part, {})
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return cr


@pytest.mark.parametrize(
    ("path", "value", "complaint"),
    [
        ("spec.goal.tokenBudget", "lots", "is not of type 'integer'"),
        ("spec.goal.tokenBudget", 2**31, "is greater than the maximum"),
        ("spec.agentRef", DELETE, "'agentRef' is a required property"),
        ("spec.agentRef.name", "", "should be non-empty"),
        ("spec.secrets", "github-token", "is not of type 'array'"),
        ("spec.parameters", {"repo": 1}, "is not of type 'string'"),
        ("spec.goal.objectve", "typo", "Additional properties are not allowed"),
        ("spec", DELETE, "'spec' is a required property"),
        ("status.phase", "RUN_PHASE_UNSPECIFIED", "is not one of"),
        ("status.phase", "Done", "is not one of"),
        ("status.startTime", 1700000000, "is not of type 'string'"),
        ("status.observedGeneration", "three", "does not match"),
        ("status.observedGeneration", 1.5, "is not valid under any of the given schemas"),
        ("status.conditions", {"type": "Ready"}, "is not of type 'array'"),
    ],
)
def test_an_invalid_agent_run_is_refused(path, value, complaint):
    found = errors(registry()["AgentRun"], _with(_agent_run_cr(), path, value))
    assert any(complaint in error for error in found), found


@pytest.mark.parametrize("generation", [3, "3", "-1"])
def test_int64_fields_take_a_number_or_its_proto3_json_string(generation):
    cr = _with(_agent_run_cr(), "status.observedGeneration", generation)
    assert errors(registry()["AgentRun"], cr) == []
    status = json_format.ParseDict(cr["status"], agent_run_pb2.AgentRunStatus())
    assert status.observed_generation == int(generation)


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
def test_every_required_spec_field_is_required_by_the_schema(kind):
    cr = sample_cr(kind)
    required = schema_of(kind)["properties"]["spec"].get("required", [])
    for name in required:
        found = errors(kind, _with(cr, f"spec.{name}", DELETE))
        assert f"spec: '{name}' is a required property" in found


def test_memory_type_is_one_of_the_store_words():
    memory = registry()["Memory"]
    cr = sample_cr(memory)
    assert errors(memory, _with(cr, "spec.type", "mysql"))
    assert errors(memory, _with(cr, "spec.type", "TYPE_UNSPECIFIED"))
    assert errors(memory, _with(cr, "spec.type", memory_pb2.MemorySpec.redis)), "numbers are not names"
    assert errors(memory, _with(cr, "spec.type", "redis")) == []


# docs/kubernetes.md.

DOCS = PROJECT_ROOT / "docs" / "kubernetes.md"


@pytest.mark.parametrize("kind", KINDS, ids=kind_name)
def test_docs_list_the_crd(kind):
    plural = kind.plural.replace("_", "")
    assert f"`deploy/crds/{kind.crd_group}_{plural}.yaml`" in DOCS.read_text()


def test_the_example_in_the_docs_is_a_valid_agent_run():
    text = DOCS.read_text()
    example = yaml.safe_load(text.split("```yaml\n", 1)[1].split("```", 1)[0])
    assert example["kind"] == "AgentRun"
    assert errors(registry()["AgentRun"], example) == []
    json_format.ParseDict(example["spec"], agent_run_pb2.AgentRunSpec())
