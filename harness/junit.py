"""JUnit XML plumbing: one file per node and suite, merged into one, counted, mapped to an exit
code.

Naming, chosen for Jenkins (which splits classnames at dots into package and class) and GitLab
(which shows the classname as "Suite"):

* `<testsuite name>` is the node name as written in the inventory;
* every classname is dot-free: `<node>__<suite>` for the harness's own steps and
  `<node>__<suite>__<test path>` for a pytest suite's tests, where each part has every character
  outside [A-Za-z0-9_-] replaced by `_`. So pytest's `suites.cri.test_runtime` on node
  `10.0.0.1` becomes `10_0_0_1__cri__suites_cri_test_runtime`: Jenkins lists it under "(root)"
  as one class per node, suite and test module, sorted by node, and no address or hostname is
  split apart. The double underscores separate the node, the suite and the test's own path. The
  suite is there because the same tests run more than once (smoke-before, -after, -upgraded),
  and GitLab keeps only the first row of a classname and name;
* files are named `junit-<node>-<suite>.xml` (CI globs such as `junit*.xml` pick them up).

A node that could not be reached, or an operation that timed out, is recorded as an `<error>`
whose type is UNREACHABLE or TIMEOUT; those map to exit code 3, other failures and errors to 1
(harness.gate_policy). A step the harness skipped (an Ansible task whose condition was false, a
phase blocked by an earlier failure) is a `<skipped>` of type STEP_SKIPPED, and pytest records a
strict xfail as a `<skipped>` of type pytest.xfail: both are counted apart from test skips.

Every message, detail, output and property written here passes through harness.redact first,
and a pytest JUnit file is redacted in place before it is relabelled: the files go to CI
dashboards.
"""

from __future__ import annotations

import os
import re
import time
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, JUnitXmlError, Skipped, TestCase, TestSuite

from harness import files, redact
from harness.errors import (
    EXIT_FAILURES,
    HarnessError,
    HarnessTimeout,
    InputError,
    UnreachableError,
)
from harness.table import format_table

UNREACHABLE = "UNREACHABLE"
TIMEOUT = "TIMEOUT"
INFRA_ERROR_TYPES = (UNREACHABLE, TIMEOUT)
STEP_SKIPPED = "STEP_SKIPPED"  # a harness step not run: no test left unchecked
XFAIL = "pytest.xfail"  # a documented deviation that failed as it is expected to
SEPARATOR = "__"
MAX_DETAIL = 64 * 1024  # keep files well under dashboards' size limits

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def identity(text: str) -> str:
    """A dot-free token for a node name, hostname or IP: `10.0.0.1` -> `10_0_0_1`."""
    return _UNSAFE.sub("_", text) or "_"


def classname(node: str, path: str) -> str:
    """`classname("worker-1.lab", "suites.cri.test_x")` -> `worker-1_lab__suites_cri_test_x`."""
    return f"{identity(node)}{SEPARATOR}{identity(path)}" if path else identity(node)


def junit_path(out_dir: Path, node: str, suite: str) -> Path:
    return Path(out_dir) / f"junit-{identity(node)}-{identity(suite)}.xml"


# --- Writing ----------------------------------------------------------------------------------


@dataclass
class CaseResult:
    """One test or pipeline step, before it becomes a <testcase>."""

    name: str
    outcome: str = "passed"  # passed | failed | error | skipped
    time: float = 0.0
    message: str = ""
    detail: str = ""
    error_type: str | None = None
    output: str = ""  # system-out, e.g. the warnings of a step that passed


def _testcase(node: str, suite: str, case: CaseResult) -> TestCase:
    test = TestCase(case.name, classname(node, suite), round(case.time, 3))
    result = {"failed": Failure, "error": Error, "skipped": Skipped}.get(case.outcome)
    if result is not None:
        element = result(redact.text(case.message)[:1000], case.error_type or case.outcome)
        if case.detail:
            element.text = redact.text(case.detail)[-MAX_DETAIL:]
        test.result = [element]
    if case.output:
        test.system_out = redact.text(case.output)[-MAX_DETAIL:]
    return test


def _new_suite(node: str, suite: str, host: str | None,
               facts: dict[str, str] | None = None) -> TestSuite:
    out = TestSuite(node)
    out.timestamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    if host:
        out.hostname = host
    # The suite kind and node survive merging as properties; junitparser merges equal suites.
    out.add_property("node", node)
    out.add_property("suite", suite)
    for name, value in redact.data(facts or {}).items():
        out.add_property(name, value)
    return out


def write_suite(out_dir: Path, node: str, suite: str, cases: Iterable[CaseResult],
                host: str | None = None, facts: dict[str, str] | None = None) -> Path:
    """Write `cases` as node `node`'s `suite` suite, with `facts` about the node (kernel,
    runtime versions) as properties; returns the file written."""
    testsuite = _new_suite(node, suite, host, facts)
    testsuite.add_testcases([_testcase(node, suite, case) for case in cases])
    return _write(testsuite, junit_path(out_dir, node, suite))


def relabel_pytest_junit(src: Path, out_dir: Path, node: str, suite: str,
                         host: str | None = None) -> Path:
    """Rewrite a `pytest --junitxml` file as node `node`'s `suite` suite: the suite renamed to
    the node, every classname prefixed with the node and made dot-free."""
    return split_pytest_junit_by_node(src, out_dir, suite, {node: host} if host else {},
                                      node)[node]


def split_pytest_junit_by_node(src: Path, out_dir: Path, suite: str, hosts: dict[str, str | None],
                               rest: str) -> dict[str, Path]:
    """Rewrite a `pytest --junitxml` file as one `suite` suite per node: a test whose parameter
    id is a node's name (`test_x[worker-1]`) goes to that node, every other test to `rest`.
    Returns node -> file written (`rest` always gets one, empty if no test was its). `src` is
    redacted in place first: it stays in the reports too."""
    redact.file(src)
    groups: dict[str, list[TestCase]] = {rest: []}
    properties = []  # the suite's own (record_testsuite_property), kept on every part
    for source_suite in read(src):
        properties += [(p.name, p.value) for p in source_suite.properties()]
        for case in source_suite:
            param = case.name.rpartition("[")[2].removesuffix("]") if "[" in case.name else ""
            node = param if param in hosts else rest
            case.classname = classname(node, f"{suite}{SEPARATOR}{case.classname}"
                                       if case.classname else suite)
            groups.setdefault(node, []).append(case)
    written = {}
    for node, cases in groups.items():
        testsuite = _new_suite(node, suite, hosts.get(node))
        for name, value in properties:
            testsuite.add_property(name, value)
        testsuite.add_testcases(cases)
        written[node] = _write(testsuite, junit_path(out_dir, node, suite))
    return written


def _write(testsuite: TestSuite, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    xml = JUnitXml()
    xml.add_testsuite(testsuite)
    save(xml, path)
    return path


def save(xml: JUnitXml, path: Path) -> None:
    """Write with the counts brought up to date, in the shape Jenkins' xUnit plugin validates
    against: its <testsuites> has no `skipped` (junitparser adds one; each <testsuite> keeps its
    own), and a file with it is rejected whole."""
    xml.update_statistics()
    # junitparser has no public way to leave an attribute out; the caller's object keeps it
    skipped = xml._elem.attrib.pop("skipped", None)
    try:
        xml.write(str(path), pretty=True)
    finally:
        if skipped is not None:
            xml._elem.set("skipped", skipped)


class StepRecorder:
    """Records pipeline steps (preflight, drain, migrate, ...) as testcases of one suite:

        steps = StepRecorder("worker-1", "migration")
        with steps.step("drain"):
            ...              # an exception is recorded, then re-raised
        steps.write(out_dir)
    """

    def __init__(self, node: str, suite: str, host: str | None = None):
        self.node, self.suite, self.host = node, suite, host
        self.cases: list[CaseResult] = []
        self.facts: dict[str, str] = {}  # written as the suite's properties

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        except BaseException as err:
            self.cases.append(_case_from_error(name, err, time.monotonic() - start))
            raise
        self.cases.append(CaseResult(name, "passed", time.monotonic() - start))

    def skip(self, name: str, reason: str) -> None:
        self.cases.append(CaseResult(name, "skipped", message=reason, error_type=STEP_SKIPPED))

    def write(self, out_dir: Path) -> Path:
        return write_suite(out_dir, self.node, self.suite, self.cases, self.host, self.facts)


def _case_from_error(name: str, err: BaseException, elapsed: float) -> CaseResult:
    detail = "".join(traceback.format_exception(err))
    if isinstance(err, HarnessTimeout):
        return CaseResult(name, "error", elapsed, str(err), detail, TIMEOUT)
    if isinstance(err, UnreachableError):
        return CaseResult(name, "error", elapsed, str(err), detail, UNREACHABLE)
    if isinstance(err, HarnessError) and err.exit_code == EXIT_FAILURES:
        return CaseResult(name, "failed", elapsed, str(err), detail)
    return CaseResult(name, "error", elapsed, str(err) or type(err).__name__, detail,
                      type(err).__name__)


# --- Reading, merging, verifying --------------------------------------------------------------


def read(path: Path) -> JUnitXml:
    data = files.read_bytes(path, "JUnit file")
    try:
        xml = JUnitXml.fromstring(data)
    # SyntaxError: the parse errors of both parsers junitparser uses (the standard library's
    # ParseError, and lxml's when lxml is installed, as it is with the dev extras)
    except (SyntaxError, JUnitXmlError) as err:
        raise InputError(f"{path}: not JUnit XML ({' '.join(str(err).split())})",
                         hint="pass files written by pytest --junitxml or the harness") from None
    _check_counts(path, xml)
    return xml


COUNTS = ("tests", "failures", "errors", "skipped", "disabled")


def _check_counts(path: Path, xml: JUnitXml) -> None:
    """A suite's counts are recounted from its testcases, but one that claims nonsense (tests
    -3, failures "x") was not written by a JUnit writer: refused, never read as "0, passed"."""
    for element in xml._elem.iter("testsuites", "testsuite"):  # junitparser parses them lazily
        for name in COUNTS:
            value = element.get(name)
            if value is not None and not (value.strip().isdigit() and value.isascii()):
                where = f"testsuite {element.get('name')!r}" if element.tag == "testsuite" \
                    else "testsuites"
                raise InputError(f"{path}: {where} has {name}={value!r}, not a count of 0 or "
                                 "more", hint="pass files written by pytest --junitxml or the "
                                 "harness")


def junit_files(junit_dir: Path, exclude: Path | None = None) -> list[Path]:
    if not Path(junit_dir).is_dir():
        raise InputError(f"JUnit directory {junit_dir} does not exist")
    # realpath: a symlink loop among them is reported when it is read, not here
    files = sorted(p for p in Path(junit_dir).glob("*.xml")
                   if exclude is None or os.path.realpath(p) != os.path.realpath(exclude))
    if not files:
        raise InputError(f"no JUnit files (*.xml) in {junit_dir}",
                         hint="run a suite first; a run that wrote nothing is not a pass")
    return files


def merge(paths: Iterable[Path], out: Path | None = None) -> JUnitXml:
    merged = JUnitXml()
    for path in paths:
        merged += read(path)
    merged.update_statistics()
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        save(merged, Path(out))
    return merged


@dataclass
class SuiteCounts:
    node: str
    suite: str
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0  # every <skipped>: test skips, step skips and xfails
    unreachable: int = 0  # errors of type UNREACHABLE or TIMEOUT
    steps_skipped: int = 0  # of type STEP_SKIPPED
    xfailed: int = 0  # of type pytest.xfail

    @property
    def passed(self) -> int:
        return self.tests - self.failures - self.errors - self.skipped

    @property
    def tests_skipped(self) -> int:
        """Skips of tests: what the skip budget counts."""
        return self.skipped - self.steps_skipped - self.xfailed


@dataclass
class Summary:
    suites: list[SuiteCounts] = field(default_factory=list)

    def total(self) -> SuiteCounts:
        total = SuiteCounts("all", "")
        for s in self.suites:
            total.tests += s.tests
            total.failures += s.failures
            total.errors += s.errors
            total.skipped += s.skipped
            total.unreachable += s.unreachable
            total.steps_skipped += s.steps_skipped
            total.xfailed += s.xfailed
        return total

    def all_skipped(self) -> list[SuiteCounts]:
        """Suites of tests that skipped every one: they checked nothing. (Steps the harness
        did not run are no tests: the failure that blocked them is reported.)"""
        return [s for s in self.suites
                if s.tests and s.skipped == s.tests and not s.steps_skipped]


def verify(xml: JUnitXml) -> Summary:
    """Count every suite's outcomes from its testcases (not from the attributes a writer
    claimed)."""
    summary = Summary()
    for testsuite in xml:
        props = {p.name: p.value for p in testsuite.properties()}
        counts = SuiteCounts(testsuite.name or "?", props.get("suite", ""))
        for case in testsuite:
            counts.tests += 1
            for result in case.result:
                if isinstance(result, Failure):
                    counts.failures += 1
                elif isinstance(result, Error):
                    counts.errors += 1
                    counts.unreachable += result.type in INFRA_ERROR_TYPES
                elif isinstance(result, Skipped):
                    counts.skipped += 1
                    counts.steps_skipped += result.type == STEP_SKIPPED
                    counts.xfailed += result.type == XFAIL
        summary.suites.append(counts)
    return summary


@dataclass(frozen=True)
class FailingTest:
    node: str
    suite: str
    test: str
    message: str


def failures(xml: JUnitXml) -> list[FailingTest]:
    """Every failed or erroring testcase, with its node and suite, in file order."""
    found = []
    for testsuite in xml:
        props = {p.name: p.value for p in testsuite.properties()}
        for case in testsuite:
            for result in case.result:
                if isinstance(result, (Failure, Error)):
                    message = " ".join((result.message or result.type or "").split())
                    found.append(FailingTest(testsuite.name or "?", props.get("suite", ""),
                                             case.name, message))
    return found


def format_failures(xml: JUnitXml, limit: int = 40) -> str:
    """A table of the failing tests (node, suite or phase, test, message); empty if none."""
    failing = failures(xml)
    if not failing:
        return ""
    rows = [("NODE", "SUITE", "FAILING TEST", "MESSAGE")]
    rows += [(f.node, f.suite, f.test, f.message[:100]) for f in failing[:limit]]
    more = f"\n... and {len(failing) - limit} more" if len(failing) > limit else ""
    return format_table(rows) + more


def format_summary(summary: Summary) -> str:
    """A table per node and suite; SKIPPED counts test skips, steps skipped and expected
    deviations (strict xfails) stand apart."""
    header = ("NODE", "SUITE", "TESTS", "PASSED", "FAILED", "ERRORS", "SKIPPED", "STEPS SKIPPED",
              "XFAILED", "UNREACHABLE")
    def row(c: SuiteCounts) -> tuple[str, ...]:
        return (c.node, c.suite or "-", *(str(n) for n in (
            c.tests, c.passed, c.failures, c.errors, c.tests_skipped, c.steps_skipped,
            c.xfailed, c.unreachable)))
    return format_table([header, *(row(s) for s in summary.suites), row(summary.total())])
