"""Every suite launch uses one command line (harness.suite_command): the gate policy's strict
skips always on, and test ids `suites/<suite>/...` whatever the working directory, so JUnit
classnames group the same from a checkout, a wheel or a node's stage."""

from __future__ import annotations

import subprocess

from harness import paths, suite_command
from harness.gate_policy import STRICT_SKIPS, GatePolicy


def test_the_command_carries_the_suite_its_rootdir_the_junit_and_the_policy():
    argv = suite_command.argv("cri", "/out/cri.xml", GatePolicy(), ("-k", "status"))
    suites = paths.shipped("suites")
    assert argv[1:] == ["-m", "pytest", str(suites / "cri"), f"--rootdir={suites.parent}",
                        "-p", "no:cacheprovider", "-q", "--junitxml=/out/cri.xml",
                        STRICT_SKIPS, "-k", "status"]


def test_on_a_node_the_suites_are_the_stages_own():
    argv = suite_command.argv("oci", "out/oci.xml", GatePolicy(), python="python3",
                              suites_dir="suites")
    assert argv[:5] == ["python3", "-m", "pytest", "suites/oci", "--rootdir=."]


def test_test_ids_are_suites_relative_from_any_working_directory(tmp_path):
    argv = suite_command.argv("smoke", tmp_path / "smoke.xml", GatePolicy(), ("--collect-only",))
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    assert ids and all(line.startswith("suites/smoke/test_") for line in ids), done.stdout
