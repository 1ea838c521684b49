"""Where a node's kubelet (and kubeadm) learn the container runtime's endpoint, by version.

The same switch to containerd is written differently as Kubernetes moved the setting:
    kubelet <= 1.26   flags in kubeadm-flags.env: --container-runtime-endpoint, plus
                      --container-runtime=remote (the flag exists up to 1.26, and 1.22/1.23
                      need it to leave dockershim)
    kubelet >= 1.27   containerRuntimeEndpoint in the KubeletConfiguration; --container-runtime
                      is an unknown flag, and a leftover --container-runtime-endpoint would
                      override the config, so both flags go
    any version       the dockershim-only flags go (unknown from 1.24, meaningless before)
kubeadm keeps its own record of each node's socket, read at `kubeadm upgrade`: the Node's
`kubeadm.alpha.kubernetes.io/cri-socket` annotation, or, with NodeLocalCRISocket (beta and on by
default from kubeadm 1.34), /var/lib/kubelet/instance-config.yaml, a patch kubeadm merges into the
kubelet's config. kubeadm reads the annotation first when a Node has it, so the annotation is
updated wherever it exists and the instance file wherever kubeadm uses one.

Pure and node-side (see harness_node): the playbooks' filter plugin calls `plan()` with a
node's facts, and node_runtime_facts (on the node) reads DOCKERSHIM_FLAGS and the paths here.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

KUBELET_DIR = "/var/lib/kubelet"
INSTANCE_CONFIG = "instance-config.yaml"
# Flags the kubelet only had for dockershim (removed in 1.24, kubernetes PR #106907).
DOCKERSHIM_FLAGS = ("--network-plugin", "--network-plugin-mtu", "--cni-bin-dir",
                    "--cni-conf-dir", "--cni-cache-dir", "--docker-endpoint",
                    "--image-pull-progress-deadline", "--experimental-dockershim-root-directory")
CONFIG_FIELD_SINCE = (1, 27)  # containerRuntimeEndpoint in KubeletConfiguration v1beta1
NODE_LOCAL_CRI_SOCKET_SINCE = (1, 34)  # kubeadm's NodeLocalCRISocket on by default


@dataclass(frozen=True)
class KubeletRuntimePlan:
    """What the migration writes so that the kubelet and kubeadm name `endpoint`."""

    set_flags: dict[str, str]  # kubeadm-flags.env
    remove_flags: list[str]  # kubeadm-flags.env
    config_endpoint: str | None  # containerRuntimeEndpoint in config.yaml
    instance_config: str | None  # the text of instance-config.yaml
    annotate: bool  # set the Node's cri-socket annotation

    def as_dict(self) -> dict:
        return asdict(self)


def minor(version: str | None) -> tuple[int, int] | None:
    """(1, 27) of "1.27.8", "v1.27.8" or "Kubernetes v1.27.8"; None if there is none."""
    match = re.search(r"(\d+)\.(\d+)", version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def plan(kubelet_version: str, endpoint: str, *, kubeadm_version: str | None = None,
         instance_config_present: bool = False, annotated: bool = True) -> KubeletRuntimePlan:
    """The settings for a kubelet of `kubelet_version` to use `endpoint`.

    `kubeadm_version`: the node's kubeadm, if it has one; `instance_config_present`: whether
    instance-config.yaml exists; `annotated`: whether the Node has the cri-socket annotation."""
    kubelet = minor(kubelet_version)
    if kubelet is None:
        raise ValueError(f"kubelet version {kubelet_version!r}: expected 1.MINOR[.PATCH]")
    in_config = kubelet >= CONFIG_FIELD_SINCE
    kubeadm = minor(kubeadm_version)
    instance = instance_config_present or (kubeadm is not None
                                           and kubeadm >= NODE_LOCAL_CRI_SOCKET_SINCE)
    set_flags = {} if in_config else {"--container-runtime": "remote",
                                      "--container-runtime-endpoint": endpoint}
    remove = [*DOCKERSHIM_FLAGS]
    if in_config:
        remove += ["--container-runtime", "--container-runtime-endpoint"]
    return KubeletRuntimePlan(
        set_flags=set_flags,
        remove_flags=remove,
        config_endpoint=endpoint if in_config else None,
        # kubeadm's own format: one field, quoted (WriteInstanceConfigToDisk).
        instance_config=f'containerRuntimeEndpoint: "{endpoint}"\n' if instance else None,
        annotate=annotated or not instance,
    )
