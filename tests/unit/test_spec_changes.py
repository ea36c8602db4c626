"""The structured diff of two specs behind `revisions:diff`."""

from __future__ import annotations

from google.protobuf import json_format

from jangar.server.domain.revisions import spec_changes


def _changes(old, new):
    return [
        (
            c.path,
            json_format.MessageToDict(c.old_value) if c.HasField("old_value") else "<absent>",
            json_format.MessageToDict(c.new_value) if c.HasField("new_value") else "<absent>",
        )
        for c in spec_changes(old, new)
    ]


def test_equal_specs_have_no_changes():
    spec = {"binary": "codex", "argsTemplate": ["exec", "-q"], "envTemplate": {"A": "1"}}
    assert _changes(spec, dict(spec)) == []


def test_objects_are_compared_key_by_key_in_sorted_order():
    old = {"binary": "codex", "workload": {"image": "a:1", "serviceAccountName": "x"}, "gone": True}
    new = {"binary": "claude", "workload": {"image": "a:2", "serviceAccountName": "x"}, "added": 2}
    assert _changes(old, new) == [
        ("spec.added", "<absent>", 2),
        ("spec.binary", "codex", "claude"),
        ("spec.gone", True, "<absent>"),
        ("spec.workload.image", "a:1", "a:2"),
    ]


def test_lists_are_compared_index_by_index_and_a_longer_list_adds_entries():
    assert _changes({"args": ["exec", "-v"]}, {"args": ["exec", "-q", "--json"]}) == [
        ("spec.args[1]", "-v", "-q"),
        ("spec.args[2]", "<absent>", "--json"),
    ]
    assert _changes({"env": [{"name": "A", "value": "1"}]}, {"env": []}) == [
        ("spec.env[0]", {"name": "A", "value": "1"}, "<absent>")
    ]


def test_keys_that_are_not_identifiers_are_quoted():
    old = {"labels": {"app.kubernetes.io/name": "a", 'say "hi"': "x"}}
    new = {"labels": {"app.kubernetes.io/name": "b", 'say "hi"': "y"}}
    assert [path for path, _, _ in _changes(old, new)] == [
        'spec.labels["app.kubernetes.io/name"]',
        'spec.labels["say \\"hi\\""]',
    ]


def test_values_compare_as_json_does():
    # One JSON number whatever Python type it decoded to; a boolean is never a number.
    assert _changes({"x": 1, "y": True, "z": "1"}, {"x": 1.0, "y": 1, "z": 1}) == [
        ("spec.y", True, 1),
        ("spec.z", "1", 1),
    ]
