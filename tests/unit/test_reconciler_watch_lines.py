"""A watch event's object bytes are sliced out of the line as the API server wrote it."""

from __future__ import annotations

import json

import pytest

from jangar.reconciler.watcher import _object_bytes

OBJECT = {"kind": "Job", "metadata": {"name": "a}b", "uid": "u"}, "status": {"x": [1, {"y": "}"}]}}


@pytest.mark.parametrize(
    "line",
    [
        json.dumps({"type": "MODIFIED", "object": OBJECT}, separators=(",", ":")).encode(),
        json.dumps({"type": "MODIFIED", "object": OBJECT}).encode(),
        (" " + json.dumps({"type": "MODIFIED", "object": OBJECT}, indent=None) + "  \r").encode(),
        # Not the shape API servers write: encoded again instead.
        json.dumps({"object": OBJECT, "type": "MODIFIED"}).encode(),
    ],
)
def test_the_object_bytes_are_the_object(line):
    event = json.loads(line)
    assert json.loads(_object_bytes(event, line)) == OBJECT
