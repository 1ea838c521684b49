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
    {"node", "inventory", "junit", "errors", "paths", "files", "flags", "table", "allowed_skips",
     "gate_policy", "suite_command", "progress", "redact", "__init__"},
]
LAYER_OF = {name: index for index, names in enumerate(LAYERS) for name in names}


def unit(dotted: str) -> str:
    """harness.lab.state -> lab; harness.junit -> junit; a module listed on its own
    (containerd.build) is its own unit."""
    parts = dotted.split(".")
    if ".".join(parts[1:3]) in LAYER_OF:
        return ".".join(parts[1:3])
    return parts[1] if len(parts) > 1 else "__init__"


def harness_imports(path: Path, package: str = "") -> set[str]:
    """The harness modules `path` imports: absolute imports, relative ones (resolved against
    `package`, the file's own), and importlib.import_module of a literal or f-string name."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            if module == "harness" or module.startswith("harness."):
                where = ROOT.joinpath(*module.split(".")[1:])
                found |= {f"{module}.{a.name}" if (where / a.name).exists()
                          or (where / f"{a.name}.py").exists() else module
                          for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("harness.")}
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module"
              and node.args):
            name = node.args[0]
            if isinstance(name, ast.JoinedStr) and isinstance(name.values[0], ast.Constant):
                name = name.values[0]  # f"harness.commands.{x}": its literal head
            if isinstance(name, ast.Constant) and str(name.value).startswith("harness."):
                found.add(str(name.value).rstrip("."))
    return found


def package_of(path: Path) -> str:
    parts = ("harness", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts if path.name == "__init__.py" else parts[:-1])


def test_every_package_unit_has_a_layer():
    units = {p.stem if p.is_file() else p.name for p in ROOT.iterdir()
             if (p.suffix == ".py" or (p / "__init__.py").exists())}
    assert units <= set(LAYER_OF), f"add to LAYERS and the README: {units - set(LAYER_OF)}"


def test_imports_go_down_the_layers_only():
    upward = []
    for path in ROOT.rglob("*.py"):
        own = unit(".".join(("harness", *path.relative_to(ROOT).with_suffix("").parts)))
        for imported in harness_imports(path, package_of(path)):
            if LAYER_OF[unit(imported)] < LAYER_OF[own]:
                upward.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert not upward, "\n".join(sorted(upward))


def test_the_checker_sees_relative_and_importlib_imports(tmp_path):
    module = tmp_path / "mod.py"
    module.write_text("from . import staging\nfrom ..pipeline import run\n"
                      "importlib.import_module(f'harness.commands.{name}')\n")
    assert harness_imports(module, "harness.nodes") == {
        "harness.nodes.staging", "harness.pipeline", "harness.commands"}


# Code outside the package that imports it: the suites and the controller-side Ansible plugins
# use it as a library, below its commands; the modules Ansible ships to nodes import none of it
# (a node has no harness).
LIBRARY_USERS = ("suites", "playbooks/filter_plugins", "playbooks/action_plugins")
NODE_SIDE = ("playbooks/library", "playbooks/module_utils")


def outside_imports(tree: str) -> dict[str, set[str]]:
    top = ROOT.parent / tree
    return {str(p.relative_to(ROOT.parent)): harness_imports(
        p, ".".join(p.relative_to(ROOT.parent).parent.parts))
        for p in top.rglob("*.py") if not p.is_symlink()}


def test_suites_and_controller_plugins_use_the_package_below_its_commands():
    above = [f"{path} imports {imported}" for tree in LIBRARY_USERS
             for path, found in outside_imports(tree).items() for imported in found
             if LAYER_OF[unit(imported)] <= LAYER_OF["providers"]]
    assert not above, "\n".join(sorted(above))
    assert any(outside_imports("suites").values())  # the check sees what they import


def test_node_side_playbook_code_imports_no_harness():
    found = [f"{path} imports {imported}" for tree in NODE_SIDE
             for path, imported_set in outside_imports(tree).items() for imported in imported_set]
    assert not found, "\n".join(sorted(found))


def test_the_readmes_layout_table_lists_each_unit_once():
    """README "Layout": a row per module or subpackage of the package, none twice, none
    missing, none that is not there."""
    readme = (ROOT.parent / "README.md").read_text()
    table = readme.split("## Layout\n", 1)[1].split("\n#", 1)[0]
    rows = [line.split("`")[1] for line in table.splitlines() if line.startswith("| `harness/")]
    units = [f"harness/{p.name}/" if p.is_dir() else f"harness/{p.name}"
             for p in ROOT.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()]
    assert sorted(rows) == sorted(units)


def test_the_node_side_package_is_one_directory_with_no_links():
    """harness.node is playbooks/module_utils/harness_node itself, where Ansible's modules
    import it: one source, and nothing in the tree links or copies it."""
    import subprocess

    import harness.node
    from harness.node import oom

    node_side = ROOT.parent / "playbooks" / "module_utils" / "harness_node"
    assert [Path(p) for p in harness.node.__path__] == [node_side]
    assert Path(oom.__file__) == node_side / "oom.py"
    tracked = subprocess.run(["git", "ls-files", "-s"], cwd=ROOT.parent, capture_output=True,
                             text=True, check=True).stdout.splitlines()
    assert not [line for line in tracked if line.startswith("120000 ")]
