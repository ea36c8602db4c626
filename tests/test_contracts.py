"""The contracts: buf lint (STANDARD + COMMENTS) passes offline, and gen/ and deploy/ are exactly what
`make gen` makes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import PROJECT_ROOT

BIN = Path(sys.executable).parent


def test_buf_lint_passes():
    result = subprocess.run(
        [str(BIN / "buf"), "lint"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_code_is_fresh():
    result = subprocess.run(
        ["bash", "tests/tools/gen.sh", "check"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_descriptor_set_carries_the_error_detail_types():
    from google.protobuf import descriptor_pb2

    descriptors = descriptor_pb2.FileDescriptorSet.FromString(
        (PROJECT_ROOT / "gen/jangar/v1/descriptor.pb").read_bytes()
    )
    files = {f.name for f in descriptors.file}
    assert {"google/rpc/status.proto", "google/rpc/error_details.proto", "jangar/v1/agent.proto"} <= files
