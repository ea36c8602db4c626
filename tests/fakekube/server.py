"""FakeKube: the fake API server, its garbage collector and its kubelet, served on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from .faults import Faults
from .gc import GarbageCollector
from .http import Api, RecordedRequest
from .kinds import BUILTIN, CustomResource, Registry, ResourceType
from .kubelet import Kubelet, KubeletConfig
from .store import Store


def load_crds(directory: Path) -> list[CustomResource]:
    """The custom resources of every CustomResourceDefinition manifest (*.yaml) in `directory`."""
    found: list[CustomResource] = []
    for path in sorted(directory.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                found += CustomResource.from_crd(document)
    return found


class FakeKube:
    """An in-memory Kubernetes API server for tests, over real HTTP.

    Use it as an async context manager; `url` is its address for kubernetes-asyncio's Configuration(host=).
    `faults` injects errors, `kubelet` scripts what Jobs do, `store` holds the objects."""

    def __init__(
        self,
        *,
        crds: Iterable[CustomResource | Mapping[str, Any]] = (),
        namespaces: Iterable[str] = ("default", "kube-system", "kube-public", "kube-node-lease"),
        history_size: int = 1000,
        kubelet: KubeletConfig | None = None,
        bookmark_interval: float = 60.0,
        watch_timeout_range: tuple[float, float] = (1800.0, 3600.0),
        too_large_wait: float = 3.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.registry = Registry(BUILTIN)
        for crd in crds:
            self.register(crd)
        self.store = Store(self.registry, history_size)
        self.faults = Faults()
        self.kubelet = Kubelet(self.store, kubelet)
        self.bookmark_interval = bookmark_interval
        self.watch_timeout_range = watch_timeout_range
        self.too_large_wait = too_large_wait
        self._namespaces = list(namespaces)
        self._host = host
        self._port = port
        self._api = Api(self)
        self._gc = GarbageCollector(self.store)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # ---- start and stop --------------------------------------------------------------------------------

    async def start(self) -> FakeKube:
        for name in self._namespaces:
            self.store.ensure_namespace(name)
        self._tasks.append(asyncio.get_running_loop().create_task(self._gc.run()))
        self._runner = web.AppRunner(self._api.app(), handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await self._listen()
        return self

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, self._host, self._port, reuse_address=True)
        await self._site.start()
        self._port = self._runner.addresses[-1][1]

    async def stop(self) -> None:
        self._api.end_watches()
        await self.kubelet.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeKube:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    @contextlib.asynccontextmanager
    async def outage(self):
        """While inside, the API server is unreachable (connections refused, open watches cut); it comes
        back on the same port with the same state."""
        self._api.drop_watches()
        await asyncio.sleep(0)
        assert self._site is not None and self._runner is not None and self._runner.server is not None
        await self._site.stop()
        # Closing the listener leaves kept-alive connections open; a real outage does not.
        await self._runner.server.shutdown(0.5)
        try:
            yield
        finally:
            await self._listen()

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    def write_kubeconfig(self, path: Path, namespace: str = "default") -> Path:
        """A kubeconfig (JSON is YAML) pointing at the fake, for processes that read KUBECONFIG."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {}}],
            "contexts": [
                {"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": namespace}}
            ],
        }
        path.write_text(json.dumps(config, indent=2))
        return path

    # ---- kinds --------------------------------------------------------------------------------------------

    def register(self, crd: CustomResource | Mapping[str, Any]) -> list[ResourceType]:
        """Serve a custom resource (a CustomResource, or a CustomResourceDefinition manifest)."""
        resources = [crd] if isinstance(crd, CustomResource) else CustomResource.from_crd(crd)
        types = [resource.resource_type() for resource in resources]
        for resource_type in types:
            self.registry.add(resource_type)
        return types

    def resource(self, name: str) -> ResourceType:
        """A served resource type by plural ("jobs"), plural.group ("jobs.batch") or kind ("Job")."""
        matches = [t for t in self.registry.all() if name in (t.plural, t.qualified(), t.kind)]
        if len(matches) != 1:
            raise KeyError(f"{name!r} names {len(matches)} resource types")
        return matches[0]

    # ---- direct access for tests (not through HTTP, not subject to faults) ---------------------------

    def get(self, resource: str, name: str, namespace: str = "default") -> dict[str, Any] | None:
        return self.store.try_get(self.resource(resource), namespace, name)

    def objects(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.store.objects(self.resource(resource), namespace)

    def create(self, resource: str, obj: dict[str, Any], namespace: str = "default") -> dict[str, Any]:
        return self.store.create(self.resource(resource), namespace, obj)

    def merge_patch(
        self,
        resource: str,
        name: str,
        patch: Mapping[str, Any],
        namespace: str = "default",
        subresource: str | None = None,
    ) -> dict[str, Any]:
        """A JSON merge patch, as a controller would send it (the status subresource for status)."""
        raw = json.dumps(patch).encode()
        kind = self.resource(resource)
        return self.store.patch(kind, namespace, name, "application/merge-patch+json", raw, subresource)

    def create_namespace(self, name: str) -> None:
        self.store.ensure_namespace(name)

    @property
    def resource_version(self) -> int:
        return self.store.resource_version

    def compact(self) -> None:
        """Forget the event history: a watch from any older resourceVersion now gets 410 Expired."""
        self.store.compact()

    @property
    def requests(self) -> list[RecordedRequest]:
        return list(self._api.requests)

    @property
    def internal_errors(self) -> list[str]:
        """Unexpected exceptions inside the fake (answered as 500): a test of the fake expects none."""
        return list(self._api.internal_errors)

    # ---- watches ------------------------------------------------------------------------------------------

    def drop_watches(self) -> int:
        """Cut every open watch connection without ending the HTTP response (a network failure)."""
        return self._api.drop_watches()

    def end_watches(self) -> int:
        """End every open watch cleanly, as the server does when a watch times out."""
        return self._api.end_watches()

    def send_bookmarks(self) -> int:
        """Send a BOOKMARK now on every open watch that allowed them."""
        return self._api.send_bookmarks()

    @property
    def open_watches(self) -> int:
        return self._api.open_watches

    async def wait_for(
        self, condition: Callable[[], Any], within: float = 10.0, interval: float = 0.01
    ) -> Any:
        """Poll `condition` until it returns something truthy (returned), or fail after `within`."""
        deadline = time.monotonic() + within
        while True:
            result = condition()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {within} s")
            await asyncio.sleep(interval)

    async def settled(self, within: float = 10.0) -> None:
        """Wait until the garbage collector has processed every event so far."""
        await self.wait_for(self._gc.idle, within)
        await asyncio.sleep(0)
