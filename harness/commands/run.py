"""`harness run`: the whole pipeline on the nodes of an inventory, or on the local lab when no
inventory is given; JUnit per node, suite and step, a merged file, and the run's exit code."""

from pathlib import Path

from harness import junit, pipeline
from harness.errors import InputError
from harness.inventory import load_inventory_or_none


def register(sub):
    parser = sub.add_parser(
        "run", help="provision nodes (the local lab or an inventory), run the suites on each, "
        "report",
        description="Provision (the local lab unless an inventory is given), gather node facts, "
        "run the suites on every node, and merge the JUnit into one report.")
    parser.add_argument("-i", "--inventory", type=Path, metavar="FILE",
                        help="nodes to work on (default: $HARNESS_INVENTORY, else the local lab)")
    parser.add_argument("--lab", default=None, metavar="NAME",
                        help="name of the local lab to bring up (default: the lab's default)")
    parser.add_argument("--nodes", type=int, default=2, metavar="N",
                        help="lab nodes to bring up (default 2)")
    parser.add_argument("--suites", default="oci", metavar="LIST",
                        help=f"comma-separated suites to run on each node, of "
                        f"{', '.join(pipeline.SUITES)}; empty for none (default: oci)")
    parser.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR",
                        help="where JUnit files and the merged report go (default: reports/)")
    parser.add_argument("--suite-timeout", type=float, default=900.0, metavar="SECONDS",
                        help="per suite and node (default 900)")
    return parser


def _suites(text: str) -> tuple[str, ...]:
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in names if s not in pipeline.SUITES]
    if unknown:
        raise InputError(f"--suites: unknown suite {unknown[0]!r}",
                         hint=f"choose from {', '.join(pipeline.SUITES)}")
    return names


def _provider(args):
    inventory = load_inventory_or_none(args.inventory)
    if inventory is not None:
        from harness.providers.inventory import InventoryProvider

        return InventoryProvider(inventory.source)
    from harness.providers.lab import LabProvider

    if args.nodes < 1:
        raise InputError("--nodes: must be at least 1")
    return LabProvider(args.lab, args.nodes) if args.lab else LabProvider(nodes=args.nodes)


def run(args) -> int:
    opts = pipeline.RunOptions(out_dir=args.out, suites=_suites(args.suites),
                               suite_timeout=args.suite_timeout)
    result = pipeline.run(_provider(args), opts)
    print(junit.format_summary(result.summary))
    print(f"merged JUnit: {result.merged}")
    return result.exit_code
