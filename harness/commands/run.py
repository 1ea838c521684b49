"""`harness run`: the whole pipeline on the nodes of an inventory, or on the local lab (with a
Kubernetes cluster) when no inventory is given; JUnit per node, phase, suite and test, a merged
file, and the run's exit code."""

import os
from pathlib import Path

from harness import junit, pipeline, progress
from harness.errors import InputError
from harness.inventory import load_inventory_or_none
from harness.lab import state

LAB_KUBERNETES = "1.23.17"  # the last release with dockershim: the lab's "before" state


def register(sub):
    parser = sub.add_parser(
        "run", help="the whole pipeline: provision, preflight, smoke, migrate, verify, CRI and "
        "OCI suites, smoke again, optional upgrade, report",
        description="Provision (the local lab with Kubernetes unless an inventory is given), "
        "then run, in order: " + " -> ".join(pipeline.PHASES) + ", and merge the JUnit into "
        "one report. A phase that cannot run because one it needs failed is a skipped row with "
        "that reason. Smoke results after the migration (and the upgrade) are compared test by "
        "test with those before it; a test that passed before and fails after is a regression.")
    parser.add_argument("-i", "--inventory", type=Path, metavar="FILE",
                        help="nodes to work on (default: $HARNESS_INVENTORY, else the local lab)")
    parser.add_argument("--kubeconfig", type=Path, metavar="FILE",
                        help="the cluster's admin kubeconfig (default: the inventory's)")
    parser.add_argument("--lab", default=None, metavar="NAME", type=state.name_arg,
                        help="name of the local lab to bring up (default: the lab's default)")
    parser.add_argument("--nodes", type=int, default=2, metavar="N",
                        help="lab nodes to bring up (default 2)")
    parser.add_argument("--kubernetes", default=LAB_KUBERNETES, metavar="VERSION",
                        help=f"the lab's Kubernetes version (default {LAB_KUBERNETES})")
    parser.add_argument("--kubeadm", action="store_true",
                        help="the lab's cluster made by kubeadm on its nodes (node 1 the control "
                        "plane, migrated first) instead of a control plane on this machine")
    parser.add_argument("--phases", default=None, metavar="LIST",
                        help=f"comma-separated phases to run, of {', '.join(pipeline.PHASES)}, "
                        "or smoke (every smoke phase) and suites (cri,oci); default: all, the "
                        "upgrade ones only with --upgrade-to")
    parser.add_argument("--upgrade-to", default=None, metavar="VERSION",
                        help="after the migration, upgrade the control plane, then each node's "
                        "kubelet one at a time, to this version (e.g. 1.24.17), and smoke again")
    parser.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR",
                        help="where JUnit files and the merged report go (default: reports/)")
    parser.add_argument("--suite-timeout", type=float, default=900.0, metavar="SECONDS",
                        help="per suite and node (default 900)")
    parser.add_argument("--forks", type=int, default=5, metavar="N",
                        help="nodes running the CRI and OCI suites at once (default 5)")
    parser.add_argument("--max-skipped", type=int, default=None, metavar="N",
                        help="fail the run when more than N tests were skipped (expected "
                        "deviations count too); default: no limit, but a suite that skipped "
                        "every test always fails")
    parser.add_argument("--keep-images", action="store_true",
                        help="leave the fixture images the CRI suite imported on the nodes "
                        "(default: removed afterwards)")
    parser.add_argument("--live-node", action="store_true",
                        help="the CRI suite stops a node's kubelet: run it there without "
                        "cordoning and draining the node first (its pods stay, unmanaged, for "
                        "the suite's time; default: drained, PodDisruptionBudgets honoured, and "
                        "uncordoned afterwards)")
    return parser


def _provider(args, phases: tuple[str, ...]):
    path = args.inventory or os.environ.get("HARNESS_INVENTORY") or None
    inventory = load_inventory_or_none(path)
    if inventory is not None:
        from harness.providers.inventory import InventoryProvider

        if args.kubeadm:
            raise InputError("--kubeadm: only the local lab's cluster is made here",
                             hint=f"leave it out with -i {inventory.source}")

        need = [p for p in phases if p in pipeline.KUBE_PHASES]
        if need and not (args.kubeconfig or inventory.cluster.kubeconfig):
            raise InputError(f"{inventory.source}: no kubeconfig for the cluster, which "
                             f"{', '.join(need)} need",
                             hint="set kubeconfig under all.vars, pass --kubeconfig, or choose "
                             "--phases cri,oci")
        return InventoryProvider(inventory.source, args.kubeconfig)
    from harness.providers.lab import LabProvider

    if args.nodes < 1:
        raise InputError("--nodes: must be at least 1")
    if args.kubeconfig:
        raise InputError("--kubeconfig: the local lab brings its own cluster",
                         hint="pass -i INVENTORY with it, or leave it out")
    return LabProvider(args.lab or state.DEFAULT_LAB, args.nodes, args.kubernetes, args.kubeadm)


def run(args) -> int:
    if args.max_skipped is not None and args.max_skipped < 0:
        raise InputError(f"--max-skipped {args.max_skipped}: must be 0 or more")
    phases = pipeline.parse_phases(args.phases, args.upgrade_to)
    if args.upgrade_to:
        from harness.kube import build

        args.upgrade_to = build.release(args.upgrade_to, "--upgrade-to").version
    if args.forks < 1:
        raise InputError(f"--forks {args.forks}: must be at least 1")
    opts = pipeline.RunOptions(out_dir=args.out, phases=phases, suite_timeout=args.suite_timeout,
                               upgrade_to=args.upgrade_to, forks=args.forks,
                               keep_images=args.keep_images, max_skipped=args.max_skipped,
                               live_node=args.live_node)
    with progress.board():  # a live per-node table on a terminal; plain lines in CI
        result = pipeline.run(_provider(args, phases), opts)
    print(junit.format_summary(result.summary, args.max_skipped))
    failing = junit.format_failures(junit.read(result.merged))
    if failing:
        print(failing)
    for node, tests in result.regressions.items():
        print(f"REGRESSION on {node}: {', '.join(tests)}")
    print(f"merged JUnit: {result.merged}")
    page = result.merged.parent / "report.html"
    if page.is_file():  # not when it could not be written (said on stderr)
        print(f"report: {page}")
    return result.exit_code
