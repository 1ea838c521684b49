"""`harness upgrade --to VERSION`: upgrade Kubernetes past dockershim, control plane first, then
each node's kubelet and kube-proxy one node at a time (playbooks/upgrade.yml: drain, new
binaries, the flags the target no longer accepts removed, Ready on the new version, uncordon).

A cluster made by kubeadm (kube-system/kubeadm-config exists) follows kubeadm's procedure:
`kubeadm upgrade apply` on the first control-plane node, `kubeadm upgrade node` on the others,
then each node's kubelet and kubectl. Otherwise, for the local lab the harness restarts the
control plane on VERSION's binaries itself; for any other inventory the control plane is the
operator's: the command checks that the API server already runs VERSION or newer. Every node is
checked before any node changes: a kubelet still on dockershim is refused for 1.24 and later
(exit 2), on a kubeadm cluster with kubeadm's own error too."""

from harness.kube import build
from harness.migration import phase, run_plan, upgrade


def register(sub):
    parser = sub.add_parser("upgrade", help="upgrade the control plane and each node's kubelet, "
                            "one node at a time", description=__doc__)
    parser.add_argument("--to", required=True, metavar="VERSION",
                        help="the Kubernetes version to go to (one of "
                        f"{', '.join(build.RUNNABLE)})")
    phase.add_arguments(parser)
    return parser


def run(args) -> int:
    rel = build.release(args.to, "--to")  # an unknown version is refused before anything runs
    plan = run_plan.from_args(args, target=rel.version)
    with phase.locked(plan, "upgrade"):
        result = upgrade.upgrade_cluster(plan.inventory, rel.version, plan.out, plan.limit)
    print(phase.summarize(result))
    return result.exit_code
