"""What `harness kube build --kubeadm` refuses before building anything: a version no cluster
runs, and an image kubeadm names that the harness would have to ship under a wrong tag."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import StepFailed
from harness.kube import kubeadm_images


def test_kubeadm_for_a_kubelet_only_version_is_one_line_naming_the_runnable_ones():
    out = subprocess.run([sys.executable, "-m", "harness", "kube", "build", "--version",
                          "1.26.15", "--kubeadm"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "use one of 1.23.17, 1.24.17" in out.stderr


@pytest.mark.parametrize(("ref", "pinned"), [
    ("registry.k8s.io/kube-apiserver:v1.23.16", "pin v1.23.16 in harness/kube/build.py"),
    ("registry.k8s.io/etcd:3.5.9-0", "pin 3.5.9 in harness/kube/etcd.py"),
    ("registry.k8s.io/coredns/coredns:v1.9.3", "pin v1.9.3 in harness/kube/dns.py"),
    ("registry.k8s.io/kube-dashboard:v2", "add a recipe in fixtures/images/kubeadm"),
])
def test_an_image_the_harness_cannot_build_as_named_is_refused(ref, pinned):
    """A binary of another version would report a version its tag does not name."""
    with pytest.raises(StepFailed) as err:
        kubeadm_images.recipe_for(ref, "1.23.17", Path("/nonexistent"), say=print)
    assert ref in str(err.value) and pinned in str(err.value) and "\n" not in str(err.value)
