"""The `lab` provider: nodes the harness creates on this machine (harness.lab)."""

from __future__ import annotations

from harness.errors import InputError
from harness.inventory import Inventory, load_inventory
from harness.lab import lifecycle, machine, state
from harness.providers.base import NodeStatus, Provider, check_node


class LabProvider(Provider):
    name = "lab"

    def __init__(self, lab: str = state.DEFAULT_LAB, nodes: int = 2):
        self.lab = state.check_name(lab)
        self.nodes = nodes

    def up(self) -> Inventory:
        return lifecycle.up(self.lab, self.nodes)

    def down(self) -> bool:
        """The lab's cluster daemons first (their state is in the lab's directory), then the
        lab; False if there was no lab."""
        from harness.kube import cluster  # the Kubernetes client, only when tearing down

        cluster.down(self.lab)
        return lifecycle.down(self.lab)

    def inventory(self) -> Inventory:
        path = lifecycle.inventory_path(self.lab)
        if not path.exists():
            raise InputError(f"lab {self.lab!r} has no inventory ({path} is missing)",
                             hint=f"run `harness lab up --name {self.lab}`")
        return load_inventory(path)

    def status(self) -> list[NodeStatus]:
        record = state.load(self.lab)
        if record is None or not record.nodes:
            raise InputError(f"no lab named {self.lab!r}",
                             hint=f"create it with `harness lab up --name {self.lab}`")
        by_name = {}
        if lifecycle.inventory_path(self.lab).exists():
            by_name = {n.name: n for n in self.inventory().nodes}
        result = []
        for node in record.nodes:
            root = record.node_dir(node.name) / "root"
            up = machine.running(node.machine_pid, root)
            ssh_ok, runtime_ok = (check_node(by_name[node.name])
                                 if up and node.name in by_name else (False, False))
            result.append(NodeStatus(node.name, node.address, "running" if up else "stopped",
                                     ssh_ok, runtime_ok))
        return result
