"""Hostile values for the request fields whose strings have a grammar of their own: label selectors, page
tokens, update mask paths, etags and resource ids. Each is a near miss of a valid value more often than
noise, since near misses are what reach the parsers' deeper branches."""

from __future__ import annotations

import base64
import json
import uuid

from google.protobuf.descriptor import Descriptor
from hypothesis import strategies as st

from tests.fuzz import values
from tests.fuzz.schema import slots

TEXT = values.hostile_text(surrogates=False)
# The request fields whose values this module knows the grammar of.
GRAMMARS = frozenset({"label_selector", "page_token", "update_mask", "etag"})
KEYS = st.one_of(
    st.sampled_from(["team", "app", "example.com/tier", "a" * 64, "-a", "a/b/c", "A_B", "k.io/"]), TEXT
)


def label_selectors() -> st.SearchStrategy[str]:
    """Near misses of Kubernetes selectors, and noise from their alphabet."""
    requirement = st.one_of(
        st.builds(
            lambda k, op, v: f"{k}{op}{v}",
            KEYS,
            st.sampled_from(["=", "==", "!=", ">", "<", "=!", "==="]),
            TEXT,
        ),
        st.builds(
            lambda k, op, vs: f"{k} {op} ({','.join(vs)})",
            KEYS,
            st.sampled_from(["in", "notin", "IN", "in in"]),
            st.lists(TEXT, max_size=4),
        ),
        st.builds(lambda k: f"!{k}", KEYS),
        KEYS,
    )
    return st.one_of(
        st.lists(requirement, min_size=1, max_size=4).map(",".join),
        st.text(alphabet="ab1=!,() inotn<>.-/\x00", max_size=40),
        st.builds(lambda n: ",".join(f"k{i}=v" for i in range(n)), st.integers(50, 600)),
        st.builds(lambda n: "a in (" + ",".join("v" for _ in range(n)) + ")", st.integers(50, 2000)),
        TEXT,
    )


# Marks a field that a forged token leaves out.
DROP = object()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def page_tokens(real: str) -> st.SearchStrategy[str]:
    """Edits of `real` (a token the API issued), tokens forged in its format, and noise."""
    try:
        fields = json.loads(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)))
    except ValueError:
        fields = {"t": "2024-01-01T00:00:00+00:00", "i": str(uuid.uuid4()), "q": "0" * 16}
    # Naive, at either end of the range (past it once in UTC), not a time at all.
    times = st.sampled_from(
        [
            "2024-01-01T00:00:00",
            "0001-01-01T00:00:00+00:00",
            "0001-01-01T00:00:00+14:00",
            "0001-01-01T09:00:00+10:00",
            "9999-12-31T23:59:59-14:00",
            "9999-12-31T20:00:00-05:00",
            "9999-12-31T23:59:59.999999+00:00",
            "yesterday",
            "",
            0,
        ]
    )
    ids = st.one_of(
        st.sampled_from(["", "x", str(uuid.UUID(int=0)), "00000000-0000-0000-0000-00000000000Z"]), TEXT
    )

    def forge(changes: dict[str, object]) -> str:
        token = {**fields, **changes}
        return _b64(json.dumps({k: v for k, v in token.items() if v is not DROP}).encode())

    # The real token with one field changed (or dropped): whatever else the server checks still passes.
    forged = st.one_of(
        st.one_of(times, times, TEXT).map(lambda t: forge({"t": t})),
        ids.map(lambda i: forge({"i": i})),
        st.one_of(TEXT, st.integers(), st.none()).map(lambda q: forge({"q": q})),
        st.sampled_from(["t", "i", "q"]).map(lambda key: forge({key: DROP})),
    )
    not_objects = st.sampled_from(["[]", "null", '"t"', "1", "{", "[1,2]", '{"t": []}']).map(
        lambda text: _b64(text.encode())
    )
    edited = st.one_of(
        st.integers(0, len(real)).map(lambda n: real[:n]),
        st.builds(lambda extra: real + extra, st.sampled_from(["=", "==", "A", "%00", "\x00", " ", "?"])),
        st.builds(
            lambda i, c: real[: i % (len(real) or 1)] + c + real[i % (len(real) or 1) + 1 :],
            st.integers(0, 999),
            st.sampled_from("A_-+/=!\x00"),
        ),
    )
    # Forged tokens get furthest into the server (past the decoding), so they come most often.
    return st.one_of(forged, forged, forged, not_objects, edited, st.binary(max_size=64).map(_b64), TEXT)


def mask_paths(descriptor: Descriptor) -> st.SearchStrategy[list[str]]:
    """Update mask paths: real ones in camel and snake case, the same with output-only or unknown parts,
    and noise."""
    real = sorted({".".join(str(k) for k in s.keys if isinstance(k, str)) for s in slots(descriptor)})
    snake = [p.replace("Ref", "_ref") for p in real]
    odd = [
        "",
        "*",
        ".",
        "spec.",
        ".spec",
        "spec..x",
        "spec.*",
        "labels.x",
        "labels['a']",
        "spec.config.a.b",
        "SPEC",
    ]
    path = st.one_of(
        st.sampled_from(real + snake + odd),
        st.builds(
            lambda p, extra: p + extra,
            st.sampled_from(real),
            st.sampled_from([".x", "\x00", " ", ".0", "[0]"]),
        ),
        TEXT,
    )
    return st.lists(path, min_size=1, max_size=5)


def etags(real: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(
            [real, f'"{real}"', f'W/"{real}"', f"{real}0", "*", '""', '"', "W/", f'"{real}", "x"']
        ),
        TEXT,
    )


def ids(real_id: str, real_name: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(
            [
                real_id,
                real_name,
                real_id.upper(),
                "{" + real_id + "}",
                real_id.replace("-", ""),
                str(uuid.UUID(int=0)),
            ]
        ),
        TEXT,
    )
