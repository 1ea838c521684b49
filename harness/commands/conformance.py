"""`harness conformance`: run the conformance suites (pytest) against this node's runtime, or
against inventory nodes through an SSH-forwarded CRI socket, with one JUnit file per suite and
node.

Thin on purpose: the suites own their options (see suites/cri/README.md); this picks the suite,
passes the endpoint and runtime settings through, and maps pytest's exit status onto the CLI's.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

from harness import junit
from harness.errors import (
    EXIT_FAILURES,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    InputError,
    StepFailed,
    UnreachableError,
)

SUITES_DIR = Path(__file__).resolve().parents[2] / "suites"
SUITES = ("cri",)
DEFAULT_NODE_ENDPOINT = "unix:///run/containerd/containerd.sock"
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
                        help="run against the inventory's nodes over SSH (the node's "
                        "cri_endpoint, default the containerd socket, forwarded here); tests "
                        "needing the node's filesystem skip")
    parser.add_argument("--node", action="append", metavar="NAME",
                        help="only this inventory node (repeatable)")
    parser.add_argument("--junit-dir", type=Path, default=Path("reports"),
                        help="directory for junit-<node>-<suite>.xml (default: reports)")
    parser.add_argument("--workers", type=int, default=2,
                        help="parallel pytest workers (default 2; 1 = no xdist)")
    parser.add_argument("--allow-runtime-restart", action="store_true",
                        help="also run the restart check (restarts the runtime; forces 1 worker)")
    parser.add_argument("--runtime-restart-command",
                        help="shell command restarting the runtime (suite default: "
                        "systemctl restart containerd)")
    parser.add_argument("pytest_args", nargs="*", metavar="-- PYTEST_ARGS",
                        help="extra pytest arguments after --, e.g. -- -k seccomp")
    return parser


def pytest_argv(args, suite: str, junit: Path, endpoint: str | None = None) -> list[str]:
    """The suite's command line; `endpoint` is a forwarded socket of a remote node."""
    argv = [sys.executable, "-m", "pytest", str(SUITES_DIR / suite), "-p", "no:cacheprovider",
            "-q", f"--junitxml={junit}"]
    if endpoint:
        argv += ["--cri-endpoint", endpoint, "--cri-remote"]
    for flag in ("cri_endpoint", "cri_image_endpoint", "runtime_restart_command"):
        if getattr(args, flag) and not (endpoint and flag == "cri_endpoint"):
            argv += [f"--{flag.replace('_', '-')}", getattr(args, flag)]
    if args.runtime_handler:
        argv += ["--runtime-handler", args.runtime_handler]
    if args.allow_runtime_restart:
        argv.append("--allow-runtime-restart")
    elif args.workers > 1:
        argv += ["-n", str(args.workers), "--dist", "loadgroup"]
    return argv + list(args.pytest_args)


def run_suite(argv: list[str], junit_file: Path, label: str) -> int:
    status = subprocess.run(argv, check=False).returncode
    report = f"JUnit {junit_file}" if junit_file.exists() else "no JUnit written"
    print(f"harness conformance: {label}: pytest exit {status}, {report}", file=sys.stderr)
    code = PYTEST_EXIT.get(status, EXIT_FAILURES)
    if code == EXIT_OK and junit_file.exists() and \
            junit.verify(junit.read(junit_file)).all_skipped():
        print(f"harness conformance: {label}: every test skipped, nothing was checked",
              file=sys.stderr)
        return EXIT_FAILURES
    return code


def worst_of(codes) -> int:
    """Any failure beats success; among failures the higher code (unreachable) wins."""
    return max(codes, key=lambda c: (c != EXIT_OK, c), default=EXIT_OK)


def run_on_node(args, node, suites: list[str]) -> int:
    """Forward the node's CRI socket over SSH, put the suite's images there, run the suites;
    each suite's JUnit is relabelled for the node (junit-<node>-<suite>.xml, dot-free)."""
    from harness.cri.suite_images import build_all, load_on_node
    from harness.providers.reach import open_transport

    endpoint = node.cri_endpoint or DEFAULT_NODE_ENDPOINT
    try:
        with open_transport(node) as transport, \
                transport.forward_unix_socket(endpoint) as local:
            load_on_node(transport, endpoint, build_all())
            codes = []
            for suite in suites:
                raw = args.junit_dir / "raw" / f"{suite}-{node.name}.xml"
                argv = pytest_argv(args, suite, raw, endpoint=f"unix://{local}")
                codes.append(run_suite(argv, raw, f"{suite} on {node.name}"))
                if raw.exists():
                    junit.relabel_pytest_junit(raw, args.junit_dir, node.name, suite, node.host)
            return worst_of(codes)
    except (UnreachableError, StepFailed) as err:  # this node only; the others still run
        print(f"harness conformance: {node.name}: {err}", file=sys.stderr)
        for suite in suites:
            junit.write_unreachable(args.junit_dir, node.name, suite, err, node.host)
        return err.exit_code


def run(args) -> int:
    if args.workers < 1:
        raise InputError(f"--workers {args.workers}: must be at least 1")
    suites = args.suite or list(SUITES)
    missing = [s for s in suites if not (SUITES_DIR / s).is_dir()]
    if missing:
        raise InputError(f"suite directory {SUITES_DIR / missing[0]} not found",
                         hint="run harness from its source checkout")
    args.junit_dir.mkdir(parents=True, exist_ok=True)
    if args.inventory:
        return worst_of(run_on_node(args, node, suites) for node in selected_nodes(args))
    return worst_of(run_here(args, suite) for suite in suites)


def run_here(args, suite: str) -> int:
    """The suite against this node's runtime; its JUnit is named for this host."""
    node = platform.node() or "localhost"
    raw = args.junit_dir / "raw" / f"{suite}.xml"
    code = run_suite(pytest_argv(args, suite, raw), raw, suite)
    if raw.exists():
        junit.relabel_pytest_junit(raw, args.junit_dir, node, suite)
    return code


def selected_nodes(args):
    from harness.inventory import load_inventory

    nodes = load_inventory(args.inventory).nodes
    wanted = set(args.node or ())
    unknown = wanted - {n.name for n in nodes}
    if unknown:
        raise InputError(f"{args.inventory}: no node named {sorted(unknown)[0]}",
                         hint=f"nodes: {', '.join(n.name for n in nodes)}")
    return [n for n in nodes if not wanted or n.name in wanted]
