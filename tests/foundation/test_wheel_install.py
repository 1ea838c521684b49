"""The harness installed from its wheel, outside the checkout (`installed_wheel`: a fresh venv
in a temporary directory): it finds the playbooks, suites and fixture recipes it ships as package
data, and the CRI suite collects with `pytest --pyargs`. `harness migrate --plan` from the same
install runs on the migration lab (tests/migration/test_migration_on_lab.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness import paths

pytestmark = pytest.mark.slow

FILES = """
import json
from harness import paths
print(json.dumps({name: [str(paths.shipped(name)),
                         sorted(str(p.relative_to(paths.shipped(name)))
                                for p in paths.shipped(name).rglob("*")
                                if p.is_file() and "__pycache__" not in p.parts)]
                  for name in paths.SHIPPED}))
"""


def in_checkout(name: str) -> list[str]:
    """The checkout's files under `name`, as git sees them (tracked, or new and not ignored)."""
    done = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                           name], cwd=paths.PACKAGE.parent, capture_output=True, text=True,
                          timeout=60, check=True)
    return sorted(str(Path(line).relative_to(name)) for line in done.stdout.splitlines())


def collected(argv: list[str], cwd: Path) -> int:
    done = subprocess.run([*argv, "--collect-only", "-q", "-p", "no:cacheprovider"], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return int(re.search(r"(\d+) tests? collected", done.stdout)[1])


def test_the_wheel_ships_every_playbook_suite_and_recipe_file(installed_wheel, tmp_path):
    done = subprocess.run([installed_wheel / "python", "-c", FILES], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=True)
    shipped = json.loads(done.stdout)
    for name in paths.SHIPPED:
        where, files = shipped[name]
        assert Path(where).is_relative_to(installed_wheel.parent), (name, where)
        assert files == in_checkout(name), name


def test_the_installed_cri_suite_collects_with_pyargs(installed_wheel, tmp_path):
    """`pytest --pyargs harness.suites.cri` from outside any checkout collects every test that
    `pytest suites/cri` collects in it."""
    in_checkout = collected([sys.executable, "-m", "pytest", "suites/cri"], paths.PACKAGE.parent)
    assert collected([installed_wheel / "pytest", "--pyargs", "harness.suites.cri"],
                     tmp_path) == in_checkout > 100
