"""Page tokens: what the server issues comes back as the same cursor, and anything else a client sends (an
edited, truncated, foreign or oversized token, or a signed one with a cursor no row can have) is a 400 on
`pageToken`, never another exception."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from jangar.server.core.errors import Code, DomainError, FieldViolation
from jangar.server.core.pages import DEFAULT_PAGE_SIZE, MAX_TOKEN_CHARS, Cursor, Page, PageTokens, query_hash

KEY = b"k" * 32
QUERY = query_hash("Agent", "ns", "team=a")
NOT_ISSUED = FieldViolation("pageToken", "is not a page token issued by this API")
CURSOR = Cursor(datetime(2026, 12, 1, 10, 20, 30, 123456, tzinfo=UTC), uuid.UUID(int=7))


def issued(tokens: PageTokens | None = None, cursor: Cursor = CURSOR) -> str:
    return (tokens or PageTokens(KEY)).next_page_token(Page(10, None, QUERY), cursor)


def b64decode(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def signed(payload: bytes, key: bytes = KEY) -> str:
    """A token as the server would sign it, written out independently of the codec: a 16-byte truncated
    HMAC-SHA256 of the payload, then the payload, in unpadded URL-safe base64."""
    return b64encode(hmac.new(key, payload, hashlib.sha256).digest()[:16] + payload)


def signed_cursor(**fields: Any) -> str:
    data = {"t": CURSOR.create_time.isoformat(), "i": str(CURSOR.id), "q": QUERY, **fields}
    return signed(json.dumps({k: v for k, v in data.items() if v is not ...}).encode())


def refused(token: str, tokens: PageTokens | None = None) -> FieldViolation:
    with pytest.raises(DomainError) as caught:
        (tokens or PageTokens(KEY)).page_request(10, token, QUERY)
    error = caught.value
    assert (error.code, error.reason) == (Code.INVALID_ARGUMENT, "INVALID_ARGUMENT")
    (violation,) = error.field_violations
    return violation


def test_an_issued_token_comes_back_as_its_cursor():
    page = PageTokens(KEY).page_request(10, issued(), QUERY)
    assert page == Page(10, CURSOR, QUERY)


def test_any_process_with_the_same_key_reads_the_token():
    page = PageTokens(bytes(KEY)).page_request(0, issued(PageTokens(KEY)), QUERY)
    assert page == Page(DEFAULT_PAGE_SIZE, CURSOR, QUERY)


def test_a_cursor_in_another_offset_comes_back_in_utc():
    plus_two = timezone(timedelta(hours=2))
    local = Cursor(CURSOR.create_time.astimezone(plus_two), CURSOR.id)
    after = PageTokens(KEY).page_request(10, issued(cursor=local), QUERY).after
    assert after == CURSOR
    assert after is not None and after.create_time.utcoffset() == timedelta(0)


def test_no_token_is_the_first_page_and_the_last_page_has_no_token():
    tokens = PageTokens(KEY)
    assert tokens.page_request(0, "", QUERY) == Page(DEFAULT_PAGE_SIZE, None, QUERY)
    assert tokens.next_page_token(Page(10, None, QUERY), None) == ""


def test_issued_tokens_are_url_safe_and_short():
    token = issued()
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(token) < MAX_TOKEN_CHARS // 2


def test_a_token_of_another_query_names_the_filters():
    with pytest.raises(DomainError) as caught:
        PageTokens(KEY).page_request(10, issued(), query_hash("Agent", "ns", "team=b"))
    assert caught.value.field_violations == [
        FieldViolation("pageToken", "belongs to a different query: keep every filter as it was")
    ]


def test_a_token_signed_with_another_key_is_refused():
    assert refused(issued(PageTokens(b"x" * 32))) == NOT_ISSUED


def test_an_edited_cursor_under_the_old_tag_is_refused():
    raw = b64decode(issued())
    tag, payload = raw[:16], json.loads(raw[16:])
    payload["i"] = str(uuid.UUID(int=8))
    assert refused(b64encode(tag + json.dumps(payload, separators=(",", ":")).encode())) == NOT_ISSUED


def test_every_single_byte_change_is_refused():
    raw = b64decode(issued())
    for index in range(len(raw)):
        edited = raw[:index] + bytes([raw[index] ^ 0x01]) + raw[index + 1 :]
        assert refused(b64encode(edited)) == NOT_ISSUED, f"byte {index}"


def test_a_truncated_token_is_refused():
    token = issued()
    for length in (1, 2, 5, 21, 22, 23, len(token) // 2, len(token) - 1):
        assert refused(token[:length]) == NOT_ISSUED, f"first {length} characters"


def test_the_old_unsigned_tokens_are_refused():
    """What this API issued before tokens were signed: the cursor JSON alone."""
    data = {"t": CURSOR.create_time.isoformat(), "i": str(CURSOR.id), "q": QUERY}
    assert refused(b64encode(json.dumps(data).encode())) == NOT_ISSUED


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "a+b/c",
        "abc=",
        "a b",
        "é" * 8,
        "\x00" * 8,
        "A",
        "A" * (MAX_TOKEN_CHARS + 1),
        "A" * 100_000,
    ],
)
def test_text_that_is_no_token_is_refused(token):
    assert refused(token) == NOT_ISSUED


def test_a_huge_token_is_refused_even_when_signed():
    assert refused(signed_cursor(q="q" * 1000)) == NOT_ISSUED


@pytest.mark.parametrize(
    "fields",
    [
        # Times that are not Postgres- or Python-representable once in UTC, or have no offset.
        {"t": "0001-01-01T00:00:00+14:00"},
        {"t": "9999-12-31T23:59:59-14:00"},
        {"t": "2026-12-01T10:20:30"},
        {"t": "2026-12-01"},
        {"t": "yesterday"},
        {"t": ""},
        {"t": 0},
        {"t": 1.5},
        {"t": None},
        {"t": ["2026-12-01T10:20:30+00:00"]},
        {"t": ...},
        # Ids that are no UUID string.
        {"i": 7},
        {"i": "7"},
        {"i": "not-a-uuid"},
        {"i": None},
        {"i": {"int": 7}},
        {"i": ...},
        # A query hash that is no string.
        {"q": 5},
        {"q": None},
        {"q": [QUERY]},
        {"q": ...},
    ],
    ids=repr,
)
def test_a_signed_cursor_no_row_can_have_is_refused(fields):
    assert refused(signed_cursor(**fields)) == NOT_ISSUED


@pytest.mark.parametrize(
    "payload", [b"[]", b'"t"', b"1", b"null", b"true", b"{", b"not json", b"\xff\xfe", b'{"t": 1e999}']
)
def test_a_signed_payload_that_is_no_cursor_object_is_refused(payload):
    assert refused(signed(payload)) == NOT_ISSUED


def test_a_short_key_is_refused_and_the_key_is_never_shown():
    with pytest.raises(ValueError, match="at least 32 bytes"):
        PageTokens(b"short")
    assert "k" * 8 not in repr(PageTokens(KEY))


@pytest.mark.parametrize(("size", "ok"), [(0, True), (500, True), (501, False), (-1, False)])
def test_page_size_bounds(size, ok):
    if ok:
        assert PageTokens(KEY).page_request(size, "", QUERY).size == (size or DEFAULT_PAGE_SIZE)
    else:
        with pytest.raises(DomainError) as caught:
            PageTokens(KEY).page_request(size, "", QUERY)
        assert [v.field for v in caught.value.field_violations] == ["pageSize"]
