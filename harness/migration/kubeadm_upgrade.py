"""Upgrading a cluster made by kubeadm the way kubeadm's upgrade documentation says: `kubeadm
upgrade apply` on the first control-plane node, `kubeadm upgrade node` on the others, then each
node's kubelet (playbooks/upgrade.yml, role kubeadm_upgrade). The harness builds what kubeadm
would download: the target's kubeadm, kubelet and kubectl, and its images, which the playbook
imports into each node's containerd before kubeadm looks for them (no registry is reachable)."""

from __future__ import annotations

from pathlib import Path

import yaml

from harness import crictl
from harness.kube import build, kubeadm_images, upgrade
from harness.migration import phase
from harness.migration.runner import PlaybookRun

CONFIG_MAP = "kubeadm-config"  # kube-system; kubeadm init writes it, only kubeadm clusters have it


def cluster_version(kubeconfig: str) -> str | None:
    """The kubernetesVersion of kubeadm's ClusterConfiguration, e.g. "v1.23.17"; None if the
    cluster was not made by kubeadm."""
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    api = config.new_client_from_config(kubeconfig)
    try:
        found = client.CoreV1Api(api).read_namespaced_config_map(CONFIG_MAP, "kube-system")
    except ApiException as err:
        if err.status == 404:
            return None
        raise
    finally:
        api.close()
    return yaml.safe_load(found.data["ClusterConfiguration"])["kubernetesVersion"]


def playbook_vars(version: str, say) -> dict:
    """Extra vars of playbooks/upgrade.yml for a kubeadm cluster: the target and its (built,
    verified) kubelet, kubectl, kubeadm and images, and the crictl kubeadm asks its preflight
    question with on a node still on dockershim."""
    built = build.build(version, say=say)
    images = kubeadm_images.build_all(version, say=say)
    return {"kubeadm_cluster": True,
            "kubernetes_target": built.version,
            "kubernetes_bin_dir": str(built.bin_dir),
            "kubeadm_binary": str(build.build_kubeadm(version, say=say).path("kubeadm")),
            "kubeadm_images": [{"ref": ref, "archive": str(image.oci_archive)}
                               for image in images for ref in image.refs],
            "crictl_binary": str(crictl.build(say=say))}


def upgrade_cluster(inventory, version: str, current: str, out: Path,
                    nodes: tuple[str, ...], say) -> PlaybookRun:
    """One run of the playbook: every node checked (kubeadm's own error for a node still on
    dockershim), the images on every node, then one node at a time from the first
    control-plane node."""
    upgrade.check_step(current, version)
    return phase.run_playbook(inventory, "upgrade", out, nodes, playbook_vars(version, say))
