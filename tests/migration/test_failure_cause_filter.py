"""The failure_cause filter (playbooks/filter_plugins/migration.py) on results as Ansible gives
them: a failed rollback or migration step is named with what failed said, not with Ansible's
"non-zero return code" or "One or more items failed"."""

from __future__ import annotations

from playbook_code import load

migration = load("filter_plugins/migration.py", "migration_filter")

CRICTL = ('time="2026-12-06T04:01:02Z" level=fatal msg="validate service connection: '
          'dial unix /var/run/cri-dockerd.sock: connect: no such file or directory"')


def test_a_command_is_named_by_its_last_line_on_stderr():
    result = {"failed": True, "msg": "non-zero return code", "rc": 1,
              "stderr": f"WARN[0000] runtime connect using default endpoints\n{CRICTL}\n"}
    assert migration.failure_cause(result) == CRICTL


def test_a_module_is_named_by_its_message():
    result = {"failed": True, "msg": "not copied into containerd: a: layer differs", "stderr": "x"}
    assert migration.failure_cause(result) == "not copied into containerd: a: layer differs"


def test_a_loop_is_named_by_its_first_failed_item():
    result = {"failed": True, "msg": "One or more items failed", "results": [
        {"failed": False, "item": "docker.socket"},
        {"failed": True, "item": "docker.service",
         "msg": "Unable to start service docker.service: Job failed"}]}
    assert migration.failure_cause(result) == "Unable to start service docker.service: Job failed"


def test_nothing_said_is_named_failed():
    assert migration.failure_cause({"failed": True}) == "failed"
