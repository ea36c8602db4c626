import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from jangar.v1 import agent_run_pb2 as _agent_run_pb2
from jangar.v1 import common_pb2 as _common_pb2
from jangar.v1 import orchestration_run_pb2 as _orchestration_run_pb2
from jangar.v1 import revision_pb2 as _revision_pb2
from jangar.v1 import tool_run_pb2 as _tool_run_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Schedule(_message.Message):
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
    spec: ScheduleSpec
    status: ScheduleStatus
    generation: int
    etag: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    delete_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., namespace: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., spec: _Optional[_Union[ScheduleSpec, _Mapping]] = ..., status: _Optional[_Union[ScheduleStatus, _Mapping]] = ..., generation: _Optional[int] = ..., etag: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delete_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ScheduleSpec(_message.Message):
    __slots__ = ("cron", "timezone", "suspend", "concurrency_policy", "starting_deadline_seconds", "target")
    class ConcurrencyPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        CONCURRENCY_POLICY_UNSPECIFIED: _ClassVar[ScheduleSpec.ConcurrencyPolicy]
        Allow: _ClassVar[ScheduleSpec.ConcurrencyPolicy]
        Forbid: _ClassVar[ScheduleSpec.ConcurrencyPolicy]
        Replace: _ClassVar[ScheduleSpec.ConcurrencyPolicy]
    CONCURRENCY_POLICY_UNSPECIFIED: ScheduleSpec.ConcurrencyPolicy
    Allow: ScheduleSpec.ConcurrencyPolicy
    Forbid: ScheduleSpec.ConcurrencyPolicy
    Replace: ScheduleSpec.ConcurrencyPolicy
    CRON_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    SUSPEND_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_POLICY_FIELD_NUMBER: _ClassVar[int]
    STARTING_DEADLINE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    cron: str
    timezone: str
    suspend: bool
    concurrency_policy: ScheduleSpec.ConcurrencyPolicy
    starting_deadline_seconds: int
    target: ScheduleTarget
    def __init__(self, cron: _Optional[str] = ..., timezone: _Optional[str] = ..., suspend: _Optional[bool] = ..., concurrency_policy: _Optional[_Union[ScheduleSpec.ConcurrencyPolicy, str]] = ..., starting_deadline_seconds: _Optional[int] = ..., target: _Optional[_Union[ScheduleTarget, _Mapping]] = ...) -> None: ...

class ScheduleTarget(_message.Message):
    __slots__ = ("kind", "agent_run", "tool_run", "orchestration_run", "labels")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[ScheduleTarget.Kind]
        AgentRun: _ClassVar[ScheduleTarget.Kind]
        ToolRun: _ClassVar[ScheduleTarget.Kind]
        OrchestrationRun: _ClassVar[ScheduleTarget.Kind]
    KIND_UNSPECIFIED: ScheduleTarget.Kind
    AgentRun: ScheduleTarget.Kind
    ToolRun: ScheduleTarget.Kind
    OrchestrationRun: ScheduleTarget.Kind
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KIND_FIELD_NUMBER: _ClassVar[int]
    AGENT_RUN_FIELD_NUMBER: _ClassVar[int]
    TOOL_RUN_FIELD_NUMBER: _ClassVar[int]
    ORCHESTRATION_RUN_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    kind: ScheduleTarget.Kind
    agent_run: _agent_run_pb2.AgentRunSpec
    tool_run: _tool_run_pb2.ToolRunSpec
    orchestration_run: _orchestration_run_pb2.OrchestrationRunSpec
    labels: _containers.ScalarMap[str, str]
    def __init__(self, kind: _Optional[_Union[ScheduleTarget.Kind, str]] = ..., agent_run: _Optional[_Union[_agent_run_pb2.AgentRunSpec, _Mapping]] = ..., tool_run: _Optional[_Union[_tool_run_pb2.ToolRunSpec, _Mapping]] = ..., orchestration_run: _Optional[_Union[_orchestration_run_pb2.OrchestrationRunSpec, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ScheduleStatus(_message.Message):
    __slots__ = ("phase", "reason", "message", "conditions", "observed_generation", "last_schedule_time", "next_schedule_time", "last_run_id", "last_run_name", "executor", "cron_job")
    class Phase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PHASE_UNSPECIFIED: _ClassVar[ScheduleStatus.Phase]
        Active: _ClassVar[ScheduleStatus.Phase]
        Suspended: _ClassVar[ScheduleStatus.Phase]
        Invalid: _ClassVar[ScheduleStatus.Phase]
    PHASE_UNSPECIFIED: ScheduleStatus.Phase
    Active: ScheduleStatus.Phase
    Suspended: ScheduleStatus.Phase
    Invalid: ScheduleStatus.Phase
    PHASE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_GENERATION_FIELD_NUMBER: _ClassVar[int]
    LAST_SCHEDULE_TIME_FIELD_NUMBER: _ClassVar[int]
    NEXT_SCHEDULE_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_NAME_FIELD_NUMBER: _ClassVar[int]
    EXECUTOR_FIELD_NUMBER: _ClassVar[int]
    CRON_JOB_FIELD_NUMBER: _ClassVar[int]
    phase: ScheduleStatus.Phase
    reason: str
    message: str
    conditions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Condition]
    observed_generation: int
    last_schedule_time: _timestamp_pb2.Timestamp
    next_schedule_time: _timestamp_pb2.Timestamp
    last_run_id: str
    last_run_name: str
    executor: str
    cron_job: _common_pb2.RuntimeRef
    def __init__(self, phase: _Optional[_Union[ScheduleStatus.Phase, str]] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., conditions: _Optional[_Iterable[_Union[_common_pb2.Condition, _Mapping]]] = ..., observed_generation: _Optional[int] = ..., last_schedule_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_schedule_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_run_id: _Optional[str] = ..., last_run_name: _Optional[str] = ..., executor: _Optional[str] = ..., cron_job: _Optional[_Union[_common_pb2.RuntimeRef, _Mapping]] = ...) -> None: ...

class ScheduleFiring(_message.Message):
    __slots__ = ("schedule", "scheduled_time", "result", "reason", "message", "run_kind", "run_id", "run_name", "replaced_run_ids")
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_TIME_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RUN_KIND_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_NAME_FIELD_NUMBER: _ClassVar[int]
    REPLACED_RUN_IDS_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    scheduled_time: _timestamp_pb2.Timestamp
    result: str
    reason: str
    message: str
    run_kind: str
    run_id: str
    run_name: str
    replaced_run_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ..., scheduled_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., result: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., run_kind: _Optional[str] = ..., run_id: _Optional[str] = ..., run_name: _Optional[str] = ..., replaced_run_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateScheduleRequest(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class GetScheduleRequest(_message.Message):
    __slots__ = ("id", "namespace")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class ListSchedulesRequest(_message.Message):
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

class ListSchedulesResponse(_message.Message):
    __slots__ = ("schedules", "next_page_token")
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    schedules: _containers.RepeatedCompositeFieldContainer[Schedule]
    next_page_token: str
    def __init__(self, schedules: _Optional[_Iterable[_Union[Schedule, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateScheduleRequest(_message.Message):
    __slots__ = ("id", "namespace", "schedule", "update_mask", "etag")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    schedule: Schedule
    update_mask: _field_mask_pb2.FieldMask
    etag: str
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., schedule: _Optional[_Union[Schedule, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteScheduleRequest(_message.Message):
    __slots__ = ("id", "namespace", "etag")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    etag: str
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class TriggerScheduleRequest(_message.Message):
    __slots__ = ("id", "namespace")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class FireScheduleRequest(_message.Message):
    __slots__ = ("id", "namespace")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...
