"""Code that runs on the nodes runs on the node's Python, not the harness's 3.11: the oldest a
target of ansible-core may have is 3.8 (Ubuntu 20.04; Debian 11 has 3.9). vermin reads each
file's syntax, modules, functions and methods and names the Python each needs; the Debian 11
lab test (tests/migration/test_debian11_on_lab.py) runs them there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OLDEST_NODE_PYTHON = "3.8"


def node_side_files() -> list[Path]:
    """The modules and the node-side package that run on the nodes (the k8s_* modules and
    module_utils/kube_api.py run on the controller, delegated to localhost with the harness's
    Python), and the OCI runtime wrapper a node's Docker or containerd executes."""
    library = [f for f in (ROOT / "playbooks/library").glob("*.py")
               if not f.name.startswith("k8s_")]
    utils = list((ROOT / "playbooks/module_utils/harness_node").glob("*.py"))
    return sorted(library + utils) + [ROOT / "harness/daemons/oom_clamp_runtime.py"]


def vermin(*files: Path) -> subprocess.CompletedProcess:
    """vermin's verdict on `files` against the oldest node Python (its script beside this
    interpreter: the dev extra installs it into the venv)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "vermin"), "--no-tips", "--violations",
         f"--target={OLDEST_NODE_PYTHON}-", *map(str, files)],
        capture_output=True, text=True, check=False)


def test_every_node_side_file_runs_on_the_oldest_node_python():
    files = node_side_files()
    assert {f.name for f in files} >= {"node_runtime_facts.py", "docker_images_to_containerd.py",
                                       "docker.py", "oom.py", "cgroups.py", "kubelet_runtime.py"}
    done = vermin(*files)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_check_finds_a_3_11_module(tmp_path):
    """The gate can fail: tomllib, which node_runtime_facts imported before it was moved to the
    controller (playbooks/action_plugins/node_runtime_facts.py)."""
    module = tmp_path / "uses_tomllib.py"
    module.write_text("import tomllib\n")
    done = vermin(module)
    assert done.returncode != 0 and "'tomllib' module requires !2, 3.11" in done.stdout
