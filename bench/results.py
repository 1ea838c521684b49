"""What every benchmark records: figures, each a ratio against a baseline measured in the same
invocation, merged per script into reports/bench.json, so `tox -e bench` running several
scripts accumulates them and bench/report.py prints them as one table.

A figure's target is a bound on its value or on its ratio; `met` is computed here from the
measured numbers, never passed in, so a script cannot declare a target met. A figure without
a target is reported as measured ("-"). Curves (y over x, one series per method) are kept
beside the figures for report.py to draw.

reports/bench.json:
    {"scripts": {"<script>": {"measured": ISO time, "machine": {...},
                              "figures": [Figure...], "curves": [Curve...],
                              "details": [line...]}}}
"""

from __future__ import annotations

import datetime
import json
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REPORT = REPO / "reports" / "bench.json"


@dataclass(frozen=True)
class Target:
    """`of` ("value" or "ratio") at most (or at least) `limit`."""

    limit: float
    of: str = "value"
    at_most: bool = True

    def __post_init__(self):
        if self.of not in ("value", "ratio"):
            raise ValueError(f"target of {self.of!r}: expected 'value' or 'ratio'")

    def met_by(self, value: float, ratio: float) -> bool:
        measured = value if self.of == "value" else ratio
        return measured <= self.limit if self.at_most else measured >= self.limit

    def text(self, unit: str) -> str:
        bound = "<=" if self.at_most else ">="
        if self.of == "value":
            return f"{bound} {self.limit:g} {unit}"
        return f"ratio {bound} {self.limit:g}"


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    baseline: str  # what the baseline is, measured in the same invocation
    baseline_value: float
    target: Target | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline_value if self.baseline_value else None

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        if self.target.of == "ratio" and self.ratio is None:
            return False  # no baseline to compare with: the target cannot be shown met
        return self.target.met_by(self.value, self.ratio)

    def to_json(self) -> dict:
        return {"name": self.name, "value": self.value, "unit": self.unit,
                "baseline": self.baseline, "baseline_value": self.baseline_value,
                "ratio": None if self.ratio is None else round(self.ratio, 3),
                "target": self.target.text(self.unit) if self.target else None,
                "met": self.met, "note": self.note}


@dataclass(frozen=True)
class Curve:
    """How a figure grows: y over x, one series of (x, y) points per method."""

    name: str  # also the PNG's file name: reports/bench-<name>.png
    x_label: str
    y_label: str
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


def machine() -> dict:
    """What the figures were measured on, and how busy it was (the machine is shared)."""
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:"))
    return {"cpus": os.cpu_count(), "memory_gib": round(mem_kib / 2**20, 1),
            "kernel": platform.release(), "host": platform.node(),
            "load_average_1m": round(os.getloadavg()[0], 1)}


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record(script: str, figures: list[Figure], curves: list[Curve] = (),
           details: list[str] = (), path: Path = REPORT) -> dict:
    """Replace `script`'s entry in `path`, keeping every other script's; return the entry.
    `details` are lines printed under the table (what a figure alone does not say)."""
    results = json.loads(path.read_text()) if path.exists() else {}
    entry = {"measured": now(), "machine": machine(),
             "figures": [f.to_json() for f in figures],
             "curves": [asdict(c) for c in curves], "details": list(details)}
    results.setdefault("scripts", {})[script] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    return entry


def load(path: Path = REPORT) -> dict[str, dict]:
    """Every script's entry, by script name."""
    return json.loads(path.read_text()).get("scripts", {}) if path.exists() else {}


def verdict(met: bool | None) -> str:
    return {True: "met", False: "missed", None: "-"}[met]


def number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def table_rows(entries: dict[str, dict]) -> list[tuple[str, ...]]:
    """Header plus one row per figure, script by script, for harness.table.format_table."""
    rows = [("SCRIPT", "FIGURE", "VALUE", "BASELINE", "RATIO", "TARGET", "MET", "NOTE")]
    for script, entry in entries.items():
        for f in entry["figures"]:
            rows.append((script, f["name"], f"{number(f['value'])} {f['unit']}",
                         f"{f['baseline']} = {number(f['baseline_value'])} {f['unit']}",
                         f"{number(f['ratio'])}x" if f["ratio"] is not None else "-",
                         f["target"] or "-", verdict(f["met"]), f["note"]))
    return rows
