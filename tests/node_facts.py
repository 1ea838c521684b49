"""The facts node_runtime_facts' findings() and settings() read, as the module gathers them
on a node: tests change the part they are about."""

from __future__ import annotations


def docker_node_facts(daemon_json: dict) -> dict:
    """The facts findings() reads, for a Docker node with this daemon.json."""
    return {
        "hostname": "n1",
        "kubelet": {"runtime": "dockershim", "flags_file": "/f", "version": "1.23.17",
                    "endpoint": None, "cgroup_driver": "cgroupfs", "pod_infra_image": "p:1",
                    "args": ["--network-plugin=cni", "--pod-infra-container-image=p:1"],
                    "extra_args": ["--container-runtime=docker", "--node-ip=10.0.0.5"],
                    "cni_bin_dir": None, "cni_conf_dir": None},
        "docker": {"installed": True, "answers": True, "version": "20.10.24",
                   "cgroup_driver": "cgroupfs", "image_bytes": 0, "daemon_json": daemon_json,
                   "proxy_env": {}},
        "containerd": {"version": "1.6.20", "config": {}, "config_version": 1,
                       "config_error": None, "cri_disabled": []},
        "runc": "1.1.5", "cni": {"protocols": ["1.0.0"], "configs": {}, "bin_dir": "/opt",
                                   "loopback": True},
        "cri_dockerd": {"units": []},
        "static_pods": {"control_plane": False},
        "node": {"negative_oom_score_adj_refused": False, "image_copy_space": []},
    }
