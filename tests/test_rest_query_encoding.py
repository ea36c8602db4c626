"""Query strings through Envoy: `+` is a space, as HTML forms and most HTTP clients encode it."""

from __future__ import annotations

import uuid

from tests import builders
from tests.support import unique


async def _create_agent(http, namespace: str, name: str, **labels: str) -> None:
    body = {
        "name": name,
        "namespace": namespace,
        "labels": labels,
        "spec": {"providerRef": {"name": "codex"}},
    }
    response = await http.post("/v1/agents", json=body, headers={"Idempotency-Key": f"rest-{uuid.uuid4()}"})
    assert response.status_code == 200, response.text


async def _names(http, query: str) -> set[str]:
    # The query is written out by hand: an HTTP client would choose the encoding of the space itself.
    response = await http.get(f"/v1/agents?{query}")
    assert response.status_code == 200, response.text
    return {agent["name"] for agent in response.json()["agents"]}


async def test_plus_in_a_set_based_selector_reads_as_a_space(http, channel):
    namespace = unique("ns")
    await builders.ensure_provider(channel, namespace, "codex")
    for name, app in (("agent-a", "a"), ("agent-b", "b"), ("agent-c", "c")):
        await _create_agent(http, namespace, name, app=app)

    with_plus = await _names(http, f"namespace={namespace}&labelSelector=app+in+(a,b)")
    with_percent = await _names(http, f"namespace={namespace}&labelSelector=app%20in%20(a,b)")

    assert with_plus == with_percent == {"agent-a", "agent-b"}
