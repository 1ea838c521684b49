"""Where the migration names containerd for the kubelet and kubeadm, by their versions
(harness.node.kubelet_runtime). The real kubelets of each version read what these rules
write in tests/kube/test_kubelet_reads_its_runtime_settings.py."""

from __future__ import annotations

import pytest

from harness.node.kubelet_runtime import DOCKERSHIM_FLAGS, plan

SOCK = "unix:///run/containerd/containerd.sock"


@pytest.mark.parametrize("version", ["1.22.17", "1.23.17", "1.24.17", "1.26.15", "v1.26.0"])
def test_up_to_1_26_the_endpoint_is_a_flag_with_container_runtime_remote(version):
    got = plan(version, SOCK)
    assert got.set_flags == {"--container-runtime": "remote", "--container-runtime-endpoint": SOCK}
    assert got.config_endpoint is None


@pytest.mark.parametrize("version", ["1.27.0", "1.27.8", "1.34.4", "Kubernetes v1.36.3"])
def test_from_1_27_the_endpoint_is_in_the_kubelet_configuration_and_both_flags_go(version):
    got = plan(version, SOCK)
    assert got.set_flags == {}
    assert got.config_endpoint == SOCK
    assert {"--container-runtime", "--container-runtime-endpoint"} <= set(got.remove_flags)


@pytest.mark.parametrize("version", ["1.23.17", "1.27.8"])
def test_the_dockershim_flags_go_at_every_version(version):
    assert set(DOCKERSHIM_FLAGS) <= set(plan(version, SOCK).remove_flags)


def test_kubeadm_before_1_34_keeps_the_socket_in_the_node_annotation():
    got = plan("1.33.5", SOCK, kubeadm_version="v1.33.5", annotated=True)
    assert (got.annotate, got.instance_config) == (True, None)


def test_kubeadm_1_34_keeps_it_in_instance_config_and_an_annotation_only_where_one_is_left():
    fresh = plan("1.34.4", SOCK, kubeadm_version="v1.34.4", annotated=False)
    assert fresh.instance_config == f'containerRuntimeEndpoint: "{SOCK}"\n'
    assert not fresh.annotate
    # kubeadm reads a Node's annotation before the file: one left from 1.33 is updated too
    assert plan("1.34.4", SOCK, kubeadm_version="v1.34.4", annotated=True).annotate


def test_an_instance_config_on_the_node_is_kept_current_whatever_the_versions_say():
    assert plan("1.33.5", SOCK, instance_config_present=True).instance_config is not None


def test_a_node_without_kubeadm_or_annotation_still_gets_the_annotation():
    """Without either record (a hand-made node), the annotation is what kubeadm would read."""
    assert plan("1.23.17", SOCK, annotated=False).annotate


def test_an_unreadable_kubelet_version_is_refused():
    with pytest.raises(ValueError, match="kubelet version None"):
        plan(None, SOCK)
