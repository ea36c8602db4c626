"""The registry of kinds, read from the protobuf descriptors of `jangar.v1`, so that a kind is declared once:
in its `.proto` file.

A kind is a message with a `google.api.resource` option. From the descriptors alone this module derives:

* the kind's name (the part of the resource type after `/`) and its CRD group (the part before it);
* its plural and singular (the option's lowerCamelCase `plural` and `singular`, as AIP-123 writes them);
* its service (the one whose methods return the kind) and each standard method by verb: `Create<Kind>`,
  `Get<Kind>`, `List<Plural>`, `Update<Kind>`, `Delete<Kind>` and the custom `Cancel<Kind>`,
  `Get<Kind>Logs`, `Trigger<Kind>` and `Fire<Kind>`, and a definition's `List<Kind>Revisions` and
  `Diff<Kind>Revisions`;
* its REST collection (the path of the List method's `google.api.http` rule, `/v1/agent-runs`);
* its parent, for a kind that belongs to another (a run to its Agent): the top-level OUTPUT_ONLY field with a
  `google.api.resource_reference` (`agent_id`), and the spec field that references the same type
  (`spec.agent_ref`);
* its list filters: the fields of the List request beyond the ones every list has.

Its category follows from the methods its service declares (see `Category`): Cancel makes a run, Update and
Delete a definition, and none of the three a record (an immutable fact about its parent, such as a
SignalDelivery of a Signal). Runs and records belong to a parent; definitions may not mix in Cancel.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType, ModuleType

from google.api import annotations_pb2, field_behavior_pb2, resource_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

import jangar.v1

# Fields every List request has; any other field of a List request is a kind-specific filter.
COMMON_LIST_FIELDS = frozenset({"namespace", "page_size", "page_token", "label_selector", "phase"})


class Verb(enum.StrEnum):
    """The standard methods a kind's service may declare."""

    CREATE = "Create"
    GET = "Get"
    LIST = "List"
    UPDATE = "Update"
    DELETE = "Delete"
    CANCEL = "Cancel"
    # `Get<Kind>Logs`: a run's captured output.
    LOGS = "Logs"
    # `List<Kind>Revisions` and `Diff<Kind>Revisions`: a definition's spec history (revision.proto).
    REVISIONS = "Revisions"
    DIFF_REVISIONS = "DiffRevisions"
    # `Trigger<Kind>`: a definition that creates runs (a Schedule) creates one now.
    TRIGGER = "Trigger"
    # `Fire<Kind>`: a Schedule's CronJob asks for the run of its latest scheduled time.
    FIRE = "Fire"


class Category(enum.StrEnum):
    """What a kind's resources are, which decides their table shape, their use cases and their adapter."""

    # Desired state that users change and delete (Update + Delete): Agent, Tool, Signal.
    DEFINITION = "definition"
    # One execution of a parent, with a phase that moves until it is terminal (Cancel): AgentRun.
    RUN = "run"
    # An immutable fact about a parent: created, read and listed, never changed or deleted (no Update,
    # Delete or Cancel): SignalDelivery.
    RECORD = "record"


class KindError(ValueError):
    """A `.proto` declares a kind that does not follow the conventions this registry reads."""


@dataclass(frozen=True)
class Method:
    """One RPC of a kind's service."""

    descriptor: MethodDescriptor
    # `jangar.v1.AgentService/CreateAgent`: the name metrics, logs and idempotency fingerprints use.
    full_name: str
    request_class: type[Message]
    response_class: type[Message]

    @property
    def name(self) -> str:
        return self.descriptor.name


@dataclass(frozen=True)
class ListFilter:
    """A kind-specific List filter: the request field, which is also the name of the column it compares."""

    field: str
    json_name: str
    # The value is a UUID (an `*_id` field), so a malformed one is a 400, not an empty page.
    is_uuid: bool


@dataclass(frozen=True)
class Parent:
    """The kind another kind belongs to, e.g. the Agent of an AgentRun."""

    kind: str
    # Field of the child that holds the parent's UUID, and the prefix of the child's parent columns
    # (`agent_id` and `agent_name`).
    id_field: str
    # Field of the child's spec that names the parent.
    ref_field: str

    @property
    def column_prefix(self) -> str:
        return self.id_field.removesuffix("_id")

    @property
    def name_field(self) -> str:
        return f"{self.column_prefix}_name"


@dataclass(frozen=True)
class Reference:
    """A spec field that names another resource of the same namespace (`Agent.spec.provider_ref` names an
    AgentProvider), from its `google.api.resource_reference`; a run's parent reference is not one of them."""

    kind: str
    # The field of the spec (a LocalObjectReference), and its JSON path in the resource.
    field: str
    json_path: str


# The one version every custom resource is served and stored in (deploy/crds/).
CRD_VERSION = "v1alpha1"


# eq=False: there is one Kind object per kind, so identity is equality, and statement caches key on it.
@dataclass(frozen=True, eq=False)
class Kind:
    """Everything the server needs to know about one kind, read from its descriptors."""

    name: str
    message_class: type[Message]
    resource_type: str
    crd_group: str
    # snake_case forms: field names of list responses and create requests, table names.
    plural: str
    singular: str
    # REST collection path, e.g. `/v1/agent-runs`.
    collection: str
    service: ServiceDescriptor
    methods: Mapping[Verb, Method]
    parent: Parent | None
    list_filters: tuple[ListFilter, ...]
    lists_by_phase: bool
    category: Category
    references: tuple[Reference, ...] = ()

    @property
    def is_run(self) -> bool:
        return self.category is Category.RUN

    @property
    def keeps_revisions(self) -> bool:
        """A definition whose service serves its spec history writes a revision on every spec change."""
        return Verb.REVISIONS in self.methods

    @property
    def descriptor(self) -> Descriptor:
        return self.message_class.DESCRIPTOR

    def method(self, verb: Verb) -> Method:
        return self.methods[verb]

    @property
    def crd_plural(self) -> str:
        """The custom resource's name in URLs and RBAC: the snake_case plural without underscores."""
        return self.plural.replace("_", "")

    @property
    def crd_api_version(self) -> str:
        return f"{self.crd_group}/{CRD_VERSION}"


@dataclass(frozen=True)
class Registry:
    """Every kind, and every service of `jangar.v1` (the kinds' and the views' such as RunService)."""

    kinds: tuple[Kind, ...]
    services: tuple[ServiceDescriptor, ...]

    def __iter__(self) -> Iterator[Kind]:
        return iter(self.kinds)

    def __getitem__(self, name: str) -> Kind:
        for kind in self.kinds:
            if kind.name == name:
                return kind
        raise KeyError(name)

    def of(self, category: Category) -> tuple[Kind, ...]:
        return tuple(k for k in self.kinds if k.category is category)

    @property
    def runs(self) -> tuple[Kind, ...]:
        return self.of(Category.RUN)

    @property
    def definitions(self) -> tuple[Kind, ...]:
        return self.of(Category.DEFINITION)

    @property
    def records(self) -> tuple[Kind, ...]:
        return self.of(Category.RECORD)

    def children(self, kind: Kind, category: Category | None = None) -> tuple[Kind, ...]:
        """The kinds whose parent is `kind` (an Agent's AgentRuns, a Signal's SignalDeliveries), or only
        those of one category."""
        return tuple(
            k
            for k in self.kinds
            if k.parent is not None
            and k.parent.kind == kind.name
            and (category is None or k.category is category)
        )

    def referrers(self, kind: Kind) -> tuple[tuple[Kind, Reference], ...]:
        """The kinds whose spec references `kind`, with the referencing field (Agent's providerRef for
        AgentProvider)."""
        return tuple((k, r) for k in self.kinds for r in k.references if r.kind == kind.name)

    @property
    def service_names(self) -> tuple[str, ...]:
        return tuple(s.full_name for s in self.services)


def category_of(verbs: Collection[Verb]) -> Category:
    """The category the standard methods of a service make (see `Category`)."""
    if Verb.CANCEL in verbs:
        return Category.RUN
    if Verb.UPDATE in verbs or Verb.DELETE in verbs:
        return Category.DEFINITION
    return Category.RECORD


def _check_category(name: str, methods: Mapping[Verb, Method], parent: Parent | None) -> None:
    verbs = methods.keys()
    category = category_of(verbs)
    if category is Category.RUN and (Verb.UPDATE in verbs or Verb.DELETE in verbs):
        raise KindError(f"{name}: a run kind (Cancel{name}) has no Update or Delete")
    if category is Category.DEFINITION and (Verb.UPDATE in verbs) != (Verb.DELETE in verbs):
        raise KindError(f"{name}: a definition kind has both Update{name} and Delete{name}")
    if category is not Category.DEFINITION and parent is None:
        raise KindError(f"{name}: a {category} kind needs a parent (an OUTPUT_ONLY `<parent>_id` reference)")
    if category is not Category.RUN and Verb.LOGS in verbs:
        raise KindError(f"{name}: only a run kind has Get{name}Logs")


def snake_case(camel: str) -> str:
    """`agentRuns` or `AgentRuns` -> `agent_runs`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


def behaviors(field: FieldDescriptor) -> frozenset[int]:
    """The `google.api.field_behavior` values of a field."""
    return frozenset(field.GetOptions().Extensions[field_behavior_pb2.field_behavior])


def referenced_type(field: FieldDescriptor) -> str:
    """The resource type a field references (`google.api.resource_reference`), or ''."""
    return field.GetOptions().Extensions[resource_pb2.resource_reference].type


def _proto_modules() -> list[ModuleType]:
    names = sorted(m.name for m in pkgutil.iter_modules(jangar.v1.__path__) if m.name.endswith("_pb2"))
    return [importlib.import_module(f"jangar.v1.{name}") for name in names]


def _resource_option(message: Descriptor) -> resource_pb2.ResourceDescriptor | None:
    options = message.GetOptions()
    if not options.HasExtension(resource_pb2.resource):
        return None
    return options.Extensions[resource_pb2.resource]


def _collection(method: MethodDescriptor) -> str:
    rule = method.GetOptions().Extensions[annotations_pb2.http]
    return rule.get


def http_body_field(method: MethodDescriptor) -> str:
    """The request field a REST client sends as the body (`agent` for `body: "agent"`); empty when the body is
    the whole request (`*`) or there is none."""
    body = method.GetOptions().Extensions[annotations_pb2.http].body
    return "" if body == "*" else body


def _method(service: ServiceDescriptor, descriptor: MethodDescriptor) -> Method:
    return Method(
        descriptor=descriptor,
        full_name=f"{service.full_name}/{descriptor.name}",
        request_class=GetMessageClass(descriptor.input_type),
        response_class=GetMessageClass(descriptor.output_type),
    )


def _methods(kind_name: str, plural: str, service: ServiceDescriptor) -> dict[Verb, Method]:
    expected = {verb: f"{verb.value}{kind_name}" for verb in Verb}
    expected[Verb.LIST] = f"List{plural[0].upper()}{plural[1:]}"
    expected[Verb.LOGS] = f"Get{kind_name}Logs"
    expected[Verb.REVISIONS] = f"List{kind_name}Revisions"
    expected[Verb.DIFF_REVISIONS] = f"Diff{kind_name}Revisions"
    methods = {
        verb: _method(service, service.methods_by_name[name])
        for verb, name in expected.items()
        if name in service.methods_by_name
    }
    missing = [expected[v] for v in (Verb.CREATE, Verb.GET, Verb.LIST) if v not in methods]
    if missing:
        raise KindError(f"{service.full_name} lacks {', '.join(missing)} for kind {kind_name}")
    return methods


def _parent(message: Descriptor, types: Mapping[str, str]) -> Parent | None:
    """The top-level OUTPUT_ONLY reference (`agent_id`) and the spec field naming the same type."""
    for field in message.fields:
        target = referenced_type(field)
        if not target or field_behavior_pb2.OUTPUT_ONLY not in behaviors(field):
            continue
        if target not in types:
            raise KindError(f"{message.full_name}.{field.name} references unknown type {target!r}")
        spec = message.fields_by_name["spec"].message_type
        refs = [f.name for f in spec.fields if referenced_type(f) == target]
        if len(refs) != 1:
            raise KindError(f"{spec.full_name} must have exactly one field that references {target}")
        return Parent(kind=types[target], id_field=field.name, ref_field=refs[0])
    return None


def _references(
    message: Descriptor, types: Mapping[str, str], parent: Parent | None
) -> tuple[Reference, ...]:
    spec = message.fields_by_name["spec"].message_type
    references = []
    for field in spec.fields:
        target = referenced_type(field)
        if not target or (parent is not None and field.name == parent.ref_field):
            continue
        if target not in types:
            raise KindError(f"{spec.full_name}.{field.name} references unknown type {target!r}")
        references.append(
            Reference(kind=types[target], field=field.name, json_path=f"spec.{field.json_name}")
        )
    return tuple(references)


def _list_filters(method: Method) -> tuple[tuple[ListFilter, ...], bool]:
    request = method.request_class.DESCRIPTOR
    filters = tuple(
        ListFilter(field=f.name, json_name=f.json_name, is_uuid=f.name.endswith("_id"))
        for f in request.fields
        if f.name not in COMMON_LIST_FIELDS
    )
    return filters, "phase" in request.fields_by_name


@cache
def registry() -> Registry:
    """The kinds of every `jangar.v1` proto file, in file order; built once per process."""
    modules = _proto_modules()
    messages: dict[str, tuple[Descriptor, resource_pb2.ResourceDescriptor]] = {}
    services: list[ServiceDescriptor] = []
    for module in modules:
        file = module.DESCRIPTOR
        for message in file.message_types_by_name.values():
            option = _resource_option(message)
            if option is not None:
                messages[message.full_name] = (message, option)
        services.extend(file.services_by_name.values())
    types = {option.type: option.type.partition("/")[2] for _, option in messages.values()}
    kinds = []
    for message, option in messages.values():
        group, _, name = option.type.partition("/")
        if not group or name != message.name:
            raise KindError(f"{message.full_name}: resource type must be '<crd group>/{message.name}'")
        owning = [s for s in services if any(m.output_type is message for m in s.methods)]
        if len(owning) != 1:
            raise KindError(f"{message.full_name} must be returned by exactly one service")
        methods = _methods(name, option.plural, owning[0])
        filters, by_phase = _list_filters(methods[Verb.LIST])
        parent = _parent(message, types)
        _check_category(name, methods, parent)
        kinds.append(
            Kind(
                name=name,
                message_class=GetMessageClass(message),
                resource_type=option.type,
                crd_group=group,
                plural=snake_case(option.plural),
                singular=snake_case(option.singular),
                collection=_collection(methods[Verb.LIST].descriptor),
                service=owning[0],
                methods=MappingProxyType(methods),
                parent=parent,
                list_filters=filters,
                lists_by_phase=by_phase,
                category=category_of(methods.keys()),
                references=_references(message, types, parent),
            )
        )
    return Registry(kinds=tuple(kinds), services=tuple(services))
