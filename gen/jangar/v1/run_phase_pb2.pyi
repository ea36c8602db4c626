from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class RunPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUN_PHASE_UNSPECIFIED: _ClassVar[RunPhase]
    Pending: _ClassVar[RunPhase]
    Running: _ClassVar[RunPhase]
    Succeeded: _ClassVar[RunPhase]
    Failed: _ClassVar[RunPhase]
    Cancelled: _ClassVar[RunPhase]
RUN_PHASE_UNSPECIFIED: RunPhase
Pending: RunPhase
Running: RunPhase
Succeeded: RunPhase
Failed: RunPhase
Cancelled: RunPhase
