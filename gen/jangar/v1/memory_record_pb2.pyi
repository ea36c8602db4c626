import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from jangar.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MemoryRecord(_message.Message):
    __slots__ = ("id", "kind", "key", "text", "metadata", "embedding", "create_time")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[MemoryRecord.Kind]
        document: _ClassVar[MemoryRecord.Kind]
        event: _ClassVar[MemoryRecord.Kind]
        kv: _ClassVar[MemoryRecord.Kind]
    KIND_UNSPECIFIED: MemoryRecord.Kind
    document: MemoryRecord.Kind
    event: MemoryRecord.Kind
    kv: MemoryRecord.Kind
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: MemoryRecord.Kind
    key: str
    text: str
    metadata: _containers.ScalarMap[str, str]
    embedding: _containers.RepeatedScalarFieldContainer[float]
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[MemoryRecord.Kind, str]] = ..., key: _Optional[str] = ..., text: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., embedding: _Optional[_Iterable[float]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WriteMemoryRecordsRequest(_message.Message):
    __slots__ = ("id", "namespace", "records")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    records: _containers.RepeatedCompositeFieldContainer[MemoryRecord]
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., records: _Optional[_Iterable[_Union[MemoryRecord, _Mapping]]] = ...) -> None: ...

class WriteMemoryRecordsResponse(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[MemoryRecord]
    def __init__(self, records: _Optional[_Iterable[_Union[MemoryRecord, _Mapping]]] = ...) -> None: ...

class ListMemoryRecordsRequest(_message.Message):
    __slots__ = ("id", "namespace", "page_size", "page_token", "kind")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    page_size: int
    page_token: str
    kind: MemoryRecord.Kind
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., kind: _Optional[_Union[MemoryRecord.Kind, str]] = ...) -> None: ...

class ListMemoryRecordsResponse(_message.Message):
    __slots__ = ("records", "next_page_token")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[MemoryRecord]
    next_page_token: str
    def __init__(self, records: _Optional[_Iterable[_Union[MemoryRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteMemoryRecordRequest(_message.Message):
    __slots__ = ("id", "namespace", "record_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    record_id: str
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., record_id: _Optional[str] = ...) -> None: ...

class DeleteMemoryRecordResponse(_message.Message):
    __slots__ = ("record_id",)
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    def __init__(self, record_id: _Optional[str] = ...) -> None: ...

class GetMemoryValueRequest(_message.Message):
    __slots__ = ("id", "namespace", "key")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    key: str
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class PutMemoryValueRequest(_message.Message):
    __slots__ = ("id", "namespace", "key", "record")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    key: str
    record: MemoryRecord
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., key: _Optional[str] = ..., record: _Optional[_Union[MemoryRecord, _Mapping]] = ...) -> None: ...

class QueryMemoryRequest(_message.Message):
    __slots__ = ("namespace", "memory_ref", "memory_id", "query", "embedding", "mode", "filter", "limit", "min_score")
    class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MODE_UNSPECIFIED: _ClassVar[QueryMemoryRequest.Mode]
        lexical: _ClassVar[QueryMemoryRequest.Mode]
        vector: _ClassVar[QueryMemoryRequest.Mode]
        hybrid: _ClassVar[QueryMemoryRequest.Mode]
    MODE_UNSPECIFIED: QueryMemoryRequest.Mode
    lexical: QueryMemoryRequest.Mode
    vector: QueryMemoryRequest.Mode
    hybrid: QueryMemoryRequest.Mode
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    MEMORY_REF_FIELD_NUMBER: _ClassVar[int]
    MEMORY_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    memory_ref: _common_pb2.LocalObjectReference
    memory_id: str
    query: str
    embedding: _containers.RepeatedScalarFieldContainer[float]
    mode: QueryMemoryRequest.Mode
    filter: MemoryFilter
    limit: int
    min_score: float
    def __init__(self, namespace: _Optional[str] = ..., memory_ref: _Optional[_Union[_common_pb2.LocalObjectReference, _Mapping]] = ..., memory_id: _Optional[str] = ..., query: _Optional[str] = ..., embedding: _Optional[_Iterable[float]] = ..., mode: _Optional[_Union[QueryMemoryRequest.Mode, str]] = ..., filter: _Optional[_Union[MemoryFilter, _Mapping]] = ..., limit: _Optional[int] = ..., min_score: _Optional[float] = ...) -> None: ...

class MemoryFilter(_message.Message):
    __slots__ = ("metadata", "kind")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    METADATA_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    metadata: _containers.ScalarMap[str, str]
    kind: MemoryRecord.Kind
    def __init__(self, metadata: _Optional[_Mapping[str, str]] = ..., kind: _Optional[_Union[MemoryRecord.Kind, str]] = ...) -> None: ...

class QueryMemoryResponse(_message.Message):
    __slots__ = ("hits",)
    HITS_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[MemoryHit]
    def __init__(self, hits: _Optional[_Iterable[_Union[MemoryHit, _Mapping]]] = ...) -> None: ...

class MemoryHit(_message.Message):
    __slots__ = ("id", "kind", "key", "text", "text_truncated", "metadata", "score", "lexical_rank", "vector_rank")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TEXT_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    LEXICAL_RANK_FIELD_NUMBER: _ClassVar[int]
    VECTOR_RANK_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: MemoryRecord.Kind
    key: str
    text: str
    text_truncated: bool
    metadata: _containers.ScalarMap[str, str]
    score: float
    lexical_rank: int
    vector_rank: int
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[MemoryRecord.Kind, str]] = ..., key: _Optional[str] = ..., text: _Optional[str] = ..., text_truncated: _Optional[bool] = ..., metadata: _Optional[_Mapping[str, str]] = ..., score: _Optional[float] = ..., lexical_rank: _Optional[int] = ..., vector_rank: _Optional[int] = ...) -> None: ...
