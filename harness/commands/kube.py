"""`harness kube`: build the Kubernetes binaries for a pinned version.

    harness kube build --version 1.23.17 [--rebuild]

Progress goes to stderr; stdout gets the directory holding the verified binaries.
"""

from __future__ import annotations

from harness.commands import go_build
from harness.kube import build


def register(sub):
    return go_build.register(
        sub, "kube", "Kubernetes", "build Kubernetes binaries from the k8s.io/kubernetes Go module",
        "Build kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy and "
        "kubectl for a pinned version, cached under ~/.cache/harness/kube.", build.RELEASES)


def run(args) -> int:
    return go_build.run(build.build, args)
