"""`harness inventory`: validate an inventory file, and check that its nodes answer over SSH."""

import os
from pathlib import Path

from harness import files, flags
from harness.errors import EXIT_OK, EXIT_UNREACHABLE, UnreachableError
from harness.inventory import Inventory, load_inventory
from harness.table import format_table


def register(sub):
    parser = sub.add_parser("inventory", help="validate an inventory, reach its nodes",
                            description="Validate an inventory file and reach its nodes.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="validate FILE and list its nodes",
                               description="Validate FILE (harness shape, or any inventory "
                               "Ansible reads: YAML, INI) and print its nodes; exit 2 with "
                               "FILE[:LINE]: FIELD: problem otherwise.")
    check.add_argument("file", metavar="FILE")
    ping = actions.add_parser("ping", help="run `true` on every node of FILE",
                              description="Connect to every node of FILE and run `true`; "
                              "exit 3 when a node is unreachable.")
    ping.add_argument("file", metavar="FILE")
    ping.add_argument("--known-hosts", metavar="PATH",
                      help="known_hosts file to verify host keys (default: the node's "
                      "vars.known_hosts, else ~/.ssh/known_hosts)")
    ping.add_argument("--trust-on-first-use", action="store_true",
                      help="accept and record the host key of a host not yet in known_hosts")
    ping.add_argument("--connect-timeout", type=flags.seconds(), default=10.0, metavar="SECONDS")
    ping.add_argument("--connect-retries", type=flags.count(0, flags.MAX_RETRIES),
                      default=2, metavar="N")
    return parser


def run(args) -> int:
    inventory = load_inventory(args.file)
    if args.action == "check":
        print(format_nodes(inventory))
        return EXIT_OK
    if args.known_hosts:
        _check_known_hosts(Path(args.known_hosts).expanduser(), args.trust_on_first_use)
    return _ping(inventory, args)


def _check_known_hosts(path: Path, trust_on_first_use: bool) -> None:
    """A known_hosts file to read; with --trust-on-first-use a new one may be made there."""
    if trust_on_first_use and not os.path.lexists(path):
        files.output_file(path, "--known-hosts")
    else:
        files.read_bytes(path, "--known-hosts", "pass an existing known_hosts file, or add "
                         "--trust-on-first-use to start one")


def format_nodes(inventory: Inventory) -> str:
    header = ("NAME", "ADDRESS", "USER", "CONNECTION", "BECOME", "GROUPS", "SSH KEY")
    rows = [header] + [
        (n.name, n.address, n.user, n.connection, "yes" if n.become else "no",
         ",".join(n.groups) or "-", str(n.ssh_key) if n.ssh_key else "(default)")
        for n in inventory.nodes
    ]
    lines = [format_table(rows)]
    cluster = inventory.cluster
    lines.append(f"{len(inventory.nodes)} node(s); kubernetes "
                 f"{cluster.kubernetes_version or '(not set)'}; kubeconfig "
                 f"{cluster.kubeconfig or '(not set)'}")
    return "\n".join(lines)


def _ping(inventory: Inventory, args) -> int:
    from harness.transport import open_transport  # honours a node's pinned known_hosts

    # Unreachable nodes are listed and the rest still tried; host key and authentication
    # problems are input errors (they name the node) and stop the run at the first one.
    worst = EXIT_OK
    for node in inventory.nodes:
        try:
            options = dict(trust_on_first_use=args.trust_on_first_use,
                           connect_timeout=args.connect_timeout,
                           connect_retries=args.connect_retries)
            if args.known_hosts:
                options["known_hosts"] = args.known_hosts
            with open_transport(node, **options) as transport:
                result = transport.run(["true"], timeout=args.connect_timeout, check=True)
            print(f"{node.name}: ok ({result.duration:.2f}s)")
        except UnreachableError as err:
            print(f"{node.name}: unreachable: {err}")
            worst = max(worst, EXIT_UNREACHABLE)
    return worst
