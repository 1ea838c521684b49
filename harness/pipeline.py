"""The main job, top-down:

    provision -> preflight -> smoke-before -> migrate -> verify -> cri, oci (on each migrated
    node) -> smoke-after -> upgrade (with --upgrade-to) -> smoke-upgraded -> report

Each phase is a small function over explicit inputs (the inventory, the options, the nodes it
may run on) that writes its own JUnit and returns the nodes it failed on. The Gate decides what a
phase may run on: a node that failed a phase a later one needs gets a skipped row naming that
phase instead, so a dashboard never silently misses a phase; phases not chosen with --phases are
not run and not reported. Every phase also has a row per node in the "pipeline" suite, failed
on each node the phase failed on (a cluster phase: one row, failed naming the nodes), so the
row says where each node stopped; the tests behind it are rows of their own. After each phase the
Gate keeps the journals of the nodes it ran on, and the migration keeps each node's configs and
images before and after (harness.nodes.artifacts), under <out>/artifacts/ for the report.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from time import time

from harness import junit, smoke
from harness.errors import EXIT_USAGE, HarnessError, InputError
from harness.gate_policy import NO_BUDGET, GatePolicy
from harness.inventory import Inventory
from harness.migration import drain
from harness.nodes import artifacts
from harness.nodes import suites as node_suites
from harness.progress import progress
from harness.providers.base import Provider, TlsRegistry

PHASES = ("preflight", "smoke-before", "migrate", "verify", "cri", "oci", "smoke-after",
          "upgrade", "smoke-upgraded")
ALIASES = {"smoke": ("smoke-before", "smoke-after", "smoke-upgraded"), "suites": ("cri", "oci")}
DEFAULT_PHASES = tuple(p for p in PHASES if p not in ("upgrade", "smoke-upgraded"))
NODE_SUITES = ("cri", "oci")
# What each phase needs to have passed on a node before it runs there.
NEEDS = {
    "migrate": ("preflight",),
    "verify": ("migrate",),
    "cri": ("migrate", "verify"),
    "oci": ("migrate", "verify"),
    "smoke-after": ("migrate",),
    "upgrade": ("migrate", "verify"),
    "smoke-upgraded": ("upgrade",),
}
# Phases about the whole cluster: run once, and only when no node is blocked.
CLUSTER_PHASES = ("smoke-before", "smoke-after", "upgrade", "smoke-upgraded")
KUBE_PHASES = ("preflight", "migrate", "verify", "upgrade", *ALIASES["smoke"])


@dataclass(frozen=True)
class RunOptions:
    out_dir: Path
    phases: tuple[str, ...] = DEFAULT_PHASES
    suite_args: dict[str, tuple[str, ...]] = field(default_factory=dict)
    suite_timeout: float = 900.0
    upgrade_to: str | None = None
    crictl_version: str | None = None  # None: crictl's default
    containerd_version: str | None = None  # a containerd 2.x build to move onto (--containerd)
    forks: int = node_suites.DEFAULT_FORKS  # nodes running suites at once
    keep_images: bool = False  # the fixture images the CRI suite imported stay on the nodes
    policy: GatePolicy = GatePolicy()  # what passes: strict skips, the skip budget
    live_node: bool = False  # the CRI suite stops kubelets without draining their nodes first


@dataclass(frozen=True)
class RunResult:
    summary: junit.Summary
    merged: Path
    regressions: dict[str, list[str]] = field(default_factory=dict)
    policy: GatePolicy = GatePolicy()

    @property
    def exit_code(self) -> int:
        return self.policy.exit_code(self.summary)


def parse_phases(text: str, upgrade_to: str | None) -> tuple[str, ...]:
    """`--phases` (names or the aliases smoke and suites) in pipeline order; the default is
    every phase, the upgrade ones only with --upgrade-to."""
    if text is None:
        return PHASES if upgrade_to else DEFAULT_PHASES
    chosen = set()
    for name in (s.strip() for s in text.split(",") if s.strip()):
        if name not in PHASES and name not in ALIASES:
            raise InputError(f"--phases: unknown phase {name!r}",
                             hint=f"choose from {', '.join((*PHASES, *ALIASES))}")
        chosen.update(ALIASES.get(name, (name,)))
    if not chosen:
        raise InputError(f"--phases {text!r}: names no phase",
                         hint=f"choose from {', '.join((*PHASES, *ALIASES))}")
    if "upgrade" in chosen and not upgrade_to:
        raise InputError("--phases upgrade needs --upgrade-to VERSION")
    return tuple(p for p in PHASES if p in chosen)


def run(provider: Provider, opts: RunOptions) -> RunResult:
    junit_dir = opts.out_dir / "junit"
    _clear(opts.out_dir)
    kube = bool(set(opts.phases) & set(KUBE_PHASES))
    try:
        inventory = provision(provider, junit_dir, kube)
    except InputError:  # the user's to fix, not a failed run: exit 2
        raise
    except HarnessError as err:  # recorded in the pipeline suite; the report still gets written
        progress(provider.name, f"provisioning failed: {err}")
        return report(junit_dir, opts.out_dir / "junit.xml", opts.policy)
    if "cri" in opts.phases:
        node_suites.check_budgets(inventory.nodes, opts.suite_timeout)
    gate = Gate(inventory, junit_dir, opts.phases, artifacts_dir=opts.out_dir)
    if kube:
        record_versions(inventory, gate, "before")
    smokes = set(opts.phases) & set(ALIASES["smoke"])
    with ExitStack() as registries:
        registry = registries.enter_context(
            provider.smoke_registry() if smokes else nullcontext())
        # Before preflight: the nodes trust its CA through Docker, and the migration must
        # carry that over to containerd for the CRI suite's TLS pull to pass.
        tls = registries.enter_context(
            provider.tls_registry() if "cri" in opts.phases else nullcontext())
        before = gate.run("smoke-before", lambda nodes: smoke_phase(
            inventory, "smoke-before", registry, opts, junit_dir))
        gate.run("preflight", lambda nodes: playbook_phase(inventory, "preflight", nodes, opts))
        gate.run("migrate", lambda nodes: migrate_phase(inventory, nodes, opts))
        gate.run("verify", lambda nodes: playbook_phase(inventory, "verify", nodes, opts))
        gate.run_nodes(NODE_SUITES, lambda suites, nodes: conformance_phase(
            inventory, nodes, suites, opts, gate, tls))
        after = gate.run("smoke-after", lambda nodes: smoke_phase(
            inventory, "smoke-after", registry, opts, junit_dir))
        gate.run("upgrade", lambda nodes: upgrade_phase(inventory, opts))
        upgraded = gate.run("smoke-upgraded", lambda nodes: smoke_phase(
            inventory, "smoke-upgraded", registry, opts, junit_dir))
    regressions = compare_smoke(before, [after, upgraded], inventory, junit_dir)
    if kube:
        record_versions(inventory, gate, "after")
    gate.write()
    result = report(junit_dir, opts.out_dir / "junit.xml", opts.policy)
    return RunResult(result.summary, result.merged, regressions, opts.policy)


def provision(provider: Provider, junit_dir: Path, needs_cluster: bool) -> Inventory:
    """Bring the nodes (and, for the lab, the cluster) up or reach them; a failure, or no
    cluster where a chosen phase needs one, is recorded for the whole run."""
    steps = junit.StepRecorder(provider.name, "pipeline")
    progress(provider.name, "provisioning")
    try:
        with steps.step("provision"):
            inventory = provider.up()
            if needs_cluster and inventory.cluster.kubeconfig is None:
                raise InputError(f"{inventory.source}: no kubeconfig for the cluster",
                                 hint="set kubeconfig under all.vars (or pass --kubeconfig), "
                                 "or choose --phases cri,oci")
    finally:
        steps.write(junit_dir)
    progress(provider.name, f"{len(inventory.nodes)} node(s) up")
    return inventory


@dataclass
class Gate:
    """Which phases failed on which node, and each node's row per phase (suite "pipeline")."""

    inventory: Inventory
    junit_dir: Path
    chosen: tuple[str, ...]
    failed: dict[str, set[str]] = field(default_factory=dict)  # phase -> nodes
    steps: dict[str, junit.StepRecorder] = field(default_factory=dict)
    artifacts_dir: Path | None = None  # the run's out dir, for the nodes' journals; None: none

    def __post_init__(self):
        self.steps = {n.name: junit.StepRecorder(n.name, "pipeline", n.host)
                      for n in self.inventory.nodes}
        self.steps[smoke.CLUSTER] = junit.StepRecorder(smoke.CLUSTER, "pipeline")

    def blocker(self, phase: str, node: str) -> str | None:
        for needed in NEEDS.get(phase, ()):
            if node in self.failed.get(needed, ()):
                return f"{phase} not run on {node}: {needed} failed there"
        return None

    def run(self, phase: str, action: Callable[[list[str]], object]):
        """Run `action(nodes)` for a chosen phase on the nodes it may run on; its result, or
        None when it did not run. The action returns a PhaseResult or a SmokeRun."""
        if phase not in self.chosen:
            return None
        nodes = [n.name for n in self.inventory.nodes]
        blocked = {n: r for n in nodes if (r := self.blocker(phase, n))}
        if phase in CLUSTER_PHASES and blocked:
            reason = next(iter(blocked.values()))
            for node in [*nodes, smoke.CLUSTER]:
                self.steps[node].skip(phase, blocked.get(node, reason))
            progress(smoke.CLUSTER, f"{phase} skipped: {reason}")
            self.failed[phase] = set(nodes)
            return None
        for node, reason in blocked.items():
            self.steps[node].skip(phase, reason)
        runnable = [n for n in nodes if n not in blocked]
        progress(smoke.CLUSTER if phase in CLUSTER_PHASES else ", ".join(runnable), f"{phase} ...")
        # A cluster phase has one row (the cluster's); a node phase one per node it ran on.
        rows = [self.steps[smoke.CLUSTER]] if phase in CLUSTER_PHASES else \
            [self.steps[n] for n in runnable]
        started = time()
        try:
            with rows[0].step(phase):
                result = action(runnable)
        except Exception as err:  # recorded in the phase's row (a bug's traceback too)
            progress(smoke.CLUSTER, f"{phase} stopped: {err}")
            for recorder in rows[1:]:
                recorder.cases.append(rows[0].cases[-1])
            self.failed[phase] = set(nodes)
            return None
        finally:
            self.keep_journals((phase,), runnable, started)
        failed = set(result.failed_nodes(runnable)) | set(blocked)
        self.failed[phase] = failed
        took = rows[0].cases.pop().time  # the phase's; each row's verdict is its own node's
        for recorder in rows:
            failed_here = sorted(failed & ({recorder.node} if recorder.node in runnable
                                           else set(runnable)))
            recorder.cases.append(junit.CaseResult(
                phase, "failed" if failed_here else "passed", took,
                message=f"{phase} failed on {', '.join(failed_here)}: see its {phase} rows"
                if failed_here else ""))
        progress(smoke.CLUSTER, f"{phase} done" + (f"; failed on {', '.join(sorted(failed))}"
                                                   if failed else ""))
        return result

    def run_nodes(self, suites: tuple[str, ...], action: Callable[[tuple, list[str]], None]):
        """The node suites: each runs on the nodes not blocked for it."""
        chosen = tuple(s for s in suites if s in self.chosen)
        if not chosen:
            return
        runnable = []
        for node in (n.name for n in self.inventory.nodes):
            reasons = [r for s in chosen if (r := self.blocker(s, node))]
            for suite, reason in zip(chosen, reasons, strict=False):
                self.steps[node].skip(f"suite {suite}", reason)
            if not reasons:
                runnable.append(node)
        if runnable:
            started = time()
            try:
                action(chosen, runnable)
            finally:
                self.keep_journals(chosen, runnable, started)

    def keep_journals(self, phases: tuple[str, ...], nodes: list[str], since: float) -> None:
        """The nodes' journals since `since`, kept for each of `phases` (the node suites run
        together, so theirs are the same journals)."""
        if self.artifacts_dir is None:
            return
        for phase in phases:
            artifacts.journals([self.inventory.node(n) for n in nodes], self.artifacts_dir,
                               phase, since)

    def write(self) -> None:
        for recorder in self.steps.values():
            if recorder.cases:
                recorder.write(self.junit_dir)


@dataclass(frozen=True)
class PhaseResult:
    """A phase that ran on nodes: those it failed on (or that it never reached)."""

    passed: frozenset[str]

    def failed_nodes(self, ran_on: list[str]) -> list[str]:
        return [n for n in ran_on if n not in self.passed]


def playbook_phase(inventory: Inventory, phase: str, nodes: list[str],
                   opts: RunOptions) -> PhaseResult:
    """preflight, migrate or verify through its playbook; a node passes when every task on it
    passed (a node a stopped batch never reached has not)."""
    from harness.crictl import DEFAULT_VERSION
    from harness.migration import batches, findings, run_plan
    from harness.migration import phase as phase_mod  # Ansible only when it runs

    # The cluster was checked when the run began (commands/run.py), the lab's as it came up.
    plan = run_plan.build(inventory, opts.out_dir, nodes, opts.policy, cluster=False,
                          order=(lambda names: batches.plan(names, "1", 1))
                          if phase == "migrate" else None)
    if phase == "preflight":  # its findings written as `harness preflight` writes them
        result = phase_mod.plan_playbook(
            plan, phase, phase_mod.preflight_vars(containerd_version=opts.containerd_version))
        findings.write(findings.per_node(result), opts.out_dir)
    elif phase != "migrate":
        result = phase_mod.plan_playbook(plan, phase)
    else:  # as `harness migrate` with its defaults: the first node alone, then one at a time
        how = phase_mod.MigrationPlan(crictl_version=opts.crictl_version or DEFAULT_VERSION,
                                      containerd_version=opts.containerd_version)
        result = phase_mod.migrate(plan, how, command="run (migrate)")
    failed = {t.node for t in result.failed()}
    return PhaseResult(frozenset(n for n in result.nodes() if n not in failed))


def migrate_phase(inventory: Inventory, nodes: list[str], opts: RunOptions) -> PhaseResult:
    """The migrate playbook, with each node's configs and images recorded before and after it
    and the configs' diff (artifacts, for the report)."""
    targets = [inventory.node(n) for n in nodes]
    artifacts.state(targets, opts.out_dir, "before")
    try:
        return playbook_phase(inventory, "migrate", nodes, opts)
    finally:
        artifacts.state(targets, opts.out_dir, "after")
        artifacts.config_diff(targets, opts.out_dir)


def smoke_phase(inventory: Inventory, label: str, registry: smoke.Registry | None,
                opts: RunOptions, junit_dir: Path) -> smoke.SmokeRun:
    return smoke.run(inventory.cluster.kubeconfig, junit_dir, label,
                     {n.name: n.host for n in inventory.nodes}, opts.policy, registry,
                     opts.suite_args.get("smoke", ()), opts.suite_timeout)


def upgrade_phase(inventory: Inventory, opts: RunOptions) -> PhaseResult:
    """Every node checked (none may still be on dockershim), the control plane first (through
    kubeadm on a cluster kubeadm made; else the lab's, and an inventory's must already be
    there), then each node's kubelet, drained and upgraded one at a time."""
    from harness.migration import phase as phase_mod
    from harness.migration import run_plan, upgrade

    plan = run_plan.build(inventory, opts.out_dir, policy=opts.policy, cluster=False)
    with phase_mod.locked(plan, "run (upgrade)"):
        result = upgrade.upgrade_cluster(inventory, opts.upgrade_to, opts.out_dir)
    if result.exit_code == EXIT_USAGE:  # refused before anything changed: say why
        raise InputError("; ".join(dict.fromkeys(f"{t.node}: {t.message}"
                                                 for t in result.failed())))
    failed = {t.node for t in result.failed()}
    return PhaseResult(frozenset(n for n in result.nodes() if n not in failed))


def record_versions(inventory: Inventory, gate: Gate, when: str) -> None:
    """Each node's runtime and kubelet versions as the cluster reports them, as properties of
    its pipeline suite (`runtime before`: docker://..., `runtime after`: containerd://...).
    A fact for the report, not a check: a cluster that does not answer leaves them out."""
    from harness.kube.node_versions import node_versions

    try:
        found = node_versions(inventory.cluster.kubeconfig)
    except Exception as err:  # noqa: BLE001 - any failure only costs the report two facts
        progress(smoke.CLUSTER, f"node versions {when} the run not read: {err}")
        return
    for name, (runtime, kubelet) in found.items():
        if name in gate.steps:
            gate.steps[name].facts.update({f"runtime {when}": runtime,
                                           f"kubelet {when}": kubelet})


def compare_smoke(before: smoke.SmokeRun | None, later: list[smoke.SmokeRun | None],
                  inventory: Inventory, junit_dir: Path) -> dict[str, list[str]]:
    """Each later smoke run against the one before the migration: regressions per node."""
    found: dict[str, list[str]] = {}
    if before is None:
        return found
    hosts = {n.name: n.host for n in inventory.nodes}
    for run_ in (r for r in later if r is not None):
        for node, tests in smoke.write_regressions(junit_dir, before, run_, hosts).items():
            found.setdefault(node, []).extend(f"{t} ({run_.label})" for t in tests)
            for test in tests:
                progress(node, f"REGRESSION: {test} passed in {before.label}, fails in "
                         f"{run_.label}")
    return found


def conformance_phase(inventory: Inventory, nodes: list[str], suites: tuple[str, ...],
                      opts: RunOptions, gate: Gate, tls: TlsRegistry | None = None) -> None:
    """The CRI and OCI suites, staged onto each node and run there, `opts.forks` at a time."""
    spec = node_suites.SuiteRun(suites, opts.out_dir / "junit", opts.suite_args,
                                opts.suite_timeout, opts.forks, keep_images=opts.keep_images,
                                policy=opts.policy,
                                tls_registry=(tls.host, tls.ca_on_node) if tls else None,
                                drainer=drain.for_inventory(inventory), live_node=opts.live_node)
    node_suites.run_on_nodes([inventory.node(n) for n in nodes], spec, gate.steps)


# --- Report -----------------------------------------------------------------------------------


def report(junit_dir: Path, merged: Path, policy: GatePolicy = NO_BUDGET) -> RunResult:
    """The merged JUnit, each failure naming its node's artifacts as attachments, and, beside
    it, report.html for people."""
    from harness.report import attachments, html  # Jinja2 only when a report is written

    attachments.attach(junit_dir, merged.parent, PHASES)
    xml = junit.merge(junit.junit_files(junit_dir), merged)
    try:
        html.write(xml, merged.parent / html.REPORT_NAME, str(junit_dir), PHASES, policy)
    except Exception as err:  # noqa: BLE001 - the page must not cost the run its verdict
        progress(smoke.CLUSTER, f"report.html not written ({type(err).__name__}: {err}); "
                 f"rebuild it with `harness report {merged.parent}`")
    return RunResult(junit.verify(xml), merged, policy=policy)


def _clear(out_dir: Path) -> None:
    """Results and artifacts of an earlier run must not count in this one."""
    for old in (out_dir / "junit").glob("*.xml"):
        old.unlink()
    shutil.rmtree(out_dir / artifacts.DIRECTORY, ignore_errors=True)
