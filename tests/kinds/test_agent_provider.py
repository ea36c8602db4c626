"""AgentProvider: its sample for the conformance suite, the rules of each spec field, the JSON of every spec
field over REST, and that only references to Secrets are ever stored, never a value."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import Descriptor

from jangar.v1 import agent_provider_pb2, agent_provider_pb2_grpc
from tests.builders import key
from tests.support import reason_of, unique, violated_fields

KIND = "AgentProvider"

Provider = agent_provider_pb2.AgentProvider
Spec = agent_provider_pb2.AgentProviderSpec
SecretEnv = agent_provider_pb2.ProviderSecretEnv
InputFile = agent_provider_pb2.ProviderInputFile
Artifact = agent_provider_pb2.ProviderOutputArtifact


def sample(namespace: str, **labels: str) -> Provider:
    """A provider with every spec field set: two of each list, so rules across items apply."""
    return Provider(
        name=unique("provider"),
        namespace=namespace,
        labels=labels,
        spec=Spec(
            binary="/usr/local/bin/codex",
            args_template=["exec", "--model", "{{agent.config.model}}", "{{run.goal.objective}}"],
            env_template={"CODEX_HOME": "/workspace/.codex", "RUN_ID": "{{run.id}}"},
            secret_env=[
                SecretEnv(name="OPENAI_API_KEY", secret_name="openai", key="api-key"),
                SecretEnv(name="GH_TOKEN", secret_name="github-token", key="token", optional=True),
            ],
            input_files=[
                InputFile(path="prompt.md", content="{{run.goal.objective}}"),
                InputFile(path=".codex/config.toml", content='model = "gpt-5"\n'),
            ],
            output_artifacts=[
                Artifact(name="patch", path="out/changes.patch"),
                Artifact(name="transcript", path="out/transcript.jsonl"),
            ],
            workload={
                "image": "ghcr.io/proompteng/codex:1",
                "resources": {"limits": {"cpu": "2", "memory": "4Gi"}, "requests": {"cpu": "500m"}},
                "service_account_name": "codex-runner",
            },
        ),
    )


def changed_spec() -> tuple[str, Spec]:
    return "spec.workload.image", Spec(workload={"image": "ghcr.io/proompteng/codex:2"})


@pytest.fixture(scope="module")
def providers(channel) -> agent_provider_pb2_grpc.AgentProviderServiceStub:
    return agent_provider_pb2_grpc.AgentProviderServiceStub(channel)


async def _create(providers, resource: Provider) -> Provider:
    return await providers.CreateAgentProvider(
        agent_provider_pb2.CreateAgentProviderRequest(agent_provider=resource), metadata=key()
    )


# The rules of each spec field. Each case breaks one field of the sample and names the one path reported.

Mutate = Callable[[Spec], Any]


def _set(name: str, value: Any) -> Mutate:
    return lambda spec: setattr(spec, name, value)


def _item(field: str, index: int, **values: Any) -> Mutate:
    def mutate(spec: Spec) -> None:
        item = getattr(spec, field)[index]
        for name, value in values.items():
            setattr(item, name, value)

    return mutate


def _env_key(name: str) -> Mutate:
    return lambda spec: spec.env_template.__setitem__(name, "x")


def _quantity(part: str, resource: str, value: str) -> Mutate:
    return lambda spec: getattr(spec.workload.resources, part).__setitem__(resource, value)


CASES = {
    # binary
    "binary missing": (_set("binary", ""), "spec.binary"),
    "binary with arguments": (_set("binary", "codex exec"), "spec.binary"),
    "binary with a tab": (_set("binary", "codex\t"), "spec.binary"),
    "binary only white space": (_set("binary", "   "), "spec.binary"),
    "binary too long": (_set("binary", "/" + "b" * 1024), "spec.binary"),
    # argsTemplate
    "too many args": (lambda s: s.args_template.extend(["a"] * 61), "spec.argsTemplate"),
    "arg too long": (lambda s: s.args_template.__setitem__(1, "a" * (64 * 1024 + 1)), "spec.argsTemplate[1]"),
    # envTemplate keys
    "env key starts with a digit": (_env_key("1ABC"), "spec.envTemplate['1ABC']"),
    "env key with a space": (_env_key("MY VAR"), "spec.envTemplate['MY VAR']"),
    "env key with '='": (_env_key("A=B"), "spec.envTemplate['A=B']"),
    "env key empty": (_env_key(""), "spec.envTemplate['']"),
    "env key '..'": (_env_key(".."), "spec.envTemplate['..']"),
    # secretEnv
    "secret env name missing": (_item("secret_env", 0, name=""), "spec.secretEnv[0].name"),
    "secret env name starts with a digit": (_item("secret_env", 1, name="1TOKEN"), "spec.secretEnv[1].name"),
    "secret env name with a space": (_item("secret_env", 0, name="API KEY"), "spec.secretEnv[0].name"),
    "secret name missing": (_item("secret_env", 0, secret_name=""), "spec.secretEnv[0].secretName"),
    "secret name not DNS": (_item("secret_env", 0, secret_name="Open_AI"), "spec.secretEnv[0].secretName"),
    "secret name too long": (_item("secret_env", 1, secret_name="s" * 254), "spec.secretEnv[1].secretName"),
    "secret key missing": (_item("secret_env", 0, key=""), "spec.secretEnv[0].key"),
    "secret key with '/'": (_item("secret_env", 0, key="api/key"), "spec.secretEnv[0].key"),
    "secret key with a space": (_item("secret_env", 1, key="the token"), "spec.secretEnv[1].key"),
    "secret key too long": (_item("secret_env", 0, key="k" * 254), "spec.secretEnv[0].key"),
    "secret env names repeat": (_item("secret_env", 1, name="OPENAI_API_KEY"), "spec.secretEnv.name[1]"),
    "secret env name is an envTemplate key": (
        _item("secret_env", 1, name="RUN_ID"),
        "spec.secretEnv[1].name",
    ),
    # inputFiles
    "input path missing": (_item("input_files", 0, path=""), "spec.inputFiles[0].path"),
    "input path absolute": (_item("input_files", 0, path="/etc/passwd"), "spec.inputFiles[0].path"),
    "input path climbs out": (_item("input_files", 1, path="../outside"), "spec.inputFiles[1].path"),
    "input path with '..' inside": (_item("input_files", 0, path="a/../../b"), "spec.inputFiles[0].path"),
    "input path with '//'": (_item("input_files", 0, path="a//b"), "spec.inputFiles[0].path"),
    "input path with './'": (_item("input_files", 0, path="./prompt.md"), "spec.inputFiles[0].path"),
    "input path with a trailing '/'": (_item("input_files", 1, path="dir/"), "spec.inputFiles[1].path"),
    "input path is the working directory": (_item("input_files", 0, path="."), "spec.inputFiles[0].path"),
    "input path too long": (_item("input_files", 0, path="p" * 1025), "spec.inputFiles[0].path"),
    "input paths repeat": (_item("input_files", 1, path="prompt.md"), "spec.inputFiles.path[1]"),
    "input content too big": (
        _item("input_files", 0, content="c" * (64 * 1024 + 1)),
        "spec.inputFiles[0].content",
    ),
    # outputArtifacts
    "artifact name missing": (_item("output_artifacts", 0, name=""), "spec.outputArtifacts[0].name"),
    "artifact name not a DNS label": (
        _item("output_artifacts", 0, name="Patch_1"),
        "spec.outputArtifacts[0].name",
    ),
    "artifact name with a dot": (_item("output_artifacts", 1, name="a.b"), "spec.outputArtifacts[1].name"),
    "artifact name too long": (_item("output_artifacts", 0, name="a" * 64), "spec.outputArtifacts[0].name"),
    "artifact names repeat": (_item("output_artifacts", 1, name="patch"), "spec.outputArtifacts.name[1]"),
    "artifact path missing": (_item("output_artifacts", 0, path=""), "spec.outputArtifacts[0].path"),
    "artifact path absolute": (_item("output_artifacts", 0, path="/tmp/x"), "spec.outputArtifacts[0].path"),
    "artifact path climbs out": (
        _item("output_artifacts", 1, path="out/../../x"),
        "spec.outputArtifacts[1].path",
    ),
    "artifact path not normalized": (
        _item("output_artifacts", 0, path="out/./x"),
        "spec.outputArtifacts[0].path",
    ),
    # workload
    "cpu limit not a quantity": (_quantity("limits", "cpu", "lots"), "spec.workload.resources.limits['cpu']"),
    "memory request negative": (
        _quantity("requests", "memory", "-1Gi"),
        "spec.workload.resources.requests['memory']",
    ),
    "memory limit with a bad suffix": (
        _quantity("limits", "memory", "4GB"),
        "spec.workload.resources.limits['memory']",
    ),
    "resource name not DNS": (
        _quantity("limits", "Big_GPU", "1"),
        "spec.workload.resources.limits['Big_GPU']",
    ),
    "image with a space": (lambda s: setattr(s.workload, "image", "codex 1"), "spec.workload.image"),
    "service account not DNS": (
        lambda s: setattr(s.workload, "service_account_name", "Runner"),
        "spec.workload.serviceAccountName",
    ),
}


@pytest.mark.parametrize(("mutate", "field"), CASES.values(), ids=CASES.keys())
async def test_field_validation(providers, mutate, field):
    resource = sample("default")
    mutate(resource.spec)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await _create(providers, resource)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(error.value) == "INVALID_ARGUMENT"
    assert set(violated_fields(error.value)) == {field}


async def test_values_at_the_edge_of_the_rules_are_accepted(providers):
    resource = Provider(
        name=unique("provider"),
        spec=Spec(
            binary="codex",  # looked up on PATH
            env_template={"_X": "", "x1": "{{run.id}}"},
            secret_env=[SecretEnv(name="X_1", secret_name="tls.certs", key="tls.crt", optional=True)],
            input_files=[InputFile(path=".hidden/dir/f"), InputFile(path="a..b")],
            output_artifacts=[Artifact(name="a", path="x" * 1024)],
            workload={
                "resources": {"limits": {"cpu": "0", "nvidia.com/gpu": "1"}, "requests": {"memory": "1.5Gi"}}
            },
        ),
    )
    created = await _create(providers, resource)
    assert created.spec == resource.spec


async def test_every_problem_is_reported_at_once(providers):
    resource = Provider(
        name=unique("provider"),
        spec=Spec(
            binary="",
            secret_env=[SecretEnv(name="A B", secret_name="", key="k")],
            input_files=[InputFile(path="/abs")],
            output_artifacts=[Artifact(name="X", path="")],
        ),
    )
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await _create(providers, resource)
    assert set(violated_fields(error.value)) == {
        "spec.binary",
        "spec.secretEnv[0].name",
        "spec.secretEnv[0].secretName",
        "spec.inputFiles[0].path",
        "spec.outputArtifacts[0].name",
        "spec.outputArtifacts[0].path",
    }


async def test_update_that_breaks_a_rule_is_refused_and_changes_nothing(providers):
    created = await _create(providers, sample("default"))
    patch = Provider(spec=Spec(secret_env=[SecretEnv(name="CODEX_HOME", secret_name="s", key="k")]))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await providers.UpdateAgentProvider(
            agent_provider_pb2.UpdateAgentProviderRequest(
                id=created.id, agent_provider=patch, update_mask={"paths": ["spec.secret_env"]}
            )
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error.value) == ["spec.secretEnv[0].name"]  # clashes with envTemplate
    current = await providers.GetAgentProvider(agent_provider_pb2.GetAgentProviderRequest(id=created.id))
    assert current == created


# Every spec field over REST, with the JSON names of the .proto.

DEFAULTS = ("", 0, False, [], {}, None)

SPEC_JSON = {
    "binary": "/opt/codex/bin/codex",
    "argsTemplate": ["exec", "--full-auto", "{{run.goal.objective}}"],
    "envTemplate": {"CODEX_HOME": "/workspace/.codex", "RUN_NAME": "{{run.name}}"},
    "secretEnv": [
        {"name": "OPENAI_API_KEY", "secretName": "openai", "key": "api-key", "optional": True},
        {"name": "GH_TOKEN", "secretName": "github-token", "key": "token"},
    ],
    "inputFiles": [
        {"path": "prompt.md", "content": "{{run.goal.objective}}"},
        {"path": ".codex/config.toml"},
    ],
    "outputArtifacts": [{"name": "patch", "path": "out/changes.patch"}],
    "workload": {
        "image": "ghcr.io/proompteng/codex:1",
        "resources": {"limits": {"cpu": "2", "memory": "4Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}},
        "serviceAccountName": "codex-runner",
    },
}


def _unset_fields(descriptor: Descriptor, documents: list[dict], prefix: str = "") -> Iterator[str]:
    """The JSON paths of the fields of `descriptor`, at any depth, that none of `documents` sets to a value
    other than the default (the items of a list count together)."""
    for field in descriptor.fields:
        path = f"{prefix}{field.json_name}"
        values = [d[field.json_name] for d in documents if d.get(field.json_name) not in DEFAULTS]
        if not values:
            yield path
            continue
        message = field.message_type
        plain = message is not None and not message.GetOptions().map_entry
        if plain and not message.full_name.startswith("google.protobuf."):
            items = [item for value in values for item in (value if isinstance(value, list) else [value])]
            yield from _unset_fields(message, items, f"{path}.")


def _without_defaults(value: Any) -> Any:
    """REST prints default values of primitive fields; drop them to compare with what was sent."""
    if isinstance(value, dict):
        pruned = {k: _without_defaults(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in DEFAULTS}
    if isinstance(value, list):
        return [_without_defaults(v) for v in value]
    return value


def test_the_round_trip_document_sets_every_spec_field():
    assert list(_unset_fields(Spec.DESCRIPTOR, [SPEC_JSON])) == []


async def test_every_spec_field_round_trips_over_rest(http, db):
    namespace = unique("ns")
    body = {"name": unique("provider"), "namespace": namespace, "spec": SPEC_JSON}
    created = await http.post(
        "/v1/agent-providers", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert created.status_code == 200, created.text
    provider = created.json()
    assert _without_defaults(provider["spec"]) == SPEC_JSON
    # Every primitive field is printed, defaults included, so a client sees one shape.
    assert provider["spec"]["secretEnv"][1]["optional"] is False
    assert provider["spec"]["inputFiles"][1]["content"] == ""

    assert (await http.get(f"/v1/agent-providers/{provider['id']}")).json() == provider
    by_name = await http.get(f"/v1/agent-providers/{body['name']}", params={"namespace": namespace})
    assert by_name.json() == provider
    listed = await http.get("/v1/agent-providers", params={"namespace": namespace})
    assert listed.json()["agentProviders"] == [provider]
    # The stored spec is the AgentProvider custom resource's spec.
    stored = await db.fetchval("SELECT spec FROM agent_providers WHERE id = $1", uuid.UUID(provider["id"]))
    assert json.loads(stored) == SPEC_JSON

    replaced = {**SPEC_JSON, "argsTemplate": ["exec"], "secretEnv": SPEC_JSON["secretEnv"][1:]}
    patched = await http.patch(
        f"/v1/agent-providers/{provider['id']}",
        params={"updateMask": "spec.argsTemplate,spec.secretEnv"},
        json={"spec": replaced},
    )
    assert patched.status_code == 200, patched.text
    assert _without_defaults(patched.json()["spec"]) == replaced
    assert patched.json()["generation"] == "2"


# Secrets: only references. Neither transport has a field for a value, so a value can only arrive as an
# unknown field: an extra JSON key (Envoy drops it) or an unknown protobuf field (the server must drop it).


def _with_unknown_field(env: SecretEnv, secret: str) -> SecretEnv:
    """`env` carrying `secret` in field number 15, which ProviderSecretEnv does not have."""
    value = secret.encode()
    assert len(value) < 128
    smuggled = SecretEnv()
    smuggled.MergeFromString(env.SerializeToString() + bytes([15 << 3 | 2, len(value)]) + value)
    assert secret.encode() in smuggled.SerializeToString()
    return smuggled


async def _tables_holding(db, secret: str) -> list[str]:
    """Every table of the database with a row that holds `secret` in any column, text, JSON or bytes."""
    found = []
    tables = await db.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_type = 'BASE TABLE'"
    )
    for table in (t["table_name"] for t in tables):
        columns = await db.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = $1 AND data_type = 'bytea'",
            table,
        )
        terms = ["strpos(t::text, $1) > 0"]
        terms += [f"position(convert_to($1, 'UTF8') in t.\"{c['column_name']}\") > 0" for c in columns]
        if await db.fetchval(f'SELECT count(*) FROM "{table}" t WHERE {" OR ".join(terms)}', secret):
            found.append(table)
    return found


async def test_no_secret_value_is_stored_anywhere(http, providers, db, server, envoy):
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    namespace = unique("ns")

    # REST: a value next to the reference.
    body = {
        "name": unique("provider"),
        "namespace": namespace,
        "spec": {
            "binary": "codex",
            "secretEnv": [
                {"name": "OPENAI_API_KEY", "secretName": "openai", "key": "api-key", "value": secret},
                {"name": "GH_TOKEN", "secretName": "gh", "key": "token", "valueFrom": {"literal": secret}},
            ],
        },
    }
    created = await http.post(
        "/v1/agent-providers", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert created.status_code == 200, created.text
    assert secret not in created.text

    # gRPC: the value in an unknown field, on create and on update.
    metadata = key()
    env = _with_unknown_field(SecretEnv(name="OPENAI_API_KEY", secret_name="openai", key="api-key"), secret)
    resource = Provider(
        name=unique("provider"), namespace=namespace, spec=Spec(binary="codex", secret_env=[env])
    )
    call = providers.CreateAgentProvider(
        agent_provider_pb2.CreateAgentProviderRequest(agent_provider=resource), metadata=metadata
    )
    reply = await call
    assert secret.encode() not in reply.SerializeToString()
    replay = await providers.CreateAgentProvider(
        agent_provider_pb2.CreateAgentProviderRequest(agent_provider=resource), metadata=metadata
    )
    assert replay == reply
    updated = await providers.UpdateAgentProvider(
        agent_provider_pb2.UpdateAgentProviderRequest(
            id=reply.id,
            agent_provider=Provider(
                spec=Spec(secret_env=[env, SecretEnv(name="B", secret_name="b", key="b")])
            ),
            update_mask={"paths": ["spec.secret_env"]},
        )
    )
    assert secret.encode() not in updated.SerializeToString()

    # What is stored is the reference alone.
    rows = await db.fetch(
        "SELECT spec FROM agent_providers WHERE namespace = $1 ORDER BY created_at", namespace
    )
    assert [json.loads(r["spec"])["secretEnv"][0] for r in rows] == [
        {"name": "OPENAI_API_KEY", "secretName": "openai", "key": "api-key"}
    ] * 2
    assert await _tables_holding(db, secret) == []
    for log in (server.log_path, envoy.envoy.log_path):
        assert secret not in log.read_text(errors="replace")
