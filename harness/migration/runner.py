"""Run one of the migration playbooks through ansible-runner.

Ansible does the node work; this module only prepares the run (inventory, extra vars, where the
artifacts go), follows its events (one progress line and one result per task per node) and
returns them as a PlaybookRun. The same playbooks run unchanged under `ansible-playbook`."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harness import junit, redact
from harness.errors import InputError, StepFailed
from harness.inventory import Inventory
from harness.migration import interrupt
from harness.paths import shipped
from harness.progress import progress

PLAYBOOKS = shipped("playbooks")
PHASES = ("preflight", "migrate", "verify", "rollback", "upgrade")
# Ansible event -> outcome of one task on one node.
# The task that refuses a node preflight blocks: a failure of the input, not of a step.
REFUSAL_TASK = "Refuse a node that preflight blocks"
OUTCOMES = {"runner_on_ok": "ok", "runner_on_failed": "failed", "runner_on_skipped": "skipped",
            "runner_on_unreachable": "unreachable"}
# All of the harness's environment that the playbook process gets: what Ansible, ssh and the
# modules need. The rest (a CI job's cloud keys and registry tokens, the harness's own
# HARNESS_SSH_KEY_PASSPHRASE) stays out: ansible-runner writes the playbook's whole environment
# to artifacts/<id>/command, under reports/.
PASSED_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TERM", "TMPDIR",
              "TMP", "TEMP", "PYTHONPATH", "SSH_AUTH_SOCK", "KUBECONFIG", "http_proxy",
              "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
              # the CAs the Kubernetes client trusts behind an organisation's proxy
              "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")
PASSED_PREFIXES = ("LC_", "ANSIBLE_")  # the locale; the operator's Ansible configuration


def role_default(name: str, role: str = "node_state"):
    """A playbook variable's default, as the role that defines it sets it."""
    return yaml.safe_load((PLAYBOOKS / "roles" / role / "defaults" / "main.yml").read_text())[name]


@dataclass
class TaskResult:
    node: str
    task: str
    outcome: str  # ok | changed | failed | skipped | unreachable
    seconds: float
    result: dict  # the module's return values

    @property
    def warnings(self) -> list[str]:
        """What the module warned about (Ansible's `warnings`), e.g. pods a drain left with
        nowhere to run."""
        return [str(w) for w in self.result.get("warnings") or []]

    @property
    def message(self) -> str:
        """The module's message, with a failed command's last line of stderr."""
        res = self.result
        text = res.get("msg") or ""
        text = text if isinstance(text, str) else json.dumps(text)
        stderr = (res.get("stderr") or "").strip().splitlines()
        return f"{text}: {stderr[-1]}" if stderr and text else text or (stderr or [""])[-1]


@dataclass
class PlaybookRun:
    phase: str
    rc: int
    artifacts: Path
    tasks: list[TaskResult] = field(default_factory=list)
    interrupts: int = 0  # Ctrl-C presses during the run (interrupt.two_step_interrupt)
    selected: tuple[str, ...] = ()  # the nodes the run was to work on
    api: str = ""  # how the API server answered during the run (api_watch), if watched

    def nodes(self) -> list[str]:
        return list(dict.fromkeys(t.node for t in self.tasks))

    def counts(self, node: str) -> dict[str, int]:
        counts = dict.fromkeys(("ok", "changed", "failed", "skipped", "unreachable"), 0)
        for task in self.tasks:
            if task.node == node:
                counts[task.outcome] += 1
        return counts

    def result(self, node: str, task: str) -> dict | None:
        """The return values of `task` on `node` (its last run), or None if it did not run."""
        found = [t.result for t in self.tasks if t.node == node and t.task == task
                 and t.outcome != "skipped"]
        return found[-1] if found else None

    def failed(self) -> list[TaskResult]:
        return [t for t in self.tasks if t.outcome in ("failed", "unreachable")]

    def changed(self) -> list[TaskResult]:
        return [t for t in self.tasks if t.outcome == "changed"]

    def interruption(self) -> str | None:
        """What a Ctrl-C left where, for the summary; None if there was none."""
        if not self.interrupts:
            return None
        started = self.nodes()
        waiting = [n for n in self.selected if n not in started]
        where = "stopped where they were (progress recorded on the node)" \
            if self.interrupts >= 2 else "finished their batch"
        return (f"INTERRUPTED: {', '.join(started) or 'no node'} {where}; not started: "
                f"{', '.join(waiting) or 'none'}; run `harness {self.phase}` again to go on")

    @property
    def exit_code(self) -> int:
        """3 for an unreachable node, 2 when every failure is a node refused before anything
        changed, 1 for any other failure, 130 (as for SIGINT) for a run stopped by Ctrl-C."""
        failed = self.failed()
        if any(t.outcome == "unreachable" for t in failed):
            return 3
        if failed and all(t.task == REFUSAL_TASK for t in failed):
            return 2
        if failed:
            return 1
        if self.interrupts:
            return 130
        return 1 if self.rc != 0 else 0


@dataclass(frozen=True)
class RunSpec:
    phase: str
    inventory: Inventory
    out_dir: Path
    nodes: tuple[str, ...] = ()  # empty: every node of the inventory
    extravars: dict = field(default_factory=dict)
    check: bool = False  # Ansible's check mode with diffs: nothing changes


def run(spec: RunSpec, say: Callable[[str, str], None] = progress) -> PlaybookRun:
    """Run playbooks/<phase>.yml; its artifacts stay in <out>/ansible/<phase>/."""
    from ansible_runner.interface import init_runner  # Ansible loads only when a playbook runs

    if spec.phase not in PHASES:
        raise InputError(f"no playbook for phase {spec.phase!r}", hint=f"one of {PHASES}")
    for name in spec.nodes:
        spec.inventory.node(name)  # an unknown node is an input error, also for API callers
    private = spec.out_dir / "ansible" / spec.phase
    shutil.rmtree(private, ignore_errors=True)  # an earlier run's artifacts must not count
    private.mkdir(parents=True)
    inventory = ansible_inventory(spec.inventory, private)
    outcome = PlaybookRun(spec.phase, 0, private,
                          selected=spec.nodes or tuple(n.name for n in spec.inventory.nodes))
    started: dict[tuple, float] = {}

    def on_event(event: dict) -> bool:
        data = event.get("event_data", {})
        kind = event.get("event")
        key = (data.get("task_uuid"), data.get("host"))
        if kind == "runner_on_start":
            started[key] = time.monotonic()
        elif kind in OUTCOMES:
            res = data.get("res", {})
            outcome_name = OUTCOMES[kind]
            if outcome_name == "ok" and res.get("changed"):
                outcome_name = "changed"
            seconds = data.get("duration") or time.monotonic() - started.pop(key, time.monotonic())
            task = TaskResult(data.get("host", "?"), data.get("task", "?"), outcome_name,
                              seconds, res)
            outcome.tasks.append(task)
            if outcome_name != "skipped":
                detail = f": {task.message}" if outcome_name in ("failed", "unreachable") else ""
                say(task.node, f"{spec.phase}: {task.task} ... {outcome_name} "
                    f"({seconds:.1f}s){detail}")
        return True

    envvars = {**ansible_env(), "ANSIBLE_RETRY_FILES_ENABLED": "0", "ANSIBLE_SSH_RETRIES": "2",
               # ansible-runner turns host key checking off; the inventory's known_hosts rule
               "ANSIBLE_HOST_KEY_CHECKING": "True"}
    with interrupt.two_step_interrupt(private, lambda m: say("harness", m)) as interrupts:
        result = init_runner(
            private_data_dir=str(private),
            project_dir=str(PLAYBOOKS),
            playbook=f"{spec.phase}.yml",
            inventory=str(inventory),
            extravars={**spec.extravars, "harness_stop_file": str(interrupts.stop_file),
                       **({"harness_nodes": ",".join(spec.nodes)} if spec.nodes else {})},
            cmdline="--check --diff" if spec.check else None,
            forks=max(1, len(spec.inventory.nodes)),
            event_handler=on_event,
            cancel_callback=lambda: interrupts.cancelled,
            quiet=True,
            envvars=envvars,
            # no env/ files (envvars, extravars, cmdline) under reports/: all stay in memory
            suppress_env_files=True,
        )
        # ansible-runner seeds the playbook's environment with all of this process's
        result.config.env = playbook_environment(result.config.env, envvars)
        result.run()
    outcome.rc = result.rc
    outcome.interrupts = interrupts.count
    redact.tree(private)  # ansible-runner's own event files and stdout carry module results
    write_node_artifacts(outcome)
    if result.rc != 0 and not outcome.tasks and not interrupts.count:
        output = result.stdout.read().strip().splitlines() if result.stdout else []
        raise StepFailed(f"ansible-playbook {spec.phase}.yml failed before any task ran",
                         hint=" / ".join(output[-3:]) or f"see {private}/artifacts")
    return outcome


def playbook_environment(env: dict[str, str], envvars: dict[str, str]) -> dict[str, str]:
    """`env`, ansible-runner's environment for the playbook, cut to what the harness and
    ansible-runner set (`envvars`, and what differs from this process's environment) and the
    PASSED_ENV variables of this process that name no credential."""
    def passed(name: str, value: str) -> bool:
        if name in envvars or os.environ.get(name) != value:
            return True
        return (name in PASSED_ENV or name.startswith(PASSED_PREFIXES)) \
            and not redact.secret_name(name)
    return {name: value for name, value in env.items() if passed(name, value)}


def ansible_env() -> dict[str, str]:
    """What every Ansible run from the harness needs in its environment."""
    # ansible-playbook and ansible beside this Python, also when the venv is not activated
    return {"ANSIBLE_NOCOLOR": "1",
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}


def write_node_artifacts(run_: PlaybookRun) -> None:
    """<artifacts>/nodes/<node>.json: that node's tasks in order, with their outcomes, times
    and module results (Ansible's own event files interleave every node)."""
    directory = run_.artifacts / "nodes"
    directory.mkdir(exist_ok=True)
    for node in run_.nodes():
        tasks = [{"task": t.task, "outcome": t.outcome, "seconds": round(t.seconds, 3),
                  "result": redact.data(t.result)} for t in run_.tasks if t.node == node]
        (directory / f"{junit.identity(node)}.json").write_text(
            json.dumps({"phase": run_.phase, "node": node, "counts": run_.counts(node),
                        "tasks": tasks}, indent=1, default=str))


def ansible_inventory(inventory: Inventory, private: Path) -> Path:
    """An inventory Ansible reads: the file itself when it is Ansible's own (the harness read it
    through ansible-core, so both see the same hosts), else the harness-shaped one written out
    as Ansible YAML (same nodes, vars and cluster)."""
    if inventory.shape == "ansible" and inventory.source is not None:
        return inventory.source
    hosts = {}
    for node in inventory.nodes:
        host = {"ansible_host": node.host, "ansible_port": node.port,
                "ansible_user": node.user, "ansible_connection": node.connection,
                "ansible_become": node.become, **node.vars}
        if node.ssh_key:
            host["ansible_ssh_private_key_file"] = str(node.ssh_key)
        if node.vars.get("known_hosts") and "ansible_ssh_common_args" not in node.vars:
            # the node's pinned host keys, as the harness's own SSH transport uses them
            host["ansible_ssh_common_args"] = (f"-o UserKnownHostsFile={node.vars['known_hosts']}"
                                               " -o StrictHostKeyChecking=yes")
        if node.docker_endpoint:
            host["docker_endpoint"] = node.docker_endpoint
        if node.cri_endpoint:
            host["containerd_endpoint"] = node.cri_endpoint
        hosts[node.name] = host
    cluster = {k: str(v) for k, v in (("kubeconfig", inventory.cluster.kubeconfig),
                                      ("kubernetes_version", inventory.cluster.kubernetes_version))
               if v}
    path = private / "inventory.yaml"
    path.write_text(yaml.safe_dump({"all": {"vars": cluster, "hosts": hosts}}, sort_keys=False))
    return path


def write_junit(run_: PlaybookRun, junit_dir: Path, hosts: dict[str, str]) -> list[Path]:
    """One suite per node for this phase, one testcase per task (skipped tasks included, so a
    dashboard shows what did not run and why)."""
    written = []
    for node in run_.nodes():
        cases = [_case(t) for t in run_.tasks if t.node == node]
        written.append(junit.write_suite(junit_dir, node, run_.phase, cases, hosts.get(node)))
    return written


def _case(task: TaskResult) -> junit.CaseResult:
    outcome = {"ok": "passed", "changed": "passed", "failed": "failed", "skipped": "skipped",
               "unreachable": "error"}[task.outcome]
    message = task.message if outcome != "skipped" else (task.result.get("skip_reason")
                                                          or "skipped")
    detail = json.dumps({k: v for k, v in task.result.items() if not k.startswith("_")},
                        indent=1, default=str)
    return junit.CaseResult(task.task, outcome, task.seconds, message=message[:1000],
                            detail=detail if outcome in ("failed", "error") else "",
                            error_type={"unreachable": junit.UNREACHABLE,
                                        "skipped": junit.STEP_SKIPPED}.get(task.outcome),
                            output="".join(f"WARNING: {w}\n" for w in task.warnings))
