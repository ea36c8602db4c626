"""The Kubernetes client the job runtime talks through, configured from the environment as kubectl and
in-cluster clients are: `KUBECONFIG` names kubeconfig files (a `:`-separated list, merged), otherwise a Pod's
service account is used when `KUBERNETES_SERVICE_HOST` says the process runs in a cluster."""

from __future__ import annotations

import os
import urllib.parse
import urllib.request
from collections.abc import Mapping

import aiohttp
from kubernetes_asyncio import config
from kubernetes_asyncio.client import ApiClient, Configuration

# kubernetes_asyncio's own read buffer: a watch event of a large object exceeds aiohttp's default.
READ_BUFFER_BYTES = 2**21


async def api_client_from_environment(environ: Mapping[str, str] | None = None) -> ApiClient | None:
    """An ApiClient for the cluster the environment names, or None when it names none (then the server
    has no job runtime). Raises kubernetes_asyncio's ConfigException when the configuration is broken,
    so a misconfigured server fails at start rather than at its first run."""
    environ = os.environ if environ is None else environ
    configuration = Configuration()
    if environ.get("KUBECONFIG"):
        # persist_config=False: refreshed credentials are not written back into the user's kubeconfig.
        await config.load_kube_config(
            config_file=environ["KUBECONFIG"], client_configuration=configuration, persist_config=False
        )
    elif environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=configuration)
    else:
        return None
    return _environment_read_once(ApiClient(configuration=configuration))


def _environment_read_once(api: ApiClient) -> ApiClient:
    """kubernetes_asyncio's session trusts the environment (aiohttp's trust_env): every request then looks
    up the proxy variables and ~/.netrc in a thread of the default executor, two thread hand-offs per
    Kubernetes call and a fifth of the server's CPU while the outbox drains a burst of starts. The proxy
    the environment names for the API server (HTTP(S)_PROXY, unless NO_PROXY covers it) is read once here
    instead, and the session is replaced by one that does not look again. ~/.netrc is not read: the
    kubeconfig or the service account says how to authenticate."""
    rest = api.rest_client
    if rest.proxy is None:
        rest.proxy = _environment_proxy(api.configuration.host)
    session = rest.pool_manager
    # The connector (TLS context, connection limit) kubernetes_asyncio made, and its read buffer.
    rest.pool_manager = aiohttp.ClientSession(
        connector=session.connector, trust_env=False, read_bufsize=READ_BUFFER_BYTES
    )
    session.detach()  # closed without closing the connector the new session now owns
    return api


def _environment_proxy(url: str) -> str | None:
    """The proxy the environment names for `url`, as aiohttp's trust_env would choose it."""
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname or urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme) or None
