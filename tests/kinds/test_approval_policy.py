"""ApprovalPolicy: its sample for the conformance suite and the rules of its spec, over gRPC and REST."""

from __future__ import annotations

import grpc
import pytest

from jangar.server.core.kinds import registry
from jangar.v1 import approval_policy_pb2
from tests.support import unique
from tests.transports import TRANSPORTS, client_for, new_key, refused

KIND = "ApprovalPolicy"

Policy = approval_policy_pb2.ApprovalPolicy
Spec = approval_policy_pb2.ApprovalPolicySpec


def sample(namespace: str, **labels: str) -> Policy:
    return Policy(
        name=unique("approvals"),
        namespace=namespace,
        labels=labels,
        spec=Spec(
            mode=Spec.manual,
            default_decision=Spec.deny,
            subjects=[{"kind": "Agent", "name": "release-bot"}, {"kind": "Tool", "name": "deployer"}],
            approvers=["alice@example.com", "bob@example.com"],
            quorum=2,
            expiry_seconds=3600,
        ),
    )


def changed_spec() -> tuple[str, Spec]:
    return "spec.quorum", Spec(quorum=1)


@pytest.fixture(params=TRANSPORTS)
def client(request: pytest.FixtureRequest):
    return client_for(registry()[KIND], request.param, request)


def _with(**fields) -> Policy:
    policy = sample(unique("ns"))
    policy.spec.MergeFrom(Spec(**{k: v for k, v in fields.items() if k != "clear"}))
    for name in fields.get("clear", ()):
        policy.spec.ClearField(name)
    return policy


@pytest.mark.parametrize(
    ("policy", "fields"),
    [
        (_with(clear=["mode"]), ["spec.mode"]),
        (_with(clear=["subjects"]), ["spec.subjects"]),
        (_with(clear=["approvers"]), ["spec.approvers"]),  # manual needs approvers
        (_with(quorum=3), ["spec.quorum"]),  # more than the two approvers
        (_with(quorum=-1), ["spec.quorum"]),
        (_with(expiry_seconds=-5), ["spec.expirySeconds"]),
        (_with(approvers=["carol smith"]), ["spec.approvers[2]"]),
        (_with(approvers=["alice@example.com"]), ["spec.approvers[2]"]),  # a duplicate
        (_with(subjects=[{"kind": "Memory", "name": "notes"}]), ["spec.subjects[2].kind"]),
        (_with(subjects=[{"kind": "Agent", "name": "Not_A_Name"}]), ["spec.subjects[2].name"]),
        (
            _with(subjects=[{"kind": "Agent", "name": "other", "namespace": "elsewhere"}]),
            ["spec.subjects[2].namespace"],
        ),
        (_with(subjects=[{"kind": "Agent", "name": "release-bot"}]), ["spec.subjects[2]"]),
        (_with(subjects=[{"name": "no-kind"}]), ["spec.subjects[2].kind"]),
    ],
)
async def test_each_rule_names_its_field_and_nothing_is_written(client, db, policy, fields):
    error = await refused(
        client.create(policy, key=new_key()), grpc.StatusCode.INVALID_ARGUMENT, 400, "INVALID_ARGUMENT"
    )
    assert error.violations == fields
    assert await db.fetchval("SELECT count(*) FROM approval_policies WHERE name = $1", policy.name) == 0


async def test_an_auto_policy_needs_no_approvers_and_a_quorum_defaults_to_one(client):
    policy = _with(mode=Spec.auto, default_decision=Spec.approve, clear=["approvers", "quorum"])
    created = (await client.create(policy, key=new_key())).resource
    assert created.spec.mode == Spec.auto and created.spec.default_decision == Spec.approve
    assert [c.type for c in created.status.conditions] == ["Accepted"]
