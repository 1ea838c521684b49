"""`harness conformance`: run the conformance suites (pytest) against this node's runtime, or
staged onto inventory nodes and run there (as `harness run` does), with one JUnit file per suite
and node.

Thin on purpose: the suites own their options (see suites/cri/README.md); this picks the suite,
passes the endpoint and runtime settings through, and maps pytest's exit status onto the CLI's.
What passes is the gate policy's (harness.gate_policy), as in `harness run`: strict skips, the
all-skipped rule and --max-skipped, here, on inventory nodes and in every matrix cell alike.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

from harness import files, flags, gate_policy, junit, suite_command
from harness.errors import (
    EXIT_FAILURES,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    InputError,
)
from harness.paths import shipped

SUITES_DIR = shipped("suites")
SUITES = ("cri",)
# pytest: 0 passed, 1 tests failed, 2 interrupted, 3 internal error or pytest.exit(3) from the
# suite (endpoint unreachable), 4 usage error, 5 nothing collected.
PYTEST_EXIT = {0: EXIT_OK, 1: EXIT_FAILURES, 2: EXIT_USAGE, 3: EXIT_UNREACHABLE, 4: EXIT_USAGE,
               5: EXIT_USAGE}


def register(sub):
    parser = sub.add_parser(
        "conformance",
        help="run the CRI conformance suite against this node's runtime",
        description="Run suites/<suite> with pytest against this node's runtime and write "
        "JUnit to --junit-dir/junit-<node>-<suite>.xml. Without --cri-endpoint the suite finds the "
        "endpoint like crictl (CONTAINER_RUNTIME_ENDPOINT, /etc/crictl.yaml, known sockets).",
    )
    parser.add_argument("--suite", choices=SUITES, action="append",
                        help="suite to run (repeatable; default: all)")
    parser.add_argument("--cri-endpoint", help="CRI runtime endpoint, e.g. "
                        "unix:///run/containerd/containerd.sock")
    parser.add_argument("--cri-image-endpoint", help="CRI image endpoint if separate")
    parser.add_argument("--runtime-handler", default="", help="runtime handler for every pod")
    parser.add_argument("--inventory", type=Path, metavar="FILE",
                        help="run on the inventory's nodes: the suites are staged onto each "
                        "node over SSH and run there (the node's cri_endpoint, else found as "
                        "crictl finds it)")
    parser.add_argument("--forks", type=flags.count(1, flags.MAX_FORKS), default=5, metavar="N",
                        help="inventory nodes worked on at once (default 5)")
    parser.add_argument("--keep-images", action="store_true",
                        help="inventory nodes: leave the fixture images the suite imported "
                        "(default: removed afterwards)")
    parser.add_argument("--node", action="append", metavar="NAME",
                        help="only this inventory node (repeatable)")
    parser.add_argument("--junit-dir", type=Path, default=Path("reports"),
                        help="directory for junit-<node>-<suite>.xml (default: reports)")
    parser.add_argument("--workers", type=flags.count(1, flags.MAX_WORKERS), default=2,
                        help="parallel pytest workers (default 2; 1 = no xdist)")
    parser.add_argument("--live-node", action="store_true",
                        help="inventory nodes: the CRI suite stops a node's kubelet; run it there "
                        "without cordoning and draining the node first (its pods stay, unmanaged, "
                        "for the suite's time; default: drained through the inventory's "
                        "cluster.kubeconfig, PodDisruptionBudgets honoured, uncordoned afterwards)")
    parser.add_argument("--allow-runtime-restart", action="store_true",
                        help="also run the restart check (restarts the runtime; forces 1 worker; "
                        "on inventory nodes drained for the suite, or with --live-node only "
                        "where the kubelet is stopped or the node is cordoned)")
    parser.add_argument("--runtime-restart-command",
                        help="shell command restarting the runtime (suite default: "
                        "systemctl restart containerd)")
    parser.add_argument("--matrix", action="store_true",
                        help="run the conformance matrix instead: the CRI suite against private "
                        "containerds (1.6 and 2.x with runc, 1.6 with crun) and the OCI suite "
                        "against runc and crun, one JUnit per cell in --junit-dir/matrix")
    parser.add_argument("--cell", action="append", metavar="NAME",
                        help="with --matrix: only this cell (repeatable)")
    gate_policy.add_flags(parser)
    parser.add_argument("pytest_args", nargs="*", metavar="-- PYTEST_ARGS",
                        help="extra pytest arguments after --, e.g. -- -k seccomp")
    return parser


def pytest_argv(args, suite: str, junit_file: Path, policy: gate_policy.GatePolicy,
                tls: tuple[str, ...] = ()) -> list[str]:
    """The suite's command line on this machine (`tls`: the TLS registry's options)."""
    argv = suite_command.argv(suite, junit_file, policy, tls)
    for flag in ("cri_endpoint", "cri_image_endpoint"):
        if getattr(args, flag):
            argv += [f"--{flag.replace('_', '-')}", getattr(args, flag)]
    if args.workers > 1 and not args.allow_runtime_restart:
        argv += ["-n", str(args.workers), "--dist", "loadgroup"]
    return argv + suite_args(args)


def run_suite(argv: list[str], junit_file: Path, label: str) -> int:
    status = subprocess.run(argv, check=False).returncode
    report = f"JUnit {junit_file}" if junit_file.exists() else "no JUnit written"
    print(f"harness conformance: {label}: pytest exit {status}, {report}", file=sys.stderr)
    return PYTEST_EXIT.get(status, EXIT_FAILURES)


def worst_of(codes) -> int:
    """Any failure beats success; among failures the higher code (unreachable) wins."""
    return max(codes, key=lambda c: (c != EXIT_OK, c), default=EXIT_OK)


def run_on_nodes(args, suites: list[str], policy: gate_policy.GatePolicy) -> int:
    """The suites staged onto each inventory node and run there (harness.nodes.suites, as
    `harness run` does); the verdict is the JUnit's, steps included."""
    from harness.inventory import load_inventory
    from harness.migration import drain, run_plan
    from harness.nodes import registries
    from harness.nodes import suites as node_suites

    # The suites need no cluster; the kubeconfig, when the inventory names one, only drains.
    plan = run_plan.build(load_inventory(args.inventory), args.junit_dir, args.node or None,
                          policy, cluster=False)
    inventory, nodes = plan.inventory, plan.targets()
    node_suites.check_budgets(nodes, node_suites.SuiteRun.timeout)
    steps = {n.name: junit.StepRecorder(n.name, "conformance steps", n.host) for n in nodes}
    # The TLS pull's registry, served from here on each node's loopback (as `harness run` does)
    with registries.serve(nodes, registries.tls_config()) as (registry, ca):
        spec = node_suites.SuiteRun(
            tuple(suites), args.junit_dir, {"cri": tuple(suite_args(args))}, forks=args.forks,
            disruptive=args.allow_runtime_restart, cordoned=cordoned_in(inventory),
            keep_images=args.keep_images, policy=policy, tls_registry=(registry.host, ca),
            drainer=drain.for_inventory(inventory), live_node=args.live_node)
        node_suites.run_on_nodes(nodes, spec, steps)
    written = [recorder.write(args.junit_dir) for recorder in steps.values()]
    written += [junit.junit_path(args.junit_dir, n.name, s) for n in nodes for s in suites]
    return verdict(policy, [f for f in written if f.exists()])


def verdict(policy: gate_policy.GatePolicy, junit_files: list[Path]) -> int:
    """The policy's exit code for `junit_files`, with its verdict printed."""
    code, text = policy.verdict(junit.merge(junit_files))
    print(text)
    return code


def suite_args(args) -> list[str]:
    """The CRI suite's options as given here (the endpoint is each node's own)."""
    argv = []
    if args.runtime_handler:
        argv += ["--runtime-handler", args.runtime_handler]
    if args.runtime_restart_command:
        argv += ["--runtime-restart-command", args.runtime_restart_command]
    if args.allow_runtime_restart:
        argv.append("--allow-runtime-restart")
    return argv + list(args.pytest_args)


def cordoned_in(inventory):
    """node name -> whether its Node is cordoned, when the inventory names a cluster."""
    if inventory.cluster.kubeconfig is None:
        return None
    from kubernetes import client, config

    kubeconfig = files.kubeconfig(inventory.cluster.kubeconfig)
    api = client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
    return lambda name: bool(api.read_node(name).spec.unschedulable)


def run_matrix(args, policy: gate_policy.GatePolicy) -> int:
    from harness import matrix

    cells = matrix.select(args.cell)
    results = matrix.run(cells, args.junit_dir / "matrix", policy,
                         say=lambda m: print(f"harness conformance: {m}", file=sys.stderr))
    print(matrix.table(results))
    return matrix.exit_code(results)


def run(args) -> int:
    files.output_dir(args.junit_dir, "--junit-dir")
    policy = gate_policy.GatePolicy.from_args(args)
    if args.matrix:
        return run_matrix(args, policy)
    if args.cell:
        raise InputError("--cell: only with --matrix", hint="add --matrix, or drop --cell")
    suites = args.suite or list(SUITES)
    missing = [s for s in suites if not (SUITES_DIR / s).is_dir()]
    if missing:
        raise InputError(f"suite directory {SUITES_DIR / missing[0]} not found",
                         hint="reinstall the harness (pip install .): its wheel carries the suites")
    args.junit_dir.mkdir(exist_ok=True)
    if args.inventory:
        return run_on_nodes(args, suites, policy)
    return run_on_this_node(args, suites, policy)


def run_on_this_node(args, suites: list[str], policy: gate_policy.GatePolicy) -> int:
    """Each suite against this node's runtime, with the TLS pull's registry served and trusted
    here as on inventory nodes (an operator's run is held to the same gate)."""
    from harness.inventory import Node
    from harness.nodes import registries

    here = Node(platform.node() or "localhost", "localhost", connection="local")
    codes, junit_files = [], []
    with registries.serve([here], registries.tls_config()) as (registry, ca):
        tls = ("--tls-registry", registry.host, "--tls-registry-ca", ca)
        for suite in suites:
            code, written = run_here(args, suite, policy, tls if suite == "cri" else ())
            codes.append(code)
            junit_files += written
    return worst_of([*codes, verdict(policy, junit_files)] if junit_files else codes)


def run_here(args, suite: str, policy: gate_policy.GatePolicy,
             tls: tuple[str, ...]) -> tuple[int, list[Path]]:
    """The suite against this node's runtime: pytest's mapped exit code and the JUnit written
    (named for this host; none when pytest wrote none)."""
    node = platform.node() or "localhost"
    raw = args.junit_dir / "raw" / f"{suite}.xml"
    code = run_suite(pytest_argv(args, suite, raw, policy, tls), raw, suite)
    if not raw.exists():
        return code, []
    return code, [junit.relabel_pytest_junit(raw, args.junit_dir, node, suite)]
