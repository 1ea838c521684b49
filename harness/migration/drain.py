"""Cordon and drain a Node from the harness itself (not from a playbook), and uncordon it.

The playbooks' own modules do the work (playbooks/library/k8s_drain.py: the Eviction API,
PodDisruptionBudgets honoured, as `kubectl drain --ignore-daemonsets` does; k8s_node.py for the
uncordon), run ad hoc by ansible-runner on this machine, so a node is drained the same way
whether the migration or a conformance suite asks."""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness import redact
from harness.errors import StepFailed
from harness.inventory import Inventory, Node
from harness.migration.runner import PLAYBOOKS, ansible_env, role_default

OUTCOMES = ("runner_on_ok", "runner_on_failed", "runner_on_unreachable")


@dataclass(frozen=True)
class ClusterDrain:
    """Drains and uncordons the nodes of the cluster `kubeconfig` reaches."""

    kubeconfig: Path

    def drain(self, node: Node) -> bool:
        """Cordon the node and evict its pods, waiting up to the node's drain_timeout for
        evictions a budget refuses; True when this cordoned it (it was schedulable before). A
        drain that fails after its cordon uncordons the node again before raising."""
        timeout = node.vars.get("drain_timeout") or role_default("drain_timeout")
        try:
            done = run_module("k8s_drain", {"name": node.name, "kubeconfig": str(
                self.kubeconfig), "timeout": int(timeout)})
        except ModuleFailed as err:
            if err.result.get("cordoned"):
                self.uncordon(node)
            raise
        return bool(done.get("cordoned"))

    def uncordon(self, node: Node) -> None:
        run_module("k8s_node", {"name": node.name, "kubeconfig": str(self.kubeconfig),
                                "action": "uncordon"})


class ModuleFailed(StepFailed):
    def __init__(self, message: str, result: dict):
        super().__init__(message)
        self.result = result


def run_module(module: str, args: dict) -> dict:
    """Run one of the playbooks' controller-side modules on this machine; its return values.
    Raises ModuleFailed with them when it fails."""
    import ansible_runner  # Ansible loads only when a module runs

    found: list[dict] = []

    def on_event(event: dict) -> bool:
        if event.get("event") in OUTCOMES:
            found.append({**event["event_data"].get("res", {}), "_event": event["event"]})
        return True

    # ansible-runner's private directory holds the module's results: never kept.
    with tempfile.TemporaryDirectory(prefix="harness-module-") as private:
        ansible_runner.run(
            private_data_dir=private, host_pattern="localhost", module=module,
            module_args=json.dumps(args), quiet=True, event_handler=on_event,
            inventory=f"localhost ansible_connection=local "
                      f"ansible_python_interpreter={sys.executable}",
            envvars={**ansible_env(), "ANSIBLE_LIBRARY": str(PLAYBOOKS / "library"),
                     "ANSIBLE_MODULE_UTILS": str(PLAYBOOKS / "module_utils")})
    result = found[-1] if found else {"_event": "none", "msg": "the module did not run"}
    if result["_event"] != "runner_on_ok":
        raise ModuleFailed(f"node {args['name']}: {module}: "
                          f"{redact.text(str(result.get('msg') or result))}", result)
    return result


def for_inventory(inventory: Inventory) -> ClusterDrain | None:
    """The drain of the inventory's cluster; None when it names none."""
    kubeconfig = inventory.cluster.kubeconfig
    return ClusterDrain(kubeconfig) if kubeconfig else None
