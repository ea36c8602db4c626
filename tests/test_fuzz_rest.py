"""Hostile REST requests through Envoy, to every POST, PATCH and list endpoint: none gets a 5xx, and every
refusal is `{"code", "message", "details": [ErrorInfo, ...]}` without internals (tests/fuzz/oracle.py).
README ("Tests") has the knobs: `JANGAR_FUZZ_EXAMPLES`, `JANGAR_FUZZ_SHRINK`."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import oracle, rest_requests
from tests.fuzz import targets as fuzz_targets
from tests.fuzz.endpoints import endpoint_id, endpoints
from tests.fuzz.findings import Findings
from tests.fuzz.profile import FUZZ
from tests.support import ServerProcess

# Hypothesis warns when it describes a strategy with a long repr; ours are long by construction (they hold
# the valid request they mutate), and the description is only used in its own failure reports.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")


@pytest.fixture(scope="module")
async def targets(channel) -> dict[str, fuzz_targets.Target]:
    return await fuzz_targets.build(channel)


@pytest.fixture(scope="module")
def server_log(server: ServerProcess) -> oracle.ServerLog:
    return oracle.ServerLog(server.log_path)


# Sync tests with a sync client: Hypothesis drives each example as a plain call, and findings are collected
# across the examples of one test.
@pytest.mark.parametrize("endpoint", endpoints(), ids=endpoint_id)
def test_hostile_rest_requests_are_refused_in_the_documented_shape(endpoint, targets, envoy, server_log):
    target = targets[endpoint.full_name]
    findings = Findings()
    with httpx.Client(base_url=envoy.base_url, timeout=90) as client:

        @FUZZ
        @given(data=st.data())
        def send(data: st.DataObject) -> None:
            request = data.draw(rest_requests.requests(target), label="request")
            headers = [(name, value.encode()) for name, value in fuzz_targets.fresh_keys(request.headers)]
            content = fuzz_targets.fresh_names(request.content) if request.content is not None else None
            response = client.request(request.method, request.url, content=content, headers=headers)
            findings.check(lambda: oracle.check_rest(response, f"{request!r}", server_log))

        send()
    findings.assert_none()
