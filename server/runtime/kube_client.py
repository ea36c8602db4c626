"""The Kubernetes client the job runtime talks through, configured from the environment as kubectl and
in-cluster clients are: `KUBECONFIG` names kubeconfig files (a `:`-separated list, merged), otherwise a Pod's
service account is used when `KUBERNETES_SERVICE_HOST` says the process runs in a cluster."""

from __future__ import annotations

import os
from collections.abc import Mapping

from kubernetes_asyncio import config
from kubernetes_asyncio.client import ApiClient, Configuration


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
    return ApiClient(configuration=configuration)
