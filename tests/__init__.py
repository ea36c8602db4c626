"""Jangar's tests."""

import os

# As in jangar.server: the tests fork children (servers, Envoy, Postgres) while gRPC threads run, and gRPC's
# fork handlers could abort them. The tests import grpc before jangar.server, so this is set here too.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
