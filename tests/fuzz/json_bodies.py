"""REST request bodies: a valid JSON document (a kind's sample) with a few slots set to plausible or hostile
values, some removed, unknown fields added; then written as JSON text in one of several ways, some of which
are not JSON at all (truncated, invalid UTF-8, a bare array)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from google.protobuf.descriptor import Descriptor
from hypothesis import strategies as st

from tests.fuzz import json_values, values
from tests.fuzz.schema import WELL_KNOWN, Shape, Slot, slots, weighted


@dataclass(frozen=True)
class Edit:
    """Set `keys` to `value`, or delete it when `delete`."""

    keys: tuple[str | int, ...]
    value: Any = None
    delete: bool = False

    def __repr__(self) -> str:
        path = ".".join(str(k) for k in self.keys)
        if self.delete:
            return f"del {path}"
        shown = repr(self.value)
        return f"{path} = {shown[:200]}{'...' if len(shown) > 200 else ''} ({len(shown)} chars)"


def _set(doc: Any, edit: Edit) -> Any:
    """`doc` with the edit applied; containers on the way are created, or replaced when of the wrong type."""
    if not edit.keys:
        return edit.value
    key, rest = edit.keys[0], edit.keys[1:]
    if isinstance(key, int):
        items = doc if isinstance(doc, list) else []
        if not items:
            items.append({})
        if not rest and edit.delete:
            return []
        items[0] = _set(items[0], Edit(rest, edit.value, edit.delete))
        return items
    obj = doc if isinstance(doc, dict) else {}
    if not rest and edit.delete:
        obj.pop(key, None)
    else:
        obj[key] = _set(obj.get(key), Edit(rest, edit.value, edit.delete))
    return obj


def apply(doc: dict[str, Any], edits: list[Edit]) -> Any:
    result: Any = copy.deepcopy(doc)
    for edit in edits:
        result = _set(result, edit)
    return result


def _has_fields(slot: Slot) -> bool:
    message = slot.field.message_type
    return message is not None and message.full_name not in WELL_KNOWN and not message.GetOptions().map_entry


@cache
def _slot_edits(slot: Slot, prefix: tuple[str, ...]) -> st.SearchStrategy[Edit]:
    keys = (*prefix, *slot.keys)
    return st.one_of(
        json_values.hostile(slot).map(lambda v: Edit(keys, v)),
        json_values.hostile(slot).map(lambda v: Edit(keys, v)),
        json_values.valid(slot).map(lambda v: Edit(keys, v)),
        st.just(Edit(keys, delete=True)),
    )


@cache
def edits_for(descriptor: Descriptor, *, prefix: tuple[str, ...] = ()) -> st.SearchStrategy[Edit]:
    """One edit of a slot of `descriptor`; `prefix` is the JSON path of the message inside the body."""
    every = slots(descriptor)
    unknown = st.builds(
        lambda where, name, value: Edit((*prefix, *where, name), value),
        # Into objects with fields (not maps or Structs, where any key is a valid one).
        st.sampled_from([(), *[s.keys for s in every if s.shape is Shape.SINGLE and _has_fields(s)]]),
        st.sampled_from(["bogusField", "Name", "NAME", "@type", "", "spec.name", "__proto__"]),
        json_values.json_documents(),
    )
    return st.one_of(
        st.sampled_from(weighted(every)).flatmap(lambda slot: _slot_edits(slot, prefix)), unknown
    )


def documents(descriptor: Descriptor, base: dict[str, Any], *, prefix: tuple[str, ...] = ()) -> Any:
    """`base` with one to four edits, often just one (a request with one thing wrong gets furthest)."""
    edits = edits_for(descriptor, prefix=prefix)
    return st.one_of(st.lists(edits, min_size=1, max_size=1), st.lists(edits, min_size=1, max_size=4)).map(
        lambda edits: Document(apply(base, edits), edits)
    )


@dataclass(frozen=True)
class Document:
    value: Any
    edits: list[Edit]


# How a document becomes the bytes of a body.
ENCODINGS = ["ascii", "ascii", "ascii", "utf8", "truncated", "garbage", "invalid-utf8", "bom", "not-object"]


def encode(doc: Any, encoding: str, cut: int) -> bytes:
    """`cut` picks a position in the text for the encodings that break it."""
    try:
        text = json.dumps(doc)
    except (ValueError, RecursionError):
        text = json.dumps(str(doc))
    at = cut % (len(text) + 1)
    match encoding:
        case "utf8":
            # Raw UTF-8; a lone surrogate becomes the (invalid) UTF-8 of its code point.
            return json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
        case "truncated":
            return text[:at].encode()
        case "garbage":
            return text.encode() + b"}garbage\x00"
        case "invalid-utf8":
            return text[:at].encode() + b"\xff\xfe\xc3" + text[at:].encode()
        case "bom":
            return b"\xef\xbb\xbf" + text.encode()
        case "not-object":
            return json.dumps([doc] if cut % 3 == 0 else "text" if cut % 3 == 1 else None).encode()
        case _:
            return text.encode()


def bodies(descriptor: Descriptor, base: dict[str, Any], *, prefix: tuple[str, ...] = ()) -> Any:
    """(bytes, a description of how they were made) for a body based on `base`."""
    return st.builds(
        lambda document, encoding, cut: Body(encode(document.value, encoding, cut), document.edits, encoding),
        documents(descriptor, base, prefix=prefix),
        st.sampled_from(ENCODINGS),
        st.integers(min_value=0, max_value=10**6),
    )


@dataclass(frozen=True)
class Body:
    content: bytes
    edits: list[Edit]
    encoding: str

    def __repr__(self) -> str:
        return f"Body({self.encoding}, {len(self.content)} bytes, edits={self.edits})"


# Stands for a new valid key, made when the request is sent (targets.fresh_keys).
FRESH = "<fresh idempotency key>"


def idempotency_keys(clean: Callable[[str], str]) -> st.SearchStrategy[tuple[str, ...]]:
    """The Idempotency-Key headers of a POST: mostly one fresh key, so that the body is what gets tested;
    else none, a hostile one, or two. `clean` makes a value sendable by the transport's client."""
    hostile = values.hostile_text(surrogates=False).map(clean)
    return st.one_of(
        st.just((FRESH,)),
        st.just((FRESH,)),
        st.just((FRESH,)),
        st.just(()),
        st.tuples(hostile),
        st.tuples(st.just(FRESH), st.just(FRESH)),
        st.tuples(st.just(FRESH), hostile),
    )
