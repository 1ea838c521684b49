"""Ansible's own inventories (YAML `all:` with hosts/children/vars, INI, group_vars/ and
host_vars/ beside them), resolved by ansible-core's InventoryManager and VariableManager, so the
harness sees every host's address, port, user and key exactly as the playbooks will: host in
several groups, group precedence, ranges such as node[1:3]. Only the conversion into Nodes, and
the refusals, are the harness's own."""

from __future__ import annotations

import contextlib
import getpass
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.inventory import values
from harness.inventory.records import At, Cluster, Inventory, InventoryError, Node

CLUSTER_VARS = ("kubeconfig", "kubernetes_version")
ENDPOINT_VARS = ("cri_endpoint", "docker_endpoint")
CONNECTIONS = {"ssh": "ssh", "smart": "ssh", "paramiko": "ssh", "paramiko_ssh": "ssh",
               "ansible.builtin.ssh": "ssh", "ansible.builtin.paramiko_ssh": "ssh",
               "local": "local", "ansible.builtin.local": "local"}
# Variables are free-form, so only a name nearly identical to one the harness reads is taken
# for a typo of it.
TYPO_CUTOFF = 0.9
YAML_SUFFIXES = (".yaml", ".yml", ".json")
NOT_GROUPS = ("all", "ungrouped")


def _plain(value: Any) -> Any:
    """Ansible's tagged and "unsafe" types as plain Python (they reach YAML and JSON dumps)."""
    if isinstance(value, Mapping):
        return {_plain(str(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str):  # the base class's own conversion: a tagged str's returns itself
        return str.__str__(value) if type(value) is not str else value
    for plain in (bool, int, float):
        if isinstance(value, plain):
            return plain(value)
    return value


def _resolve(source: Path, yaml_error: InventoryError | None) -> list[tuple[str, list, dict]]:
    """(name, groups in Ansible's order of precedence, variables) of every host, as
    `ansible-inventory --list` gives them. What
    Ansible warns about while reading (a skipped key, an unparsable file) is an input error."""
    from ansible import constants
    from ansible.inventory.helpers import sort_groups
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.utils.display import Display
    from ansible.vars.manager import VariableManager

    # Ansible prints a warning once per process; every reading must hear its own
    getattr(Display(), "_warns", set()).clear()
    loader = DataLoader()
    said = io.StringIO()
    with contextlib.redirect_stderr(said):
        manager = InventoryManager(loader=loader, sources=[str(source)])
        variables = VariableManager(loader=loader, inventory=manager)
        hosts = [(_plain(host.name), [_plain(g.name) for g in sort_groups(host.get_groups())],
                  {_plain(k): _plain(v) for k, v in variables.get_vars(
                      host=host, include_hostvars=False, stage="all").items()
                   if k not in constants.INTERNAL_STATIC_VARS})
                 for host in manager.get_hosts()]
    warnings = [" ".join(line.split("[WARNING]:", 1)[1].split())
                for line in said.getvalue().splitlines() if "[WARNING]:" in line]
    if not manager._inventory.processed_sources:
        if yaml_error is not None and source.suffix in YAML_SUFFIXES:
            raise yaml_error
        # the reason of the plugin meant for this kind of file says the most
        plugin = "'yaml' plugin" if source.suffix in YAML_SUFFIXES else "'ini' plugin"
        reasons = sorted(warnings, key=lambda w: plugin not in w)
        raise InventoryError(source, None, "", "Ansible cannot read it as an inventory"
                             + (f" ({reasons[0]})" if reasons else ""),
                             hint=f"run: ansible-inventory -i {source} --list")
    if warnings:
        raise InventoryError(source, None, "", f"Ansible warns: {warnings[0]}",
                             hint="fix the inventory so that Ansible reads it without warnings")
    return hosts


def _one(hostvars: dict, field: str, at) -> tuple[str, Any] | None:
    """The variable that sets `field` (ansible_host or ansible_ssh_host, ...); two spellings with
    different values are refused rather than guessing which one Ansible's plugin prefers."""
    found = {k: v for k, v in hostvars.items() if values.CONNECTION_VARS.get(k) == field}
    if len({repr(v) for v in found.values()}) > 1:
        said = ", ".join(f"{k}: {v!r}" for k, v in found.items())
        raise at(next(iter(found))).error(f"set twice, differently ({said})",
                                          hint="keep one of them")
    return next(iter(found.items()), None)


def _key(value: Any, at: At) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise at.error(f"expected a file path, got {values.kind(value)}")
    path = Path(os.path.expanduser(value))
    if not path.is_absolute():
        # ssh resolves it from the directory Ansible runs in (ansible-runner: playbooks/)
        raise at.error(f"relative path {value!r}: Ansible reads it from whatever directory it "
                       "runs in, so the harness cannot know which key Ansible offers",
                       hint="write an absolute path or one starting with ~/")
    return values.private_key(path, at)


def _become(value: Any, at: At) -> bool:
    from ansible.module_utils.parsing.convert_bool import boolean

    try:
        return boolean(value, strict=True)
    except TypeError:
        raise at.error(f"expected true or false, got {values.kind(value)}") from None


def _node(source: Path, name: str, groups: list[str], hostvars: dict) -> Node:
    def at(var: str) -> At:
        return At(source, None, f"host {name}: {var}")

    node = Node(name=values.node_name(name, At(source, None, f"host {name}")), host=name,
                groups=tuple(g for g in groups if g not in NOT_GROUPS), user=getpass.getuser())
    host_var = "inventory hostname"  # Ansible's address when no variable gives one
    for secret in values.SECRET_VARS:
        if secret in hostvars:
            raise at(secret).error("passwords are not accepted", hint=values.SECRET_HINT)
    for field in ("host", "port", "user", "ssh_key", "become", "connection"):
        if (found := _one(hostvars, field, at)) is None:
            continue
        var, value = found
        if field == "host":
            node.host, host_var = value, var
        elif field == "port":
            node.port = values.port(value, at(var))
        elif field == "user":
            node.user = values.user(value, at(var), name)
        elif field == "ssh_key":
            node.ssh_key = _key(value, at(var))
        elif field == "become":
            node.become = _become(value, at(var))
        elif value in CONNECTIONS:
            node.connection = CONNECTIONS[value]
        else:
            raise at(var).error(f"expected one of {', '.join(CONNECTIONS)}, got "
                                f"{values.kind(value)}")
    node.host = values.host(node.host, at(host_var), name)
    for var, value in hostvars.items():
        if var in ENDPOINT_VARS:
            setattr(node, var, values.endpoint(value, at(var)))
        elif var in values.CONNECTION_VARS or var in CLUSTER_VARS:
            continue
        elif var in values.SSH_ARG_VARS:
            node.vars[var] = values.ssh_args(value, at(var))
        elif hint := values.did_you_mean(var, (*values.CONNECTION_VARS, *ENDPOINT_VARS,
                                               *CLUSTER_VARS), TYPO_CUTOFF):
            raise at(var).error("unknown variable", hint=hint)
        else:
            node.vars[var] = value
    return node


def _cluster(source: Path, hosts: list[tuple[str, list, dict]]) -> Cluster:
    """kubeconfig and kubernetes_version belong to the whole cluster: every host must see the
    same value (all.vars is where they go)."""
    cluster = Cluster()
    for var in CLUSTER_VARS:
        seen = {name: hostvars.get(var) for name, _, hostvars in hosts}
        if len({repr(v) for v in seen.values()}) > 1:
            which = ", ".join(f"{n}: {v!r}" for n, v in seen.items())
            raise InventoryError(source, None, var, f"is a cluster setting, but hosts differ "
                                 f"({which})", hint=f"set {var} once, under all.vars")
        value = next(iter(seen.values()))
        if value is None:
            continue
        at = At(source, None, f"all.vars.{var}")
        if var == "kubeconfig":
            if not isinstance(value, str) or not value.strip():
                raise at.error(f"expected a file path, got {values.kind(value)}")
            cluster.kubeconfig = Path(os.path.realpath(source.parent / Path(value).expanduser()))
        else:
            cluster.kubernetes_version = values.version(value, at)
    return cluster


def load(source: Path, yaml_error: InventoryError | None) -> Inventory:
    """The hosts Ansible finds in `source`, as Nodes; `yaml_error` is what the harness's own
    YAML reading said, reported when Ansible cannot read a YAML file either."""
    hosts = _resolve(source, yaml_error)
    if not hosts:
        raise InventoryError(source, None, "", "no hosts in the inventory",
                             hint="list at least one host under all.hosts or a child group")
    nodes = [_node(source, name, groups, hostvars) for name, groups, hostvars in hosts]
    return Inventory(nodes, _cluster(source, hosts), source, shape="ansible")
