"""Keyset pagination: lists are ordered newest first with the id as tie-breaker, and a page token carries
the last row's (create time, id) plus a hash of the query it belongs to, so a token is never replayed against
another query and no offset is ever scanned."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from jangar.server.core.errors import FieldViolation, invalid_argument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


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


def query_hash(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def page_request(page_size: int, page_token: str, query: str) -> Page:
    """Validates `page_size` and decodes `page_token` for the query identified by `query` (a query_hash)."""
    if page_size < 0 or page_size > MAX_PAGE_SIZE:
        raise invalid_argument([FieldViolation("pageSize", f"must be between 0 and {MAX_PAGE_SIZE}")])
    size = page_size or DEFAULT_PAGE_SIZE
    if not page_token:
        return Page(size, None, query)
    try:
        padded = page_token + "=" * (-len(page_token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        cursor = Cursor(datetime.fromisoformat(data["t"]), uuid.UUID(data["i"]))
        token_query = data["q"]
    except (ValueError, KeyError, TypeError, UnicodeEncodeError):
        raise invalid_argument(
            [FieldViolation("pageToken", "is not a page token issued by this API")]
        ) from None
    if token_query != query:
        raise invalid_argument(
            [FieldViolation("pageToken", "belongs to a different query: keep every filter as it was")]
        )
    return Page(size, cursor, query)


def next_page_token(page: Page, last: Cursor | None) -> str:
    """The token of the page after `last` (None on the last page: no token)."""
    if last is None:
        return ""
    data = {"t": last.create_time.isoformat(), "i": str(last.id), "q": page.query_hash}
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
