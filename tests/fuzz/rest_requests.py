"""REST requests for an endpoint, the way Envoy's transcoder reads them: path parameters, query parameters
(every request field not in the path or the body, by JSON name), and a JSON body. Each part starts from the
target's valid request and gets hostile edits."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from hypothesis import strategies as st

from tests.fuzz import json_bodies, semantics, values
from tests.fuzz.endpoints import Endpoint
from tests.fuzz.schema import type_name
from tests.fuzz.targets import Target

TEXT = values.hostile_text(surrogates=True)
MAX_URL = 60_000
CONTENT_TYPES = ["application/json"] * 6 + [
    "application/json; charset=utf-8",
    "text/plain",
    "",
    "application/xml",
]


def quote(value: str) -> str:
    """Percent-encoding of the UTF-8 of `value`; a lone surrogate becomes its (invalid) UTF-8 bytes."""
    return urllib.parse.quote(value.encode("utf-8", "surrogatepass"), safe="")


@dataclass(frozen=True)
class RestRequest:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: json_bodies.Body | None

    @property
    def content(self) -> bytes | None:
        return self.body.content if self.body is not None else None

    def __repr__(self) -> str:
        shown = "" if self.body is None else f"\n  body: {self.body!r}\n  bytes: {self.body.content[:1500]!r}"
        return f"{self.method} {self.url[:2000]} ({len(self.url)} chars)\n  headers: {self.headers}{shown}"

    @property
    def sent(self) -> str:
        """Everything the request carried, decoded, for telling an echo of the input from a leak."""
        content = (self.content or b"").decode("utf-8", "replace")
        return f"{urllib.parse.unquote(self.url)} {self.headers} {content} {self.body!r}"


def _query_value(field: FieldDescriptor, target: Target) -> st.SearchStrategy[str]:
    by_name = {
        "page_token": semantics.page_tokens(target.page_token),
        "label_selector": semantics.label_selectors(),
        "etag": semantics.etags(target.etag),
    }
    if field.name in by_name:
        return st.one_of(by_name[field.name], by_name[field.name], TEXT)
    if field.name == "update_mask" and target.endpoint.kind is not None:
        return semantics.mask_paths(target.endpoint.kind.descriptor).map(",".join)
    if field.name.endswith("_id"):
        return semantics.ids(target.real_id, target.real_name)
    if field.enum_type is not None:
        names = [v.name for v in field.enum_type.values]
        return st.one_of(st.sampled_from(names), st.sampled_from(names).map(str.upper), TEXT)
    match type_name(field):
        case "string":
            return st.one_of(st.just(target.real_name), TEXT) if field.name.endswith("_name") else TEXT
        case "bool":
            return st.sampled_from(["true", "false", "1", "yes", ""])
        case _:
            numbers = values.extreme_ints().map(str)
            return st.one_of(
                numbers, st.sampled_from(["", "-1", "1.5", "abc", "1e3", "0x10", " 1", "+1"]), TEXT
            )


def _base_query(endpoint: Endpoint, target: Target) -> list[tuple[str, str]]:
    request = json_format.MessageToDict(target.request)
    query = []
    for field in endpoint.query_fields:
        value = request.get(field.json_name)
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            query.append((field.json_name, str(item)))
    return query


def _queries(endpoint: Endpoint, target: Target) -> st.SearchStrategy[list[tuple[str, str]]]:
    base = _base_query(endpoint, target)
    fields = endpoint.query_fields
    if not fields:
        return st.just(base)

    def edit(field: FieldDescriptor) -> st.SearchStrategy[tuple[str, str, str]]:
        # set: replace every value of the parameter; add: one more value (a repeat of a singular one too);
        # snake: the proto name instead of the JSON name.
        return st.tuples(
            st.sampled_from(["set", "set", "add", "snake"]),
            st.just(field.json_name),
            _query_value(field, target),
        ).map(lambda t: (t[0], field.name if t[0] == "snake" else t[1], t[2]))

    unknown = st.tuples(
        st.just("add"), st.sampled_from(["bogus", "page_size ", "pageSize[]", "", "$filter", "%00"]), TEXT
    )
    # Parameters with a grammar of their own have the most ways to go wrong.
    weighted = [f for f in fields for _ in range(3 if f.name in semantics.GRAMMARS else 1)]
    one = st.one_of(st.sampled_from(weighted).flatmap(edit), unknown)
    return st.one_of(st.lists(one, max_size=1), st.lists(one, max_size=4)).map(
        lambda chosen: _edited(base, chosen)
    )


def _edited(base: list[tuple[str, str]], chosen: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    query = list(base)
    for action, name, value in chosen:
        if action == "set":
            query = [(n, v) for n, v in query if n != name]
        query.append((name, value))
    return query


def _body(endpoint: Endpoint, target: Target) -> st.SearchStrategy[json_bodies.Body | None]:
    if not endpoint.body:
        return st.none()
    field = endpoint.body_field
    if field is not None:
        base = json_format.MessageToDict(getattr(target.request, field.name))
        return json_bodies.bodies(field.message_type, base)
    base = json_format.MessageToDict(target.request)
    for name in endpoint.path_fields:
        base.pop(endpoint.request.fields_by_name[name].json_name, None)
    return json_bodies.bodies(endpoint.request, base)


def _path(endpoint: Endpoint, target: Target) -> st.SearchStrategy[str]:
    if not endpoint.path_fields:
        return st.just(endpoint.template)
    ids = st.one_of(
        st.just(target.real_id), st.just(target.real_id), semantics.ids(target.real_id, target.real_name)
    )

    def fill(value: str) -> str:
        path = endpoint.template
        for name in endpoint.path_fields:
            path = path.replace("{" + name + "}", quote(value))
        return path

    return ids.map(fill)


def _headers(endpoint: Endpoint, target: Target) -> st.SearchStrategy[tuple[tuple[str, str], ...]]:
    content_type = st.sampled_from(CONTENT_TYPES).map(lambda c: (("content-type", c),) if c else ())
    if endpoint.is_post:
        extra: st.SearchStrategy[tuple[tuple[str, str], ...]] = json_bodies.idempotency_keys(
            values.http_header_value
        ).map(lambda keys: tuple(("idempotency-key", key) for key in keys))
    elif endpoint.verb == "PATCH":
        extra = st.one_of(
            st.just(()),
            semantics.etags(target.etag).map(lambda e: (("if-match", values.http_header_value(e)),)),
        )
    else:
        extra = st.just(())
    return st.builds(lambda a, b: a + b, content_type if endpoint.body else st.just(()), extra)


def _url(path: str, query: list[tuple[str, str]]) -> str:
    url = path + ("?" + "&".join(f"{quote(n)}={quote(v)}" for n, v in query) if query else "")
    # httpx refuses longer URLs; Envoy's limit on all headers (60 KiB) is near anyway.
    return url[:MAX_URL]


def requests(target: Target) -> st.SearchStrategy[RestRequest]:
    endpoint = target.endpoint
    cached = target.cache.get("rest")
    if cached is None:
        cached = target.cache["rest"] = st.builds(
            lambda path, query, headers, body: RestRequest(endpoint.verb, _url(path, query), headers, body),
            _path(endpoint, target),
            _queries(endpoint, target),
            _headers(endpoint, target),
            _body(endpoint, target),
        )
    return cached  # type: ignore[return-value]
