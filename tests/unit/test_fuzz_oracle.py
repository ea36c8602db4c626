"""The fuzz suite's oracle and request builders, without a server: a suite whose oracle let everything pass,
or whose raw requests decoded fine, would pass against any server."""

from __future__ import annotations

import json

import httpx
import pytest
from google.protobuf.message import DecodeError

from jangar.server.core.kinds import Verb, registry
from jangar.v1 import agent_pb2
from tests.fuzz import json_bodies, oracle, proto_values
from tests.fuzz.findings import Findings
from tests.fuzz.schema import STRUCT, Shape, slots

INFO = {"@type": oracle.ERROR_INFO, "reason": "INVALID_ARGUMENT", "domain": oracle.DOMAIN, "metadata": {}}


def _response(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body), headers={"content-type": "application/json"})


def test_a_documented_refusal_passes():
    oracle.check_rest(_response(400, {"code": 3, "message": "name: is required", "details": [INFO]}), "")


@pytest.mark.parametrize(
    ("response", "broken"),
    [
        (_response(500, {"code": 13, "message": "internal error", "details": [INFO]}), "HTTP_500_"),
        (_response(429, {"code": 8, "message": "too big", "details": []}), "HTTP_429_no_ErrorInfo"),
        (_response(400, {"code": 3, "message": "x"}), "HTTP_400_shape"),
        (httpx.Response(400, content=b"Unexpected token."), "HTTP_400_not_json"),
        (
            _response(400, {"code": 3, "message": "bad: <class 'ValueError'>", "details": [INFO]}),
            "HTTP_400_INVALID_ARGUMENT_leak",
        ),
    ],
)
def test_a_broken_promise_is_named_after_what_broke(response, broken):
    with pytest.raises(oracle.Broken) as caught:
        oracle.check_rest(response, "GET /v1/agents")
    assert type(caught.value).__name__.startswith(broken)


def test_a_message_may_quote_what_the_client_sent():
    body = {"code": 3, "message": "name 'KeyError' is not a DNS label", "details": [INFO]}
    oracle.check_rest(_response(400, body), 'POST /v1/agents {"name": "KeyError"}')


def test_findings_keep_every_kind_of_failure_with_its_smallest_request():
    findings = Findings()

    def fail(name: str, text: str) -> None:
        raise oracle.broken(name)(text)

    for name, text in [("A", "long request"), ("B", "b"), ("A", "short")]:
        findings.check(lambda name=name, text=text: fail(name, text))
    findings.check(lambda: None)
    assert {n: (f.count, f.smallest) for n, f in findings.by_class.items()} == {
        "A": (2, "short"),
        "B": (1, "b"),
    }
    with pytest.raises(AssertionError, match="2 kinds of failure in 4 requests"):
        findings.assert_none()


@pytest.mark.parametrize("kind", registry().kinds, ids=lambda kind: kind.name)
def test_invalid_utf8_lands_in_the_string_field_it_aims_at(kind):
    # Misplaced bytes would decode as unknown fields, and the raw gRPC tests would send nothing hostile.
    request = kind.methods[Verb.CREATE].request_class
    for slot in slots(request.DESCRIPTOR):
        if slot.type_name == "string" and slot.shape is Shape.SINGLE:
            payload = proto_values.at_slot(slot, proto_values.delimited(slot.field.number, b"\xff"))
            with pytest.raises(DecodeError, match="UTF-8"):
                request.FromString(payload)


def test_a_deep_struct_is_deeper_than_the_protobuf_runtime_accepts():
    struct = next(s for s in slots(agent_pb2.CreateAgentRequest.DESCRIPTOR) if s.type_name == STRUCT)
    payload = proto_values.at_slot(
        struct, proto_values.delimited(struct.field.number, proto_values.deep_struct(120))
    )
    with pytest.raises(DecodeError, match="MaxDepth"):
        agent_pb2.CreateAgentRequest.FromString(payload)


def test_every_slot_of_every_kind_takes_an_edit():
    # A slot whose JSON path cannot be written (a bug in the walk) would raise here.
    for kind in registry():
        for slot in slots(kind.descriptor):
            edited = json_bodies.apply({}, [json_bodies.Edit(slot.keys, "x")])
            assert isinstance(edited, dict), slot
