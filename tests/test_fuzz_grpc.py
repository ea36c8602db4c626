"""Hostile gRPC requests to every POST, PATCH and list method, built from the request descriptors, and raw
bytes that do not decode: none gets INTERNAL, UNKNOWN, DATA_LOSS, UNIMPLEMENTED or UNAVAILABLE, and every
refusal carries an ErrorInfo in grpc-status-details-bin, without internals (tests/fuzz/oracle.py).
README ("Tests") has the knobs: `JANGAR_FUZZ_EXAMPLES`, `JANGAR_FUZZ_SHRINK`."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import grpc_requests, oracle
from tests.fuzz import targets as fuzz_targets
from tests.fuzz.endpoints import Endpoint, endpoint_id, endpoints
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


# A sync channel: Hypothesis drives each example as a plain call (see tests/test_fuzz_rest.py).
@pytest.fixture(scope="module")
def sync_channel(server: ServerProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as channel:
        yield channel


def _fuzz(
    channel: grpc.Channel,
    endpoint: Endpoint,
    strategy: st.SearchStrategy[grpc_requests.GrpcRequest],
    log: oracle.ServerLog,
) -> None:
    # No serializers: the request goes out as the bytes given, the response comes back as bytes.
    rpc: Callable[..., bytes] = channel.unary_unary(f"/{endpoint.full_name}")
    findings = Findings()

    @FUZZ
    @given(data=st.data())
    def send(data: st.DataObject) -> None:
        request = data.draw(strategy, label="request")
        metadata = fuzz_targets.fresh_keys(request.metadata)
        failure: grpc.RpcError | None = None
        try:
            rpc(fuzz_targets.fresh_names(request.payload), metadata=metadata or None, timeout=60)
        except grpc.RpcError as error:
            failure = error
        findings.check(lambda: oracle.check_grpc(failure, f"{request!r}", log))

    send()
    findings.assert_none()


@pytest.mark.parametrize("endpoint", endpoints(), ids=endpoint_id)
def test_hostile_grpc_requests_are_refused_with_error_info(endpoint, targets, sync_channel, server_log):
    _fuzz(sync_channel, endpoint, grpc_requests.requests(targets[endpoint.full_name]), server_log)


@pytest.mark.parametrize("endpoint", endpoints(), ids=endpoint_id)
def test_undecodable_grpc_requests_are_refused_with_error_info(endpoint, targets, sync_channel, server_log):
    _fuzz(sync_channel, endpoint, grpc_requests.raw_requests(targets[endpoint.full_name]), server_log)
