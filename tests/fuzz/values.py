"""Hostile scalar values, shared by both transports: strings with NUL, control characters, invalid
surrogates, markup and path tricks, very long strings under the body limit; numbers out of every range."""

from __future__ import annotations

from functools import cache

from hypothesis import strategies as st

# C0 controls, DEL, and the Unicode characters that most often break parsers, logs and terminals.
CONTROL = [chr(c) for c in range(0x20)] + ["\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "\u200b", "\u202e"]
# Lone surrogates cannot be encoded as UTF-8: in JSON they travel as `\ud800` escapes.
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
TRICKY = [
    "\x00",
    "a\x00b",
    "",
    " ",
    "null",
    "true",
    "0",
    "-1",
    "1e309",
    "NaN",
    "%00",
    "%",
    "\\",
    '"',
    "'",
    "../../etc/passwd",
    "' OR 1=1 --",
    "${jndi:ldap://x/a}",
    "{{run.id}}",
    "<script>alert(1)</script>",
    "a" * 63,
    "a" * 64,
    "A-Z",
    "*",
    ".",
    "-",
    "\U0001f600",
    "é",
    # Full-width letters, which NFKC folds to ASCII.
    "\uff46\uff55\uff4c\uff4c",
    "\u0130",
]
# Characters for very long strings, with their worst UTF-8 and JSON-escaped sizes in mind: MAX_LONG of them
# stay well under the 1 MiB body limit of both transports even when every character is escaped.
LONG_CHARS = ["x", " ", "\x00", "é", "\U0001f600", "\n"]
MAX_LONG = 60_000
# One string nearly as long as the 1 MiB body limit (ASCII, so its JSON and protobuf sizes are its length).
NEAR_LIMIT = (900_000, 1_000_000)


@cache
def long_strings() -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda char, n: char * n, st.sampled_from(LONG_CHARS), st.integers(256, MAX_LONG)),
        st.integers(*NEAR_LIMIT).map(lambda n: "x" * n),
    )


@cache
def hostile_text(*, surrogates: bool) -> st.SearchStrategy[str]:
    """Strings a client may send. With `surrogates`, also lone surrogates (possible in JSON text only: the
    protobuf runtime refuses to serialize them)."""
    specials = CONTROL + (SURROGATES if surrogates else [])
    spliced = st.builds(
        lambda head, special, tail: head + special + tail,
        st.text(max_size=12),
        st.sampled_from(specials),
        st.text(max_size=12),
    )
    return st.one_of(
        st.sampled_from(TRICKY),
        spliced,
        st.text(alphabet=st.sampled_from(specials), min_size=1, max_size=8),
        st.text(max_size=40),
        long_strings(),
    )


@cache
def extreme_ints() -> st.SearchStrategy[int]:
    bounds = [0, 1, -1, 2**31 - 1, -(2**31), 2**31, 2**32, 2**63 - 1, -(2**63), 2**63, 2**64, 10**30]
    return st.one_of(st.sampled_from(bounds), st.integers(min_value=-(2**70), max_value=2**70))


@cache
def int_in(bits: int, *, signed: bool) -> st.SearchStrategy[int]:
    """Any value of a protobuf integer type, extremes first."""
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    return st.one_of(st.sampled_from([low, high, 0, -1 if signed else 1]), st.integers(low, high))


def http_header_value(value: str) -> str:
    """`value` as an HTTP client can send it: no controls but tab, no white space at the ends, under 4 KiB
    (beyond that Envoy refuses the headers, which is not what is being tested)."""
    kept = "".join(c for c in value if c == "\t" or (c >= " " and c != "\x7f"))
    return kept[:4000].strip(" \t")


def grpc_metadata_value(value: str) -> str:
    """`value` as gRPC metadata (an ASCII metadata value: printable characters only)."""
    return "".join(c for c in value if " " <= c <= "~")[:4000].strip(" ")
