"""One client per kind and transport, built from the kind registry alone, so that a test reads the same over
gRPC and over REST: both return messages of the kind and raise ApiError with the same fields."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import json_format
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.rpc import error_details_pb2

from jangar.server.core.kinds import Kind, Verb
from jangar.v1 import run_pb2
from jangar.v1.run_phase_pb2 import RunPhase
from tests.support import error_details

DOMAIN = "jangar.proompteng.ai"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
TRANSPORTS = ("grpc", "rest")


def new_key() -> str:
    return f"conf-{uuid.uuid4()}"


@dataclass
class ApiError(Exception):
    """A refused call, as either transport reports it."""

    transport: str
    code: grpc.StatusCode
    # The HTTP status of a REST call; None over gRPC.
    http_status: int | None
    reason: str
    message: str
    metadata: dict[str, str]
    # BadRequest field paths, in order.
    violations: list[str]
    # REST response headers, or gRPC trailing metadata.
    headers: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.transport} {self.code.name} ({self.http_status}) {self.reason}: {self.message}"


@dataclass(frozen=True)
class Created:
    """The response of a POST: the resource, the bytes that carried it, and whether it was a replay."""

    resource: Any
    raw: bytes
    replayed: bool


async def refused(call: Awaitable[Any], code: grpc.StatusCode, http: int, reason: str) -> ApiError:
    """Awaits a call that must fail with `code` (HTTP status `http` over REST) and ErrorInfo `reason`."""
    with pytest.raises(ApiError) as caught:
        await call
    error = caught.value
    assert (error.code, error.reason) == (code, reason), str(error)
    assert error.http_status == (http if error.transport == "rest" else None), str(error)
    return error


def _resource_field(request: type[Message], kind: Kind) -> str:
    (name,) = [f.name for f in request.DESCRIPTOR.fields if f.message_type is kind.descriptor]
    return name


def _json_mask(paths: Sequence[str]) -> str:
    """`spec.defaults.timeout_seconds` -> `spec.defaults.timeoutSeconds`, comma-separated, as in REST."""
    return FieldMask(paths=list(paths)).ToJsonString()


class GrpcClient:
    """Calls a kind's methods by their full names from the registry, without generated stubs."""

    transport = "grpc"

    def __init__(self, kind: Kind, channel: grpc.aio.Channel) -> None:
        self.kind = kind
        self._channel = channel
        self._field = _resource_field(kind.method(Verb.CREATE).request_class, kind)

    async def _call(self, verb: Verb, request: Message, key: str | None = None) -> tuple[bytes, Any]:
        method = self.kind.method(verb)
        # No deserializer: the call returns the response bytes as the server sent them.
        rpc = self._channel.unary_unary(
            f"/{method.full_name}", request_serializer=method.request_class.SerializeToString
        )
        call = rpc(request, metadata=[("idempotency-key", key)] if key else None)
        try:
            raw = await call
        except grpc.aio.AioRpcError as error:
            raise _grpc_error(error) from None
        return raw, call

    async def _resource(self, verb: Verb, request: Message, key: str | None = None) -> Any:
        raw, _ = await self._call(verb, request, key)
        return self.kind.message_class.FromString(raw)

    def _request(self, verb: Verb, **fields: Any) -> Message:
        return self.kind.method(verb).request_class(**fields)

    async def create(self, resource: Message, *, key: str | None, reorder: bool = False) -> Created:
        # `reorder` is for REST, where a client may order JSON keys as it likes; the protobuf runtime always
        # writes fields in number order.
        raw, call = await self._call(Verb.CREATE, self._request(Verb.CREATE, **{self._field: resource}), key)
        flags = [v for k, v in tuple(await call.initial_metadata()) if k == "idempotent-replayed"]
        assert flags in ([], ["true"]), flags  # only a replay carries the header, and only as `true`
        return Created(self.kind.message_class.FromString(raw), raw, bool(flags))

    async def get(self, id_or_name: str, namespace: str = "") -> Any:
        return await self._resource(Verb.GET, self._request(Verb.GET, id=id_or_name, namespace=namespace))

    async def list(
        self,
        namespace: str,
        *,
        page_size: int = 0,
        page_token: str = "",
        label_selector: str = "",
        phases: Sequence[str] = (),
        filters: Mapping[str, str] | None = None,
    ) -> tuple[list[Any], str]:
        request = self._request(
            Verb.LIST,
            namespace=namespace,
            page_size=page_size,
            page_token=page_token,
            label_selector=label_selector,
            **dict(filters or {}),
        )
        if phases:
            request.phase.extend(RunPhase.Value(p) for p in phases)
        raw, _ = await self._call(Verb.LIST, request)
        response = self.kind.method(Verb.LIST).response_class.FromString(raw)
        return list(getattr(response, self.kind.plural)), response.next_page_token

    async def update(self, id_or_name: str, patch: Message, paths: Sequence[str], etag: str = "") -> Any:
        request = self._request(
            Verb.UPDATE, id=id_or_name, update_mask=FieldMask(paths=list(paths)), etag=etag
        )
        getattr(request, self._field).CopyFrom(patch)
        return await self._resource(Verb.UPDATE, request)

    async def delete(self, id_or_name: str, etag: str = "") -> Any:
        return await self._resource(Verb.DELETE, self._request(Verb.DELETE, id=id_or_name, etag=etag))

    async def cancel(self, id_or_name: str, reason: str = "", *, key: str | None) -> Any:
        return await self._resource(
            Verb.CANCEL, self._request(Verb.CANCEL, id=id_or_name, reason=reason), key
        )

    async def view(self, id_or_name: str) -> run_pb2.Run:
        """RunService.GetRun: the normalized view of a run of any kind."""
        rpc = self._channel.unary_unary(
            "/jangar.v1.RunService/GetRun",
            request_serializer=run_pb2.GetRunRequest.SerializeToString,
            response_deserializer=run_pb2.Run.FromString,
        )
        try:
            return await rpc(run_pb2.GetRunRequest(id=id_or_name))
        except grpc.aio.AioRpcError as error:
            raise _grpc_error(error) from None


def _grpc_error(error: grpc.aio.AioRpcError) -> ApiError:
    details = error_details(error)
    info = details["ErrorInfo"]
    assert isinstance(info, error_details_pb2.ErrorInfo)
    assert info.domain == DOMAIN
    bad = details.get("BadRequest")
    violations = [v.field for v in bad.field_violations] if bad is not None else []  # type: ignore[attr-defined]
    return ApiError(
        transport="grpc",
        code=error.code(),
        http_status=None,
        reason=info.reason,
        message=error.details() or "",
        metadata=dict(info.metadata),
        violations=violations,
        headers={k: v for k, v in (error.trailing_metadata() or ()) if isinstance(v, str)},
    )


class RestClient:
    """Calls a kind's REST endpoints through Envoy: `{collection}`, `{collection}/{id}` and
    `{collection}/{id}:cancel`. The etag of a PATCH goes in `If-Match`, that of a DELETE in `?etag=`, as
    clients do today."""

    transport = "rest"

    def __init__(self, kind: Kind, http: httpx.AsyncClient) -> None:
        self.kind = kind
        self._http = http

    def _parse(self, response: httpx.Response, message: Message) -> Any:
        if response.status_code != 200:
            raise _rest_error(response)
        assert response.headers["content-type"].startswith("application/json"), response.headers
        # Strict: a field the message does not have means the JSON names are not the proto's.
        json_format.Parse(response.content, message)
        return message

    async def create(self, resource: Message, *, key: str | None, reorder: bool = False) -> Created:
        body = json_format.MessageToDict(resource)
        if reorder:
            body = {k: body[k] for k in reversed(list(body))}
        response = await self._http.post(
            self.kind.collection,
            content=json.dumps(body),
            headers={"content-type": "application/json", **({"Idempotency-Key": key} if key else {})},
        )
        created = self._parse(response, self.kind.message_class())
        flags = response.headers.get_list("idempotent-replayed")
        assert flags in ([], ["true"]), flags  # only a replay carries the header, and only as `true`
        return Created(created, response.content, bool(flags))

    async def get(self, id_or_name: str, namespace: str = "") -> Any:
        params = {"namespace": namespace} if namespace else {}
        response = await self._http.get(f"{self.kind.collection}/{id_or_name}", params=params)
        return self._parse(response, self.kind.message_class())

    async def list(
        self,
        namespace: str,
        *,
        page_size: int = 0,
        page_token: str = "",
        label_selector: str = "",
        phases: Sequence[str] = (),
        filters: Mapping[str, str] | None = None,
    ) -> tuple[list[Any], str]:
        json_names = {f.field: f.json_name for f in self.kind.list_filters}
        params: list[tuple[str, str | int]] = [("namespace", namespace)]
        if page_size:
            params.append(("pageSize", page_size))
        if page_token:
            params.append(("pageToken", page_token))
        if label_selector:
            params.append(("labelSelector", label_selector))
        params += [("phase", p) for p in phases]
        params += [(json_names[name], value) for name, value in (filters or {}).items()]
        response = await self._http.get(self.kind.collection, params=params)
        listed = self._parse(response, self.kind.method(Verb.LIST).response_class())
        return list(getattr(listed, self.kind.plural)), listed.next_page_token

    async def update(self, id_or_name: str, patch: Message, paths: Sequence[str], etag: str = "") -> Any:
        response = await self._http.patch(
            f"{self.kind.collection}/{id_or_name}",
            params={"updateMask": _json_mask(paths)},
            json=json_format.MessageToDict(patch),
            headers={"If-Match": f'"{etag}"'} if etag else {},
        )
        return self._parse(response, self.kind.message_class())

    async def delete(self, id_or_name: str, etag: str = "") -> Any:
        response = await self._http.delete(
            f"{self.kind.collection}/{id_or_name}", params={"etag": etag} if etag else {}
        )
        return self._parse(response, self.kind.message_class())

    async def cancel(self, id_or_name: str, reason: str = "", *, key: str | None) -> Any:
        response = await self._http.post(
            f"{self.kind.collection}/{id_or_name}:cancel",
            json={"reason": reason} if reason else {},
            headers={"Idempotency-Key": key} if key else {},
        )
        return self._parse(response, self.kind.message_class())

    async def view(self, id_or_name: str) -> run_pb2.Run:
        return self._parse(await self._http.get(f"/v1/runs/{id_or_name}"), run_pb2.Run())


def _rest_error(response: httpx.Response) -> ApiError:
    body = response.json()
    infos = [d for d in body.get("details", []) if d["@type"] == ERROR_INFO]
    assert len(infos) == 1, f"{response.status_code} {response.text}"
    assert infos[0]["domain"] == DOMAIN
    bad = [d for d in body["details"] if d["@type"] == BAD_REQUEST]
    return ApiError(
        transport="rest",
        code=next(c for c in grpc.StatusCode if c.value[0] == body["code"]),
        http_status=response.status_code,
        reason=infos[0]["reason"],
        message=body["message"],
        metadata=infos[0].get("metadata", {}),
        violations=[v["field"] for d in bad for v in d["fieldViolations"]],
        headers=dict(response.headers),
    )


Client = GrpcClient | RestClient


def client_for(kind: Kind, transport: str, request: pytest.FixtureRequest) -> Client:
    """A client of `kind` over `transport`, on the session's server (gRPC) or its Envoy (REST)."""
    if transport == "grpc":
        return GrpcClient(kind, request.getfixturevalue("channel"))
    return RestClient(kind, request.getfixturevalue("http"))
