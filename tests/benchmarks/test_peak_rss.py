"""bench/image_copy.py's peak RSS reading: it must see memory a copy's process really holds,
or "flat as the image grows" would hold for any copy."""

from __future__ import annotations

import subprocess

from bench.image_copy import PeakRss

HOLD_100_MIB = "x = bytearray(100 * 2**20); x[::4096] = b'1' * len(x[::4096])"


def test_peak_rss_sees_a_grandchild_holding_100_mib_and_a_small_one_not(tmp_path):
    peak = PeakRss(tmp_path)
    # Through bash, as the naive loop runs: the reading covers descendants, not just the child.
    subprocess.run(peak.wrap(["bash", "-c", f"/usr/bin/python3 -c \"{HOLD_100_MIB}\"; true"]),
                   check=True)
    assert peak.take() >= 100
    subprocess.run(peak.wrap(["/usr/bin/python3", "-c", "pass"]), check=True)
    assert peak.take() < 50


def test_the_interpreter_wrapper_ansible_runs_passes_arguments_and_exit_code(tmp_path):
    peak = PeakRss(tmp_path)
    run = subprocess.run([str(peak.python), "-c", "import sys; print(sys.argv[1]); sys.exit(3)",
                          "an argument"], capture_output=True, text=True)
    assert (run.returncode, run.stdout) == (3, "an argument\n")
    assert peak.take() > 0
