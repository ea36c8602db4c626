"""docs/api.md lists every REST route that the contracts declare, so the reference cannot fall behind a new
kind or method."""

from __future__ import annotations

import pytest
from google.api import annotations_pb2

from jangar.server.core.kinds import registry
from tests.support import PROJECT_ROOT

VERBS = ("get", "post", "patch", "put", "delete")


def _routes() -> list[str]:
    routes = []
    for service in registry().services:
        for method in service.methods:
            rule = method.GetOptions().Extensions[annotations_pb2.http]
            verb = next((v for v in VERBS if getattr(rule, v)), None)
            if verb is None:  # gRPC only (ReconcilerService's stream): no REST route to document
                continue
            routes.append(f"{verb.upper()} {getattr(rule, verb)}")
    return routes


@pytest.mark.parametrize("route", _routes())
def test_api_reference_lists_the_route(route):
    assert f"`{route}`" in (PROJECT_ROOT / "docs" / "api.md").read_text()
