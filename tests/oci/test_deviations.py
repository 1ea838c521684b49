"""suites/oci/deviations.yaml stays true to the suite: every entry names a test function that
exists, and (for a parameter case) a case id the test has; and each names the failure it
expects, so another failure (a container that never starts) is red, not the deviation."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

SUITE = Path(__file__).resolve().parents[2] / "suites" / "oci"


def suite_functions() -> dict[str, str]:
    """test function name -> the source of its module."""
    found = {}
    for path in SUITE.glob("test_*.py"):
        source = path.read_text()
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found[node.name] = source
    return found


ENTRIES = yaml.safe_load((SUITE / "deviations.yaml").read_text())


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e['runtime']}:{e['test']}" for e in ENTRIES])
def test_deviation_names_an_existing_test(entry):
    functions = suite_functions()
    name, _, case = entry["test"].partition("[")
    assert name in functions, f"deviations.yaml: no test {name} in suites/oci"
    if case:
        assert f'"{case.rstrip("]")}"' in functions[name], f"no case {case} for {name}"
    assert entry["spec"] and entry["cites"] and entry["reason"] and "min" in entry["versions"]
    assert entry["raises"]


# runc 1.1.5 runs poststart hooks during `create`: the test's assertion fails, as documented.
DEVIATION = "test_poststart_hook_runs_after_start_is_invoked"
root = pytest.mark.root


def deviations_file(tmp_path: Path, **fields) -> Path:
    """The shipped entry for DEVIATION on runc, with `fields` changed."""
    entry = next(e for e in ENTRIES if e["runtime"] == "runc" and e["test"] == DEVIATION)
    path = tmp_path / "deviations.yaml"
    path.write_text(yaml.safe_dump([{**entry, **fields}]))
    return path


@root
def test_the_documented_failure_is_the_expected_deviation(run_suite):
    run = run_suite("-k", DEVIATION, fault="none")
    assert run.outcomes == {DEVIATION: "skipped"}, run.output  # JUnit's xfail
    assert run.exit_code == 0, run.output


@root
def test_a_container_that_never_starts_is_a_failure_not_the_deviation(run_suite):
    """The runtime refuses every container with hooks: the test dies on `create`
    (OciRuntimeError) before its assertion, and the deviation expects an AssertionError."""
    run = run_suite("-k", DEVIATION, fault="no-start-with-hooks")
    assert run.outcomes == {DEVIATION: "error"}, run.output  # in the fixture that creates it
    assert run.exit_code == 1
    assert "a container with hooks never starts" in run.output


@root
def test_a_failure_whose_message_does_not_match_is_a_failure(run_suite, tmp_path):
    path = deviations_file(tmp_path, match="a message runc never gives")
    run = run_suite("-k", DEVIATION, "--deviations", str(path), fault="none")
    assert run.outcomes == {DEVIATION: "failed"}, run.output
    assert "not the documented deviation" in run.output
    assert "expected AssertionError matching 'a message runc never gives'" in run.output


@root
@pytest.mark.parametrize("fields, words", [
    ({"raises": "KeyError"}, "raises 'KeyError' is none of AssertionError, Failed"),
    ({"match": "(unclosed"}, "match '(unclosed' is no regex"),
    ({"where": "on-tuesdays"}, "where 'on-tuesdays' is none of read-only-proc-sys"),
])
def test_a_bad_expected_failure_is_refused_in_one_line(tmp_path, fields, words):
    run = subprocess.run([sys.executable, "-m", "pytest", str(SUITE), "-p", "no:cacheprovider",
                          "--collect-only", "-q", "--deviations",
                          str(deviations_file(tmp_path, **fields))],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 4 and words in run.stderr, run.stdout + run.stderr
    assert "Traceback" not in run.stderr


@root
def test_a_deviation_limited_to_other_hosts_runs_the_test_plainly(run_suite, tmp_path):
    """`where: read-only-proc-sys` on this host, whose /proc/sys is writable: the runtime's
    deviation is not expected here, so its documented failure fails the test."""
    path = deviations_file(tmp_path, where="read-only-proc-sys")
    run = run_suite("-k", DEVIATION, "--deviations", str(path), fault="none")
    assert run.outcomes == {DEVIATION: "failed"}, run.output
