"""`harness preflight`: can each node move from Docker to containerd? Read-only; findings are
printed and written as JSON (<out>/preflight.json), and a blocking one fails the gate."""

import json

from harness import redact
from harness.containerd import build as containerd_build
from harness.kube import build
from harness.migration import phase
from harness.migration.findings import node_findings
from harness.table import format_table

FACTS_TASK = "Read the kubelet, Docker and containerd configuration"
API_TASK = "Read the Node object"
DRAIN_TASK = "Server-side dry run of the drain (PodDisruptionBudgets)"


def register(sub):
    parser = sub.add_parser("preflight", help="check that nodes are ready to migrate (read-only)",
                            description=__doc__)
    phase.add_arguments(parser)
    parser.add_argument("--kubernetes-target", metavar="VERSION",
                        help="the Kubernetes version the nodes are to be upgraded to (harness "
                        "upgrade --to): from 1.24 on, a kubelet still on dockershim is a "
                        "blocking finding")
    parser.add_argument("--containerd", metavar="VERSION",
                        help="check the nodes for the move onto containerd VERSION built here "
                        "(as harness migrate --containerd): its version, not the packaged "
                        "one's, and config version 3")
    return parser


def findings(result) -> dict:
    """Per node: its findings, facts and the derived settings the migration would write."""
    out = {}
    for node in result.nodes():
        facts = result.result(node, FACTS_TASK) or {}
        api = result.result(node, API_TASK) or {}
        drain = result.result(node, DRAIN_TASK) or {}
        found = node_findings(facts, api, drain)
        out[node] = {"passed": not any(t.node == node for t in result.failed()),
                     "node": api.get("node"), "findings": found,
                     "facts": facts.get("facts"), "settings": facts.get("settings")}
    return out


def table(per_node: dict) -> str:
    rows = [("NODE", "SEVERITY", "FINDING", "MESSAGE")]
    for node, entry in per_node.items():
        rows += [(node, f["severity"], f["id"], f["message"]) for f in entry["findings"]]
    return format_table(rows)


def run(args) -> int:
    extravars = {}
    if args.kubernetes_target:
        extravars["kubernetes_target"] = build.release(args.kubernetes_target,
                                                       "--kubernetes-target").version
    if args.containerd:
        extravars.update(containerd_version=containerd_build.check_version(
            args.containerd, "--containerd"), containerd_config_version=3)
    inventory = phase.inventory(args, target=extravars.get("kubernetes_target"),
                                flag="--kubernetes-target")
    result = phase.run(args, "preflight", extravars, inventory)
    per_node = findings(result)
    path = args.out / "preflight.json"
    path.write_text(json.dumps(redact.data(per_node), indent=1, sort_keys=True))
    print(table(per_node))
    print(phase.summarize(result))
    print(f"findings: {path}")
    return result.exit_code
