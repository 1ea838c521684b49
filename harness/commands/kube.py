"""`harness kube`: build the Kubernetes binaries for a pinned version.

    harness kube build --version 1.23.17 [--rebuild] [--kubeadm]

Progress goes to stderr; stdout gets the directory holding the verified binaries; with
--kubeadm, kubeadm's instead, then one line per image kubeadm asks for (ref, manifest digest).
"""

from __future__ import annotations

from harness.commands import go_build
from harness.kube import build


def register(sub):
    return go_build.register(
        sub, "kube", "Kubernetes", "build Kubernetes binaries from the k8s.io/kubernetes Go module",
        "Build kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy and "
        "kubectl for a pinned version, cached under ~/.cache/harness/kube.", build.RELEASES,
        options=lambda b: b.add_argument(
            "--kubeadm", action="store_true",
            help=f"also kubeadm and the images it asks for ({', '.join(build.RUNNABLE)}); "
            "--rebuild then rebuilds kubeadm alone"))


def run(args) -> int:
    if not args.kubeadm:
        return go_build.run(build.build, args)
    from harness.kube import kubeadm_images

    print(build.build_kubeadm(args.version, rebuild=args.rebuild).bin_dir)
    for image in kubeadm_images.build_all(args.version):
        print(f"{' '.join(image.refs)} {image.digest}")
    return 0
