"""The package reads top to bottom (README, "How the package reads"): a module imports only
modules of its own layer or of layers below it, so the layers never form a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import harness

ROOT = Path(harness.__file__).parent
# The README's numbered layers, top first.
LAYERS = [
    {"cli", "__main__", "commands"},
    {"pipeline"},
    {"providers"},
    {"migration", "smoke", "report", "kube", "crictl", "critest", "critools", "containerd.build",
     "lab", "matrix"},
    {"nodes"},
    {"daemons", "images", "cri", "oci", "containerd"},
    {"facts"},
    {"transport", "gobuild"},
    {"inventory", "junit", "errors", "paths", "files", "flags", "table", "allowed_skips",
     "gate_policy", "progress", "redact", "__init__"},
]
LAYER_OF = {name: index for index, names in enumerate(LAYERS) for name in names}


def unit(dotted: str) -> str:
    """harness.lab.state -> lab; harness.junit -> junit; a module listed on its own
    (containerd.build) is its own unit."""
    parts = dotted.split(".")
    if ".".join(parts[1:3]) in LAYER_OF:
        return ".".join(parts[1:3])
    return parts[1] if len(parts) > 1 else "__init__"


def harness_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "harness":
                found |= {f"harness.{a.name}" if (ROOT / a.name).exists()
                          or (ROOT / f"{a.name}.py").exists() else "harness"
                          for a in node.names}
            elif node.module.startswith("harness."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("harness.")}
    return found


def test_every_package_unit_has_a_layer():
    units = {p.stem if p.is_file() else p.name for p in ROOT.iterdir()
             if (p.suffix == ".py" or (p / "__init__.py").exists())}
    assert units <= set(LAYER_OF), f"add to LAYERS and the README: {units - set(LAYER_OF)}"


def test_imports_go_down_the_layers_only():
    upward = []
    for path in ROOT.rglob("*.py"):
        own = unit(".".join(("harness", *path.relative_to(ROOT).with_suffix("").parts)))
        for imported in harness_imports(path):
            if LAYER_OF[unit(imported)] < LAYER_OF[own]:
                upward.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert not upward, "\n".join(sorted(upward))
