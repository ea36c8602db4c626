"""The property-based fuzz suite (tests/test_fuzz_rest.py, tests/test_fuzz_grpc.py): hostile requests built
from the protobuf descriptors of every kind, and the one property every answer keeps (oracle.py)."""
