"""Child-process helpers shared by the local Postgres, server and Envoy launchers.

Children run in their own session, so a Ctrl-C in the terminal reaches only the launcher, which then stops
them in order. Each child also asks the kernel for a signal when its parent dies (PR_SET_PDEATHSIG), so a
launcher killed with SIGKILL does not leave orphans behind. The kernel sends that signal when the parent
*thread* exits: spawn from a thread that lives as long as the child (the main thread of the launcher or of
pytest), never from a short-lived worker thread.
"""

from __future__ import annotations

import ctypes
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

_PR_SET_PDEATHSIG = 1
LOOPBACK = "127.0.0.1"


class ProcessStartError(RuntimeError):
    """A child did not start or did not become ready."""


# Ports handed out by free_port in this process, never handed out twice.
_handed_out: set[int] = set()
# Below the kernel's ephemeral range, free_port's own range starts here (above the well-known services).
_LOWEST_PORT = 10000


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """Returns a TCP port on 127.0.0.1 that was free a moment ago and was not returned before.

    The port comes from below the kernel's ephemeral range: a port the kernel picks for bind(0) is also one
    it may pick as the source port of any outgoing connection (a test opens thousands), which then takes it
    between this call and the child's bind ("Address already in use").
    """
    high = _ephemeral_low()
    for _ in range(1000):
        port = random.randrange(_LOWEST_PORT, high)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((LOOPBACK, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise ProcessStartError(f"no free TCP port between {_LOWEST_PORT} and {high}")


def port_accepts(port: int, host: str = LOOPBACK, timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _pdeathsig_preexec(sig: signal.Signals, parent_pid: int) -> Callable[[], None]:
    def preexec() -> None:
        # Runs in the child after the uid/gid switch: a credential change clears PDEATHSIG, so it must be
        # set here and not before.
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        # The parent may have died between fork and prctl; then nobody would ever send the signal.
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), sig)

    return preexec


def spawn(
    args: Sequence[str | os.PathLike[str]],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    pdeathsig: signal.Signals = signal.SIGTERM,
    user: str | int | None = None,
    group: str | int | None = None,
    extra_groups: Sequence[int] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Starts a child in its own session with stdout and stderr appended to log_path.

    The log file is opened by the caller's user, so a child running as another user can still write it.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [os.fspath(a) for a in args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            user=user,
            group=group,
            extra_groups=extra_groups,
            start_new_session=True,
            preexec_fn=_pdeathsig_preexec(pdeathsig, os.getpid()),
        )


def terminate(proc: subprocess.Popen[bytes], *, sig: signal.Signals, timeout: float) -> int:
    """Sends sig, waits up to timeout seconds, then SIGKILLs. Returns the exit code."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def log_tail(path: Path, lines: int = 25) -> str:
    """The last lines of a log file, for error messages; empty when it does not exist."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def wait_until(
    ready: Callable[[], bool],
    *,
    proc: subprocess.Popen[bytes] | None,
    timeout: float,
    what: str,
    log_path: Path | None = None,
    interval: float = 0.05,
) -> None:
    """Polls ready() until it returns True; fails early when proc exits, and after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise ProcessStartError(_failure(f"{what} exited with code {proc.returncode}", log_path))
        if ready():
            return
        if time.monotonic() >= deadline:
            raise ProcessStartError(_failure(f"{what} was not ready after {timeout:.0f} s", log_path))
        time.sleep(interval)


def wait_for_port(
    port: int,
    *,
    proc: subprocess.Popen[bytes] | None,
    timeout: float,
    what: str,
    log_path: Path | None = None,
) -> None:
    """Waits until 127.0.0.1:port accepts connections (see wait_until)."""
    wait_until(lambda: port_accepts(port), proc=proc, timeout=timeout, what=what, log_path=log_path)


def _failure(message: str, log_path: Path | None) -> str:
    if log_path is None:
        return message
    tail = log_tail(log_path)
    return f"{message}; log {log_path}:\n{tail}" if tail else f"{message}; log {log_path} is empty"


class ChildProcess:
    """One long-running child (Postgres, Envoy): subclasses start it into `_proc` and stop it; this holds
    what they share."""

    _proc: subprocess.Popen[bytes] | None = None

    def start(self) -> object:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def poll(self) -> int | None:
        """The exit code when the child has exited, else None."""
        return self._proc.poll() if self._proc is not None else None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
