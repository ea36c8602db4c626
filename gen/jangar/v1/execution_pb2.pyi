import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from jangar.v1 import run_phase_pb2 as _run_phase_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RunnerStatus(_message.Message):
    __slots__ = ("exit_code", "status", "error", "artifacts", "usage")
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    exit_code: int
    status: str
    error: str
    artifacts: _containers.RepeatedCompositeFieldContainer[RunArtifact]
    usage: RunUsage
    def __init__(self, exit_code: _Optional[int] = ..., status: _Optional[str] = ..., error: _Optional[str] = ..., artifacts: _Optional[_Iterable[_Union[RunArtifact, _Mapping]]] = ..., usage: _Optional[_Union[RunUsage, _Mapping]] = ...) -> None: ...

class RunArtifact(_message.Message):
    __slots__ = ("name", "path", "uri", "digest", "size_bytes", "media_type", "ttl_days", "artifact_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    TTL_DAYS_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    uri: str
    digest: str
    size_bytes: int
    media_type: str
    ttl_days: int
    artifact_id: str
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ..., uri: _Optional[str] = ..., digest: _Optional[str] = ..., size_bytes: _Optional[int] = ..., media_type: _Optional[str] = ..., ttl_days: _Optional[int] = ..., artifact_id: _Optional[str] = ...) -> None: ...

class RunUsage(_message.Message):
    __slots__ = ("input_tokens", "output_tokens", "cost_usd")
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    def __init__(self, input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_usd: _Optional[float] = ...) -> None: ...

class PhaseTransition(_message.Message):
    __slots__ = ("from_phase", "to_phase", "reason", "message", "attempt", "time")
    FROM_PHASE_FIELD_NUMBER: _ClassVar[int]
    TO_PHASE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    from_phase: _run_phase_pb2.RunPhase
    to_phase: _run_phase_pb2.RunPhase
    reason: str
    message: str
    attempt: int
    time: _timestamp_pb2.Timestamp
    def __init__(self, from_phase: _Optional[_Union[_run_phase_pb2.RunPhase, str]] = ..., to_phase: _Optional[_Union[_run_phase_pb2.RunPhase, str]] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., attempt: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RunLogs(_message.Message):
    __slots__ = ("attempt", "text", "truncated")
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    text: str
    truncated: bool
    def __init__(self, attempt: _Optional[int] = ..., text: _Optional[str] = ..., truncated: _Optional[bool] = ...) -> None: ...
