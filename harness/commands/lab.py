"""`harness lab`: provision, inspect and tear down the local lab of systemd nodes."""

from __future__ import annotations

from harness import flags
from harness.errors import InputError
from harness.lab import state
from harness.lab.paths import cache_root
from harness.lab.recipe import DEBIAN_RELEASES, DEFAULT_DEBIAN
from harness.providers.lab import LabProvider
from harness.table import format_table

DESCRIPTION = """Provision, inspect and tear down the local lab: systemd nodes (systemd-nspawn
machines) running Docker, on a private bridge of this machine.

  harness lab up [--nodes N] [--name NAME] [--debian 11|12]
                                             build the node image once, boot N nodes
  harness lab status [--name NAME]           node, address, state, ssh ok, docker ok
  harness lab down [--name NAME]             remove the nodes and every host object

State lives in ~/.local/state/harness/lab/NAME/ (inventory.yaml, ssh_config, the lab's key);
the node image is cached in ~/.cache/harness/lab/images/."""


def register(sub):
    parser = sub.add_parser("lab", help="provision, inspect and tear down the local lab of "
                            "systemd nodes", description=DESCRIPTION)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True,
                                    parser_class=type(parser))
    for action, text in (("up", "create or repair the lab"), ("status", "show the lab's nodes"),
                         ("down", "remove the lab (keeps the cached image)")):
        p = actions.add_parser(action, help=text, description=text)
        p.add_argument("--name", default=state.DEFAULT_LAB, type=state.name_arg,
                       help=f"lab name, 1-8 lowercase letters/digits (default {state.DEFAULT_LAB})")
        if action == "up":
            p.add_argument("--nodes", type=flags.count(1, state.MAX_NODES), default=2,
                           help="number of nodes (default 2)")
            p.add_argument("--debian", choices=sorted(DEBIAN_RELEASES), default=DEFAULT_DEBIAN,
                           help="the nodes' Debian release and its packaged Docker line "
                           "(12: Docker 20.10.24 with containerd 1.6; 11: Docker 20.10.5 with "
                           f"containerd 1.4; default {DEFAULT_DEBIAN})")
            p.add_argument("--kubernetes", metavar="VERSION",
                           help="also run a cluster of this version (e.g. 1.23.17): control "
                           "plane on the host, every node a kubelet on Docker")
            p.add_argument("--kubeadm", action="store_true",
                           help="with --kubernetes: make the cluster with kubeadm instead, node 1 "
                           "the control plane (static pods, stacked etcd), the others joined")
    return parser


def run(args) -> int:
    return {"up": _up, "status": _status, "down": _down}[args.action](args)


def _up(args) -> int:
    if args.kubeadm and not args.kubernetes:
        raise InputError("--kubeadm needs --kubernetes VERSION (e.g. 1.23.17)")
    if args.kubernetes:
        from harness.kube import cluster

        cluster.check_version(args.kubernetes)  # fails before any node boots
    # A cluster already up is reused as it is; one that is down is made again.
    inventory = LabProvider(args.name, args.nodes, args.kubernetes, args.kubeadm,
                            args.debian).up()
    lab_dir = state.lab_dir(args.name)
    print(f"lab {args.name}: {len(inventory.nodes)} node(s) up")
    print(f"  inventory:  {inventory.source}")
    print(f"  ssh_config: {lab_dir / 'ssh_config'}   (ssh -F {lab_dir / 'ssh_config'} "
          f"{inventory.nodes[0].name})")
    print(f"  image cache: {cache_root() / 'images'}")
    if args.kubernetes:
        from harness.kube import cluster

        record = cluster.ClusterRecord.load(args.name)
        print(f"  kubernetes: {record.version} at {record.server}")
        print(f"  kubeconfig: {record.kubeconfig}")
        print(f"  kubectl:    {record.kubectl} --kubeconfig {record.kubeconfig} get nodes")
    return 0


def _status(args) -> int:
    rows = [("NODE", "ADDRESS", "STATE", "SSH", "RUNTIME")]
    statuses = LabProvider(args.name).status()
    rows += [(s.name, s.address, s.state, _ok(s.ssh_ok), _ok(s.runtime_ok)) for s in statuses]
    print(format_table(rows))
    return 0 if all(s.ssh_ok and s.runtime_ok for s in statuses) else 1


def _ok(flag: bool) -> str:
    return "ok" if flag else "FAIL"


def _down(args) -> int:
    if LabProvider(args.name).down():
        print(f"lab {args.name}: removed (cached image kept in {cache_root() / 'images'})")
    else:
        print(f"lab {args.name}: nothing to remove")
    return 0
