import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from jangar.v1 import common_pb2 as _common_pb2
from jangar.v1 import execution_pb2 as _execution_pb2
from jangar.v1 import run_phase_pb2 as _run_phase_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AgentRun(_message.Message):
    __slots__ = ("id", "name", "namespace", "labels", "annotations", "spec", "status", "generation", "etag", "create_time", "update_time", "delete_time", "delivery_id", "agent_id")
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
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    namespace: str
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    spec: AgentRunSpec
    status: AgentRunStatus
    generation: int
    etag: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    delete_time: _timestamp_pb2.Timestamp
    delivery_id: str
    agent_id: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., namespace: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., spec: _Optional[_Union[AgentRunSpec, _Mapping]] = ..., status: _Optional[_Union[AgentRunStatus, _Mapping]] = ..., generation: _Optional[int] = ..., etag: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delete_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delivery_id: _Optional[str] = ..., agent_id: _Optional[str] = ...) -> None: ...

class AgentRunSpec(_message.Message):
    __slots__ = ("agent_ref", "runtime", "parameters", "goal", "workload", "secrets", "memory_ref", "ttl_seconds_after_finished", "workspace_ref")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    AGENT_REF_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    GOAL_FIELD_NUMBER: _ClassVar[int]
    WORKLOAD_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_REF_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_AFTER_FINISHED_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_REF_FIELD_NUMBER: _ClassVar[int]
    agent_ref: _common_pb2.LocalObjectReference
    runtime: AgentRunRuntime
    parameters: _containers.ScalarMap[str, str]
    goal: AgentRunGoal
    workload: AgentRunWorkload
    secrets: _containers.RepeatedScalarFieldContainer[str]
    memory_ref: _common_pb2.LocalObjectReference
    ttl_seconds_after_finished: int
    workspace_ref: _common_pb2.LocalObjectReference
    def __init__(self, agent_ref: _Optional[_Union[_common_pb2.LocalObjectReference, _Mapping]] = ..., runtime: _Optional[_Union[AgentRunRuntime, _Mapping]] = ..., parameters: _Optional[_Mapping[str, str]] = ..., goal: _Optional[_Union[AgentRunGoal, _Mapping]] = ..., workload: _Optional[_Union[AgentRunWorkload, _Mapping]] = ..., secrets: _Optional[_Iterable[str]] = ..., memory_ref: _Optional[_Union[_common_pb2.LocalObjectReference, _Mapping]] = ..., ttl_seconds_after_finished: _Optional[int] = ..., workspace_ref: _Optional[_Union[_common_pb2.LocalObjectReference, _Mapping]] = ...) -> None: ...

class AgentRunRuntime(_message.Message):
    __slots__ = ("type", "config")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    type: str
    config: _struct_pb2.Struct
    def __init__(self, type: _Optional[str] = ..., config: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class AgentRunGoal(_message.Message):
    __slots__ = ("objective", "token_budget")
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_BUDGET_FIELD_NUMBER: _ClassVar[int]
    objective: str
    token_budget: int
    def __init__(self, objective: _Optional[str] = ..., token_budget: _Optional[int] = ...) -> None: ...

class AgentRunWorkload(_message.Message):
    __slots__ = ("image", "resources", "service_account_name")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ACCOUNT_NAME_FIELD_NUMBER: _ClassVar[int]
    image: str
    resources: _common_pb2.ResourceRequirements
    service_account_name: str
    def __init__(self, image: _Optional[str] = ..., resources: _Optional[_Union[_common_pb2.ResourceRequirements, _Mapping]] = ..., service_account_name: _Optional[str] = ...) -> None: ...

class AgentRunStatus(_message.Message):
    __slots__ = ("phase", "reason", "message", "conditions", "start_time", "finish_time", "attempt", "runtime_ref", "observed_generation", "runner", "requested_resources")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_REF_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_GENERATION_FIELD_NUMBER: _ClassVar[int]
    RUNNER_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    phase: _run_phase_pb2.RunPhase
    reason: str
    message: str
    conditions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Condition]
    start_time: _timestamp_pb2.Timestamp
    finish_time: _timestamp_pb2.Timestamp
    attempt: int
    runtime_ref: _common_pb2.RuntimeRef
    observed_generation: int
    runner: _execution_pb2.RunnerStatus
    requested_resources: _common_pb2.ResourceRequirements
    def __init__(self, phase: _Optional[_Union[_run_phase_pb2.RunPhase, str]] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., conditions: _Optional[_Iterable[_Union[_common_pb2.Condition, _Mapping]]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempt: _Optional[int] = ..., runtime_ref: _Optional[_Union[_common_pb2.RuntimeRef, _Mapping]] = ..., observed_generation: _Optional[int] = ..., runner: _Optional[_Union[_execution_pb2.RunnerStatus, _Mapping]] = ..., requested_resources: _Optional[_Union[_common_pb2.ResourceRequirements, _Mapping]] = ...) -> None: ...

class CreateAgentRunRequest(_message.Message):
    __slots__ = ("agent_run",)
    AGENT_RUN_FIELD_NUMBER: _ClassVar[int]
    agent_run: AgentRun
    def __init__(self, agent_run: _Optional[_Union[AgentRun, _Mapping]] = ...) -> None: ...

class GetAgentRunRequest(_message.Message):
    __slots__ = ("id", "namespace")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class ListAgentRunsRequest(_message.Message):
    __slots__ = ("namespace", "page_size", "page_token", "label_selector", "phase", "agent_id", "agent_name")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LABEL_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_NAME_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    page_size: int
    page_token: str
    label_selector: str
    phase: _containers.RepeatedScalarFieldContainer[_run_phase_pb2.RunPhase]
    agent_id: str
    agent_name: str
    def __init__(self, namespace: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., label_selector: _Optional[str] = ..., phase: _Optional[_Iterable[_Union[_run_phase_pb2.RunPhase, str]]] = ..., agent_id: _Optional[str] = ..., agent_name: _Optional[str] = ...) -> None: ...

class ListAgentRunsResponse(_message.Message):
    __slots__ = ("agent_runs", "next_page_token")
    AGENT_RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    agent_runs: _containers.RepeatedCompositeFieldContainer[AgentRun]
    next_page_token: str
    def __init__(self, agent_runs: _Optional[_Iterable[_Union[AgentRun, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelAgentRunRequest(_message.Message):
    __slots__ = ("id", "namespace", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    reason: str
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class GetAgentRunLogsRequest(_message.Message):
    __slots__ = ("id", "namespace", "tail_bytes")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    TAIL_BYTES_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    tail_bytes: int
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., tail_bytes: _Optional[int] = ...) -> None: ...
