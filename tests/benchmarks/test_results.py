"""bench/results.py: figures merged per script into bench.json, targets judged from the
measured numbers, and the table and curves bench/report.py makes of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import results

REPO = Path(__file__).resolve().parents[2]


def test_each_script_replaces_its_own_entry_and_keeps_the_others(tmp_path):
    path = tmp_path / "bench.json"
    results.record("a", [results.Figure("x", 1.0, "s", "base", 2.0)], path=path)
    results.record("b", [results.Figure("y", 3.0, "s", "base", 1.5)], path=path)
    results.record("a", [results.Figure("x2", 4.0, "s", "base", 2.0)], path=path)
    entries = results.load(path)
    assert list(entries) == ["a", "b"]
    assert [f["name"] for f in entries["a"]["figures"]] == ["x2"]
    b = entries["b"]["figures"][0]
    assert b == {"name": "y", "value": 3.0, "unit": "s", "baseline": "base",
                 "baseline_value": 1.5, "ratio": 2.0, "target": None, "met": None, "note": ""}
    assert entries["b"]["machine"]["cpus"] >= 1
    assert json.loads(path.read_text())["scripts"]["a"]["measured"].endswith("Z")


def test_targets_are_judged_on_value_or_ratio_and_missed_ones_say_so(tmp_path):
    under_limit = results.Figure("fast", 20.0, "s", "empty", 2.0, results.Target(30.0))
    over_limit = results.Figure("slow", 40.0, "s", "empty", 2.0, results.Target(30.0))
    ratio_met = results.Figure("2x", 4.0, "s", "naive", 10.0, results.Target(0.5, of="ratio"))
    ratio_missed = results.Figure("1x", 6.0, "s", "naive", 10.0, results.Target(0.5, of="ratio"))
    at_least = results.Figure("rate", 5.0, "1/s", "other", 4.0,
                              results.Target(1.5, of="ratio", at_most=False))
    no_baseline = results.Figure("?", 5.0, "s", "none", 0.0, results.Target(1.0, of="ratio"))
    assert [f.met for f in (under_limit, over_limit, ratio_met, ratio_missed, at_least,
                            no_baseline)] == [True, False, True, False, False, False]
    path = tmp_path / "bench.json"
    results.record("s", [under_limit, over_limit, no_baseline], path=path)
    rows = results.table_rows(results.load(path))
    assert rows[0] == ("SCRIPT", "FIGURE", "VALUE", "BASELINE", "RATIO", "TARGET", "MET", "NOTE")
    assert rows[1] == ("s", "fast", "20 s", "empty = 2 s", "10x", "<= 30 s", "met", "")
    assert rows[2][-2] == "missed"
    assert rows[3][4:7] == ("-", "ratio <= 1", "missed")


def test_report_prints_the_table_and_draws_each_curve(tmp_path):
    pytest.importorskip("matplotlib", reason="the bench extra (tox's tests and bench envs)")
    path = tmp_path / "bench.json"
    curve = results.Curve("copy", "images", "seconds",
                          {"harness": [(1, 2.0), (10, 3.0)], "naive": [(1, 1.0), (10, 9.0)]})
    results.record("image_copy", [results.Figure("copy 10", 3.0, "s", "naive", 9.0,
                                                 results.Target(0.5, of="ratio"))],
                   [curve], details=["slowest: none"], path=path)
    out = subprocess.run([sys.executable, "bench/report.py", "--json", str(path)], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    assert "copy 10" in out and "met" in out and "  slowest: none" in out
    png = tmp_path / "bench-copy.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
