"""The playbooks' own Python (modules, their module_utils, filter plugins) loaded from its
files, as Ansible loads it, so that tests call its functions directly."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

PLAYBOOKS = Path(__file__).resolve().parents[1] / "playbooks"


def load(relative: str, name: str | None = None) -> ModuleType:
    """The file playbooks/`relative` as a module named `name` (default: its stem)."""
    path = PLAYBOOKS / relative
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def library_module(name: str) -> ModuleType:
    """A module of playbooks/library, importing the node-side package as Ansible ships it to
    the node (ansible.module_utils.harness_node: the same directory as harness.node)."""
    sys.modules.setdefault("ansible.module_utils.harness_node", importlib.import_module(
        "harness.node"))
    return load(f"library/{name}.py")
