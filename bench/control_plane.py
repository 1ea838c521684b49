"""Benchmark: how long the Kubernetes API is unreachable while the control-plane node of a
kubeadm cluster switches from Docker to containerd, with `harness migrate` against the
runbook's steps by hand on the same kind of node, in one invocation.

    .venv/bin/python bench/control_plane.py [--version 1.23.17]

Each run gets a fresh one-node kubeadm lab (hbmig: `kubeadm init`, the API server, etcd,
controller-manager and scheduler as static pods on Docker), brought down afterwards. The API's
availability is measured the same way in both (harness.migration.api_watch: a read that reaches
etcd four times a second); the figure is the longest outage. The harness does more while the
API is down (etcd's data directory copied, containerd's config checked with `config dump`)
and less by hand (no backup, no check). About 6 minutes on 2 shared cores."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import migration, results  # noqa: E402
from harness.migration.api_watch import ApiWatch  # noqa: E402


def by_hand(version: str) -> tuple[float, dict[str, float]]:
    inventory, kubeconfig = migration.fresh_lab(version, kubeadm=True)
    with ApiWatch(str(kubeconfig)) as watch:
        steps = migration.runbook(inventory, kubeconfig)
    return max((o.seconds for o in watch.outages), default=0.0), steps


def with_harness(version: str, out: Path) -> tuple[float, float]:
    """`harness migrate` measures the API itself (<out>/api-migrate.json)."""
    migration.fresh_lab(version, kubeadm=True)
    seconds = migration.migrate(out)
    outages = json.loads((out / "api-migrate.json").read_text())["outages"]
    return max((o["end"] - o["start"] for o in outages if o["end"]), default=0.0), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="1.23.17")
    args = parser.parse_args()
    try:
        with tempfile.TemporaryDirectory(prefix="hb-cp-bench-") as tmp:
            harness_down, harness_seconds = with_harness(args.version, Path(tmp))
        hand_down, steps = by_hand(args.version)
    finally:
        migration.down()
    figures = [
        results.Figure("API downtime, control-plane node, harness", round(harness_down, 1), "s",
                       "the steps by hand", round(hand_down, 1),
                       note="kubeadm 1.23.17, one node, stacked etcd"),
        results.Figure("migrate the control-plane node, harness", round(harness_seconds, 1),
                       "s", "the steps by hand", round(sum(steps.values()), 1)),
    ]
    details = ["by hand, seconds per step: "
               + "; ".join(f"{k} {v:.1f}" for k, v in steps.items())]
    entry = results.record("control_plane", figures, details=details)
    print("\n".join(entry["details"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
