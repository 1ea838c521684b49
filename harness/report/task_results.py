"""What the page shows from the playbooks' per-node task results rather than the JUnit
(`ansible/<phase>/nodes/<node>.json`, written by harness.migration.runner): preflight's findings
— which daemon.json settings carry over to containerd and which cannot — and the image copy.

The results are found by the keys the modules document (`findings` of node_runtime_facts;
`copied`, `present`, `bytes` of docker_images_to_containerd), not by task names, which are the
playbooks' prose.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harness import junit

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str  # error | warning | info
    message: str


@dataclass(frozen=True)
class ImageCopy:
    copied: int
    present: int  # already in containerd under the same image ID
    failed: tuple[str, ...]  # "refs: error" of images not copied
    bytes: int
    seconds: float


def _tasks(base: Path, phase: str, node: str) -> list[dict]:
    path = base / "ansible" / phase / "nodes" / f"{junit.identity(node)}.json"
    try:
        return json.loads(path.read_text()).get("tasks", [])
    except (OSError, ValueError):  # no such phase on this node, or a partly written file
        return []


def findings(base: Path, node: str) -> list[Finding]:
    """Preflight's findings on `node`, the blocking ones first."""
    found = []
    for task in _tasks(base, "preflight", node):
        for item in (task.get("result") or {}).get("findings") or []:
            found.append(Finding(str(item.get("id", "?")), str(item.get("severity", "info")),
                                 str(item.get("message", ""))))
    return sorted(found, key=lambda f: SEVERITY_ORDER.get(f.severity, 3))


def image_copy(base: Path, node: str) -> ImageCopy | None:
    """The migration's copy of Docker's images into containerd on `node` (its last run)."""
    runs = [t["result"] for t in _tasks(base, "migrate", node)
            if {"copied", "present", "bytes"} <= set(t.get("result") or {})]
    if not runs:
        return None
    result = runs[-1]
    failed = tuple(f"{', '.join(i.get('refs') or [i.get('id', '?')])}: {i.get('error', '')}"
                   for i in result.get("failed_images") or [])
    return ImageCopy(len(result["copied"]), len(result["present"]), failed,
                     int(result["bytes"] or 0), float(result.get("seconds") or 0))
