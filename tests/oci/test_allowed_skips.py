"""--strict-skips: a skip the suite's allowed-skips.yaml does not allow for the runtime is a
failure (the gate cannot pass with a capability left untested); an allowed one stays a skip.
On this host a negative oom_score_adj is refused, so that OCI test really skips."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from outcomes import read_junit

from harness.facts import this_host

REPO = Path(__file__).resolve().parents[2]
TEST = "test_negative_oom_score_adj_is_applied"

pytestmark = [pytest.mark.root, pytest.mark.skipif(
    not this_host().oom.negative_refused, reason="needs a host that refuses negative scores")]


def run_oci(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    xml = tmp_path / "oci.xml"
    run = subprocess.run([sys.executable, "-m", "pytest", "suites/oci", "-p", "no:cacheprovider",
                          "-k", f"{TEST} and runc", "--strict-skips", f"--junitxml={xml}", *args],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    return run, read_junit(xml) if xml.exists() else {}


def test_a_skip_the_shipped_list_allows_stays_a_skip(tmp_path):
    run, outcomes = run_oci(tmp_path)
    assert run.returncode == 0, run.stdout[-2000:]
    assert set(outcomes.values()) == {"skipped"} and outcomes, outcomes


def test_a_skip_no_entry_allows_fails_the_run_naming_the_list(tmp_path):
    empty = tmp_path / "none-allowed.yaml"
    empty.write_text("[]\n")
    run, outcomes = run_oci(tmp_path, "--allowed-skips", str(empty))
    assert run.returncode == 1 and outcomes and set(outcomes.values()) <= {"failed", "error"}, \
        (outcomes, run.stdout[-2000:])
    assert f"no entry of {empty} allows this skip for runc" in run.stdout
    assert "refuses a negative" in run.stdout


def test_a_malformed_entry_is_refused_in_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- test: x\n  runtime: '*'\n")
    run, _ = run_oci(tmp_path, "--allowed-skips", str(bad))
    assert run.returncode == 4, run.stderr  # pytest's usage error
    assert f"{bad}: entry 1 needs exactly test, runtime, message, why" in run.stderr
    assert "Traceback" not in run.stderr
