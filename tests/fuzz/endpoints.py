"""The endpoints the fuzz suite covers, read from the `google.api.http` rules of every jangar.v1 service:
each POST, each PATCH, and each GET without a path parameter (a list)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from google.api import annotations_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from jangar.server.core.kinds import Kind, Verb, registry

PATH_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Endpoint:
    full_name: str  # jangar.v1.AgentService/CreateAgent
    verb: str  # POST, PATCH or GET
    template: str  # /v1/agents/{id}
    body: str  # "" (no body), "*" (every field not in the path) or a field name
    request_class: type[Message]
    # The kind the method belongs to; None for a view such as RunService.
    kind: Kind | None

    @property
    def name(self) -> str:
        return self.full_name.rsplit("/", 1)[1]

    @property
    def request(self) -> Descriptor:
        return self.request_class.DESCRIPTOR

    @property
    def path_fields(self) -> tuple[str, ...]:
        return tuple(PATH_PARAM.findall(self.template))

    @property
    def body_field(self) -> FieldDescriptor | None:
        """The request field that is the whole body (`agent`), if the body is one field."""
        return self.request.fields_by_name[self.body] if self.body not in ("", "*") else None

    @property
    def query_fields(self) -> tuple[FieldDescriptor, ...]:
        """The request fields that travel as query parameters."""
        if self.body == "*":
            return ()
        return tuple(f for f in self.request.fields if f.name not in self.path_fields and f.name != self.body)

    @property
    def is_post(self) -> bool:
        return self.verb == "POST"

    def verb_of_kind(self) -> Verb | None:
        if self.kind is None:
            return None
        return next((v for v, m in self.kind.methods.items() if m.full_name == self.full_name), None)


def _rule(method: MethodDescriptor) -> tuple[str, str, str] | None:
    rule = method.GetOptions().Extensions[annotations_pb2.http]
    for verb in ("post", "patch", "get"):
        template = getattr(rule, verb)
        if template:
            return verb.upper(), template, rule.body
    return None


def endpoints() -> tuple[Endpoint, ...]:
    kinds_by_service = {kind.service.full_name: kind for kind in registry()}
    found = []
    for service in registry().services:
        for method in service.methods:
            rule = _rule(method)
            if rule is None:
                continue
            verb, template, body = rule
            if verb == "GET" and PATH_PARAM.search(template):
                continue  # a Get: not in the fuzzed set
            found.append(
                Endpoint(
                    full_name=f"{service.full_name}/{method.name}",
                    verb=verb,
                    template=template,
                    body=body,
                    request_class=GetMessageClass(method.input_type),
                    kind=kinds_by_service.get(service.full_name),
                )
            )
    return tuple(found)


def endpoint_id(endpoint: Endpoint) -> str:
    return endpoint.name
