"""`harness run`: the whole pipeline on the nodes of an inventory, or on the local lab (with a
Kubernetes cluster) when no inventory is given; JUnit per node, phase, suite and test, a merged
file, and the run's exit code."""

from pathlib import Path

from harness import files, flags, gate_policy, junit, pipeline, progress
from harness.containerd import build as containerd_build
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
    parser.add_argument("--nodes", type=flags.count(1, state.MAX_NODES), metavar="N",
                        help="lab nodes to bring up (default 2; the local lab only)")
    parser.add_argument("--kubernetes", metavar="VERSION",
                        help=f"the lab's Kubernetes version (default {LAB_KUBERNETES}; the local "
                        "lab only)")
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
    parser.add_argument("--containerd", metavar="VERSION",
                        help="move the nodes onto containerd VERSION built here, as `harness "
                        "migrate --containerd` does (preflight checks that version); default: "
                        "the node's packaged containerd")
    parser.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR",
                        help="where JUnit files and the merged report go (default: reports/)")
    parser.add_argument("--suite-timeout", type=flags.seconds(), default=900.0, metavar="SECONDS",
                        help="per suite and node (default 900)")
    parser.add_argument("--forks", type=flags.count(1, flags.MAX_FORKS), default=5, metavar="N",
                        help="nodes running the CRI and OCI suites at once (default 5)")
    gate_policy.add_flags(parser)
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
    inventory = load_inventory_or_none(args.inventory)
    if inventory is not None:
        from harness.providers.inventory import InventoryProvider

        lab_only = [flag for flag, given in (("--kubeadm", args.kubeadm), ("--lab", args.lab),
                                             ("--nodes", args.nodes),
                                             ("--kubernetes", args.kubernetes)) if given]
        if lab_only:
            raise InputError(f"{lab_only[0]}: for the local lab only; the inventory names the "
                             "nodes and their cluster", hint=f"leave it out with -i "
                             f"{inventory.source}")

        need = [p for p in phases if p in pipeline.KUBE_PHASES]
        kubeconfig = args.kubeconfig or inventory.cluster.kubeconfig
        if need and not kubeconfig:
            raise InputError(f"{inventory.source}: no kubeconfig for the cluster, which "
                             f"{', '.join(need)} need",
                             hint="set kubeconfig under all.vars, pass --kubeconfig, or choose "
                             "--phases cri,oci")
        if need or args.kubeconfig:
            files.kubeconfig(kubeconfig)
        provider = InventoryProvider(inventory.source, args.kubeconfig)
        if need:  # the run's plan as `harness migrate` builds it: the cluster holds the nodes
            from harness.migration import run_plan

            run_plan.build(provider.inventory(), args.out)
        return provider
    from harness.providers.lab import LabProvider

    if args.kubeconfig:
        raise InputError("--kubeconfig: the local lab brings its own cluster",
                         hint="pass -i INVENTORY with it, or leave it out")
    from harness.kube import cluster

    version = cluster.check_version(args.kubernetes or LAB_KUBERNETES).version
    return LabProvider(args.lab or state.DEFAULT_LAB, args.nodes or 2, version, args.kubeadm)


def run(args) -> int:
    # Every input is checked before anything is provisioned or the out dir is cleared.
    policy = gate_policy.GatePolicy.from_args(args)
    phases = pipeline.parse_phases(args.phases, args.upgrade_to)
    if args.upgrade_to:
        from harness.kube import build

        args.upgrade_to = build.release(args.upgrade_to, "--upgrade-to").version
    if args.containerd is not None:
        args.containerd = containerd_build.check_version(args.containerd, "--containerd")
    files.output_dir(args.out, "--out")
    provider = _provider(args, phases)
    opts = pipeline.RunOptions(out_dir=args.out, phases=phases, suite_timeout=args.suite_timeout,
                               upgrade_to=args.upgrade_to, forks=args.forks,
                               keep_images=args.keep_images, policy=policy,
                               live_node=args.live_node, containerd_version=args.containerd)
    with progress.board():  # a live per-node table on a terminal; plain lines in CI
        result = pipeline.run(provider, opts)
    print(policy.verdict(junit.read(result.merged))[1])
    for node, tests in result.regressions.items():
        print(f"REGRESSION on {node}: {', '.join(tests)}")
    print(f"merged JUnit: {result.merged}")
    page = result.merged.parent / "report.html"
    if page.is_file():  # not when it could not be written (said on stderr)
        print(f"report: {page}")
    return result.exit_code
