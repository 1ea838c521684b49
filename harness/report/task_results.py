"""What the page shows from the playbooks' per-node task results rather than the JUnit
(`ansible/<phase>/nodes/<node>.json`, written by harness.migration.runner): preflight's findings
— which daemon.json settings carry over to containerd and which cannot, the pods that block
it — and the image copy.

The results are found by the keys the modules document (`findings` of node_runtime_facts,
`docker_dependents` of k8s_node, `blocked` of k8s_drain; `copied`, `present`, `bytes` of
docker_images_to_containerd), not by task names, which are the playbooks' prose.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harness import junit
from harness.migration.findings import node_findings
from harness.node.findings import Finding


@dataclass(frozen=True)
class ImageCopy:
    copied: int
    present: int  # already in containerd under the same image ID before the migration
    failed: tuple[str, ...]  # "refs: error" of images not copied
    bytes: int
    seconds: float
    drained_seconds: float  # of those, while the node was drained (the delta after staging)


@dataclass(frozen=True)
class CarryOver:
    """One setting found on the node and what the migration makes of it."""

    source: str  # daemon.json, a docker.service drop-in, kubelet
    item: str
    fate: str  # carried | translated | kept | dropped
    detail: str


def _tasks(base: Path, phase: str, node: str) -> list[dict]:
    path = base / "ansible" / phase / "nodes" / f"{junit.identity(node)}.json"
    try:
        return json.loads(path.read_text()).get("tasks", [])
    except (OSError, ValueError):  # no such phase on this node, or a partly written file
        return []


def _result_with(tasks: list[dict], key: str) -> dict:
    """The last task result that has `key` (the modules' documented return keys)."""
    return next((t["result"] for t in reversed(tasks) if key in (t.get("result") or {})), {})


def findings(base: Path, node: str) -> list[Finding]:
    """Preflight's findings on `node` as `harness preflight` lists them, the blocking first."""
    tasks = _tasks(base, "preflight", node)
    return node_findings(_result_with(tasks, "findings"), _result_with(tasks, "docker_dependents"),
                         _result_with(tasks, "blocked"))


def carry_over(base: Path, node: str) -> list[CarryOver]:
    """What became of each setting on `node` (node_runtime_facts' `carry_over`): as the
    migration read the node, else as preflight did."""
    for phase in ("migrate", "preflight"):
        rows = _result_with(_tasks(base, phase, node), "carry_over").get("carry_over")
        if rows:
            return [CarryOver(str(r.get("source", "")), str(r.get("item", "")),
                              str(r.get("fate", "")), str(r.get("detail", ""))) for r in rows]
    return []


def image_copy(base: Path, node: str) -> ImageCopy | None:
    """The migration's copy of Docker's images into containerd on `node` (its last run): the
    staging before the drain (the k8s_drain result, `cordoned`, comes after it) and the delta
    after it, or the one copy after the drain."""
    tasks = _tasks(base, "migrate", node)
    drain = next((i for i, t in enumerate(tasks) if "cordoned" in (t.get("result") or {})),
                 len(tasks))
    runs = [(i > drain, t["result"]) for i, t in enumerate(tasks)
            if {"copied", "present", "bytes"} <= set(t.get("result") or {})]
    if not runs:
        return None
    last = runs[-1][1]
    failed = tuple(f"{', '.join(i.get('refs') or [i.get('id', '?')])}: {i.get('error', '')}"
                   for i in last.get("failed_images") or [])
    return ImageCopy(sum(len(r["copied"]) for _, r in runs), len(runs[0][1]["present"]),
                     failed, sum(int(r["bytes"] or 0) for _, r in runs),
                     sum(float(r.get("seconds") or 0) for _, r in runs),
                     sum(float(r.get("seconds") or 0) for drained, r in runs if drained))
