"""Keyset pagination: lists are ordered newest first with the id as tie-breaker, and a page token carries
the last row's (create time, id) plus a hash of the query it belongs to, so a token is never replayed against
another query and no offset is ever scanned.

A token is `base64url(tag || payload)`: the payload is the cursor as JSON and the tag an HMAC-SHA256 of it
under the server's key, so a client can pass back only cursors the server issued. The cursor is checked
again after the tag (defence in depth): a token is client input, and a wrong one is a 400, never a 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from jangar.server.core.errors import DomainError, FieldViolation, invalid_argument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# A shorter key would weaken the tag below its 128 bits.
MIN_KEY_BYTES = 32
# A truncated HMAC-SHA256 (RFC 2104 section 5 allows it); 128 bits is far beyond what a client can guess.
_TAG_BYTES = 16
# Issued tokens are about 170 characters; anything much longer is not one, and is refused before decoding.
MAX_TOKEN_CHARS = 512
_URLSAFE_BASE64 = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Cursor:
    """The position after which the next page starts."""

    create_time: datetime
    id: uuid.UUID


@dataclass(frozen=True)
class Page:
    """A validated page request."""

    size: int
    after: Cursor | None
    query_hash: str


@dataclass(frozen=True)
class NumberedPage:
    """A validated page request of a list ordered by a number, highest first; `after` is the last number
    of the previous page."""

    size: int
    after: int | None
    query_hash: str


def query_hash(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


class PageTokens:
    """Issues and reads the page tokens of every list, signed with one key. Every server process that shares
    the key accepts the tokens of the others; a token signed with another key is refused."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"a page token key needs at least {MIN_KEY_BYTES} bytes")
        self._key = key

    def __repr__(self) -> str:
        return "PageTokens(key=<hidden>)"

    def page_request(self, page_size: int, page_token: str, query: str) -> Page:
        """Validates `page_size` and decodes `page_token` for the query `query` (a query_hash) identifies."""
        size = _page_size(page_size)
        if not page_token:
            return Page(size, None, query)
        data = self._payload(page_token, query)
        time, row_id = data.get("t"), data.get("i")
        if not (isinstance(time, str) and isinstance(row_id, str)):
            raise _not_issued()
        try:
            return Page(size, Cursor(_utc_time(time), uuid.UUID(row_id)), query)
        except (ValueError, OverflowError):
            raise _not_issued() from None

    def next_page_token(self, page: Page, last: Cursor | None) -> str:
        """The token of the page after `last`; empty when `last` is None (the last page)."""
        if last is None:
            return ""
        return self._token({"t": last.create_time.isoformat(), "i": str(last.id), "q": page.query_hash})

    def numbered_page_request(self, page_size: int, page_token: str, query: str) -> NumberedPage:
        """As page_request, for a list ordered by a number, highest first (a resource's revisions)."""
        size = _page_size(page_size)
        if not page_token:
            return NumberedPage(size, None, query)
        number = self._payload(page_token, query).get("n")
        if not isinstance(number, int) or isinstance(number, bool):
            raise _not_issued()
        return NumberedPage(size, number, query)

    def next_numbered_page_token(self, page: NumberedPage, last: int | None) -> str:
        if last is None:
            return ""
        return self._token({"n": last, "q": page.query_hash})

    def _token(self, data: dict[str, object]) -> str:
        payload = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(self._tag(payload) + payload).decode().rstrip("=")

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_TAG_BYTES]

    def _payload(self, token: str, query: str) -> dict[str, object]:
        """The checked payload of a token issued for `query`."""
        if len(token) > MAX_TOKEN_CHARS or not _URLSAFE_BASE64.fullmatch(token):
            raise _not_issued()
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except ValueError:  # binascii.Error: a length no base64 text has
            raise _not_issued() from None
        tag, payload = raw[:_TAG_BYTES], raw[_TAG_BYTES:]
        if not payload or not hmac.compare_digest(tag, self._tag(payload)):
            raise _not_issued()
        try:
            data = json.loads(payload)
        except ValueError:  # not UTF-8, or not JSON
            raise _not_issued() from None
        if not isinstance(data, dict) or not isinstance(data.get("q"), str):
            raise _not_issued()
        if data["q"] != query:
            raise invalid_argument(
                [FieldViolation("pageToken", "belongs to a different query: keep every filter as it was")]
            )
        return data


def _page_size(page_size: int) -> int:
    if page_size < 0 or page_size > MAX_PAGE_SIZE:
        raise invalid_argument([FieldViolation("pageSize", f"must be between 0 and {MAX_PAGE_SIZE}")])
    return page_size or DEFAULT_PAGE_SIZE


def _utc_time(text: str) -> datetime:
    """An ISO 8601 time with an offset, in UTC. Raises OverflowError when UTC falls outside years 1-9999
    (`0001-01-01T00:00:00+14:00`); Python's range is within PostgreSQL's, so a time that converts is one
    the timestamptz column can be compared with."""
    parsed = datetime.fromisoformat(text)
    if parsed.utcoffset() is None:
        raise ValueError("a cursor time needs an offset")
    return parsed.astimezone(UTC)


def _not_issued() -> DomainError:
    return invalid_argument([FieldViolation("pageToken", "is not a page token issued by this API")])
