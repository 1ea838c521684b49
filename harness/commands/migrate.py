"""`harness migrate`: switch nodes from Docker to containerd through playbooks/migrate.yml —
a canary node first, then batches, stopping at the first failure unless told otherwise. Each
node is locked for the run (a second run on it is refused, naming the holder).
`--plan` runs the same playbook in Ansible's check mode and prints what would change."""

import difflib

from harness import crictl, flags
from harness.containerd import build as containerd_build
from harness.migration import batches, phase, run_plan
from harness.node import image_space

COPY_TASK = "Copy Docker's images into containerd's k8s.io namespace"
STAGE_TASK = COPY_TASK + ", staged before the drain"


def register(sub):
    parser = sub.add_parser("migrate", help="switch nodes from Docker to containerd",
                            description=__doc__)
    phase.add_arguments(parser)
    parser.add_argument("--plan", action="store_true",
                        help="change nothing: print per node the files that would be written "
                        "(as diffs), the services stopped or started and the images copied")
    parser.add_argument("--canary", default="1", metavar="N|NODE[,NODE]",
                        help="migrated alone first: the first N nodes, or these nodes; 0 for "
                        "none (default 1)")
    parser.add_argument("--batch", action="append", default=[], metavar="NODE[,NODE]",
                        help="these nodes together, after the canary (repeatable: batches in "
                        "order); a node may be in one batch only")
    parser.add_argument("--batch-size", type=flags.count(1, flags.MAX_FORKS),
                        default=1, metavar="N",
                        help="the other nodes migrated N at once, after the named batches "
                        "(default 1)")
    parser.add_argument("--max-fail", type=flags.count(0, 100), default=0, metavar="PERCENT",
                        help="stop once more than this share of a batch failed (default 0: "
                        "stop at the first failure)")
    parser.add_argument("--images", choices=("all", "in-use"), default="all",
                        help="Docker images to copy into containerd: every tagged image (default) "
                        "or only those the node's pods run, with the sandbox image")
    parser.add_argument("--no-auto-rollback", dest="auto_rollback", action="store_false",
                        help="when a step after the drain fails, leave the node cordoned where "
                        "it failed (default: roll it back to Docker and uncordon it once Docker "
                        "and the kubelet are healthy); `harness rollback` returns it later")
    parser.add_argument("--allow-missing-images", action="store_true",
                        help="switch a node even if some of Docker's images cannot be copied "
                        "(e.g. a corrupt layer); they are reported (default: the node is "
                        "rolled back to Docker)")
    parser.add_argument("--no-staging", dest="staging", action="store_false",
                        help="copy Docker's images only after the drain (default: staged into "
                        "containerd before it, while the pods still run, with docker.service and "
                        "containerd.service capped; after the drain only what changed since)")
    parser.add_argument("--drain-timeout", type=flags.count(1, flags.DAY), metavar="SECONDS",
                        help="how long a drain may wait for evictions that PodDisruptionBudgets "
                        "refuse before the node is uncordoned and the run fails (default: the "
                        "inventory's drain_timeout, else 300)")
    parser.add_argument("--crictl-version", default=crictl.DEFAULT_VERSION, metavar="VERSION",
                        help=f"crictl built for the nodes (default {crictl.DEFAULT_VERSION})")
    parser.add_argument("--containerd", metavar="VERSION",
                        help="move the nodes onto containerd VERSION built here (`harness "
                        "containerd build`: " + ", ".join(containerd_build.RELEASES) + "), "
                        "installed under /usr/local/bin with its own containerd.service, "
                        "config version 3; the packaged containerd stays installed, unused. "
                        "Default: the node's packaged containerd, config version 2")
    return parser


def run(args) -> int:
    crictl.check_version(args.crictl_version)
    if args.containerd is not None:
        containerd_build.check_version(args.containerd, "--containerd")
    # Flags first, then the batches, then the cluster: nothing is touched until all are good.
    chosen = run_plan.from_args(args, order=lambda nodes: batches.plan(
        nodes, args.canary, args.batch_size, args.batch))
    result = phase.migrate(chosen, phase.MigrationPlan(
        args.max_fail, args.images, args.crictl_version, args.containerd, args.auto_rollback,
        args.drain_timeout, args.allow_missing_images, args.staging), check=args.plan)
    if args.plan:
        print(plan(result))
    print(phase.summarize(result))
    return result.exit_code


def plan(result) -> str:
    """Per node: unified diffs of the files that would change, the other changes by task, and
    the images that would be copied."""
    lines = []
    for node in result.nodes():
        lines.append(f"=== {node}: what `harness migrate` would change")
        for task in (t for t in result.tasks if t.node == node and t.outcome == "changed"):
            texts = [d for d in _diffs(task.result) if isinstance(d.get("before"), str)
                     and isinstance(d.get("after"), str)]
            if not texts:
                lines.append(f"--- {task.task}")
            for d in texts:
                header = d.get("after_header") or task.task
                if "/.ansible/" in header:  # a template's temporary source, not the node's file
                    header = task.task
                lines += difflib.unified_diff(d["before"].splitlines(), d["after"].splitlines(),
                                              f"{header} (now)", f"{header} (after)", lineterm="")
        lines += _images(result.result(node, STAGE_TASK), result.result(node, COPY_TASK))
    return "\n".join(lines)


def _images(staged: dict | None, copied: dict | None) -> list[str]:
    """What the copy would bring: staged before the drain, with only the delta after it (the
    same list in check mode, where staging copies nothing), or all of it after the drain."""
    copy, when = (staged, "staged before the drain") if staged else (
        copied or {}, "copied after the drain")
    lines = [f"image {', '.join(image['refs'])} ({image_space.gib(image['size'])}) would be "
             f"{when} into containerd (k8s.io)" for image in copy.get("would_copy", [])]
    lines += [f"image {ref} would be removed from containerd: Docker no longer has it"
              for ref in copy.get("removed", [])]
    for fs in copy.get("space", []):
        state = "fits" if fs["fits"] else "DOES NOT FIT"
        lines.append(f"disk: {image_space.gib(fs['needed'])} needed on the filesystem of "
                     f"{', '.join(fs['paths'])}, {image_space.gib(fs['free'])} free: {state}")
    if staged and copy.get("would_copy"):
        lines.append("after the drain, only what changes in Docker's images meanwhile is copied")
    return lines


def _diffs(result: dict) -> list[dict]:
    """A task's diffs, and each loop item's."""
    found = []
    for res in [result, *result.get("results", [])]:
        diff = res.get("diff") or []
        found += diff if isinstance(diff, list) else [diff]
    return found
