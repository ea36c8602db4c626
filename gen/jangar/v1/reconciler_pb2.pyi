import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SnapshotVerdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SNAPSHOT_VERDICT_UNSPECIFIED: _ClassVar[SnapshotVerdict]
    SNAPSHOT_VERDICT_APPLIED: _ClassVar[SnapshotVerdict]
    SNAPSHOT_VERDICT_DUPLICATE: _ClassVar[SnapshotVerdict]
    SNAPSHOT_VERDICT_STALE: _ClassVar[SnapshotVerdict]
    SNAPSHOT_VERDICT_UNKNOWN: _ClassVar[SnapshotVerdict]
SNAPSHOT_VERDICT_UNSPECIFIED: SnapshotVerdict
SNAPSHOT_VERDICT_APPLIED: SnapshotVerdict
SNAPSHOT_VERDICT_DUPLICATE: SnapshotVerdict
SNAPSHOT_VERDICT_STALE: SnapshotVerdict
SNAPSHOT_VERDICT_UNKNOWN: SnapshotVerdict

class ReconcileRequest(_message.Message):
    __slots__ = ("hello", "batch")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    hello: ReconcilerHello
    batch: SnapshotBatch
    def __init__(self, hello: _Optional[_Union[ReconcilerHello, _Mapping]] = ..., batch: _Optional[_Union[SnapshotBatch, _Mapping]] = ...) -> None: ...

class ReconcilerHello(_message.Message):
    __slots__ = ("identity", "namespaces")
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    identity: str
    namespaces: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, identity: _Optional[str] = ..., namespaces: _Optional[_Iterable[str]] = ...) -> None: ...

class SnapshotBatch(_message.Message):
    __slots__ = ("sequence", "items")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    items: _containers.RepeatedCompositeFieldContainer[SnapshotItem]
    def __init__(self, sequence: _Optional[int] = ..., items: _Optional[_Iterable[_Union[SnapshotItem, _Mapping]]] = ...) -> None: ...

class SnapshotItem(_message.Message):
    __slots__ = ("object", "list_completed")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    LIST_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    object: ObjectSnapshot
    list_completed: ListCompleted
    def __init__(self, object: _Optional[_Union[ObjectSnapshot, _Mapping]] = ..., list_completed: _Optional[_Union[ListCompleted, _Mapping]] = ...) -> None: ...

class ObjectSnapshot(_message.Message):
    __slots__ = ("api_version", "kind", "namespace", "name", "uid", "resource_version", "deleted", "object", "observed_time")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_TIME_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str
    resource_version: str
    deleted: bool
    object: bytes
    observed_time: _timestamp_pb2.Timestamp
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., namespace: _Optional[str] = ..., name: _Optional[str] = ..., uid: _Optional[str] = ..., resource_version: _Optional[str] = ..., deleted: _Optional[bool] = ..., object: _Optional[bytes] = ..., observed_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListCompleted(_message.Message):
    __slots__ = ("api_version", "kind", "namespace", "resource_version", "names")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    namespace: str
    resource_version: str
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., namespace: _Optional[str] = ..., resource_version: _Optional[str] = ..., names: _Optional[_Iterable[str]] = ...) -> None: ...

class ReconcileResponse(_message.Message):
    __slots__ = ("ack", "relist")
    ACK_FIELD_NUMBER: _ClassVar[int]
    RELIST_FIELD_NUMBER: _ClassVar[int]
    ack: BatchAck
    relist: RelistRequest
    def __init__(self, ack: _Optional[_Union[BatchAck, _Mapping]] = ..., relist: _Optional[_Union[RelistRequest, _Mapping]] = ...) -> None: ...

class BatchAck(_message.Message):
    __slots__ = ("sequence", "verdicts")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    VERDICTS_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    verdicts: _containers.RepeatedScalarFieldContainer[SnapshotVerdict]
    def __init__(self, sequence: _Optional[int] = ..., verdicts: _Optional[_Iterable[_Union[SnapshotVerdict, str]]] = ...) -> None: ...

class RelistRequest(_message.Message):
    __slots__ = ("api_version", "kind", "namespace", "reason")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    namespace: str
    reason: str
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., namespace: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
