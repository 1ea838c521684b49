"""The images a kubeadm cluster runs, built here under exactly the names and tags kubeadm asks
for (`kubeadm config images list`): lab nodes reach no registry, and `kubeadm init` then finds
every image already in the node's Docker and pulls nothing.

Each comes from a recipe in fixtures/images/kubeadm/ and the image builder, so it is
deterministic like the fixture images: the control-plane components and kube-proxy carry the
binaries `harness kube build` made for the same version, etcd and CoreDNS are built from their
Go modules at the versions kubeadm names, and pause is the pause fixture under kubeadm's name.

Load them into a lab node's Docker with harness.lab.docker_node.load_fixtures(node, images).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness import images
from harness.errors import StepFailed
from harness.images import BuiltImage
from harness.kube import build, dns, etcd

CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


def expected(kubeadm: Path, version: str) -> list[str]:
    """The refs `kubeadm init` of `version` would pull, in kubeadm's order."""
    argv = [str(kubeadm), "config", "images", "list", "--kubernetes-version", f"v{version}"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise StepFailed(f"`{' '.join(argv[1:])}` exited {proc.returncode}",
                         hint=proc.stderr.strip()[-300:])
    return proc.stdout.split()


def build_all(version: str, say=build.progress) -> list[BuiltImage]:
    """Build (or take from the image cache) every image kubeadm `version` asks for."""
    kube_bin = build.build(version, say=say).bin_dir
    kubeadm = build.build_kubeadm(version, say=say).path("kubeadm")
    built = []
    for ref in expected(kubeadm, build.release(version).version):
        name, params = recipe_for(ref, version, kube_bin, say)
        image = images.build(name, **params)
        say(f"kubeadm image {image.ref}: {image.config_digest}")
        built.append(image)
    return built


def recipe_for(ref: str, version: str, kube_bin: Path, say) -> tuple[str, dict]:
    """The recipe and parameters that build `ref`; a StepFailed for an image or a version
    this harness does not build (a binary of another version would lie about its tag)."""
    repository, tag = ref.rsplit(":", 1)
    component = repository.rsplit("/", 1)[-1]
    named = {"repository": repository, "tag": tag}
    if component in (*CONTROL_PLANE, "kube-proxy"):
        _require(ref, tag, f"v{version}", "harness/kube/build.py")
        if component == "kube-proxy":
            return "kubeadm/kube-proxy", {**named, "bin_dir": str(kube_bin)}
        return "kubeadm/component", {**named, "binary": component, "bin_dir": str(kube_bin)}
    if component == "pause":  # a sandbox that sleeps: any pause version does the same
        return "kubeadm/pause", named
    if component == "etcd":  # tags are <etcd version>-<image revision>
        _require(ref, tag.split("-")[0], etcd.ETCD_VERSION, "harness/kube/etcd.py")
        return "kubeadm/etcd", {**named, "version": etcd.ETCD_VERSION,
                                "bin_dir": str(etcd.build_etcd(say))}
    if component == "coredns":
        _require(ref, tag, f"v{dns.COREDNS_VERSION}", "harness/kube/dns.py")
        return "kubeadm/coredns", {**named, "binary": str(dns.build_coredns(say))}
    raise StepFailed(f"kubeadm {version} asks for {ref}, an image the harness does not build",
                     hint="add a recipe in fixtures/images/kubeadm and its case here")


def _require(ref: str, got: str, built: str, pinned_in: str) -> None:
    if got != built:
        raise StepFailed(f"kubeadm asks for {ref}; the harness builds {built}",
                         hint=f"pin {got} in {pinned_in}")
