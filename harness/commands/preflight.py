"""`harness preflight`: can each node move from Docker to containerd? Read-only; findings are
printed and written as JSON (<out>/preflight.json), and a blocking one fails the gate."""

from harness.migration import findings, phase, run_plan
from harness.table import format_table


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


def table(per_node: dict) -> str:
    rows = [("NODE", "SEVERITY", "FINDING", "MESSAGE")]
    for node, entry in per_node.items():
        rows += [(node, f.severity, f.id, f.message) for f in entry["findings"]]
    return format_table(rows)


def run(args) -> int:
    extravars = phase.preflight_vars(args.kubernetes_target, args.containerd)
    plan = run_plan.from_args(args, target=extravars.get("kubernetes_target"),
                              flag="--kubernetes-target")
    result = phase.plan_playbook(plan, "preflight", extravars)
    per_node = findings.per_node(result)
    path = findings.write(per_node, plan.out)
    print(table(per_node))
    print(phase.summarize(result))
    print(f"findings: {path}")
    return result.exit_code
