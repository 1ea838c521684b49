"""`harness kube`: build the Kubernetes binaries for a pinned version.

    harness kube build --version 1.23.17 [--rebuild]

Progress goes to stderr; stdout gets the directory holding the verified binaries.
"""

from __future__ import annotations

from harness.kube import build


def register(sub):
    parser = sub.add_parser(
        "kube",
        help="build Kubernetes binaries from the k8s.io/kubernetes Go module",
        description="Build kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, "
        "kube-proxy and kubectl for a pinned version, cached under ~/.cache/harness/kube.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    b = actions.add_parser("build", help="build (or verify the cached) binaries")
    b.add_argument(
        "--version", required=True, help=f"Kubernetes version: {', '.join(build.RELEASES)}"
    )
    b.add_argument("--rebuild", action="store_true", help="ignore the cached binaries")
    return parser


def run(args) -> int:
    built = build.build(args.version, rebuild=args.rebuild)
    print(built.bin_dir)
    return 0
