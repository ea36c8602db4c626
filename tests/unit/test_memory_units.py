"""Pure pieces of the memory work: reciprocal rank fusion and the reading of a CNPG Cluster's readiness."""

from __future__ import annotations

import pytest

from jangar.server.domain.cnpg import readiness
from jangar.server.domain.memory_records import RRF_K, fuse
from jangar.server.repository.memory_store import Ranked


def _hit(record_id: str) -> Ranked:
    return Ranked(id=record_id, kind="document", key="", text="", truncated=False, metadata={}, score=0.0)


def test_fusion_adds_reciprocal_ranks_and_keeps_each_rank():
    lexical = [_hit("a"), _hit("b"), _hit("c")]
    vector = [_hit("b"), _hit("d"), _hit("a")]
    fused = fuse(lexical, vector)
    by_id = {hit.id: (score, lex, vec) for hit, score, lex, vec in fused}
    assert by_id["b"] == (pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1)), 2, 1)
    assert by_id["a"] == (pytest.approx(1 / (RRF_K + 1) + 1 / (RRF_K + 3)), 1, 3)
    assert by_id["d"] == (pytest.approx(1 / (RRF_K + 2)), 0, 2)
    # b (1/62 + 1/61) leads a (1/61 + 1/63); c (1/63) and d (1/62): d first.
    assert [hit.id for hit, *_ in fused] == ["b", "a", "d", "c"]
    # Equal scores are ordered by id, so the answer is stable.
    assert [hit.id for hit, *_ in fuse([_hit("y")], [_hit("x")])] == ["x", "y"]


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
