"""Leader election on a coordination.k8s.io/v1 Lease, as client-go does it.

kubernetes_asyncio.leaderelection is not used: it never releases the Lease, writes naive local times, and
logs a stack trace on every lost race. The rules here: a candidate takes a Lease that is absent, released
(no holder) or expired; expiry is judged by the local clock from when this candidate last saw the record
change, not by comparing clocks with the holder. Every write carries the resourceVersion it read, so of two
candidates one gets 409 Conflict and stays a candidate."""

from __future__ import annotations

import asyncio
import datetime
import enum
import logging
import math
import random
import time
from typing import Any

from jangar.reconciler.config import Config
from jangar.reconciler.kube import Kube, KubeError

log = logging.getLogger("jangar.reconciler.lease")


class Attempt(enum.Enum):
    HELD = "held"  # this candidate holds the Lease now
    OTHER = "other"  # another holder's Lease is valid, or a race was lost
    FAILED = "failed"  # the API could not be reached or refused


def _micro_time() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaseElector:
    def __init__(self, kube: Kube, config: Config) -> None:
        self._kube = kube
        self._config = config
        self._collection = f"/apis/coordination.k8s.io/v1/namespaces/{config.lease_namespace}/leases"
        self._path = f"{self._collection}/{config.lease_name}"
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = 0.0
        self.holder = ""
        self.is_leader = False
        # time.monotonic() of the last answer from the API server, for readiness.
        self.last_contact: float | None = None

    @property
    def _duration(self) -> int:
        return max(1, math.ceil(self._config.lease_duration_seconds))

    async def attempt(self) -> Attempt:
        """Acquire or renew once."""
        identity = self._config.identity
        now = _micro_time()
        try:
            lease = await self._kube.request("GET", self._path)
        except KubeError as error:
            if error.code != 404:
                return self._failed(error)
            self.last_contact = time.monotonic()
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self._config.lease_name, "namespace": self._config.lease_namespace},
                "spec": {
                    "holderIdentity": identity,
                    "leaseDurationSeconds": self._duration,
                    "acquireTime": now,
                    "renewTime": now,
                    "leaseTransitions": 0,
                },
            }
            return await self._write("POST", self._collection, body)
        except Exception as error:
            return self._failed(error)
        self.last_contact = time.monotonic()
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        record = (holder, spec.get("renewTime"), spec.get("acquireTime"), spec.get("leaseDurationSeconds"))
        if record != self._observed:
            self._observed = record
            self._observed_at = time.monotonic()
        self.holder = holder
        duration = spec.get("leaseDurationSeconds") or self._duration
        if holder and holder != identity and time.monotonic() < self._observed_at + duration:
            return Attempt.OTHER
        if holder != identity:
            spec["acquireTime"] = now
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        spec.update(holderIdentity=identity, leaseDurationSeconds=self._duration, renewTime=now)
        lease["spec"] = spec
        # The read's metadata.resourceVersion goes back with the write: the optimistic-concurrency check.
        return await self._write("PUT", self._path, lease)

    async def _write(self, method: str, path: str, body: dict[str, Any]) -> Attempt:
        try:
            written = await self._kube.request(method, path, body=body)
        except KubeError as error:
            if error.code in (409, 404):  # a lost race (Conflict, AlreadyExists, or deleted since the read)
                return Attempt.OTHER
            return self._failed(error)
        except Exception as error:
            return self._failed(error)
        self.last_contact = time.monotonic()
        spec = written.get("spec") or {}
        self._observed = (
            spec.get("holderIdentity") or "",
            spec.get("renewTime"),
            spec.get("acquireTime"),
            spec.get("leaseDurationSeconds"),
        )
        self._observed_at = time.monotonic()
        self.holder = self._config.identity
        return Attempt.HELD

    def _failed(self, error: Exception) -> Attempt:
        log.debug("lease request failed", extra={"error": str(error) or type(error).__name__})
        return Attempt.FAILED

    async def acquire(self) -> None:
        """Returns once this candidate holds the Lease."""
        while True:
            if await self.attempt() is Attempt.HELD:
                break
            await asyncio.sleep(self._config.retry_period_seconds * random.uniform(1.0, 1.2))
        self.is_leader = True

    async def hold(self) -> None:
        """Renews the Lease; returns when leadership is lost: another holder took it, or no renewal
        succeeded for lease duration - renew interval (so we stop before the others may take over)."""
        config = self._config
        deadline = config.lease_duration_seconds - config.renew_interval_seconds
        last_renewal = time.monotonic()
        try:
            while True:
                await asyncio.sleep(config.renew_interval_seconds)
                while True:
                    # A hanging API server must not keep this replica leading past its deadline.
                    remaining = deadline - (time.monotonic() - last_renewal)
                    try:
                        result = await asyncio.wait_for(self.attempt(), max(0.1, remaining))
                    except TimeoutError:
                        result = Attempt.FAILED
                    if result is Attempt.HELD:
                        last_renewal = time.monotonic()
                        break
                    if result is Attempt.OTHER or time.monotonic() - last_renewal >= deadline:
                        return
                    await asyncio.sleep(min(config.retry_period_seconds, config.renew_interval_seconds))
        finally:
            self.is_leader = False

    async def release(self) -> None:
        """Give the Lease up (if still ours) so another replica takes over at once, not after it expires."""
        try:
            lease = await self._kube.request("GET", self._path)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self._config.identity:
                return
            now = _micro_time()
            spec.update(holderIdentity="", leaseDurationSeconds=1, renewTime=now, acquireTime=now)
            await self._kube.request("PUT", self._path, body=lease)
            log.info("lease released", extra={"lease": self._config.lease_name})
        except Exception as error:
            log.warning("lease not released", extra={"error": str(error) or type(error).__name__})
        finally:
            self.is_leader = False
