"""The `local` runtime: each attempt is a child process on the server's machine, for development without a
cluster (`make run`). It executes what API callers configure, so the server enables it only when told to
(see ServerSettings.local_runtime).

An attempt lives in `<state dir>/runs/<run id>/<attempt>/`: `work/` (its working directory, with the
definition's input files), `run.json` ($JANGAR_RUN_SPEC), `status.json` ($JANGAR_RUNNER_STATUS_PATH, written
by the process if it wants), `output.log`, and the wrapper's `launch.json`, `wrapper.json` (its pid) and
`exit.json` (its exit code). Everything the runtime knows is in those files, so a restarted server picks up
where the last one stopped: a process that finished meanwhile has its `exit.json`, one still running is
found by pid, and one that vanished without an exit code is Lost.

A run that names a Workspace works in the Workspace's directory instead of `work/` ($JANGAR_WORKSPACE names
it either way), and the artifact files an attempt leaves are copied out when it ends (local_files.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
from pathlib import Path

from jangar.server.core.runner import MAX_ARTIFACTS
from jangar.server.core.runtime import LOCAL, Alive, Attempt, Exited, Launch, Lost, Observation, StartFailed
from jangar.server.runtime.local_files import LocalFiles

# Environment variables the process inherits from the server; nothing else of the server's environment
# (it holds the database URL and the page token key) reaches a run.
INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
STOP_GRACE_SECONDS = 2.0
MAX_STATUS_FILE_BYTES = 64 * 1024


class LocalRuntime:
    """Runs attempts as local processes under `state_dir`."""

    type = LOCAL

    def __init__(self, state_dir: Path) -> None:
        self._root = state_dir / "runs"
        self.files = LocalFiles(state_dir)
        # Wrapper processes this server started, reaped when they exit (others belong to init).
        self._children: set[asyncio.Task[int]] = set()

    def directory(self, attempt: Attempt) -> Path:
        return self._root / attempt.run_id / str(attempt.number)

    async def start(self, launch: Launch) -> None:
        directory = self.directory(launch.attempt)
        if (directory / "wrapper.json").exists():
            return  # started already: a start is retried only after a crash
        env = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
        env.update(launch.env)
        env["JANGAR_RUN_SPEC"] = str(directory / "run.json")
        env["JANGAR_RUNNER_STATUS_PATH"] = str(directory / "status.json")
        if not launch.argv:
            # A Job falls back to its image's entrypoint; outside a container there is none.
            raise StartFailed("nothing to execute: the definition names no command")
        binary = shutil.which(launch.argv[0], path=env.get("PATH"))
        if binary is None:
            raise StartFailed(f"{launch.argv[0]!r} is not an executable on PATH")
        if launch.required_secrets:
            raise StartFailed(
                "the local runtime cannot read Kubernetes Secrets, and "
                f"{', '.join(launch.required_secrets)} must come from one (mark them optional to run locally)"
            )
        directory.mkdir(parents=True, exist_ok=True)
        work = directory / "work"
        if launch.workspace is not None:
            work = self.files.workspace_dir(launch.workspace.workspace_id)
            env["JANGAR_WORKSPACE"] = str(work)
        work.mkdir(parents=True, exist_ok=True)
        for relative, content in launch.files.items():
            target = (work / relative).resolve()
            if not target.is_relative_to(work.resolve()):
                raise StartFailed(f"input file {relative!r} is outside the working directory")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        (directory / "run.json").write_text(json.dumps(launch.run_document, indent=2, sort_keys=True))
        (directory / "launch.json").write_text(
            json.dumps(
                {
                    "argv": [binary, *launch.argv[1:]],
                    "env": env,
                    "cwd": str(work),
                    "outputArtifacts": dict(launch.output_artifacts),
                }
            )
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "jangar.server.runtime.wrapper",
            str(directory),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        (directory / "wrapper.json").write_text(
            json.dumps({"pid": process.pid, "startTicks": _start_ticks(process.pid)})
        )
        task = asyncio.create_task(process.wait(), name=f"reap-{launch.attempt.name}")
        self._children.add(task)
        task.add_done_callback(self._children.discard)

    async def observe(self, attempt: Attempt) -> Observation:
        directory = self.directory(attempt)
        # In a thread: an attempt that ended has its artifact files copied and hashed.
        exited = await asyncio.to_thread(self._exited, attempt, directory)
        if exited is not None:
            return exited
        if _alive(directory):
            return Alive()
        # The wrapper may have written exit.json and exited between the two checks.
        exited = await asyncio.to_thread(self._exited, attempt, directory)
        if exited is not None:
            return exited
        if not (directory / "wrapper.json").exists():
            return Lost("the attempt's process was never started")
        return Lost("the attempt's process ended without reporting an exit code")

    def _exited(self, attempt: Attempt, directory: Path) -> Exited | None:
        try:
            code = json.loads((directory / "exit.json").read_text())["exitCode"]
        except (FileNotFoundError, ValueError, KeyError):
            return None
        status = directory / "status.json"
        status_file = None
        if status.is_file() and status.stat().st_size <= MAX_STATUS_FILE_BYTES:
            status_file = status.read_bytes()
        launch = json.loads((directory / "launch.json").read_text())
        declared = launch.get("outputArtifacts", {})
        work = Path(launch["cwd"])
        present = {name: path for name, path in declared.items() if (work / path).exists()}
        files = {}
        for path in {*present.values(), *_listed_paths(status_file)}:
            kept = self.files.keep(attempt.run_id, attempt.number, work, path)
            if kept is not None:
                files[path] = kept
        return Exited(exit_code=int(code), status_file=status_file, artifacts=present, files=files)

    async def stop(self, attempt: Attempt) -> None:
        """SIGTERM to the attempt's process group, SIGKILL after a grace period; nothing if it has ended."""
        directory = self.directory(attempt)
        pid = _pid(directory)
        if pid is None or not _alive(directory):
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        for _ in range(int(STOP_GRACE_SECONDS / 0.05)):
            if not _alive(directory):
                return
            await asyncio.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)

    async def logs(self, attempt: Attempt, tail_bytes: int) -> tuple[str, bool]:
        return await asyncio.to_thread(_tail, self.directory(attempt) / "output.log", tail_bytes)


def _listed_paths(status_file: bytes | None) -> list[str]:
    """The relative paths of the artifacts a status file lists (core/runner.py reads the rest of it)."""
    try:
        report = json.loads(status_file or b"{}")
    except (ValueError, UnicodeDecodeError):
        return []
    items = report.get("artifacts") if isinstance(report, dict) else None
    if not isinstance(items, list):
        return []
    paths = [str(item.get("path") or "") for item in items[:MAX_ARTIFACTS] if isinstance(item, dict)]
    return [path for path in paths if path and "://" not in path and not path.startswith("/")]


def _tail(path: Path, tail_bytes: int) -> tuple[str, bool]:
    try:
        with open(path, "rb") as output:
            size = output.seek(0, os.SEEK_END)
            output.seek(max(0, size - tail_bytes))
            data = output.read(tail_bytes)
    except FileNotFoundError:
        return "", False
    return data.decode(errors="replace"), size > tail_bytes


def _pid(directory: Path) -> int | None:
    try:
        return int(json.loads((directory / "wrapper.json").read_text())["pid"])
    except (FileNotFoundError, ValueError, KeyError):
        return None


def _alive(directory: Path) -> bool:
    """Whether the attempt's wrapper still runs: its pid exists and started when recorded (pids get
    reused)."""
    try:
        recorded = json.loads((directory / "wrapper.json").read_text())
    except (FileNotFoundError, ValueError):
        return False
    ticks = _start_ticks(int(recorded["pid"]))
    return ticks is not None and ticks == recorded.get("startTicks") and not _zombie(int(recorded["pid"]))


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) is in parentheses and may contain spaces.
    return stat[stat.rindex(")") + 2 :].split()


def _start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None  # field 22 of /proc/<pid>/stat


def _zombie(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is None or fields[0] in ("Z", "X")
