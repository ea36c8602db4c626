"""MemoryRecordService: the records of a Memory's store and queries over them (docs/memory.md)."""

from __future__ import annotations

from jangar.server.api.handlers import Handler, Reply
from jangar.server.core.context import RequestContext
from jangar.server.domain.memory_records import MemoryRecordUseCases
from jangar.v1 import memory_record_pb2

descriptor = memory_record_pb2.DESCRIPTOR.services_by_name["MemoryRecordService"]


class MemoryRecordApi:
    def __init__(self, use_cases: MemoryRecordUseCases) -> None:
        self._use_cases = use_cases

    def handlers(self) -> dict[str, Handler]:
        return {
            "WriteMemoryRecords": self.write,
            "ListMemoryRecords": self.list,
            "DeleteMemoryRecord": self.delete,
            "GetMemoryValue": self.get_value,
            "PutMemoryValue": self.put_value,
            "QueryMemory": self.query,
        }

    async def write(
        self, request: memory_record_pb2.WriteMemoryRecordsRequest, context: RequestContext
    ) -> Reply:
        outcome = await self._use_cases.write(context, request)
        return Reply(outcome.response, outcome.replayed)

    async def list(
        self, request: memory_record_pb2.ListMemoryRecordsRequest, context: RequestContext
    ) -> memory_record_pb2.ListMemoryRecordsResponse:
        return await self._use_cases.list(request)

    async def delete(
        self, request: memory_record_pb2.DeleteMemoryRecordRequest, context: RequestContext
    ) -> memory_record_pb2.DeleteMemoryRecordResponse:
        return await self._use_cases.delete(context, request)

    async def get_value(
        self, request: memory_record_pb2.GetMemoryValueRequest, context: RequestContext
    ) -> memory_record_pb2.MemoryRecord:
        return await self._use_cases.get_value(request)

    async def put_value(
        self, request: memory_record_pb2.PutMemoryValueRequest, context: RequestContext
    ) -> memory_record_pb2.MemoryRecord:
        return await self._use_cases.put_value(context, request)

    async def query(
        self, request: memory_record_pb2.QueryMemoryRequest, context: RequestContext
    ) -> memory_record_pb2.QueryMemoryResponse:
        # A query is a read: its Idempotency-Key, if any, is accepted and ignored (docs/memory.md).
        return await self._use_cases.query(request)
