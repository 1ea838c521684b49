"""The `harness` command: parses arguments, dispatches to one module per subcommand,
and turns every HarnessError into one line on stderr and its exit code (no traceback)."""

import argparse
import importlib
import sys

from harness import __version__
from harness.errors import EXIT_USAGE, HarnessError

# Subcommand name -> module under harness.commands exposing register(subparsers) and run(args).
COMMANDS = (
    "lab",
    "images",
    "inventory",
    "preflight",
    "migrate",
    "rollback",
    "conformance",
    "smoke",
    "run",
    "report",
)

EPILOG = """exit codes:
  0  everything passed
  1  a test or step failed
  2  usage or input error (inventory, flags, configs)
  3  a node or endpoint was unreachable, or an operation timed out
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's default prints usage twice as many lines
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="harness",
        description="Migrate Kubernetes nodes from Docker to containerd and prove the result.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        module = importlib.import_module(f"harness.commands.{name}")
        command = module.register(sub)
        command.set_defaults(handler=module.run)
        command.formatter_class = argparse.RawDescriptionHelpFormatter
        if not command.epilog:
            command.epilog = EPILOG
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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
