"""A scriptable Job controller and kubelet: for every Job created in the fake, Pods are created and moved
through the status sequences a real cluster (Kubernetes 1.31+) shows, and the Job's status follows.

What a Job's Pods do is scripted per Job (by name or label selector), or driven step by step from the test
through a ManualJob handle. Times in scripts are real seconds; KubeletConfig scales the durations that
come from the Job itself (activeDeadlineSeconds, ttlSecondsAfterFinished) and the retry backoff."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError
from .kinds import JOBS, PODS
from .selection import Selection
from .store import Event, Store, now

log = logging.getLogger(__name__)

# What kubelet keeps of a termination message, and of the log tail FallbackToLogsOnError uses.
MAX_MESSAGE_BYTES = 4096
FALLBACK_LOG_LINES = 80
FALLBACK_LOG_BYTES = 2048

SUCCESS_MESSAGE = "Reached expected number of succeeded pods"
BACKOFF_MESSAGE = "Job has reached the specified backoff limit"
DEADLINE_MESSAGE = "Job was active longer than specified deadline"


@dataclass(frozen=True)
class PodRun:
    """What one Pod of a Job does. `outcome` is "Succeeded", "Failed" or "Hang" (runs until killed).
    `message` is what the container leaves in its terminationMessagePath; `logs` its output."""

    outcome: str = "Succeeded"
    exit_code: int | None = None
    message: str = ""
    logs: str = ""
    reason: str | None = None
    pending_seconds: float = 0.0
    run_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.outcome not in ("Succeeded", "Failed", "Hang"):
            raise ValueError(f"unknown outcome {self.outcome!r}")


@dataclass(frozen=True)
class JobScript:
    """The Pods of one Job, attempt by attempt (the last entry repeats); `manual` hands every step to
    the test through a ManualJob."""

    attempts: tuple[PodRun, ...] = (PodRun(),)
    manual: bool = False

    def attempt(self, index: int) -> PodRun:
        return self.attempts[min(index, len(self.attempts) - 1)]

    @classmethod
    def succeed(
        cls, message: str = "", *, logs: str = "", run_seconds: float = 0.0, pending_seconds: float = 0.0
    ) -> JobScript:
        return cls((PodRun("Succeeded", 0, message, logs, None, pending_seconds, run_seconds),))

    @classmethod
    def fail(
        cls,
        exit_code: int = 1,
        message: str = "",
        *,
        logs: str = "",
        reason: str | None = None,
        run_seconds: float = 0.0,
        pending_seconds: float = 0.0,
    ) -> JobScript:
        return cls((PodRun("Failed", exit_code, message, logs, reason, pending_seconds, run_seconds),))

    @classmethod
    def hang(cls, *, logs: str = "", message: str = "") -> JobScript:
        return cls((PodRun("Hang", None, message, logs),))

    @classmethod
    def sequence(cls, *runs: PodRun) -> JobScript:
        return cls(tuple(runs))


@dataclass(frozen=True)
class KubeletConfig:
    step_seconds: float = 0.0  # pause between two status writes of one Pod
    backoff_seconds: float = 0.02  # the Job controller's 10 s retry backoff, doubled per failure
    backoff_cap_seconds: float = 1.0
    deadline_scale: float = 1.0  # multiplies activeDeadlineSeconds
    ttl_scale: float = 1.0  # multiplies ttlSecondsAfterFinished
    node_name: str = "fake-node"
    kill_exit_code: int = 143  # what a container stopped with SIGTERM exits with


Command = tuple[str, PodRun | None, "asyncio.Future[None]"]


class ManualJob:
    """Step-by-step control of one Job's Pods from the test: `await handle.pod()` waits for the current
    Pod; `start()` makes it Running; `succeed()`/`fail()` end it. Each call returns once written."""

    def __init__(self, name: str, namespace: str) -> None:
        self.name = name
        self.namespace = namespace
        self._commands: asyncio.Queue[tuple[str, PodRun | None, asyncio.Future[None]]] = asyncio.Queue()
        self._pod: dict[str, Any] | None = None
        self._pod_changed = asyncio.Event()

    def _set_pod(self, pod: dict[str, Any]) -> None:
        self._pod = pod
        self._pod_changed.set()

    async def pod(self, within: float = 10.0, *, after: str | None = None) -> dict[str, Any]:
        """The current attempt's Pod, once it exists (a different one than `after`, if given)."""
        async with asyncio.timeout(within):
            while self._pod is None or self._pod["metadata"]["name"] == after:
                self._pod_changed.clear()
                await self._pod_changed.wait()
        return copy.deepcopy(self._pod)

    async def _send(self, command: str, run: PodRun | None, within: float) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._commands.put_nowait((command, run, done))
        async with asyncio.timeout(within):
            await done

    async def start(self, within: float = 10.0) -> None:
        await self._send("start", None, within)

    async def succeed(self, message: str = "", *, logs: str = "", within: float = 10.0) -> None:
        await self._send("end", PodRun("Succeeded", 0, message, logs), within)

    async def fail(
        self,
        exit_code: int = 1,
        message: str = "",
        *,
        logs: str = "",
        reason: str | None = None,
        within: float = 10.0,
    ) -> None:
        await self._send("end", PodRun("Failed", exit_code, message, logs, reason), within)


def _condition(kind: str, reason: str, message: str) -> dict[str, Any]:
    stamp = now()
    return {
        "type": kind,
        "status": "True",
        "lastProbeTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def _pod_condition(kind: str, status: bool, reason: str | None = None, message: str | None = None) -> dict:
    condition: dict[str, Any] = {
        "type": kind,
        "status": "True" if status else "False",
        "lastProbeTime": None,
        "lastTransitionTime": now(),
    }
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def _truncate_bytes(text: str, limit: int, *, keep_end: bool = False) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    data = data[-limit:] if keep_end else data[:limit]
    return data.decode(errors="ignore")


def termination_message(container: dict[str, Any], run: PodRun, exit_code: int) -> str:
    """What kubelet puts in state.terminated.message: the file's contents, or, with FallbackToLogsOnError
    and a failed container with an empty file, the tail of its logs; at most 4096 bytes."""
    message = run.message
    if (
        not message
        and exit_code != 0
        and container.get("terminationMessagePolicy") == "FallbackToLogsOnError"
    ):
        tail = "\n".join(run.logs.splitlines()[-FALLBACK_LOG_LINES:])
        if run.logs.endswith("\n") and tail:
            tail += "\n"
        message = _truncate_bytes(tail, FALLBACK_LOG_BYTES, keep_end=True)
    return _truncate_bytes(message, MAX_MESSAGE_BYTES)


@dataclass
class _PodState:
    name: str
    namespace: str
    uid: str
    run: PodRun
    manual: ManualJob | None
    kill: asyncio.Event = field(default_factory=asyncio.Event)
    deleted: asyncio.Event = field(default_factory=asyncio.Event)
    started: bool = False
    task: asyncio.Task[str] | None = None


class Kubelet:
    """The Job controller, TTL controller and kubelet of the fake. `script()` and `manual()` decide what
    each Job's Pods do; `default` applies to every other Job."""

    def __init__(self, store: Store, config: KubeletConfig | None = None) -> None:
        self._store = store
        self.config = config or KubeletConfig()
        self.default = JobScript.succeed()
        self._rules: list[tuple[str | None, str | None, Selection | None, JobScript | ManualJob]] = []
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._pods: dict[str, _PodState] = {}
        self._pod_tasks: set[asyncio.Task[str]] = set()
        self._logs: dict[tuple[str, str], str] = {}
        store.subscribe(self._on_event)

    # ---- scripting --------------------------------------------------------------------------------------

    def script(
        self,
        script: JobScript,
        *,
        name: str | None = None,
        namespace: str | None = None,
        labels: str | None = None,
    ) -> None:
        """Jobs created from now on that match (by name and/or label selector) run `script`; the newest
        matching rule wins."""
        selection = Selection.parse(JOBS, labels, "") if labels else None
        self._rules.append((name, namespace, selection, script))

    def manual(self, name: str, namespace: str = "default") -> ManualJob:
        handle = ManualJob(name, namespace)
        self._rules.append((name, namespace, None, handle))
        return handle

    def _script_for(self, job: dict[str, Any]) -> JobScript | ManualJob:
        metadata = job["metadata"]
        for name, namespace, selection, script in reversed(self._rules):
            if name is not None and name != metadata["name"]:
                continue
            if namespace is not None and namespace != metadata.get("namespace"):
                continue
            if selection is not None and not selection.matches(job):
                continue
            return script
        return self.default

    def logs(self, namespace: str, pod: str) -> str | None:
        return self._logs.get((namespace, pod))

    # ---- lifecycle --------------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        uid = event.obj["metadata"]["uid"]
        if event.resource_type is JOBS and event.type == "ADDED":
            task = asyncio.get_running_loop().create_task(self._run_job(event.obj))
            self._jobs[uid] = task
            task.add_done_callback(lambda _t, uid=uid: self._jobs.pop(uid, None))
        elif event.resource_type is JOBS and event.type == "DELETED":
            task = self._jobs.pop(uid, None)
            if task is not None:
                task.cancel()
        elif event.resource_type is PODS and event.type == "DELETED":
            state = self._pods.get(uid)
            if state is not None:
                state.deleted.set()

    async def stop(self) -> None:
        tasks = [*self._jobs.values(), *self._pod_tasks]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # ---- the Job controller -----------------------------------------------------------------------------

    def _write_job_status(self, job: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
        current = self._store.get(JOBS, job["metadata"]["namespace"], job["metadata"]["name"])
        if current["metadata"]["uid"] != job["metadata"]["uid"]:
            raise ApiError(404, "the Job was replaced by another of the same name")
        if current["metadata"].get("deletionTimestamp"):
            raise ApiError(404, "the Job is being deleted: the controller no longer syncs its status")
        status = current.get("status") or {}
        for key, value in change.items():
            if key == "conditions":
                status["conditions"] = (status.get("conditions") or []) + value
            else:
                status[key] = value
        current["status"] = status
        return self._store.replace(
            JOBS, current["metadata"]["namespace"], current["metadata"]["name"], current, "status"
        )

    async def _run_job(self, job: dict[str, Any]) -> None:
        try:
            await self._drive_job(job)
        except asyncio.CancelledError:
            raise
        except ApiError as error:
            if error.code != 404:  # the Job was deleted under it
                log.exception("fake job controller failed on %s", job["metadata"]["name"])
        except Exception:
            log.exception("fake job controller failed on %s", job["metadata"]["name"])

    async def _drive_job(self, job: dict[str, Any]) -> None:
        spec = job["spec"]
        if spec.get("suspend"):
            return  # not modelled: a suspended Job stays as it was created
        script = self._script_for(job)
        completions = spec.get("completions") or 1
        backoff_limit = spec.get("backoffLimit", 6)
        deadline = spec.get("activeDeadlineSeconds")
        succeeded = failed = 0
        attempt = 0
        current: _PodState | None = None
        finished: tuple[str, str, str] | None = None
        try:
            async with asyncio.timeout(deadline * self.config.deadline_scale if deadline else None):
                while True:
                    current = self._start_pod(job, script, attempt)
                    assert current.task is not None
                    task = current.task
                    change: dict[str, Any] = {
                        "active": 1,
                        "ready": 0,
                        "terminating": 0,
                        "uncountedTerminatedPods": {},
                    }
                    if attempt == 0:
                        change["startTime"] = now()
                    self._write_job_status(job, change)
                    await asyncio.wait({task})
                    outcome = task.result()
                    ended, current = current, None
                    interim: list[dict[str, Any]] = []
                    if outcome == "Succeeded":
                        succeeded += 1
                        if succeeded >= completions:
                            finished = ("SuccessCriteriaMet", "CompletionsReached", SUCCESS_MESSAGE)
                    else:
                        failed += 1
                        if failed > backoff_limit:
                            finished = ("FailureTarget", "BackoffLimitExceeded", BACKOFF_MESSAGE)
                    if finished:
                        interim = [_condition(*finished)]
                    counted = "succeeded" if outcome == "Succeeded" else "failed"
                    # As the real controller does: first record the finished Pod as uncounted (and the
                    # interim condition), then count it once its tracking finalizer would be gone.
                    self._write_job_status(
                        job,
                        {
                            "active": 0,
                            "ready": 0,
                            "conditions": interim,
                            "uncountedTerminatedPods": {counted: [ended.uid]},
                        },
                    )
                    self._write_job_status(
                        job, {"succeeded": succeeded, "failed": failed, "uncountedTerminatedPods": {}}
                    )
                    if finished:
                        break
                    attempt += 1
                    backoff = self.config.backoff_seconds * 2 ** (failed - 1) if outcome != "Succeeded" else 0
                    await asyncio.sleep(min(backoff, self.config.backoff_cap_seconds))
        except TimeoutError:
            finished = ("FailureTarget", "DeadlineExceeded", DEADLINE_MESSAGE)
            self._write_job_status(
                job,
                {
                    "active": 0,
                    "ready": 0,
                    "terminating": 1 if current else 0,
                    "conditions": [_condition(*finished)],
                },
            )
            if current is not None:
                await self._kill_pod(current)
                failed += 1
            self._write_job_status(job, {"failed": failed, "terminating": 0, "uncountedTerminatedPods": {}})
        final_type = "Complete" if finished[0] == "SuccessCriteriaMet" else "Failed"
        change = {"conditions": [_condition(final_type, finished[1], finished[2])]}
        if final_type == "Complete":
            change["completionTime"] = now()
        self._write_job_status(job, change)
        ttl = spec.get("ttlSecondsAfterFinished")
        if ttl is not None:
            await asyncio.sleep(ttl * self.config.ttl_scale)
            with contextlib.suppress(ApiError):
                self._store.delete(
                    JOBS,
                    job["metadata"]["namespace"],
                    job["metadata"]["name"],
                    "Background",
                    {"uid": job["metadata"]["uid"]},
                )

    # ---- Pods -------------------------------------------------------------------------------------------

    def _start_pod(self, job: dict[str, Any], script: JobScript | ManualJob, attempt: int) -> _PodState:
        template = copy.deepcopy(job["spec"]["template"])
        metadata = template.get("metadata") or {}
        metadata.pop("name", None)
        metadata["generateName"] = f"{job['metadata']['name']}-"
        metadata["ownerReferences"] = [
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "name": job["metadata"]["name"],
                "uid": job["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        pod = self._store.create(
            PODS,
            job["metadata"]["namespace"],
            {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]},
        )
        manual = script if isinstance(script, ManualJob) else None
        run = PodRun() if manual else script.attempt(attempt)
        state = _PodState(
            pod["metadata"]["name"], pod["metadata"]["namespace"], pod["metadata"]["uid"], run, manual
        )
        self._pods[state.uid] = state
        if manual is not None:
            manual._set_pod(pod)
        state.task = asyncio.get_running_loop().create_task(self._run_pod(state, job))
        self._pod_tasks.add(state.task)
        state.task.add_done_callback(self._pod_tasks.discard)
        return state

    def _write_pod_status(self, state: _PodState, status: dict[str, Any], node: bool = False) -> None:
        pod = self._store.get(PODS, state.namespace, state.name)
        if node:
            pod["spec"]["nodeName"] = self.config.node_name
            self._store.replace(PODS, state.namespace, state.name, pod)
            pod = self._store.get(PODS, state.namespace, state.name)
        pod["status"] = status
        updated = self._store.replace(PODS, state.namespace, state.name, pod, "status")
        if state.manual is not None:
            state.manual._set_pod(updated)

    def _container_statuses(
        self,
        state: _PodState,
        pod: dict[str, Any],
        container_state: dict[str, Any],
        ready: bool,
        started: bool,
    ) -> list[dict[str, Any]]:
        statuses = []
        for container in pod["spec"]["containers"]:
            digest = hashlib.sha256(f"{state.uid}/{container['name']}".encode()).hexdigest()
            status: dict[str, Any] = {
                "name": container["name"],
                "image": container.get("image", ""),
                "imageID": "",
                "ready": ready,
                "restartCount": 0,
                "started": started,
                "state": container_state,
                "lastState": {},
            }
            if state.started:
                status["containerID"] = f"containerd://{digest}"
                status["imageID"] = f"{container.get('image', '')}@sha256:{digest}"
            statuses.append(status)
        return statuses

    async def _pause(self, state: _PodState, seconds: float | None) -> str | None:
        """Wait `seconds` (None: forever), unless the Pod is killed or deleted first."""
        waits = {
            asyncio.ensure_future(state.kill.wait()): "kill",
            asyncio.ensure_future(state.deleted.wait()): "deleted",
        }
        try:
            done, _ = await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
        for waiter in done:
            return waits[waiter]
        return None

    async def _next_command(self, state: _PodState) -> Command | str:
        assert state.manual is not None
        getter = asyncio.ensure_future(state.manual._commands.get())
        stops = {
            asyncio.ensure_future(state.kill.wait()): "kill",
            asyncio.ensure_future(state.deleted.wait()): "deleted",
        }
        try:
            done, _ = await asyncio.wait({getter, *stops}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in stops:
                waiter.cancel()
        if getter in done:
            return getter.result()
        getter.cancel()
        return next(stops[w] for w in done)

    async def _run_pod(self, state: _PodState, job: dict[str, Any]) -> str:
        try:
            return await self._pod_sequence(state, job)
        except ApiError as error:
            if error.code == 404:
                return "Deleted"
            raise
        finally:
            self._pods.pop(state.uid, None)

    async def _until_started(self, state: _PodState) -> Command | str | None:
        if state.manual is not None:
            return await self._next_command(state)
        return await self._pause(state, state.run.pending_seconds)

    async def _until_ended(self, state: _PodState) -> Command | str | None:
        if state.manual is None:
            return await self._pause(state, None if state.run.outcome == "Hang" else state.run.run_seconds)
        while True:
            command = await self._next_command(state)
            if not (isinstance(command, tuple) and command[0] == "start"):
                return command
            command[2].set_result(None)  # already running

    async def _pod_sequence(self, state: _PodState, job: dict[str, Any]) -> str:
        step = self.config.step_seconds
        pod = self._store.get(PODS, state.namespace, state.name)
        base = {"phase": "Pending", "qosClass": pod["status"].get("qosClass", "BestEffort")}
        scheduled = _pod_condition("PodScheduled", True)
        self._write_pod_status(state, {**base, "conditions": [scheduled]}, node=True)
        await asyncio.sleep(step)
        names = ", ".join(c["name"] for c in pod["spec"]["containers"])
        base.update({"hostIP": "10.0.0.1", "hostIPs": [{"ip": "10.0.0.1"}], "startTime": now()})
        unready = f"containers with unready status: [{names}]"
        creating = [
            _pod_condition("PodReadyToStartContainers", False),
            _pod_condition("Initialized", True),
            _pod_condition("Ready", False, "ContainersNotReady", unready),
            _pod_condition("ContainersReady", False, "ContainersNotReady", unready),
            scheduled,
        ]
        waiting = {"waiting": {"reason": "ContainerCreating"}}
        self._write_pod_status(
            state,
            {
                **base,
                "conditions": creating,
                "containerStatuses": self._container_statuses(state, pod, waiting, False, False),
            },
        )

        command = await self._until_started(state)
        if command == "deleted":
            return "Deleted"
        killed = command == "kill"
        end: Command | None = None
        started_at = None
        if not killed:
            state.started = True
            started_at = now()
            base.update({"podIP": "10.244.0.10", "podIPs": [{"ip": "10.244.0.10"}]})
            ready = [
                _pod_condition("PodReadyToStartContainers", True),
                _pod_condition("Initialized", True),
                _pod_condition("Ready", True),
                _pod_condition("ContainersReady", True),
                scheduled,
            ]
            running = {"running": {"startedAt": started_at}}
            self._write_pod_status(
                state,
                {
                    **base,
                    "phase": "Running",
                    "conditions": ready,
                    "containerStatuses": self._container_statuses(state, pod, running, True, True),
                },
            )
            if state.manual is None:
                self._logs[(state.namespace, state.name)] = state.run.logs  # scripted output, all at once
            with contextlib.suppress(ApiError):
                self._write_job_status(job, {"ready": 1})
            if isinstance(command, tuple) and command[0] == "start":
                command[2].set_result(None)
                command = await self._until_ended(state)
            elif not isinstance(command, tuple):
                command = await self._until_ended(state)
            if command == "deleted":
                return "Deleted"
            killed = command == "kill"
            if isinstance(command, tuple):
                end = command
        await asyncio.sleep(step)

        run = end[1] if end is not None and end[1] is not None else state.run
        if killed:
            exit_code, reason = self.config.kill_exit_code, "Error"
        else:
            exit_code = (
                run.exit_code if run.exit_code is not None else (0 if run.outcome == "Succeeded" else 1)
            )
            reason = run.reason or ("Completed" if exit_code == 0 else "Error")
        phase = "Succeeded" if exit_code == 0 and not killed else "Failed"
        self._logs[(state.namespace, state.name)] = run.logs
        statuses = []
        for index, status in enumerate(self._container_statuses(state, pod, {}, False, False)):
            terminated: dict[str, Any] = {
                "exitCode": exit_code,
                "reason": reason,
                "finishedAt": now(),
                "containerID": status.get("containerID", ""),
            }
            if started_at:
                terminated["startedAt"] = started_at
            message = (
                termination_message(pod["spec"]["containers"][index], run, exit_code) if index == 0 else ""
            )
            if message:
                terminated["message"] = message
            status["state"] = {"terminated": terminated}
            statuses.append(status)
        why = "PodCompleted" if phase == "Succeeded" else "PodFailed"
        done = [
            _pod_condition("PodReadyToStartContainers", False),
            _pod_condition("Initialized", True, why),
            _pod_condition("Ready", False, why),
            _pod_condition("ContainersReady", False, why),
            scheduled,
        ]
        self._write_pod_status(
            state, {**base, "phase": phase, "conditions": done, "containerStatuses": statuses}
        )
        if end is not None:
            end[2].set_result(None)
        return phase

    async def _kill_pod(self, state: _PodState) -> None:
        """What the Job controller's delete of an active Pod leads to: kubelet stops the container, the
        Pod ends Failed, and it is removed."""
        state.kill.set()
        if state.task is not None:
            await asyncio.wait({state.task})
        with contextlib.suppress(ApiError):
            self._store.delete(PODS, state.namespace, state.name, "Background", {"uid": state.uid})
