"""What the preflight, migrate, verify, rollback and upgrade commands share: their flags (parsed
into a run_plan.RunPlan), running their playbook over the plan, locking its nodes, writing JUnit
per node, printing a summary."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from harness import crictl
from harness.containerd import build as containerd_build
from harness.inventory import Inventory, Node
from harness.kube import build as kube_build
from harness.lab import state
from harness.migration import api_watch, run_plan, runner
from harness.nodes import lock
from harness.table import format_table

# Commands that change nodes: each node is locked for the run (locked()).
CHANGES_NODES = ("migrate", "rollback", "upgrade")
# Phases during which the API server's availability is measured (api_watch).
WATCHED = ("migrate", "rollback")


def add_arguments(parser) -> None:
    parser.add_argument("-i", "--inventory", type=Path, metavar="FILE",
                        help="nodes to work on (default: $HARNESS_INVENTORY, else the local lab)")
    parser.add_argument("--lab", default=state.DEFAULT_LAB, metavar="NAME", type=state.name_arg,
                        help=f"the local lab to use without an inventory (default "
                        f"{state.DEFAULT_LAB})")
    parser.add_argument("--node", action="append", default=[], metavar="NAME",
                        help="only this node (repeatable; default: every node)")
    parser.add_argument("--kubeconfig", type=Path, metavar="FILE",
                        help="the cluster's admin kubeconfig (default: the inventory's)")
    parser.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR",
                        help="JUnit, Ansible artifacts and results (default: reports/)")


def plan_playbook(plan: run_plan.RunPlan, phase: str, extravars: dict | None = None,
                  check: bool = False) -> runner.PlaybookRun:
    """The phase's playbook over the plan's nodes."""
    return run_playbook(plan.inventory, phase, plan.out, plan.limit, extravars, check)


def run_playbook(inv: Inventory, phase: str, out: Path, nodes: tuple[str, ...] = (),
                 extravars: dict | None = None, check: bool = False) -> runner.PlaybookRun:
    """Run the phase's playbook on `nodes` (default all) of `inv`, whose cluster kubeconfig is
    set; JUnit per node goes to <out>/junit."""
    spec = runner.RunSpec(phase, inv, out, nodes,
                          {"kubeconfig": str(inv.cluster.kubeconfig), **(extravars or {})}, check)
    if phase not in WATCHED or check:
        result = runner.run(spec)
    else:  # a control-plane node's switch takes its API server down: measure for how long
        with api_watch.ApiWatch(str(inv.cluster.kubeconfig)) as watch:
            result = runner.run(spec)
        result.api = f"{watch.summary()}; {watch.write(out / f'api-{phase}.json')}"
    runner.write_junit(result, out / "junit", {n.name: n.host for n in inv.nodes})
    return result


def locked(plan: run_plan.RunPlan, command: str):
    """Each node of `plan` locked for this run of `command` while the block runs: taken
    before anything changes a node, released on the way out (harness.nodes.lock)."""
    return lock.held(plan.targets(), f"harness {command}", state_dir)


def state_dir(node: Node) -> str:
    """Where the playbooks keep the node's migration record (and its lock)."""
    return str(node.vars.get("migration_state_dir") or runner.role_default("migration_state_dir"))


def summarize(result: runner.PlaybookRun) -> str:
    rows = [("NODE", "PHASE", "OK", "CHANGED", "FAILED", "SKIPPED", "UNREACHABLE")]
    for node in result.nodes():
        c = result.counts(node)
        rows.append((node, result.phase, *(str(c[k]) for k in
                                           ("ok", "changed", "failed", "skipped", "unreachable"))))
    lines = [format_table(rows)]
    lines += [f"WARNING {t.node}: {t.task}: {w}" for t in result.tasks for w in t.warnings]
    lines += [f"FAILED {t.node}: {t.task}: {t.message}" for t in result.failed()]
    if result.interruption():
        lines.append(result.interruption())
    if result.api:
        lines.append(result.api)
    lines.append(f"JUnit: {result.artifacts.parent.parent / 'junit'}/junit-<node>-"
                 f"{result.phase}.xml; Ansible artifacts: {result.artifacts}")
    return "\n".join(lines)


def command(name: str, help_text: str):
    """register() and run() for a command that runs one playbook and prints its summary."""
    def register(sub):
        parser = sub.add_parser(name, help=help_text, description=help_text)
        add_arguments(parser)
        return parser

    def run_command(args) -> int:
        plan = run_plan.from_args(args)
        with locked(plan, name) if name in CHANGES_NODES else contextlib.nullcontext():
            result = plan_playbook(plan, name)
        print(summarize(result))
        return result.exit_code

    return register, run_command


@dataclass(frozen=True)
class MigrationPlan:
    """How a migration goes on every node of a run, as `harness migrate` and `harness run`
    both hand it down with the run's plan (whose batches the playbook follows). The defaults
    are the commands' own."""

    max_fail: int = 0  # percent of a batch that may fail before the run stops
    images: str = "all"  # all | in-use
    crictl_version: str = crictl.DEFAULT_VERSION
    containerd_version: str | None = None  # a containerd 2.x built here, else the packaged one
    auto_rollback: bool = True
    drain_timeout: int | None = None  # None: the inventory's, else the role's default
    allow_missing_images: bool = False
    staging: bool = True  # False: copy the images only after the drain

    def extravars(self, batches) -> dict:
        return migrate_vars([len(b) for b in batches], self.max_fail, self.images,
                            self.crictl_version, self.containerd_version,
                            auto_rollback=self.auto_rollback, drain_timeout=self.drain_timeout,
                            allow_missing_images=self.allow_missing_images,
                            staging=self.staging)


def migrate(plan: run_plan.RunPlan, how: MigrationPlan, check: bool = False,
            command: str = "migrate") -> runner.PlaybookRun:
    """The one way a migration runs: migrate.yml over the plan's nodes in its batches, each
    node locked for the run of `command` (check mode changes nothing, so it takes no lock)."""
    # The locks first: a run refused for a node another run holds says so in one line, before
    # crictl (or containerd) is built or its cache checked.
    with contextlib.nullcontext() if check else locked(plan, command):
        return run_playbook(plan.inventory, "migrate", plan.out, tuple(plan.nodes),
                            how.extravars(plan.batches), check)


def preflight_vars(kubernetes_target: str | None = None,
                   containerd_version: str | None = None) -> dict:
    """preflight.yml's variables: the Kubernetes version the nodes are headed for, and the
    containerd build the migration would install (then its version and config version 3 are
    checked instead of the packaged containerd's). Versions are checked, nothing is built."""
    extravars = {}
    if kubernetes_target:
        extravars["kubernetes_target"] = kube_build.release(kubernetes_target,
                                                            "--kubernetes-target").version
    if containerd_version:
        extravars.update(containerd_version=containerd_build.check_version(
            containerd_version, "--containerd"), containerd_config_version=3)
    return extravars


def migrate_vars(sizes: list[int], max_fail: int, images: str, crictl_version: str,
                 containerd_version: str | None = None, *, auto_rollback: bool = True,
                 drain_timeout: int | None = None, allow_missing_images: bool = False,
                 staging: bool = True) -> dict:
    """migrate.yml's variables for these choices (`sizes`: of the batches, in order); builds
    (or takes cached) crictl and, with `containerd_version`, that containerd 2.x, which the
    nodes then run with config version 3. Without it the nodes keep their packaged containerd
    1.x and config version 2. `drain_timeout` None keeps the inventory's (or the default), and
    so does `staging` True (the inventory may turn it off with stage_images)."""
    crictl_version = crictl.check_version(crictl_version)
    if containerd_version is not None:  # both versions checked before either is built
        containerd_version = containerd_build.check_version(containerd_version, "--containerd")
    extravars = {"harness_serial": sizes,
                 "harness_max_fail_percentage": max_fail,
                 "copy_images": images,
                 "auto_rollback": auto_rollback,
                 "allow_missing_images": allow_missing_images,
                 **({} if drain_timeout is None else {"drain_timeout": drain_timeout}),
                 **({} if staging else {"stage_images": False}),
                 "crictl_binary": str(crictl.build(crictl_version)),
                 "containerd_bin_dir": "",
                 "containerd_config_version": 2}
    if containerd_version is not None:
        built = containerd_build.build(containerd_version, flag="--containerd")
        extravars.update(containerd_bin_dir=str(built.bin_dir), containerd_version=built.version,
                         containerd_config_version=3)
    return extravars
