"""Per node, the runbook an operator keeps: every daemon.json key, docker.service drop-in line
and kubelet flag the migration found, and what became of each (carried, translated, kept, or
dropped with the reason), as `carry-over/<node>.md` beside report.html, which links it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from harness import junit
from harness.report.task_results import CarryOver

DIRECTORY = "carry-over"


def relative_path(node: str) -> str:
    return f"{DIRECTORY}/{junit.identity(node)}.md"


def href(node: str) -> str:
    return quote(relative_path(node))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write(base: Path, node: str, rows: list[CarryOver]) -> Path:
    """Write `node`'s carry-over under `base`; returns its path."""
    path = base / relative_path(node)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# {node}: what the migration made of each setting", "",
             "| source | setting | became | detail |", "|---|---|---|---|"]
    lines += [f"| {_cell(r.source)} | `{_cell(r.item)}` | {r.fate} | {_cell(r.detail)} |"
              for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
