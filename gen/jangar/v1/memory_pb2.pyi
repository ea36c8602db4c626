import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from jangar.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Memory(_message.Message):
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
    spec: MemorySpec
    status: MemoryStatus
    generation: int
    etag: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    delete_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., namespace: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., spec: _Optional[_Union[MemorySpec, _Mapping]] = ..., status: _Optional[_Union[MemoryStatus, _Mapping]] = ..., generation: _Optional[int] = ..., etag: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delete_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MemorySpec(_message.Message):
    __slots__ = ("type", "connection", "capabilities", "default", "embeddings", "retention")
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TYPE_UNSPECIFIED: _ClassVar[MemorySpec.Type]
        postgres: _ClassVar[MemorySpec.Type]
        redis: _ClassVar[MemorySpec.Type]
        weaviate: _ClassVar[MemorySpec.Type]
        pinecone: _ClassVar[MemorySpec.Type]
        custom: _ClassVar[MemorySpec.Type]
    TYPE_UNSPECIFIED: MemorySpec.Type
    postgres: MemorySpec.Type
    redis: MemorySpec.Type
    weaviate: MemorySpec.Type
    pinecone: MemorySpec.Type
    custom: MemorySpec.Type
    class Capability(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        CAPABILITY_UNSPECIFIED: _ClassVar[MemorySpec.Capability]
        vector: _ClassVar[MemorySpec.Capability]
        kv: _ClassVar[MemorySpec.Capability]
        blob: _ClassVar[MemorySpec.Capability]
    CAPABILITY_UNSPECIFIED: MemorySpec.Capability
    vector: MemorySpec.Capability
    kv: MemorySpec.Capability
    blob: MemorySpec.Capability
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    RETENTION_FIELD_NUMBER: _ClassVar[int]
    type: MemorySpec.Type
    connection: MemoryConnection
    capabilities: _containers.RepeatedScalarFieldContainer[MemorySpec.Capability]
    default: bool
    embeddings: MemoryEmbeddings
    retention: MemoryRetention
    def __init__(self, type: _Optional[_Union[MemorySpec.Type, str]] = ..., connection: _Optional[_Union[MemoryConnection, _Mapping]] = ..., capabilities: _Optional[_Iterable[_Union[MemorySpec.Capability, str]]] = ..., default: _Optional[bool] = ..., embeddings: _Optional[_Union[MemoryEmbeddings, _Mapping]] = ..., retention: _Optional[_Union[MemoryRetention, _Mapping]] = ...) -> None: ...

class MemoryEmbeddings(_message.Message):
    __slots__ = ("endpoint", "model", "dimension", "api_key_secret_ref")
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    API_KEY_SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    endpoint: str
    model: str
    dimension: int
    api_key_secret_ref: _common_pb2.SecretKeySelector
    def __init__(self, endpoint: _Optional[str] = ..., model: _Optional[str] = ..., dimension: _Optional[int] = ..., api_key_secret_ref: _Optional[_Union[_common_pb2.SecretKeySelector, _Mapping]] = ...) -> None: ...

class MemoryRetention(_message.Message):
    __slots__ = ("ttl_days",)
    TTL_DAYS_FIELD_NUMBER: _ClassVar[int]
    ttl_days: int
    def __init__(self, ttl_days: _Optional[int] = ...) -> None: ...

class MemoryConnection(_message.Message):
    __slots__ = ("secret_ref", "cluster_ref")
    SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_REF_FIELD_NUMBER: _ClassVar[int]
    secret_ref: _common_pb2.SecretKeySelector
    cluster_ref: _common_pb2.LocalObjectReference
    def __init__(self, secret_ref: _Optional[_Union[_common_pb2.SecretKeySelector, _Mapping]] = ..., cluster_ref: _Optional[_Union[_common_pb2.LocalObjectReference, _Mapping]] = ...) -> None: ...

class MemoryStatus(_message.Message):
    __slots__ = ("phase", "conditions", "observed_generation")
    class Phase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PHASE_UNSPECIFIED: _ClassVar[MemoryStatus.Phase]
        Pending: _ClassVar[MemoryStatus.Phase]
        Ready: _ClassVar[MemoryStatus.Phase]
        Failed: _ClassVar[MemoryStatus.Phase]
        Degraded: _ClassVar[MemoryStatus.Phase]
        Unreachable: _ClassVar[MemoryStatus.Phase]
    PHASE_UNSPECIFIED: MemoryStatus.Phase
    Pending: MemoryStatus.Phase
    Ready: MemoryStatus.Phase
    Failed: MemoryStatus.Phase
    Degraded: MemoryStatus.Phase
    Unreachable: MemoryStatus.Phase
    PHASE_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_GENERATION_FIELD_NUMBER: _ClassVar[int]
    phase: MemoryStatus.Phase
    conditions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Condition]
    observed_generation: int
    def __init__(self, phase: _Optional[_Union[MemoryStatus.Phase, str]] = ..., conditions: _Optional[_Iterable[_Union[_common_pb2.Condition, _Mapping]]] = ..., observed_generation: _Optional[int] = ...) -> None: ...

class CreateMemoryRequest(_message.Message):
    __slots__ = ("memory",)
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    memory: Memory
    def __init__(self, memory: _Optional[_Union[Memory, _Mapping]] = ...) -> None: ...

class GetMemoryRequest(_message.Message):
    __slots__ = ("id", "namespace")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class ListMemoriesRequest(_message.Message):
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

class ListMemoriesResponse(_message.Message):
    __slots__ = ("memories", "next_page_token")
    MEMORIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    memories: _containers.RepeatedCompositeFieldContainer[Memory]
    next_page_token: str
    def __init__(self, memories: _Optional[_Iterable[_Union[Memory, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateMemoryRequest(_message.Message):
    __slots__ = ("id", "namespace", "memory", "update_mask", "etag")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    memory: Memory
    update_mask: _field_mask_pb2.FieldMask
    etag: str
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., memory: _Optional[_Union[Memory, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteMemoryRequest(_message.Message):
    __slots__ = ("id", "namespace", "etag")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    etag: str
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...
