"""The gRPC services: thin adapters from request messages to the domain's use cases. Every kind of the
registry is served by the adapter of its category (definitions, runs, records), configured by the kind's
descriptors; the run view has its own."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.descriptor import Descriptor

from jangar.server.api import memory_records, reconciler
from jangar.server.api.handlers import Handler, Reply, service_handler
from jangar.server.core.context import RequestContext
from jangar.server.core.kinds import Category, Kind, Verb, registry
from jangar.server.domain.catalog import UseCases
from jangar.server.domain.definitions import DefinitionUseCases
from jangar.server.domain.records import RecordUseCases
from jangar.server.domain.revisions import RevisionUseCases
from jangar.server.domain.run_view import RunViewUseCases
from jangar.server.domain.runs import RunUseCases
from jangar.server.domain.schedules import Scheduler
from jangar.v1 import revision_pb2, run_pb2


def _resource_field(request: Descriptor, kind: Kind) -> str:
    """The field of a Create or Update request that carries the resource (`agent_run`)."""
    fields = [f.name for f in request.fields if f.message_type is kind.descriptor]
    if len(fields) != 1:
        raise ValueError(f"{request.full_name} must have exactly one {kind.name} field")
    return fields[0]


class _KindApi:
    """What the adapters of every category share: the resource field of Create, create and get."""

    def __init__(self, kind: Kind, use_cases: Any) -> None:
        self.kind = kind
        self._use_cases = use_cases
        self._field = _resource_field(kind.method(Verb.CREATE).request_class.DESCRIPTOR, kind)
        self._list_response = kind.method(Verb.LIST).response_class

    def _serve(self) -> dict[Verb, Handler]:
        return {Verb.CREATE: self.create, Verb.GET: self.get}

    def handlers(self) -> dict[str, Handler]:
        serve = self._serve()
        return {method.name: serve[verb] for verb, method in self.kind.methods.items()}

    async def create(self, request: Any, context: RequestContext) -> Reply:
        outcome = await self._use_cases.create(context, request, getattr(request, self._field))
        return Reply(outcome.response, outcome.replayed)

    async def get(self, request: Any, context: RequestContext) -> Any:
        return await self._use_cases.get(request.id, request.namespace)

    def _page(self, items: list[Any], token: str) -> Any:
        response = self._list_response()
        getattr(response, self.kind.plural).extend(items)
        response.next_page_token = token
        return response

    async def _list_children(self, request: Any, **more: Any) -> Any:
        """A run's or record's list: the common parameters, the kind's parent filters, and `more`."""
        items, token = await self._use_cases.list(
            namespace=request.namespace,
            page_size=request.page_size,
            page_token=request.page_token,
            label_selector=request.label_selector,
            filters=[(f.field, getattr(request, f.field)) for f in self.kind.list_filters],
            **more,
        )
        return self._page(items, token)


class DefinitionApi(_KindApi):
    """Create/Get/List/Update/Delete of one definition kind, its revisions when it keeps them, and
    Trigger/Fire of a Schedule."""

    _use_cases: DefinitionUseCases

    def __init__(
        self,
        kind: Kind,
        use_cases: DefinitionUseCases,
        revisions: RevisionUseCases | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        super().__init__(kind, use_cases)
        self._revisions = revisions
        self._scheduler = scheduler

    def _serve(self) -> dict[Verb, Handler]:
        return {
            **super()._serve(),
            Verb.LIST: self.list,
            Verb.UPDATE: self.update,
            Verb.DELETE: self.delete,
            Verb.REVISIONS: self.revisions,
            Verb.DIFF_REVISIONS: self.diff_revisions,
            Verb.TRIGGER: self.trigger,
            Verb.FIRE: self.fire,
        }

    async def list(self, request: Any, context: RequestContext) -> Any:
        items, token = await self._use_cases.list(
            request.namespace, request.page_size, request.page_token, request.label_selector
        )
        return self._page(items, token)

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

    async def revisions(self, request: revision_pb2.ListRevisionsRequest, context: RequestContext) -> Any:
        assert self._revisions is not None, (
            "the kind serves revisions, so build_handlers gave their use cases"
        )
        return await self._revisions.list(
            request.id, request.namespace, request.page_size, request.page_token
        )

    async def diff_revisions(
        self, request: revision_pb2.DiffRevisionsRequest, context: RequestContext
    ) -> Any:
        assert self._revisions is not None, (
            "the kind serves revisions, so build_handlers gave their use cases"
        )
        return await self._revisions.diff(request.id, request.namespace, getattr(request, "from"), request.to)

    async def trigger(self, request: Any, context: RequestContext) -> Reply:
        assert self._scheduler is not None, f"{self.kind.name} declares Trigger but nothing fires it"
        outcome = await self._scheduler.trigger(context, request, request.id, request.namespace)
        return Reply(outcome.response, outcome.replayed)

    async def fire(self, request: Any, context: RequestContext) -> Reply:
        assert self._scheduler is not None, f"{self.kind.name} declares Fire but nothing fires it"
        outcome = await self._scheduler.fire(context, request, request.id, request.namespace)
        return Reply(outcome.response, outcome.replayed)


class RunApi(_KindApi):
    """Create/Get/List/Cancel of one run kind."""

    _use_cases: RunUseCases

    def _serve(self) -> dict[Verb, Handler]:
        return {**super()._serve(), Verb.LIST: self.list, Verb.CANCEL: self.cancel, Verb.LOGS: self.logs}

    async def list(self, request: Any, context: RequestContext) -> Any:
        return await self._list_children(request, phases=list(request.phase))

    async def logs(self, request: Any, context: RequestContext) -> Any:
        return await self._use_cases.logs(request.id, request.namespace, request.tail_bytes)

    async def cancel(self, request: Any, context: RequestContext) -> Reply:
        outcome = await self._use_cases.cancel(
            context, request, request.id, request.namespace, request.reason
        )
        return Reply(outcome.response, outcome.replayed)


class RecordApi(_KindApi):
    """Create/Get/List of one record kind; nothing changes or deletes a record."""

    _use_cases: RecordUseCases

    def _serve(self) -> dict[Verb, Handler]:
        return {**super()._serve(), Verb.LIST: self.list}

    async def list(self, request: Any, context: RequestContext) -> Any:
        return await self._list_children(request)


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
        api: _KindApi
        if kind.category is Category.RUN:
            api = RunApi(kind, use_cases.runs[kind.name])
        elif kind.category is Category.RECORD:
            api = RecordApi(kind, use_cases.records[kind.name])
        else:
            scheduler = use_cases.scheduler if Verb.TRIGGER in kind.methods else None
            api = DefinitionApi(
                kind, use_cases.definitions[kind.name], use_cases.revisions.get(kind.name), scheduler
            )
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
