"""A run's JUnit as people read it: one row per node (and the cluster), one column per pipeline
phase in the order the pipeline runs them, each cell the outcome of that node's tests and steps
in that phase; every failure with its detail; durations; node facts; the smoke runs compared.

Which phase a testcase belongs to comes from its suite (the `suite` property every harness
writer sets): the phase's own suite (migrate, cri, smoke-after, ...), the row of the "pipeline"
suite named after the phase (a phase that was blocked or crashed has only that row), and a
smoke phase's "<label> regressions" suite. The pipeline's other steps (provision, connect,
facts, stage) are about reaching and preparing the node: they form the first column.

The phases and their order are the caller's (pipeline.PHASES): this module sits below the
pipeline, which renders the page at its end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from junitparser import Error, Failure, JUnitXml, Skipped

from harness import junit, redact
from harness.gate_policy import NO_BUDGET, GatePolicy
from harness.node.findings import Finding
from harness.nodes import artifacts as node_artifacts
from harness.report import carry_over, task_results
from harness.smoke import CLUSTER, outcome

PROVISION = "provision"
PIPELINE = "pipeline"
REGRESSIONS = " regressions"
SLOWEST = 10
BOOKKEEPING = ("node", "suite")  # properties every harness suite carries, not node facts
VERDICTS = {0: "passed", 1: "failed", 3: "a node was unreachable or timed out"}


@dataclass
class Case:
    """One testcase, placed in the matrix."""

    node: str
    column: str
    suite: str
    name: str
    outcome: str  # passed | failed | error | skipped
    time: float
    kind: str = ""  # the failure's or error's type (UNREACHABLE, TIMEOUT, an exception name)
    message: str = ""
    detail: str = ""  # the failure's text: traceback, task result
    output: str = ""  # the testcase's system-out and system-err
    anchor: str = ""  # id of its entry in the failures section (failures and errors only)
    # (label, href) of the node's artifacts for this phase: task results, journals, config diff
    artifacts: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Cell:
    node: str
    column: str
    cases: list[Case] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(c.outcome == outcome for c in self.cases)

    @property
    def status(self) -> str:
        """absent | error | fail | skipped (every case skipped) | pass."""
        if not self.cases:
            return "absent"
        if self.count("error"):
            return "error"
        if self.count("failed"):
            return "fail"
        return "skipped" if self.count("skipped") == len(self.cases) else "pass"

    @property
    def link(self) -> str:
        """The anchor of the cell's first failure or error, empty if none."""
        return next((c.anchor for c in why_first(self.cases) if c.anchor), "")

    @property
    def counts(self) -> str:
        parts = [f"{self.count(o)} {o}" for o in ("passed", "failed", "error", "skipped")
                 if self.count(o)]
        return ", ".join(parts) or "not run"

    @property
    def reason(self) -> str:
        """Why a skipped-only cell did not run (its first skip message)."""
        return next((c.message for c in self.cases if c.outcome == "skipped" and c.message), "")


@dataclass(frozen=True)
class PhaseTime:
    column: str
    wall: float | None  # the phase's own pipeline row, longest across nodes
    busy: float  # the sum of its tests' and steps' times
    tests: int


@dataclass
class NodeView:
    name: str
    host: str = ""
    facts: dict[str, str] = field(default_factory=dict)  # property -> value, as first seen
    artifacts: list[tuple[str, str]] = field(default_factory=list)  # (label, href)
    # phase -> (label, href) of what harness.nodes.artifacts collected from the node
    collected: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)  # preflight's
    carry_over: list[task_results.CarryOver] = field(default_factory=list)
    image_copy: task_results.ImageCopy | None = None

    @property
    def carry_over_href(self) -> str:
        return carry_over.href(self.name)

    @property
    def dropped(self) -> int:
        """Settings found on the node that the migration does not carry over."""
        return sum(row.fate == "dropped" for row in self.carry_over)

    def change(self, what: str) -> tuple[str, str] | None:
        """(before, after) of a fact the pipeline records twice (runtime, kubelet), or None."""
        before, after = self.facts.get(f"{what} before"), self.facts.get(f"{what} after")
        return (before or "?", after or "?") if before or after else None

    @property
    def other_facts(self) -> dict[str, str]:
        return {k: v for k, v in self.facts.items()
                if not k.endswith((" before", " after"))}


@dataclass(frozen=True)
class SmokeChange:
    """A smoke test whose outcome differs between the smoke runs (a missing run is "-")."""

    node: str
    test: str
    outcomes: tuple[str, ...]  # in the order of RunView.smoke_labels


@dataclass
class RunView:
    nodes: list[str]
    columns: list[str]
    cells: dict[tuple[str, str], Cell]
    failures: list[Case]
    times: list[PhaseTime]
    slowest: list[Case]
    node_views: list[NodeView]
    regressions: list[Case]
    smoke_labels: list[str]
    smoke_changes: list[SmokeChange]
    summary: junit.Summary
    exit_code: int

    @property
    def verdict(self) -> str:
        return VERDICTS.get(self.exit_code, f"exit {self.exit_code}")

    @property
    def preflight(self) -> list[NodeView]:
        """Nodes with preflight findings."""
        return [n for n in self.node_views if n.findings]

    @property
    def carry_overs(self) -> list[NodeView]:
        """Nodes whose settings the migration (or preflight) read."""
        return [n for n in self.node_views if n.carry_over]

    @property
    def collected(self) -> list[NodeView]:
        """Nodes with artifacts collected from them."""
        return [n for n in self.node_views if n.collected]

    @property
    def image_copies(self) -> list[NodeView]:
        return [n for n in self.node_views if n.image_copy is not None]

    def cell(self, node: str, column: str) -> Cell:
        return self.cells.get((node, column)) or Cell(node, column)


def column_of(suite: str, case_name: str, phases: Sequence[str]) -> str:
    """The matrix column of a testcase of `suite`, given the pipeline's `phases`."""
    if suite == PIPELINE:
        if case_name in phases:
            return case_name
        if case_name.startswith("suite ") and case_name[6:] in phases:
            return case_name[6:]
        return "cri" if "CRI suite" in case_name else PROVISION
    return suite.removesuffix(REGRESSIONS)


def why_first(cases: list[Case]) -> list[Case]:
    """A cell's cases with the pipeline's own row (the phase failed there) after the tests and
    tasks that say why."""
    return sorted(cases, key=lambda c: c.suite == PIPELINE)


def build(xml: JUnitXml, phases: Sequence[str], base: Path | None = None,
          policy: GatePolicy = NO_BUDGET) -> RunView:
    """The view of merged JUnit `xml`, its columns the pipeline's `phases` in their order, its
    verdict the one the run exits with (by `policy`); artifact links are
    relative to `base` (the directory the page is written to: a run's out dir) and only to
    files that exist there."""
    cases: list[Case] = []
    nodes: dict[str, NodeView] = {}
    suites: dict[str, list[str]] = {}  # node -> its suites, for its artifacts
    for testsuite in xml:
        props = [(p.name, p.value) for p in testsuite.properties()]
        suite = dict(props).get("suite", "")
        node = nodes.setdefault(testsuite.name or "?", NodeView(testsuite.name or "?"))
        suites.setdefault(node.name, []).append(suite)
        node.host = node.host or testsuite.hostname or ""
        # Node facts are what the pipeline records on its own suite; a test suite's properties
        # (record_testsuite_property) are about its tests, not the node.
        for name, value in props if suite == PIPELINE else ():
            if name not in BOOKKEEPING:
                node.facts.setdefault(name, value)
        cases += [_case(node.name, suite, tc, phases) for tc in testsuite]
    if base is not None:
        for node in nodes.values():
            node.artifacts = artifacts(base, node.name, list(dict.fromkeys(suites[node.name])))
            node.collected = collected(base, node.name, phases)
            node.findings = task_results.findings(base, node.name)
            node.carry_over = task_results.carry_over(base, node.name)
            node.image_copy = task_results.image_copy(base, node.name)
    columns = _columns(cases, phases)
    names = _row_order(cases)
    cells: dict[tuple[str, str], Cell] = {}
    for case in cases:
        cells.setdefault((case.node, case.column), Cell(case.node, case.column)).cases.append(case)
    # In matrix order, so the page reads like the matrix: by phase, then node.
    failures = [c for col in columns for n in names if (n, col) in cells
                for c in why_first(cells[(n, col)].cases) if c.outcome in ("failed", "error")]
    for number, case in enumerate(failures, 1):
        case.anchor = f"failure-{number}-{junit.identity(case.node)}-{junit.identity(case.column)}"
        case.artifacts = _phase_artifacts(nodes[case.node], case.column)
    summary = junit.verify(xml)
    smoke_labels = [c for c in columns if c.startswith("smoke-")]
    return RunView(
        nodes=names, columns=columns, cells=cells, failures=failures,
        times=[_phase_time(col, [c for c in cases if c.column == col]) for col in columns],
        slowest=sorted((c for c in cases if c.suite != PIPELINE), key=lambda c: -c.time)[:SLOWEST],
        node_views=[nodes[n] for n in names],
        regressions=[c for c in cases if c.suite.endswith(REGRESSIONS)],
        smoke_labels=smoke_labels, smoke_changes=smoke_changes(cases, smoke_labels),
        summary=summary, exit_code=policy.exit_code(summary))


def _case(node: str, suite: str, testcase, phases: Sequence[str]) -> Case:
    case = Case(node, column_of(suite, testcase.name or "", phases), suite, testcase.name or "?",
                outcome(testcase), float(testcase.time or 0))
    result = next((r for r in testcase.result if isinstance(r, (Failure, Error, Skipped))), None)
    # Redacted again: `harness report DIR` may render JUnit that other tools wrote.
    if result is not None:
        case.kind, case.message, case.detail = result.type or "", \
            redact.text(result.message or ""), redact.text(result.text or "")
    case.output = redact.text(
        "\n".join(o for o in (testcase.system_out, testcase.system_err) if o))
    return case


def _columns(cases: list[Case], phases: Sequence[str]) -> list[str]:
    """The pipeline's columns that have a case, in pipeline order, then any other suite (a
    standalone command's) in the order it first appears."""
    present = list(dict.fromkeys(c.column for c in cases))
    known = [c for c in (PROVISION, *phases) if c in present]
    return known + [c for c in present if c not in known]


def _row_order(cases: list[Case]) -> list[str]:
    """Nodes by name, then the cluster, then the provider's row (the one that provisioned)."""
    names = {c.node for c in cases}
    providers = {c.node for c in cases if c.suite == PIPELINE and c.name == PROVISION}
    nodes = sorted(names - providers - {CLUSTER})
    return nodes + ([CLUSTER] if CLUSTER in names else []) + sorted(providers - {CLUSTER})


def _phase_time(column: str, cases: list[Case]) -> PhaseTime:
    """Wall time from the phase's own pipeline rows (`migrate`, `suite cri`, `provision`), which
    time the whole phase; busy time from everything else in the column."""
    own = {id(c): c for c in cases if c.suite == PIPELINE and c.outcome != "skipped"
           and c.name in (column, f"suite {column}")}
    return PhaseTime(column, max((c.time for c in own.values()), default=None),
                     sum(c.time for c in cases if id(c) not in own), len(cases))


def smoke_changes(cases: list[Case], labels: list[str]) -> list[SmokeChange]:
    """Smoke tests (per node) whose outcome is not the same in every smoke run."""
    if len(labels) < 2:
        return []
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for case in cases:
        if case.suite in labels:
            seen.setdefault((case.node, case.name), {})[case.suite] = case.outcome
    changes = []
    for (node, test), by_label in seen.items():
        outcomes = tuple(by_label.get(label, "-") for label in labels)
        if len(set(outcomes)) > 1:
            changes.append(SmokeChange(node, test, outcomes))
    return sorted(changes, key=lambda c: (c.node, c.test))


# --- Artifacts --------------------------------------------------------------------------------


def artifacts(base: Path, node: str, suites: list[str]) -> list[tuple[str, str]]:
    """(label, href) of the files a run wrote under `base` for `node`'s `suites`: its JUnit per
    suite, the raw pytest JUnit of a suite staged onto it, its Ansible task results per phase."""
    ident = junit.identity(node)
    found = []
    for suite in suites:
        candidates = [(f"JUnit {suite}", junit.junit_path(base / "junit", node, suite)),
                      (f"pytest JUnit {suite}", base / "junit" / "raw" / f"{ident}-{suite}.xml"),
                      (f"Ansible tasks {suite}",
                       base / "ansible" / suite / "nodes" / f"{ident}.json")]
        found += [(label, _href(base, path)) for label, path in candidates if path.is_file()]
    return found


def collected(base: Path, node: str, phases: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """phase -> (label, href) of the files collected from `node` around that phase (journals,
    configs and images before and after, their diff), relative to `base`, in `phases` order."""
    found: dict[str, list[tuple[str, str]]] = {}
    for path in node_artifacts.listing(base, node):
        phase, *rest = path.relative_to(node_artifacts.node_dir(base, node)).parts
        found.setdefault(phase, []).append(("/".join(rest), _href(base, path)))
    order = {phase: index for index, phase in enumerate(phases)}
    return dict(sorted(found.items(), key=lambda item: order.get(item[0], len(order))))


def _phase_artifacts(node: NodeView, column: str) -> list[tuple[str, str]]:
    """What to open first for a failure in a phase: the node's Ansible task results, else its
    JUnit; then what was collected from it then (the config diff, the journals), not the
    before/after copies the diff already shows."""
    own = next(([(label, href)] for prefix in (f"Ansible tasks {column}", f"JUnit {column}")
                for label, href in node.artifacts if label == prefix), [])
    return own + [(label, href) for label, href in node.collected.get(column, [])
                  if "/" not in label]


def _href(base: Path, path: Path) -> str:
    return quote(path.relative_to(base).as_posix())
