"""`harness smoke`: the workload smoke suite (suites/smoke) against the cluster of an inventory
or of the local lab, JUnit per node; on the lab, with a registry the nodes pull from."""

from pathlib import Path

from harness import flags, gate_policy, junit, smoke
from harness.inventory import load_inventory_or_none
from harness.lab import state
from harness.migration import run_plan


def register(sub):
    parser = sub.add_parser("smoke", help="run the workload smoke suite against a cluster",
                            description=__doc__)
    parser.add_argument("-i", "--inventory", type=Path, metavar="FILE",
                        help="nodes to work on (default: $HARNESS_INVENTORY, else the local lab)")
    parser.add_argument("--lab", default=state.DEFAULT_LAB, metavar="NAME", type=state.name_arg,
                        help=f"the local lab to use without an inventory (default "
                        f"{state.DEFAULT_LAB})")
    parser.add_argument("--kubeconfig", type=Path, metavar="FILE",
                        help="the cluster's admin kubeconfig (default: the inventory's)")
    parser.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR",
                        help="JUnit per node and the merged junit-smoke.xml (default: reports/)")
    parser.add_argument("--timeout", type=flags.seconds(), default=900.0, metavar="SECONDS",
                        help="for the whole suite (default 900)")
    gate_policy.add_flags(parser)
    return parser


def _provider(args):
    if load_inventory_or_none(args.inventory) is not None:
        from harness.providers.inventory import InventoryProvider

        return InventoryProvider(args.inventory, args.kubeconfig)
    from harness.providers.lab import LabProvider

    return LabProvider(args.lab)


def run(args) -> int:
    args.node = []  # smoke works on the cluster: every node
    plan = run_plan.from_args(args, policy=gate_policy.GatePolicy.from_args(args))
    inventory, policy, junit_dir = plan.inventory, plan.policy, args.out / "junit"
    with _provider(args).smoke_registry() as registry:
        result = smoke.run(inventory.cluster.kubeconfig, junit_dir, "smoke",
                           {n.name: n.host for n in inventory.nodes}, policy, registry,
                           timeout=args.timeout)
    merged = junit.merge(result.files.values(), args.out / "junit-smoke.xml")
    code, text = policy.verdict(merged)
    print(text)
    print(f"JUnit: {args.out / 'junit-smoke.xml'}")
    return code
