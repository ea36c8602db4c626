"""The Jangar control-plane server."""

import os

# The server forks (the local runtime's processes, the launcher's children) while gRPC threads run. gRPC's
# fork handlers then log "Other threads are currently calling into gRPC, skipping fork() handlers" and can
# abort the child; nothing of gRPC is used after a fork here, so they are off. Set before grpc is imported.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
