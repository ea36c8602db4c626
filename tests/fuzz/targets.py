"""What the fuzzed requests aim at: for every endpoint, a valid request to mutate, and the real values that
near misses are made from (a resource's id, name and etag, a page token the API issued)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from jangar.server.core.kinds import Kind, Verb, registry
from jangar.v1 import memory_pb2, memory_pb2_grpc, memory_record_pb2, run_pb2
from tests.fuzz.endpoints import Endpoint, endpoints
from tests.fuzz.json_bodies import FRESH
from tests.support import unique
from tests.test_conformance import World, sample
from tests.transports import GrpcClient

# The name of every resource a fuzzed create sends, unless an edit changed it. Replaced by a new name of
# the same length just before sending (the wire lengths stay right), so that creates are not all refused
# as duplicates and get as far as a new resource would.
PLACEHOLDER = "fz-0000000000"


def fresh_names(payload: bytes) -> bytes:
    return payload.replace(PLACEHOLDER.encode(), unique("fz").encode())


def fresh_keys(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The headers or metadata with a new idempotency key wherever the request asks for one."""
    return tuple((name, f"fz-{uuid.uuid4()}" if value == FRESH else value) for name, value in pairs)


@dataclass
class Target:
    endpoint: Endpoint
    # A request the endpoint accepts.
    request: Message
    real_id: str = ""
    real_name: str = ""
    etag: str = ""
    page_token: str = ""
    # Strategies built once per target (tests/fuzz/rest_requests.py, grpc_requests.py).
    cache: dict[str, object] = field(default_factory=dict)


async def _existing(world: World, kind: Kind, namespace: str) -> Message:
    """A resource of `kind` in `namespace`, and a second one so that a page of one has a next page."""
    resource = await world.create(kind, namespace)
    await world.create(kind, namespace)
    return resource


async def _token(channel: grpc.aio.Channel, endpoint: Endpoint, namespace: str) -> str:
    if endpoint.kind is not None:
        _, token = await GrpcClient(endpoint.kind, channel).list(namespace, page_size=1)
        return token
    rpc = channel.unary_unary(
        f"/{endpoint.full_name}",
        request_serializer=run_pb2.ListRunsRequest.SerializeToString,
        response_deserializer=run_pb2.ListRunsResponse.FromString,
    )
    return (await rpc(run_pb2.ListRunsRequest(namespace=namespace, page_size=1))).next_page_token


def _resource_field(kind: Kind, request: type[Message]) -> str:
    (name,) = [f.name for f in request.DESCRIPTOR.fields if f.message_type is kind.descriptor]
    return name


async def _records_requests(channel: grpc.aio.Channel, namespace: str) -> dict[str, Message]:
    """Valid requests of MemoryRecordService's POSTs, on an embedded Memory (its store needs no Secret)."""
    memory = memory_pb2.Memory(
        name=unique("fz-mem"), namespace=namespace, spec={"type": memory_pb2.MemorySpec.postgres}
    )
    created = await memory_pb2_grpc.MemoryServiceStub(channel).CreateMemory(
        memory_pb2.CreateMemoryRequest(memory=memory), metadata=[("idempotency-key", f"fz-{uuid.uuid4()}")]
    )
    record = memory_record_pb2.MemoryRecord(
        kind=memory_record_pb2.MemoryRecord.document, text="fuzz text", metadata={"topic": "fuzz"}
    )
    return {
        "jangar.v1.MemoryRecordService/WriteMemoryRecords": memory_record_pb2.WriteMemoryRecordsRequest(
            id=created.id, records=[record]
        ),
        "jangar.v1.MemoryRecordService/QueryMemory": memory_record_pb2.QueryMemoryRequest(
            namespace=namespace, memory_ref={"name": created.name}, query="fuzz", filter={"kind": record.kind}
        ),
    }


async def build(channel: grpc.aio.Channel) -> dict[str, Target]:
    """One target per endpoint, in a namespace of their own."""
    world = World(channel)
    namespace = unique("fuzz")
    for kind in registry():
        await world.prepare(namespace, kind)
    existing = {kind.name: await _existing(world, kind, namespace) for kind in registry()}
    records = await _records_requests(channel, namespace)
    targets = {}
    for endpoint in endpoints():
        if endpoint.full_name in records:
            request = records[endpoint.full_name]
            targets[endpoint.full_name] = Target(endpoint, request, real_id=getattr(request, "id", ""))
            continue
        kind = endpoint.kind
        verb = endpoint.verb_of_kind()
        cls = endpoint.request_class
        target = Target(endpoint, cls(namespace=namespace) if verb in (Verb.LIST, None) else cls())
        if kind is not None and verb is not Verb.LIST:
            resource = existing[kind.name]
            target.real_id, target.real_name, target.etag = resource.id, resource.name, resource.etag
        if verb is Verb.CREATE:
            parent = None
            if kind.parent is not None:
                parent = existing[kind.parent.kind]
            body = sample(kind, namespace, parent)
            body.name = PLACEHOLDER
            target.request = cls(**{_resource_field(kind, cls): body})
        elif verb is Verb.UPDATE:
            patch = kind.message_class(labels={"fuzz": "yes"})
            target.request = cls(
                id=target.real_id,
                **{_resource_field(kind, cls): patch},
                update_mask=FieldMask(paths=["labels"]),
            )
        elif verb is Verb.CANCEL:
            target.request = cls(id=target.real_id, reason="fuzz")
        else:
            target.page_token = await _token(channel, endpoint, namespace)
            # The parent filters (`agentId`, `agentName`) get near misses of a real parent.
            parent = existing[kind.parent.kind] if kind is not None and kind.parent is not None else None
            target.real_id = parent.id if parent is not None else str(uuid.uuid4())
            target.real_name = parent.name if parent is not None else "fuzz"
        targets[endpoint.full_name] = target
    return targets
