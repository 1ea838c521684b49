"""Render a run's view (model.py) as report.html with Jinja2. Autoescaping is on for every
value: test names, messages and outputs come from the nodes and must not become markup."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import jinja2
from junitparser import JUnitXml

from harness.gate_policy import NO_BUDGET, GatePolicy
from harness.report import carry_over, model

TEMPLATES = Path(__file__).resolve().parent / "templates"
REPORT_NAME = "report.html"
TITLE = "Node migration report"


def duration(seconds: float) -> str:
    """`4.2s`, `3m 05s`, `1h 02m`: what a reader compares at a glance."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    return f"{minutes // 60}h {minutes % 60:02d}m"


def size(count: int) -> str:
    """Bytes in binary units: `2.7 MiB`."""
    value = float(count)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["duration"] = duration
    env.filters["size"] = size
    return env


def render(view: model.RunView, source: str, title: str = TITLE) -> str:
    return _environment().get_template("report.html.j2").render(
        view=view, source=source, title=title,
        generated=time.strftime("%Y-%m-%d %H:%M:%S %Z"))


def write(xml: JUnitXml, out: Path, source: str, phases: Sequence[str],
          policy: GatePolicy = NO_BUDGET) -> Path:
    """Render merged JUnit `xml` into `out`, a column per phase of `phases` (in that order), its
    verdict the run's (by `policy`); artifact links point at files beside it."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    view = model.build(xml, phases, out.parent, policy)
    for node in view.node_views:
        if node.carry_over:
            carry_over.write(out.parent, node.name, node.carry_over)
    out.write_text(render(view, source), encoding="utf-8")
    return out
