"""The gRPC services: thin adapters from request messages to the domain's use cases. Definition kinds and
run kinds each share one adapter, configured by their service descriptor and message field names."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from jangar.server.api.registry import Handler, Reply, generic_handler, response_class
from jangar.server.domain.catalog import Services
from jangar.server.domain.context import RequestContext
from jangar.server.domain.definitions import DefinitionService
from jangar.server.domain.runs import RunService
from jangar.v1 import agent_pb2, agent_run_pb2, memory_pb2, orchestration_pb2, orchestration_run_pb2, run_pb2


def _descriptor(module: Any, name: str) -> ServiceDescriptor:
    return module.DESCRIPTOR.services_by_name[name]


class DefinitionApi:
    """Create/Get/List/Update/Delete of one definition kind (kind `Agent`, field `agent`, plural `agents`)."""

    def __init__(
        self, descriptor: ServiceDescriptor, service: DefinitionService, kind: str, field: str, plural: str
    ) -> None:
        self.descriptor = descriptor
        self._service = service
        self._kind, self._field, self._plural = kind, field, plural
        self._list_method = f"List{plural.title()}"
        self._list_response = response_class(descriptor, self._list_method)

    def handlers(self) -> dict[str, Handler]:
        kind = self._kind
        return {
            f"Create{kind}": self.create,
            f"Get{kind}": self.get,
            self._list_method: self.list,
            f"Update{kind}": self.update,
            f"Delete{kind}": self.delete,
        }

    async def create(self, request: Any, context: RequestContext) -> Reply:
        outcome = await self._service.create(context, context.method, request, getattr(request, self._field))
        return Reply(outcome.response, outcome.replayed)

    async def get(self, request: Any, context: RequestContext) -> Any:
        return await self._service.get(request.id, request.namespace)

    async def list(self, request: Any, context: RequestContext) -> Any:
        items, token = await self._service.list(
            request.namespace, request.page_size, request.page_token, request.label_selector
        )
        response = self._list_response()
        getattr(response, self._plural).extend(items)
        response.next_page_token = token
        return response

    async def update(self, request: Any, context: RequestContext) -> Any:
        return await self._service.update(
            context,
            request.id,
            request.namespace,
            getattr(request, self._field),
            request.update_mask,
            request.etag,
        )

    async def delete(self, request: Any, context: RequestContext) -> Any:
        return await self._service.delete(context, request.id, request.namespace, request.etag)


class RunApi:
    """Create/Get/List/Cancel of one run kind, e.g. kind `AgentRun`, field `agent_run`, parent `agent`."""

    def __init__(
        self, descriptor: ServiceDescriptor, service: RunService, kind: str, field: str, parent: str
    ) -> None:
        self.descriptor = descriptor
        self._service = service
        self._kind, self._field, self._parent = kind, field, parent
        self._list_response = response_class(descriptor, f"List{kind}s")

    def handlers(self) -> dict[str, Handler]:
        kind = self._kind
        return {
            f"Create{kind}": self.create,
            f"Get{kind}": self.get,
            f"List{kind}s": self.list,
            f"Cancel{kind}": self.cancel,
        }

    async def create(self, request: Any, context: RequestContext) -> Reply:
        outcome = await self._service.create(context, context.method, request, getattr(request, self._field))
        return Reply(outcome.response, outcome.replayed)

    async def get(self, request: Any, context: RequestContext) -> Any:
        return await self._service.get(request.id, request.namespace)

    async def list(self, request: Any, context: RequestContext) -> Any:
        items, token = await self._service.list(
            namespace=request.namespace,
            page_size=request.page_size,
            page_token=request.page_token,
            label_selector=request.label_selector,
            phases=list(request.phase),
            parent_id=getattr(request, f"{self._parent}_id"),
            parent_name=getattr(request, f"{self._parent}_name"),
        )
        response = self._list_response()
        getattr(response, f"{self._field}s").extend(items)
        response.next_page_token = token
        return response

    async def cancel(self, request: Any, context: RequestContext) -> Reply:
        outcome = await self._service.cancel(
            context,
            context.method,
            request,
            request.id,
            request.namespace,
            request.reason,
        )
        return Reply(outcome.response, outcome.replayed)


class RunViewApi:
    def __init__(self, services: Services) -> None:
        self.descriptor = _descriptor(run_pb2, "RunService")
        self._runs = services.runs

    def handlers(self) -> dict[str, Handler]:
        return {"GetRun": self.get, "ListRuns": self.list}

    async def get(self, request: run_pb2.GetRunRequest, context: RequestContext) -> run_pb2.Run:
        return await self._runs.get(request.id, request.namespace)

    async def list(
        self, request: run_pb2.ListRunsRequest, context: RequestContext
    ) -> run_pb2.ListRunsResponse:
        runs, token = await self._runs.list(
            namespace=request.namespace,
            page_size=request.page_size,
            page_token=request.page_token,
            label_selector=request.label_selector,
            phases=list(request.phase),
        )
        return run_pb2.ListRunsResponse(runs=runs, next_page_token=token)


def build_handlers(services: Services) -> list[grpc.GenericRpcHandler]:
    apis: list[DefinitionApi | RunApi | RunViewApi] = [
        DefinitionApi(_descriptor(agent_pb2, "AgentService"), services.agents, "Agent", "agent", "agents"),
        DefinitionApi(
            _descriptor(memory_pb2, "MemoryService"), services.memories, "Memory", "memory", "memories"
        ),
        DefinitionApi(
            _descriptor(orchestration_pb2, "OrchestrationService"),
            services.orchestrations,
            "Orchestration",
            "orchestration",
            "orchestrations",
        ),
        RunApi(
            _descriptor(agent_run_pb2, "AgentRunService"),
            services.agent_runs,
            "AgentRun",
            "agent_run",
            "agent",
        ),
        RunApi(
            _descriptor(orchestration_run_pb2, "OrchestrationRunService"),
            services.orchestration_runs,
            "OrchestrationRun",
            "orchestration_run",
            "orchestration",
        ),
        RunViewApi(services),
    ]
    return [generic_handler(api.descriptor, api.handlers()) for api in apis]


SERVICE_NAMES = [
    _descriptor(module, name).full_name
    for module, name in (
        (agent_pb2, "AgentService"),
        (memory_pb2, "MemoryService"),
        (orchestration_pb2, "OrchestrationService"),
        (agent_run_pb2, "AgentRunService"),
        (orchestration_run_pb2, "OrchestrationRunService"),
        (run_pb2, "RunService"),
    )
]
