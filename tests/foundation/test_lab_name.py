"""`--lab NAME` is a lab's name under the same rule as `lab up --name`, never a path: the name
becomes a directory under the state root (and bridge and cgroup names), and a path there would
read, or write, another directory's inventory and state."""

from __future__ import annotations

import pytest

from harness.errors import InputError
from harness.lab import state

COMMANDS = ["preflight", "migrate", "verify", "rollback", "upgrade", "smoke", "run"]


@pytest.mark.parametrize("command", COMMANDS)
def test_lab_must_be_a_name(harness_error, tmp_path, command):
    # An absolute path would replace the state root altogether (Path / "/abs" is "/abs").
    (tmp_path / "inventory.yaml").write_text("nodes: [{name: a, host: 10.0.0.1}]\n")
    line = harness_error(command, "--lab", str(tmp_path))
    assert line == (f"harness {command}: error: argument --lab: {str(tmp_path)!r} is not 1-8 "
                    "lowercase letters or digits starting with a letter (see --help)")


@pytest.mark.parametrize("name", ["../hl", "hl/x", "HL", "", "a" * 9])
def test_the_lab_directory_is_only_ever_a_name(name):
    with pytest.raises(InputError, match="is not 1-8 lowercase letters or digits"):
        state.lab_dir(name)
