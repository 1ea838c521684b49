"""The lab network: one bridge per lab on a private /24 used only there, a network namespace
per node joined to it by a veth pair, and the iptables rules that keep node traffic on the bridge.

Every name is derived from the lab's slot and the node's index, so `lab down` and a repairing
`lab up` find what an interrupted run created even without a state file."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from harness.lab.host import run

SUBNET_BASE = ipaddress.ip_network("10.251.0.0/16")  # slot N uses 10.251.N.0/24
MAX_SLOTS = 250
NETNS_DIR = Path("/run/netns")


@dataclass(frozen=True)
class LabNetwork:
    lab: str
    slot: int

    @property
    def bridge(self) -> str:
        return f"hl-br{self.slot}"

    @property
    def subnet(self) -> ipaddress.IPv4Network:
        return list(SUBNET_BASE.subnets(new_prefix=24))[self.slot]

    @property
    def gateway(self) -> str:
        return str(self.subnet[1])

    @property
    def rule_tag(self) -> str:
        return f"harness-lab:{self.lab}"

    def node_address(self, index: int) -> str:
        return str(self.subnet[10 + index])

    def netns(self, index: int) -> str:
        return f"hl-{self.lab}-{index}"

    def host_veth(self, index: int) -> str:
        return f"hl-b{self.slot}n{index}"


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def create_bridge(net: LabNetwork) -> None:
    if not link_exists(net.bridge):
        run(["ip", "link", "add", net.bridge, "type", "bridge"])
    cidr = f"{net.gateway}/{net.subnet.prefixlen}"
    run(["ip", "addr", "replace", cidr, "dev", net.bridge])
    run(["ip", "link", "set", net.bridge, "up"])
    _add_rules(net)


def _rules(net: LabNetwork) -> list[list[str]]:
    """FORWARD rules: nodes talk to each other across the bridge (bridged frames pass iptables
    when br_netfilter is loaded) and nothing from the bridge is forwarded anywhere else."""
    tag = ["-m", "comment", "--comment", net.rule_tag]
    return [
        ["FORWARD", "-i", net.bridge, "-o", net.bridge, *tag, "-j", "ACCEPT"],
        ["FORWARD", "-i", net.bridge, "!", "-o", net.bridge, *tag, "-j", "DROP"],
    ]


def _add_rules(net: LabNetwork) -> None:
    for rule in reversed(_rules(net)):
        if run(["iptables", "-w", "-C", *rule], check=False).returncode != 0:
            run(["iptables", "-w", "-I", *rule])


def delete_rules(net: LabNetwork) -> None:
    for rule in _rules(net):
        while run(["iptables", "-w", "-C", *rule], check=False).returncode == 0:
            run(["iptables", "-w", "-D", *rule])


def create_node_link(net: LabNetwork, index: int) -> None:
    """A fresh netns whose eth0 is the peer of a host veth on the lab bridge."""
    delete_node_link(net, index)
    ns = net.netns(index)
    run(["ip", "netns", "add", ns])
    veth = net.host_veth(index)
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
    run(["ip", "link", "set", veth, "master", net.bridge, "up"])
    in_ns = ["ip", "-n", ns]
    run([*in_ns, "link", "set", "lo", "up"])
    run([*in_ns, "addr", "add", f"{net.node_address(index)}/{net.subnet.prefixlen}", "dev", "eth0"])
    run([*in_ns, "link", "set", "eth0", "up"])
    run([*in_ns, "route", "add", "default", "via", net.gateway])


def delete_node_link(net: LabNetwork, index: int) -> None:
    if link_exists(net.host_veth(index)):
        run(["ip", "link", "del", net.host_veth(index)])
    if (NETNS_DIR / net.netns(index)).exists():
        run(["ip", "netns", "del", net.netns(index)])


def lab_netns(lab: str) -> list[str]:
    """Network namespaces of this lab that exist now, by name."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(f"hl-{lab}-"))


def delete_network(net: LabNetwork) -> None:
    for ns in lab_netns(net.lab):
        index = int(ns.rsplit("-", 1)[1])
        delete_node_link(net, index)
    for link in Path("/sys/class/net").iterdir():
        if link.name.startswith(f"hl-b{net.slot}n"):
            run(["ip", "link", "del", link.name])
    if link_exists(net.bridge):
        run(["ip", "link", "del", net.bridge])
    delete_rules(net)
