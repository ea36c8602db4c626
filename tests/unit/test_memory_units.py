"""Pure pieces of the memory work: the reading of a CNPG Cluster's readiness."""

from __future__ import annotations

import pytest

from jangar.server.domain.cnpg import readiness


@pytest.mark.parametrize(
    ("status", "deleted", "expected"),
    [
        (
            {"phase": "Cluster in healthy state", "conditions": [{"type": "Ready", "status": "True"}]},
            False,
            (True, "ClusterReady", "Cluster in healthy state"),
        ),
        (
            {
                "phase": "Failing over",
                "conditions": [{"type": "Ready", "status": "False", "message": "primary lost"}],
            },
            False,
            (False, "ClusterNotReady", "primary lost"),
        ),
        ({"phase": "Setting up primary"}, False, (False, "ClusterNotReady", "Setting up primary")),
        ({}, False, (False, "ClusterNotReady", "the CNPG Cluster reports no Ready condition yet")),
        (
            {"conditions": "garbage"},
            False,
            (False, "ClusterNotReady", "the CNPG Cluster reports no Ready condition yet"),
        ),
        (
            {"conditions": [{"type": "Ready", "status": "True"}]},
            True,
            (False, "ClusterDeleted", "the CNPG Cluster was deleted"),
        ),
    ],
)
def test_cluster_readiness(status, deleted, expected):
    assert readiness({"status": status}, deleted) == expected
