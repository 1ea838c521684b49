"""`harness upgrade --to VERSION`: upgrade Kubernetes past dockershim, control plane first, then
each node's kubelet and kube-proxy one node at a time (playbooks/upgrade.yml: drain, new
binaries, the flags the target no longer accepts removed, Ready on the new version, uncordon).

For the local lab the harness restarts the control plane on VERSION's binaries itself. For any
other inventory the control plane is the operator's (`kubeadm upgrade apply`): the command
checks that the API server already runs VERSION or newer. Every node is checked before any
node changes: a kubelet still on dockershim is refused for 1.24 and later (exit 2)."""

from pathlib import Path

from harness.kube import build, upgrade
from harness.lab import state
from harness.lab.progress import say
from harness.migration import phase


def register(sub):
    parser = sub.add_parser("upgrade", help="upgrade the control plane and each node's kubelet, "
                            "one node at a time", description=__doc__)
    parser.add_argument("--to", required=True, metavar="VERSION",
                        help="the Kubernetes version to go to (one of "
                        f"{', '.join(build.RELEASES)})")
    phase.add_arguments(parser)
    return parser


def lab_of(inventory) -> str | None:
    """The lab whose inventory this is (its control plane is the harness's), else None."""
    source = inventory.source
    if source is None:
        return None
    source = Path(source).resolve()
    if source == (state.lab_dir(source.parent.name) / "inventory.yaml").resolve():
        return source.parent.name
    return None


def run(args) -> int:
    rel = build.release(args.to, "--to")  # an unknown version is refused before anything runs
    result = upgrade_cluster(phase.inventory(args), rel.version, args.out, tuple(args.node))
    print(phase.summarize(result))
    return result.exit_code


def upgrade_cluster(inventory, version: str, out: Path, nodes: tuple[str, ...] = ()):
    """Every node checked, then the control plane (the lab's) or a check that it is there
    (anyone else's), then the kubelets one node at a time; the playbook's run (JUnit written
    to <out>/junit)."""
    kubeconfig = str(inventory.cluster.kubeconfig)
    lab = lab_of(inventory)
    if lab is not None:
        current = upgrade.server_version(kubeconfig)
        upgrade.check_step(current, version)
    else:
        current = upgrade.require_control_plane(inventory, version)
    extravars = upgrade.playbook_vars(version, say=lambda m: say(m, lab or "upgrade"))
    if lab is not None and upgrade.version_tuple(current) < upgrade.version_tuple(version):
        # Every node is checked before the control plane changes: a refused node leaves the
        # whole cluster as it was.
        checked = phase.run_playbook(inventory, "upgrade", out, nodes,
                                     {**extravars, "upgrade_stage": "preflight"})
        if checked.exit_code != 0:
            return checked
    if lab is not None:  # also when it is there already: checks that its daemons still run
        upgrade.upgrade_control_plane(lab, version, say=lambda m: say(m, lab))
    return phase.run_playbook(inventory, "upgrade", out, nodes, extravars)
