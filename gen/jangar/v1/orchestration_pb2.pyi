import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from jangar.v1 import common_pb2 as _common_pb2
from jangar.v1 import revision_pb2 as _revision_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Orchestration(_message.Message):
    __slots__ = ("id", "name", "namespace", "labels", "annotations", "spec", "status", "generation", "etag", "create_time", "update_time", "delete_time")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DELETE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    namespace: str
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    spec: OrchestrationSpec
    status: OrchestrationStatus
    generation: int
    etag: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    delete_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., namespace: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., spec: _Optional[_Union[OrchestrationSpec, _Mapping]] = ..., status: _Optional[_Union[OrchestrationStatus, _Mapping]] = ..., generation: _Optional[int] = ..., etag: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delete_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OrchestrationSpec(_message.Message):
    __slots__ = ("entrypoint", "steps", "policies")
    ENTRYPOINT_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    entrypoint: str
    steps: _containers.RepeatedCompositeFieldContainer[OrchestrationStep]
    policies: OrchestrationPolicies
    def __init__(self, entrypoint: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[OrchestrationStep, _Mapping]]] = ..., policies: _Optional[_Union[OrchestrationPolicies, _Mapping]] = ...) -> None: ...

class OrchestrationStep(_message.Message):
    __slots__ = ("name", "kind", "depends_on", "agent_ref", "tool_ref", "orchestration_ref", "policy_ref", "signal_ref", "memory_ref", "with_params", "retries", "retry_backoff_seconds", "timeout_seconds")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[OrchestrationStep.Kind]
        AgentRun: _ClassVar[OrchestrationStep.Kind]
        ToolRun: _ClassVar[OrchestrationStep.Kind]
        MemoryOp: _ClassVar[OrchestrationStep.Kind]
        ApprovalGate: _ClassVar[OrchestrationStep.Kind]
        SignalWait: _ClassVar[OrchestrationStep.Kind]
        Checkpoint: _ClassVar[OrchestrationStep.Kind]
        SubOrchestration: _ClassVar[OrchestrationStep.Kind]
    KIND_UNSPECIFIED: OrchestrationStep.Kind
    AgentRun: OrchestrationStep.Kind
    ToolRun: OrchestrationStep.Kind
    MemoryOp: OrchestrationStep.Kind
    ApprovalGate: OrchestrationStep.Kind
    SignalWait: OrchestrationStep.Kind
    Checkpoint: OrchestrationStep.Kind
    SubOrchestration: OrchestrationStep.Kind
    class WithParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DEPENDS_ON_FIELD_NUMBER: _ClassVar[int]
    AGENT_REF_FIELD_NUMBER: _ClassVar[int]
    TOOL_REF_FIELD_NUMBER: _ClassVar[int]
    ORCHESTRATION_REF_FIELD_NUMBER: _ClassVar[int]
    POLICY_REF_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_REF_FIELD_NUMBER: _ClassVar[int]
    MEMORY_REF_FIELD_NUMBER: _ClassVar[int]
    WITH_PARAMS_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    RETRY_BACKOFF_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: OrchestrationStep.Kind
    depends_on: _containers.RepeatedScalarFieldContainer[str]
    agent_ref: _common_pb2.LocalObjectReference
    tool_ref: _common_pb2.LocalObjectReference
    orchestration_ref: _common_pb2.LocalObjectReference
    policy_ref: _common_pb2.LocalObjectReference
    signal_ref: _common_pb2.LocalObjectReference
    memory_ref: _common_pb2.LocalObjectReference
    with_params: _containers.ScalarMap[str, str]
    retries: int
    retry_backoff_seconds: int
    timeout_seconds: int
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[OrchestrationStep.Kind, str]] = ..., depends_on: _Optional[_Iterable[str]] = ..., agent_ref: _Optional[_Union[_common_pb2.LocalObjectReference, _Mapping]] = ..., tool_ref: _Optional[_Union[_common_pb2.LocalObjectReference, _Mapping]] = ..., orchestration_ref: _Optional[_Union[_common_pb2.LocalObjectReference, _Mapping]] = ..., policy_ref: _Optional[_Union[_common_pb2.LocalObjectReference, _Mapping]] = ..., signal_ref: _Optional[_Union[_common_pb2.LocalObjectReference, _Mapping]] = ..., memory_ref: _Optional[_Union[_common_pb2.LocalObjectReference, _Mapping]] = ..., with_params: _Optional[_Mapping[str, str]] = ..., retries: _Optional[int] = ..., retry_backoff_seconds: _Optional[int] = ..., timeout_seconds: _Optional[int] = ...) -> None: ...

class OrchestrationPolicies(_message.Message):
    __slots__ = ("retries", "timeouts")
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    TIMEOUTS_FIELD_NUMBER: _ClassVar[int]
    retries: OrchestrationRetryPolicy
    timeouts: OrchestrationTimeoutPolicy
    def __init__(self, retries: _Optional[_Union[OrchestrationRetryPolicy, _Mapping]] = ..., timeouts: _Optional[_Union[OrchestrationTimeoutPolicy, _Mapping]] = ...) -> None: ...

class OrchestrationRetryPolicy(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class OrchestrationTimeoutPolicy(_message.Message):
    __slots__ = ("total_seconds",)
    TOTAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    total_seconds: int
    def __init__(self, total_seconds: _Optional[int] = ...) -> None: ...

class OrchestrationStatus(_message.Message):
    __slots__ = ("conditions", "observed_generation")
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_GENERATION_FIELD_NUMBER: _ClassVar[int]
    conditions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Condition]
    observed_generation: int
    def __init__(self, conditions: _Optional[_Iterable[_Union[_common_pb2.Condition, _Mapping]]] = ..., observed_generation: _Optional[int] = ...) -> None: ...

class CreateOrchestrationRequest(_message.Message):
    __slots__ = ("orchestration",)
    ORCHESTRATION_FIELD_NUMBER: _ClassVar[int]
    orchestration: Orchestration
    def __init__(self, orchestration: _Optional[_Union[Orchestration, _Mapping]] = ...) -> None: ...

class GetOrchestrationRequest(_message.Message):
    __slots__ = ("id", "namespace")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class ListOrchestrationsRequest(_message.Message):
    __slots__ = ("namespace", "page_size", "page_token", "label_selector")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LABEL_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    page_size: int
    page_token: str
    label_selector: str
    def __init__(self, namespace: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., label_selector: _Optional[str] = ...) -> None: ...

class ListOrchestrationsResponse(_message.Message):
    __slots__ = ("orchestrations", "next_page_token")
    ORCHESTRATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    orchestrations: _containers.RepeatedCompositeFieldContainer[Orchestration]
    next_page_token: str
    def __init__(self, orchestrations: _Optional[_Iterable[_Union[Orchestration, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateOrchestrationRequest(_message.Message):
    __slots__ = ("id", "namespace", "orchestration", "update_mask", "etag")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ORCHESTRATION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    orchestration: Orchestration
    update_mask: _field_mask_pb2.FieldMask
    etag: str
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., orchestration: _Optional[_Union[Orchestration, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteOrchestrationRequest(_message.Message):
    __slots__ = ("id", "namespace", "etag")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    etag: str
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...
