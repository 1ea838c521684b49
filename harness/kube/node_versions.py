"""Each Node's container runtime and kubelet as the cluster reports them (nodeInfo), e.g.
`docker://20.10.24` and `v1.23.17`: the before and after of a migration in two words."""

from __future__ import annotations

from pathlib import Path

API_TIMEOUT = 15  # seconds; a report fact is not worth waiting on a stuck API server


def node_versions(kubeconfig: Path) -> dict[str, tuple[str, str]]:
    """Node name -> (containerRuntimeVersion, kubeletVersion)."""
    from kubernetes import client, config

    api = config.new_client_from_config(str(kubeconfig))
    try:
        nodes = client.CoreV1Api(api).list_node(_request_timeout=API_TIMEOUT).items
    finally:
        api.close()
    return {n.metadata.name: (n.status.node_info.container_runtime_version,
                              n.status.node_info.kubelet_version) for n in nodes}
