import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from jangar.v1 import common_pb2 as _common_pb2
from jangar.v1 import revision_pb2 as _revision_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AgentProvider(_message.Message):
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
    spec: AgentProviderSpec
    status: AgentProviderStatus
    generation: int
    etag: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    delete_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., namespace: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., spec: _Optional[_Union[AgentProviderSpec, _Mapping]] = ..., status: _Optional[_Union[AgentProviderStatus, _Mapping]] = ..., generation: _Optional[int] = ..., etag: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delete_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AgentProviderSpec(_message.Message):
    __slots__ = ("binary", "args_template", "env_template", "secret_env", "input_files", "output_artifacts", "workload")
    class EnvTemplateEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BINARY_FIELD_NUMBER: _ClassVar[int]
    ARGS_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    ENV_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    SECRET_ENV_FIELD_NUMBER: _ClassVar[int]
    INPUT_FILES_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    WORKLOAD_FIELD_NUMBER: _ClassVar[int]
    binary: str
    args_template: _containers.RepeatedScalarFieldContainer[str]
    env_template: _containers.ScalarMap[str, str]
    secret_env: _containers.RepeatedCompositeFieldContainer[ProviderSecretEnv]
    input_files: _containers.RepeatedCompositeFieldContainer[ProviderInputFile]
    output_artifacts: _containers.RepeatedCompositeFieldContainer[ProviderOutputArtifact]
    workload: ProviderWorkload
    def __init__(self, binary: _Optional[str] = ..., args_template: _Optional[_Iterable[str]] = ..., env_template: _Optional[_Mapping[str, str]] = ..., secret_env: _Optional[_Iterable[_Union[ProviderSecretEnv, _Mapping]]] = ..., input_files: _Optional[_Iterable[_Union[ProviderInputFile, _Mapping]]] = ..., output_artifacts: _Optional[_Iterable[_Union[ProviderOutputArtifact, _Mapping]]] = ..., workload: _Optional[_Union[ProviderWorkload, _Mapping]] = ...) -> None: ...

class ProviderSecretEnv(_message.Message):
    __slots__ = ("name", "secret_name", "key", "optional")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SECRET_NAME_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    secret_name: str
    key: str
    optional: bool
    def __init__(self, name: _Optional[str] = ..., secret_name: _Optional[str] = ..., key: _Optional[str] = ..., optional: _Optional[bool] = ...) -> None: ...

class ProviderInputFile(_message.Message):
    __slots__ = ("path", "content")
    PATH_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    path: str
    content: str
    def __init__(self, path: _Optional[str] = ..., content: _Optional[str] = ...) -> None: ...

class ProviderOutputArtifact(_message.Message):
    __slots__ = ("name", "path")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class ProviderWorkload(_message.Message):
    __slots__ = ("image", "resources", "service_account_name")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ACCOUNT_NAME_FIELD_NUMBER: _ClassVar[int]
    image: str
    resources: _common_pb2.ResourceRequirements
    service_account_name: str
    def __init__(self, image: _Optional[str] = ..., resources: _Optional[_Union[_common_pb2.ResourceRequirements, _Mapping]] = ..., service_account_name: _Optional[str] = ...) -> None: ...

class AgentProviderStatus(_message.Message):
    __slots__ = ("conditions", "observed_generation")
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_GENERATION_FIELD_NUMBER: _ClassVar[int]
    conditions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Condition]
    observed_generation: int
    def __init__(self, conditions: _Optional[_Iterable[_Union[_common_pb2.Condition, _Mapping]]] = ..., observed_generation: _Optional[int] = ...) -> None: ...

class CreateAgentProviderRequest(_message.Message):
    __slots__ = ("agent_provider",)
    AGENT_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    agent_provider: AgentProvider
    def __init__(self, agent_provider: _Optional[_Union[AgentProvider, _Mapping]] = ...) -> None: ...

class GetAgentProviderRequest(_message.Message):
    __slots__ = ("id", "namespace")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class ListAgentProvidersRequest(_message.Message):
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

class ListAgentProvidersResponse(_message.Message):
    __slots__ = ("agent_providers", "next_page_token")
    AGENT_PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    agent_providers: _containers.RepeatedCompositeFieldContainer[AgentProvider]
    next_page_token: str
    def __init__(self, agent_providers: _Optional[_Iterable[_Union[AgentProvider, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateAgentProviderRequest(_message.Message):
    __slots__ = ("id", "namespace", "agent_provider", "update_mask", "etag")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    AGENT_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    agent_provider: AgentProvider
    update_mask: _field_mask_pb2.FieldMask
    etag: str
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., agent_provider: _Optional[_Union[AgentProvider, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteAgentProviderRequest(_message.Message):
    __slots__ = ("id", "namespace", "etag")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    etag: str
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...
