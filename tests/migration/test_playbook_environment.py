"""What of the harness's environment reaches a playbook and its artifacts: a real
ansible-runner run of the preflight playbook on this machine (local connection; it stops at
its first task, as the inventory names no cluster, in about 2 s) with a CI job's secrets in the
environment and a password among the extra vars."""

from __future__ import annotations

import json

from planted import ENVIRONMENT, hits

from harness.inventory import Inventory, Node
from harness.migration import runner

HERE = Inventory([Node("this-host", "127.0.0.1", connection="local")])
EXTRA = {"registry_password": "planted-extra-var-password-61d2aa"}


def test_the_playbook_gets_an_allow_list_of_the_environment_and_no_secret_is_written(
        tmp_path, monkeypatch):
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SSH_AUTH_SOCK", "/run/planted-agent.sock")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    done = runner.run(runner.RunSpec("preflight", HERE, tmp_path, extravars=EXTRA))
    assert done.tasks, "the playbook did not run"
    assert hits(tmp_path, [*ENVIRONMENT.values(), *EXTRA.values()]) == []
    assert not (done.artifacts / "env").exists()  # ansible-runner's env/ files: not written
    (command,) = done.artifacts.glob("artifacts/*/command")
    env = json.loads(command.read_text())["env"]
    assert env["SSH_AUTH_SOCK"] == "/run/planted-agent.sock" and env["LC_ALL"] == "C.UTF-8"
    assert env["ANSIBLE_HOST_KEY_CHECKING"] == "True" and "HOME" in env
    assert not set(ENVIRONMENT) & set(env)


def test_the_allow_list_keeps_what_ansible_runner_and_the_harness_set(monkeypatch):
    monkeypatch.setenv("ANSIBLE_CONFIG", "/etc/ansible/ops.cfg")
    monkeypatch.setenv("ANSIBLE_NET_PASSWORD", "planted")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "planted")
    env = {"ANSIBLE_CONFIG": "/etc/ansible/ops.cfg", "ANSIBLE_NET_PASSWORD": "planted",
           "AWS_SECRET_ACCESS_KEY": "planted", "RUNNER_OMIT_EVENTS": "False",
           "ANSIBLE_NOCOLOR": "1"}
    assert runner.playbook_environment(env, {"ANSIBLE_NOCOLOR": "1"}) == {
        "ANSIBLE_CONFIG": "/etc/ansible/ops.cfg", "RUNNER_OMIT_EVENTS": "False",
        "ANSIBLE_NOCOLOR": "1"}
