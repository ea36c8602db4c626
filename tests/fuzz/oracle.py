"""The property every answer to a hostile request keeps: it is not a server error, and a refusal has the
documented shape (REST: `{"code", "message", "details": [ErrorInfo, ...]}`; gRPC: a status whose
`grpc-status-details-bin` carries exactly one ErrorInfo of domain jangar.proompteng.ai with a reason), with a
message that shows no internals.

A broken promise raises a subclass of Broken named after what broke (`HTTP_500_INTERNAL`,
`GRPC_UNKNOWN_no_details`, `leak`, ...), and, for an INTERNAL error, after the exception the server logged
for the request. Hypothesis keeps one failing example per exception type, so each distinct bug is reported
with its own minimal example instead of the first one hiding the rest."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import grpc
import httpx
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.support import request_log_records

DOMAIN = "jangar.proompteng.ai"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
# Server failures over gRPC. UNAVAILABLE is documented for a database that is down; it never is here.
SERVER_FAILURES = frozenset(
    {
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DATA_LOSS,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.UNAVAILABLE,
    }
)
# What a message must never show: exception types and tracebacks, driver and library names, source paths.
INTERNALS = re.compile(
    r"Traceback|<class '|\b\w*(?:Error|Exception)\b|sqlalchemy|asyncpg|psycopg|upb_|"
    r"site-packages|File \"|\b[\w/.-]+\.py\b|\[SQL:"
)
# Where the server log names the request of an unexpected failure (api/interceptors.py).
LOGGED_REQUEST = re.compile(r"\(request ([\w-]+)\)")


class Broken(AssertionError):
    """A promise of the API was broken; subclasses name which."""


@cache
def broken(name: str) -> type[Broken]:
    return type(re.sub(r"\W", "_", name), (Broken,), {})


def signature(message: str) -> str:
    """What a message says without its particulars (numbers, quoted names), to tell failures apart:
    `Error parsing message with type 'jangar.v1.X': Wire format was corrupt` -> `Wire_format_was_corrupt`."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"|[0-9a-f]{8}-[0-9a-f-]{27}|\d+", "", message.split(";")[0])
    text = text.rsplit(": ", 1)[-1] if ": " in text else text
    return re.sub(r"\W+", "_", text).strip("_")[:48]


def leaks(text: str, sent: str) -> list[str]:
    """The internals in `text` that the request did not carry itself (a message may quote the input)."""
    return sorted({m.group(0) for m in INTERNALS.finditer(text) if m.group(0) not in sent})


class ServerLog:
    """The server's log file, for the exception behind an INTERNAL error."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def root_cause(self, request_id: str) -> str:
        """`CharacterNotInRepertoireError: invalid byte sequence ...` for the request, or ''."""
        # The record is written while the status is sent; give it a moment on a busy machine.
        for _ in range(20):
            for record in request_log_records(self.path, request_id):
                if "exception" in record:
                    return _first_exception(record["exception"])
            time.sleep(0.05)
        return ""


def _first_exception(traceback: str) -> str:
    """The innermost cause: the first `module.Type: message` line of a chained traceback."""
    for line in traceback.splitlines():
        if line and not line.startswith((" ", "Traceback", "The above", "During handling")):
            kind, _, message = line.partition(":")
            return f"{kind.rsplit('.', 1)[-1]}:{message[:160]}"
    return ""


def _cause(message: str, log: ServerLog | None) -> str:
    found = LOGGED_REQUEST.search(message)
    if log is None or found is None:
        return ""
    return log.root_cause(found.group(1))


def check_rest(response: httpx.Response, sent: str, log: ServerLog | None = None) -> None:
    """`sent` describes the request (method, URL, body) for the failure message and the leak check."""
    status = response.status_code
    text = response.text
    where = f"\nrequest: {sent[:3000]}\nresponse: HTTP {status} {text[:1500]}"
    body = _json(response)
    info = _error_info(body.get("details")) if isinstance(body, dict) else None
    reason = info.get("reason", "") if info else ""
    if status >= 500:
        cause = _cause(str(body.get("message", "")) if isinstance(body, dict) else "", log)
        said = str(body.get("message", "")) if isinstance(body, dict) else text
        name = f"HTTP_{status}_{reason or 'no_ErrorInfo'}_" + (
            cause.split(":")[0] if cause else signature(said)
        )
        raise broken(name)(f"a server error for a client's mistake{where}\nserver log: {cause}")
    if status < 400:
        return
    if not response.headers.get("content-type", "").startswith("application/json"):
        raise broken(f"HTTP_{status}_not_json")(f"a refusal that is not JSON{where}")
    if not isinstance(body, dict) or not {"code", "message", "details"} <= body.keys():
        raise broken(f"HTTP_{status}_shape")(f"a refusal without code, message and details{where}")
    if not isinstance(body["code"], int) or not body["code"] or not isinstance(body["message"], str):
        raise broken(f"HTTP_{status}_shape")(f"code must be a non-zero number, message a string{where}")
    if info is None or info.get("domain") != DOMAIN or not reason:
        said = signature(str(body["message"]))
        raise broken(f"HTTP_{status}_no_ErrorInfo_{said}")(
            f"no single ErrorInfo of {DOMAIN} with a reason{where}"
        )
    found = leaks(text, sent)
    if found:
        raise broken(f"HTTP_{status}_{reason}_leak")(f"the refusal shows internals {found}{where}")


def _json(response: httpx.Response) -> object:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _error_info(details: object) -> Mapping[str, str] | None:
    if not isinstance(details, list):
        return None
    infos = [d for d in details if isinstance(d, dict) and d.get("@type") == ERROR_INFO]
    return infos[0] if len(infos) == 1 else None


def check_grpc(error: grpc.RpcError | None, sent: str, log: ServerLog | None = None) -> None:
    """`error` is the failure of the call, None when it succeeded; `sent` describes the request."""
    if error is None:
        return
    code = error.code()
    message = error.details() or ""
    where = f"\nrequest: {sent[:3000]}\nstatus: {code.name} {message[:1500]!r}"
    try:
        status = rpc_status.from_call(error)
    except ValueError as mismatch:
        raise broken(f"GRPC_{code.name}_status_mismatch")(f"{mismatch}{where}") from None
    infos = (
        [_unpack(d) for d in status.details if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR)] if status else []
    )
    reason = infos[0].reason if len(infos) == 1 else ""
    if code in SERVER_FAILURES:
        cause = _cause(message, log)
        name = f"GRPC_{code.name}_{reason or 'no_details'}_" + (
            cause.split(":")[0] if cause else signature(message)
        )
        raise broken(name)(f"a server error for a client's mistake{where}\nserver log: {cause}")
    if status is None:
        raise broken(f"GRPC_{code.name}_no_details_{signature(message)}")(
            f"no grpc-status-details-bin{where}"
        )
    if len(infos) != 1 or infos[0].domain != DOMAIN or not reason:
        raise broken(f"GRPC_{code.name}_ErrorInfo")(f"no single ErrorInfo of {DOMAIN} with a reason{where}")
    found = leaks(message, sent)
    if found:
        raise broken(f"GRPC_{code.name}_{reason}_leak")(f"the status shows internals {found}{where}")


def _unpack(detail: object) -> error_details_pb2.ErrorInfo:
    info = error_details_pb2.ErrorInfo()
    detail.Unpack(info)  # type: ignore[attr-defined]
    return info
