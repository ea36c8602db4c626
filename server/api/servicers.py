"""The gRPC services: thin adapters from request messages to the domain's use cases. Every kind of the
registry is served by one of two adapters (definitions, runs), configured by the kind's descriptors; the run
view has its own."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.descriptor import Descriptor

from jangar.server.api import memory_records, reconciler
from jangar.server.api.handlers import Handler, Reply, service_handler
from jangar.server.core.context import RequestContext
from jangar.server.core.kinds import Kind, Verb, registry
from jangar.server.domain.catalog import UseCases
from jangar.server.domain.definitions import DefinitionUseCases
from jangar.server.domain.run_view import RunViewUseCases
from jangar.server.domain.runs import RunUseCases
from jangar.v1 import run_pb2


def _resource_field(request: Descriptor, kind: Kind) -> str:
    """The field of a Create or Update request that carries the resource (`agent_run`)."""
    fields = [f.name for f in request.fields if f.message_type is kind.descriptor]
    if len(fields) != 1:
        raise ValueError(f"{request.full_name} must have exactly one {kind.name} field")
    return fields[0]


class DefinitionApi:
    """Create/Get/List/Update/Delete of one definition kind."""

    def __init__(self, kind: Kind, use_cases: DefinitionUseCases) -> None:
        self.kind = kind
        self._use_cases = use_cases
        self._field = _resource_field(kind.method(Verb.CREATE).request_class.DESCRIPTOR, kind)
        self._list_response = kind.method(Verb.LIST).response_class

    def handlers(self) -> dict[str, Handler]:
        serve = {
            Verb.CREATE: self.create,
            Verb.GET: self.get,
            Verb.LIST: self.list,
            Verb.UPDATE: self.update,
            Verb.DELETE: self.delete,
        }
        return {method.name: serve[verb] for verb, method in self.kind.methods.items()}

    async def create(self, request: Any, context: RequestContext) -> Reply:
        outcome = await self._use_cases.create(context, request, getattr(request, self._field))
        return Reply(outcome.response, outcome.replayed)

    async def get(self, request: Any, context: RequestContext) -> Any:
        return await self._use_cases.get(request.id, request.namespace)

    async def list(self, request: Any, context: RequestContext) -> Any:
        items, token = await self._use_cases.list(
            request.namespace, request.page_size, request.page_token, request.label_selector
        )
        response = self._list_response()
        getattr(response, self.kind.plural).extend(items)
        response.next_page_token = token
        return response

    async def update(self, request: Any, context: RequestContext) -> Any:
        return await self._use_cases.update(
            context,
            request.id,
            request.namespace,
            getattr(request, self._field),
            request.update_mask,
            request.etag,
        )

    async def delete(self, request: Any, context: RequestContext) -> Any:
        return await self._use_cases.delete(context, request.id, request.namespace, request.etag)


class RunApi:
    """Create/Get/List/Cancel of one run kind."""

    def __init__(self, kind: Kind, use_cases: RunUseCases) -> None:
        self.kind = kind
        self._use_cases = use_cases
        self._field = _resource_field(kind.method(Verb.CREATE).request_class.DESCRIPTOR, kind)
        self._list_response = kind.method(Verb.LIST).response_class

    def handlers(self) -> dict[str, Handler]:
        serve = {
            Verb.CREATE: self.create,
            Verb.GET: self.get,
            Verb.LIST: self.list,
            Verb.CANCEL: self.cancel,
            Verb.LOGS: self.logs,
        }
        return {method.name: serve[verb] for verb, method in self.kind.methods.items()}

    async def create(self, request: Any, context: RequestContext) -> Reply:
        outcome = await self._use_cases.create(context, request, getattr(request, self._field))
        return Reply(outcome.response, outcome.replayed)

    async def get(self, request: Any, context: RequestContext) -> Any:
        return await self._use_cases.get(request.id, request.namespace)

    async def list(self, request: Any, context: RequestContext) -> Any:
        items, token = await self._use_cases.list(
            namespace=request.namespace,
            page_size=request.page_size,
            page_token=request.page_token,
            label_selector=request.label_selector,
            phases=list(request.phase),
            filters=[(f.field, getattr(request, f.field)) for f in self.kind.list_filters],
        )
        response = self._list_response()
        getattr(response, self.kind.plural).extend(items)
        response.next_page_token = token
        return response

    async def logs(self, request: Any, context: RequestContext) -> Any:
        return await self._use_cases.logs(request.id, request.namespace, request.tail_bytes)

    async def cancel(self, request: Any, context: RequestContext) -> Reply:
        outcome = await self._use_cases.cancel(
            context, request, request.id, request.namespace, request.reason
        )
        return Reply(outcome.response, outcome.replayed)


class RunViewApi:
    """RunService: the read-only view over every run kind."""

    descriptor = run_pb2.DESCRIPTOR.services_by_name["RunService"]

    def __init__(self, use_cases: RunViewUseCases) -> None:
        self._use_cases = use_cases

    def handlers(self) -> dict[str, Handler]:
        return {"GetRun": self.get, "ListRuns": self.list}

    async def get(self, request: run_pb2.GetRunRequest, context: RequestContext) -> run_pb2.Run:
        return await self._use_cases.get(request.id, request.namespace)

    async def list(
        self, request: run_pb2.ListRunsRequest, context: RequestContext
    ) -> run_pb2.ListRunsResponse:
        runs, token = await self._use_cases.list(
            namespace=request.namespace,
            page_size=request.page_size,
            page_token=request.page_token,
            label_selector=request.label_selector,
            phases=list(request.phase),
        )
        return run_pb2.ListRunsResponse(runs=runs, next_page_token=token)


def build_handlers(use_cases: UseCases) -> list[grpc.GenericRpcHandler]:
    """A handler for every service of the registry; a service without an adapter fails here, at start-up."""
    handlers = []
    for kind in registry():
        if kind.is_run:
            api: DefinitionApi | RunApi = RunApi(kind, use_cases.runs[kind.name])
        else:
            api = DefinitionApi(kind, use_cases.definitions[kind.name])
        handlers.append(service_handler(kind.service, api.handlers()))
    handlers.append(service_handler(RunViewApi.descriptor, RunViewApi(use_cases.run_view).handlers()))
    handlers.append(
        service_handler(
            memory_records.descriptor, memory_records.MemoryRecordApi(use_cases.memory_records).handlers()
        )
    )
    handlers.append(
        service_handler(reconciler.descriptor, reconciler.ReconcilerApi(use_cases.ingest).handlers())
    )
    served = {h.service_name() for h in handlers}
    unserved = set(registry().service_names) - served
    if unserved:
        raise ValueError(f"no adapter serves {sorted(unserved)}")
    return handlers
