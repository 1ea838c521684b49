"""Every shell command a playbook runs quotes what it interpolates: a value from the inventory
or from node facts (a path with a space, a `;`) must reach the node's shell as one word, never
as shell syntax. A `command`/`shell`/`raw` task given a string may hold a Jinja expression only
when it ends in `| quote`; otherwise the task takes `argv` (no shell, no word splitting)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
SHELL_MODULES = ("command", "shell", "raw")
EXPRESSION = re.compile(r"{{(.*?)}}", re.S)
QUOTED = re.compile(r"\|\s*quote\s*$")


def tasks(items):
    """Tasks of a task list, blocks' own tasks included."""
    for task in items or []:
        if not isinstance(task, dict):
            continue
        yield task
        for section in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks",
                        "handlers"):
            yield from tasks(task.get(section))


def command_strings(task: dict) -> list[str]:
    """The command lines a shell-like task gives as strings (argv lists are fine as they are)."""
    found = []
    for name, value in task.items():
        if name.rsplit(".", 1)[-1] not in SHELL_MODULES:
            continue
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict) and isinstance(value.get("cmd"), str):
            found.append(value["cmd"])
    return found


def unquoted(command: str) -> list[str]:
    return [e.strip() for e in EXPRESSION.findall(command) if not QUOTED.search(e.strip())]


def offenders() -> list[str]:
    found = []
    for path in sorted(PLAYBOOKS.rglob("*.yml")):
        doc = yaml.safe_load(path.read_text())
        if not isinstance(doc, list):
            continue
        for task in tasks(doc):
            for command in command_strings(task):
                for expression in unquoted(command):
                    found.append(f"{path.relative_to(PLAYBOOKS)}: {task.get('name')}: "
                                 f"{{{{ {expression} }}}}")
    return found


def test_the_check_finds_an_unquoted_value():
    """The check itself: the shape the etcd backup had before it was quoted."""
    task = {"name": "Back up etcd", "ansible.builtin.shell":
            "cp -a {{ node.facts.static_pods.etcd_data_dir }} {{ backup | quote }}"}
    assert [unquoted(c) for c in command_strings(task)] == [
        ["node.facts.static_pods.etcd_data_dir"]]


def test_every_playbook_command_quotes_what_it_interpolates():
    assert offenders() == []
