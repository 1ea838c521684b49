"""The `harness` command: parses arguments, dispatches to one module per subcommand,
and turns every HarnessError into one line on stderr and its exit code (no traceback)."""

import argparse
import importlib
import sys

from harness import __version__
from harness.errors import EXIT_USAGE, HarnessError

# Subcommand -> one-line help. Each has a module under harness.commands exposing
# register(subparsers) and run(args); only the chosen one is imported, so `harness X` does not
# pay for every command's dependencies (paramiko, grpc, docker) at start-up.
COMMANDS = {
    "lab": "provision, inspect and tear down the local lab of systemd nodes",
    "images": "build the fixture images and load them into Docker, containerd or a registry",
    "kube": "build Kubernetes binaries from the k8s.io/kubernetes Go module",
    "containerd": "build containerd 2.x from the github.com/containerd/containerd/v2 Go module",
    "inventory": "validate an inventory, reach its nodes",
    "preflight": "check that nodes are ready to migrate",
    "migrate": "switch nodes from Docker to containerd",
    "verify": "check that migrated nodes run on containerd",
    "rollback": "return migrated nodes to Docker",
    "upgrade": "upgrade the control plane and each node's kubelet, one node at a time",
    "conformance": "run the CRI and OCI conformance suites against nodes",
    "smoke": "run workload smoke tests against nodes",
    "run": "the whole pipeline: provision, preflight, smoke, migrate, verify, suites, report",
    "report": "merge JUnit results, print the summary per node and suite, render report.html",
}

EPILOG = """exit codes:
  0  everything passed
  1  a test or step failed
  2  usage or input error (inventory, flags, configs)
  3  a node or endpoint was unreachable, or an operation timed out
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's default prints usage twice as many lines
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _chosen_command(argv: list[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The full parser for the command named in argv; the others appear by name and help."""
    chosen = _chosen_command(sys.argv[1:] if argv is None else argv)
    parser = _Parser(
        prog="harness",
        description="Migrate Kubernetes nodes from Docker to containerd and prove the result.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, help_text in COMMANDS.items():
        if name != chosen:
            sub.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(f"harness.commands.{name}")
        command = module.register(sub)
        command.set_defaults(handler=module.run)
        command.formatter_class = argparse.RawDescriptionHelpFormatter
        if not command.epilog:
            command.epilog = EPILOG
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.handler(args) or 0)
    except HarnessError as err:
        print(f"harness {args.command}: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(f"harness {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
