"""Is the kubeconfig the inventory's cluster? Checked before any node is touched: the API server
answers, the nodes of the run are its Node objects (by name), and, for a target Kubernetes
version, every one of their kubelets may go there. Each problem is one input error (exit 2)."""

from __future__ import annotations

from pathlib import Path

from harness.errors import InputError
from harness.inventory import Inventory
from harness.kube import upgrade

# A kubeconfig that points nowhere should say so in seconds, not after urllib3's retries.
REQUEST_TIMEOUT = (5, 15)  # connect, read
RETRIES = 1
SHOWN = 5  # names listed in a message before "and N more"


def check(inventory: Inventory, nodes: list[str], target: str | None = None,
          flag: str = "--to") -> None:
    """`nodes` (names of `inventory`) are Nodes of the cluster the inventory's kubeconfig
    reaches; with `target`, each one's kubelet may be upgraded to it (`flag` names where it
    came from)."""
    kubeconfig = inventory.cluster.kubeconfig
    server, found = list_nodes(kubeconfig)
    missing = [n for n in nodes if n not in found]
    if missing and len(missing) == len(nodes):
        raise InputError(
            f"kubeconfig {kubeconfig} (server {server}) is another cluster's: none of its Nodes "
            f"({_some(sorted(found)) or 'none'}) is a node of {inventory.source} "
            f"({_some(nodes)})",
            hint="pass the admin kubeconfig of the inventory's cluster with --kubeconfig")
    if missing:
        raise InputError(
            f"{inventory.source}: no Node named {_some(missing)} in the cluster at {server}",
            hint="inventory names must be the Kubernetes Node names (kubectl get nodes)")
    for name in nodes if target else ():
        if found[name]:  # a Node that has never reported has no kubelet version yet
            upgrade.check_step(found[name], target, flag, f"node {name}'s kubelet")


def list_nodes(kubeconfig: Path) -> tuple[str, dict[str, str]]:
    """The API server's address and its Nodes' names with their kubelet versions."""
    import urllib3
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException

    conf = client.Configuration()
    try:
        config.load_kube_config(str(kubeconfig), client_configuration=conf)
    except (ConfigException, ValueError, TypeError, KeyError, OSError) as err:
        raise InputError(f"kubeconfig {kubeconfig}: not a usable kubeconfig: "
                         f"{' '.join(str(err).split())}",
                         hint="pass the cluster's admin kubeconfig with --kubeconfig") from None
    conf.retries = RETRIES
    try:
        with client.ApiClient(conf) as api:
            items = client.CoreV1Api(api).list_node(_request_timeout=REQUEST_TIMEOUT).items
    except ApiException as err:
        raise InputError(f"kubeconfig {kubeconfig}: the API server {conf.host} refused to list "
                         f"Nodes ({err.status} {err.reason})",
                         hint="use a kubeconfig allowed to read Nodes (the cluster admin's)"
                         ) from None
    except (urllib3.exceptions.HTTPError, OSError) as err:
        reason = getattr(err, "reason", None) or err
        raise InputError(f"kubeconfig {kubeconfig}: the API server {conf.host} does not answer "
                         f"({str(reason).rsplit(': ', 1)[-1]})",
                         hint="check the server address in the kubeconfig and that the cluster "
                         "runs") from None
    return conf.host, {n.metadata.name: (n.status.node_info.kubelet_version
                                         if n.status and n.status.node_info else "")
                       for n in items}


def _some(names: list[str]) -> str:
    more = len(names) - SHOWN
    return ", ".join(names[:SHOWN]) + (f" and {more} more" if more > 0 else "")
