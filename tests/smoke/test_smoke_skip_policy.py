"""The smoke suite takes the gate policy's --strict-skips like the conformance suites, with its
own allowed-skips.yaml: every harness command runs it so. Without a cluster: the options and
the list are checked when pytest starts, before the suite looks for one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "suites" / "smoke" / "allowed-skips.yaml"


def smoke(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "suites/smoke", "-p",
                           "no:cacheprovider", "-q", "--collect-only", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_a_malformed_list_is_refused_in_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- test: x\n")
    run = smoke("--strict-skips", "--allowed-skips", str(bad))
    assert run.returncode == 4, run.stdout + run.stderr  # pytest's usage error
    assert f"{bad}: entry 1 needs exactly test, runtime, message, why" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_shipped_list_allows_no_untested_pull():
    """Both of the suite's skips leave imagePullSecrets unchecked: none is allowed."""
    assert yaml.safe_load(SHIPPED.read_text()) == []
    assert smoke("--strict-skips").returncode in (0, 5), "the shipped list must load"
