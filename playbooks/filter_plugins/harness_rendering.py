"""Filters that render through the harness' own code, so that what each version wants lives in one
place: containerd's config.toml, each registry's hosts.toml and the check of `containerd config
dump` (harness/containerd/config.py), /etc/crictl.yaml (harness/crictl.py), where the kubelet
and kubeadm name the runtime (harness_node/kubelet_runtime.py), and the RuntimeClasses a
move would strand (harness/migration/findings.py, which preflight's report uses too). They run
on the controller, where the harness is installed; the directory holding the harness package
these playbooks belong to (the checkout, or site-packages for a wheel's copy inside the
package) comes first on the path, so they render with that harness."""

from __future__ import annotations

import sys
from pathlib import Path

_TREE = str(next(p for p in Path(__file__).resolve().parents[1:]
                 if (p / "harness" / "__init__.py").is_file()))
if _TREE not in sys.path:
    sys.path.insert(0, _TREE)

from harness import crictl  # noqa: E402  (after the path above)
from harness.containerd import config  # noqa: E402
from harness.migration import findings  # noqa: E402
from harness.node import kubelet_runtime  # noqa: E402


def containerd_config(settings: dict, version: int | str = 2, comment: str = "") -> str:
    """The config.toml text of `version` for a node's settings."""
    return config.render(config.from_node(settings), int(version), comment)


def crictl_config(endpoint: str, timeout: int | str) -> str:
    """/etc/crictl.yaml naming `endpoint` for both CRI services. Ansible 2.19 hands filters
    tagged str subclasses, which yaml.safe_dump refuses: plain str first."""
    return crictl.crictl_yaml(str(endpoint), int(timeout))


def containerd_hosts_toml(registry: dict, comment: str = "") -> str:
    """The hosts.toml of one of node_runtime_facts' `registry_hosts`."""
    return config.hosts_toml(registry["server"], registry["hosts"], comment)


def containerd_config_dropped(dump: str, settings: dict) -> list[str]:
    """The settings `containerd config dump` does not show as intended (empty: all taken)."""
    return config.dropped(dump, config.from_node(settings))


def kubelet_runtime_plan(kubelet: dict, endpoint: str, cri_socket: str | None) -> dict:
    """kubelet_runtime.plan() for a node's `node.facts.kubelet` and its Node's annotation."""
    return kubelet_runtime.plan(
        kubelet["version"], endpoint, kubeadm_version=kubelet.get("kubeadm_version"),
        instance_config_present=kubelet.get("instance_config") is not None,
        annotated=bool(cri_socket)).as_dict()


def runtime_classes_lost(api: dict, settings: dict) -> list[str]:
    """findings.lost_runtime_classes() for a node's `api` (k8s_node) and `node.settings`."""
    return findings.lost_runtime_classes(settings, api)


class FilterModule:
    def filters(self):
        return {"containerd_config": containerd_config,
                "containerd_config_dropped": containerd_config_dropped,
                "containerd_hosts_toml": containerd_hosts_toml,
                "crictl_config": crictl_config,
                "kubelet_runtime_plan": kubelet_runtime_plan,
                "runtime_classes_lost": runtime_classes_lost}
