"""The whole benchmark table from reports/bench.json, and each recorded curve drawn as
reports/bench-<name>.png. Run last in `tox -e bench`, after the scripts that measure.

    .venv/bin/python bench/report.py [--json reports/bench.json]

Exit 0 even when a target is missed: the table says "missed", and a benchmark is a
measurement, not a gate."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import results  # noqa: E402
from harness.table import format_table  # noqa: E402


def draw(curve: dict, out_dir: Path) -> Path:
    """One PNG per curve: a line per series, points marked (few points, each measured)."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display here
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6, 4))
    for label, points in curve["series"].items():
        xs, ys = zip(*points, strict=True)
        axes.plot(xs, ys, marker="o", label=label)
    # From zero: a flat line must look flat, not magnified into a jump of a few hundred KiB.
    top = max(y for points in curve["series"].values() for _, y in points)
    axes.set_ylim(0, top * 1.15)
    axes.set_xlabel(curve["x_label"])
    axes.set_ylabel(curve["y_label"])
    axes.set_title(curve["name"])
    axes.grid(True, alpha=0.3)
    axes.legend()
    path = out_dir / f"bench-{curve['name']}.png"
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=results.REPORT)
    args = parser.parse_args()
    entries = results.load(args.json)
    if not entries:
        print(f"{args.json}: no benchmark recorded yet")
        return 0
    print(format_table(results.table_rows(entries)))
    for script, entry in entries.items():
        m = entry["machine"]
        print(f"{script}: measured {entry['measured']} on {m['host']}, {m['cpus']} cores, "
              f"{m['memory_gib']} GiB, load {m['load_average_1m']}")
        for line in entry["details"]:
            print(f"  {line}")
    for entry in entries.values():
        for curve in entry["curves"]:
            print(f"curve: {draw(curve, args.json.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
