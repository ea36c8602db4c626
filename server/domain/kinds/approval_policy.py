"""ApprovalPolicy: who decides a request for approval, how many of them, and what happens on expiry. The
gate itself (requests, approve and deny) comes with the policy work; this is the resource and its rules."""

from __future__ import annotations

from jangar.server.domain import policy_subjects
from jangar.server.domain.kinds import KindRules
from jangar.server.domain.validation import MAX_LIST_ITEMS, Violations
from jangar.v1 import approval_policy_pb2

KIND = "ApprovalPolicy"

Spec = approval_policy_pb2.ApprovalPolicySpec
# A principal is whatever the authentication layer names a caller: bounded, printable, no white space.
MAX_PRINCIPAL_CHARS = 253


def validate_resource(policy: approval_policy_pb2.ApprovalPolicy, v: Violations) -> None:
    spec = policy.spec
    policy_subjects.validate(v, "spec.subjects", spec.subjects, policy.namespace)
    if v.list_size("spec.approvers", spec.approvers, MAX_LIST_ITEMS):
        for index, approver in enumerate(spec.approvers):
            if (
                not approver
                or len(approver) > MAX_PRINCIPAL_CHARS
                or not approver.isprintable()
                or any(c.isspace() for c in approver)
            ):
                v.add(
                    f"spec.approvers[{index}]",
                    f"must be a principal name: 1 to {MAX_PRINCIPAL_CHARS} printable characters, no spaces",
                )
        v.unique("spec.approvers", list(spec.approvers))
    if spec.mode == Spec.manual and not spec.approvers:
        v.add("spec.approvers", "is required when mode is manual")
    if spec.quorum < 0:
        v.add("spec.quorum", "must be at least 1 (0 means 1)")
    elif spec.mode == Spec.manual and spec.approvers and spec.quorum > len(spec.approvers):
        v.add("spec.quorum", f"must be at most the number of approvers ({len(spec.approvers)})")
    v.seconds("spec.expirySeconds", spec.expiry_seconds)


RULES = KindRules(validate_resource=validate_resource)
