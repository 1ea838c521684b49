"""The inventory: which nodes to work on, how to reach them, and the cluster they belong to.

Two YAML shapes are read so that one file can serve both the harness and the playbooks:

* harness-native: top-level `cluster:`, `defaults:` and a `nodes:` list (see
  examples/inventory.yaml);
* Ansible's YAML inventory: `all:` with `hosts:`, `children:` and `vars:`, connection settings in
  `ansible_host`, `ansible_port`, `ansible_user`, `ansible_ssh_private_key_file`,
  `ansible_become`, group vars inherited by their hosts (see examples/inventory-ansible.yaml).

Every problem is reported as one line `FILE:LINE: FIELD: what was expected`, taken from the YAML
node marks, so a user can jump straight to it.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness import files
from harness.errors import InputError

NODE_FIELDS = (
    "name", "host", "port", "user", "ssh_key", "become", "connection", "groups",
    "cri_endpoint", "docker_endpoint", "vars",
)
DEFAULT_FIELDS = tuple(f for f in NODE_FIELDS if f not in ("name", "host"))
CLUSTER_FIELDS = ("kubeconfig", "kubernetes_version")
NATIVE_TOP = ("cluster", "defaults", "nodes")
GROUP_KEYS = ("hosts", "children", "vars")
CONNECTIONS = ("ssh", "local")

# Ansible connection variables (and their older ansible_ssh_* spellings) -> Node field. Every
# other variable is kept in Node.vars for the playbooks.
ANSIBLE_FIELDS = {
    "ansible_host": "host",
    "ansible_ssh_host": "host",
    "ansible_port": "port",
    "ansible_ssh_port": "port",
    "ansible_user": "user",
    "ansible_ssh_user": "user",
    "ansible_ssh_private_key_file": "ssh_key",
    "ansible_private_key_file": "ssh_key",
    "ansible_become": "become",
    "ansible_connection": "connection",
}
ANSIBLE_CONNECTION_ALIASES = {"ssh": "ssh", "paramiko": "ssh", "smart": "ssh", "local": "local"}
# Password-style settings are refused: the harness authenticates with keys only, and a secret in
# an inventory would end up in logs and artifacts.
SECRET_VARS = ("ansible_password", "ansible_ssh_pass", "ansible_become_password",
               "ansible_become_pass", "ansible_ssh_private_key_passphrase")
# Plain variables the harness reads. Variables are free-form, so only a name nearly identical to
# one the harness reads (TYPO_CUTOFF) is taken for a typo of it.
HARNESS_VARS = ("cri_endpoint", "docker_endpoint", *CLUSTER_FIELDS)
TYPO_CUTOFF = 0.9

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
VERSION_RE = re.compile(r"^v?\d+\.\d+(\.\d+)?([-+][0-9A-Za-z.-]+)?$")
# Sockets only: the playbooks, ctr and the staged suites reach a runtime through its socket on
# the node, so a tcp:// endpoint would pass here and fail mid-migration.
ENDPOINT_RE = re.compile(r"^unix:///.+|^/.+")


@dataclass
class Node:
    """One machine to migrate or test, and how to reach it."""

    name: str
    host: str
    port: int = 22
    user: str = "root"
    ssh_key: Path | None = None
    become: bool = False
    connection: str = "ssh"
    groups: tuple[str, ...] = ()
    cri_endpoint: str | None = None
    docker_endpoint: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass
class Cluster:
    kubeconfig: Path | None = None
    kubernetes_version: str | None = None


@dataclass
class Inventory:
    nodes: list[Node]
    cluster: Cluster = field(default_factory=Cluster)
    source: Path | None = None

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        known = ", ".join(n.name for n in self.nodes) or "none"
        raise InputError(f"{self.source}: no node named {name!r}", hint=f"nodes are: {known}")


class InventoryError(InputError):
    """A problem at one place in an inventory file."""

    def __init__(self, source: Path, line: int | None, path: str, problem: str,
                 hint: str | None = None):
        where = f"{source}:{line}" if line else str(source)
        super().__init__(f"{where}: {path}: {problem}" if path else f"{where}: {problem}",
                         hint=hint)


# --- YAML with line numbers -------------------------------------------------------------------


class _Map(dict):
    """A mapping that remembers the line of itself and of each of its keys."""

    line: int = 0
    key_lines: dict


class _Seq(list):
    line: int = 0
    item_lines: list


class _Loader(yaml.SafeLoader):
    source: Path


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in result:
            raise InventoryError(loader.source, line, str(key),
                                 f"duplicate key (first at line {result.key_lines[key]})",
                                 hint="keep one of them")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    result = _Seq(loader.construct_object(item, deep=True) for item in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [item.start_mark.line + 1 for item in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def _parse_yaml(source: Path) -> Any:
    loader = _Loader(files.read_text(source, "inventory file",
                                     "pass the path of an existing inventory (see examples/)"))
    loader.source = source
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = " ".join(str(err.problem or err.context or "invalid YAML").split())
        raise InventoryError(source, mark.line + 1 if mark else None, "",
                             f"malformed YAML: {problem}",
                             hint="fix the syntax (indentation, quotes, colons)") from None
    except yaml.YAMLError as err:
        problem = " ".join(str(err).split())
        raise InventoryError(source, None, "", f"malformed YAML: {problem}") from None
    finally:
        loader.dispose()


# --- Field checks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _At:
    """Where a value came from: for messages."""

    source: Path
    line: int | None
    path: str

    def error(self, problem: str, hint: str | None = None) -> InventoryError:
        return InventoryError(self.source, self.line, self.path, problem, hint)


def _did_you_mean(word: str, choices, cutoff: float = 0.75) -> str | None:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=cutoff)
    return f"did you mean {close[0]!r}?" if close else None


def _reject_unknown(mapping: _Map, allowed, source: Path, prefix: str, what: str) -> None:
    for key in mapping:
        if key not in allowed:
            hint = _did_you_mean(key, allowed) or f"allowed: {', '.join(allowed)}"
            raise InventoryError(source, mapping.key_lines[key], _join(prefix, key),
                                 f"unknown field in {what}", hint=hint)


def _join(prefix: str, key: Any) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _expect_map(value: Any, at: _At, what: str) -> _Map:
    if value is None:
        empty = _Map()
        empty.line, empty.key_lines = at.line or 0, {}
        return empty
    if not isinstance(value, _Map):
        raise at.error(f"expected {what} (a mapping), got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{type(value).__name__} {value!r}"


def _string(value: Any, at: _At, what: str = "a non-empty string") -> str:
    if not isinstance(value, str) or not value.strip():
        raise at.error(f"expected {what}, got {_kind(value)}")
    return value


def _port(value: Any, at: _At) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise at.error(f"expected a port number 1-65535, got {_kind(value)}")
    return value


def _bool(value: Any, at: _At) -> bool:
    if not isinstance(value, bool):
        raise at.error(f"expected true or false, got {_kind(value)}")
    return value


def _name(value: Any, at: _At) -> str:
    name = _string(value, at)
    if not NAME_RE.match(name):
        raise at.error(f"expected a node name of letters, digits, '.', '_' or '-', got {name!r}")
    return name


def _endpoint(value: Any, at: _At) -> str:
    endpoint = _string(value, at)
    if not ENDPOINT_RE.match(endpoint):
        raise at.error(f"expected a socket on the node, unix:///path/to.sock or /path/to.sock, "
                       f"got {endpoint!r}", hint="tcp:// endpoints are not supported")
    return endpoint


def _connection(value: Any, at: _At, aliases: dict[str, str]) -> str:
    if value not in aliases:
        raise at.error(f"expected one of {', '.join(aliases)}, got {_kind(value)}")
    return aliases[value]


def _groups(value: Any, at: _At) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise at.error(f"expected a list of group names, got {_kind(value)}")
    return tuple(_string(g, at, "a group name") for g in value)


def _version(value: Any, at: _At) -> str:
    if isinstance(value, float):
        raise at.error(f"expected a version string, got the number {value!r}",
                       hint=f'quote it: "{value}" (YAML reads 1.20 as 1.2)')
    version = _string(value, at)
    if not VERSION_RE.match(version):
        raise at.error(f"expected a Kubernetes version such as 1.24.17, got {version!r}")
    return version


def _path(value: Any, at: _At) -> Path:
    path = at.source.parent / Path(_string(value, at, "a file path")).expanduser()
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # Python 3.11 says RuntimeError for a loop, later OSError
        raise at.error(f"{path}: a symlink loop", hint="point the link at a real path") from None


def check_private_key(path: Path, at: _At) -> Path:
    """The key must exist and be private to its owner, as OpenSSH itself demands."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise at.error(f"SSH key {path} does not exist",
                       hint="fix the path or create the key with ssh-keygen") from None
    except OSError as err:
        raise at.error(f"SSH key {path} cannot be read: {err.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise at.error(f"SSH key {path} is not a regular file")
    if st.st_mode & 0o077:
        raise at.error(f"SSH key {path} is readable by group or others "
                       f"(mode {stat.S_IMODE(st.st_mode):04o})", hint=f"run: chmod 600 {path}")
    if not os.access(path, os.R_OK):
        raise at.error(f"SSH key {path} is not readable by this user")
    return path


# Per Node field: how to check a value read from YAML.
_CHECKS = {
    "host": _string,
    "port": _port,
    "user": _string,
    "ssh_key": lambda v, at: check_private_key(_path(v, at), at),
    "become": _bool,
    "connection": lambda v, at: _connection(v, at, {c: c for c in CONNECTIONS}),
    "groups": _groups,
    "cri_endpoint": _endpoint,
    "docker_endpoint": _endpoint,
}


def _cluster(values: dict[str, tuple[Any, _At]]) -> Cluster:
    cluster = Cluster()
    if "kubeconfig" in values:
        cluster.kubeconfig = _path(*values["kubeconfig"])
    if "kubernetes_version" in values:
        cluster.kubernetes_version = _version(*values["kubernetes_version"])
    return cluster


# --- Native shape -----------------------------------------------------------------------------


def _native_fields(mapping: _Map, source: Path, prefix: str) -> dict[str, tuple[Any, _At]]:
    return {k: (v, _At(source, mapping.key_lines[k], _join(prefix, k))) for k, v in mapping.items()}


def _native_node(entry: Any, line: int, source: Path, index: int,
                 defaults: dict[str, tuple[Any, _At]]) -> Node:
    prefix = f"nodes[{index}]"
    entry = _expect_map(entry, _At(source, line, prefix), "a node")
    _reject_unknown(entry, NODE_FIELDS, source, prefix, "a node")
    fields = {**defaults, **_native_fields(entry, source, prefix)}
    for required in ("name", "host"):
        if required not in fields:
            raise InventoryError(source, entry.line, prefix, f"missing required field {required!r}")
    node = Node(name=_name(*fields.pop("name")), host=_string(*fields.pop("host")))
    raw_vars = fields.pop("vars", None)
    for key, (value, at) in fields.items():
        setattr(node, key, _CHECKS[key](value, at))
    if raw_vars is not None:
        node.vars = dict(_expect_map(raw_vars[0], raw_vars[1], "variables"))
    return node


def _load_native(doc: _Map, source: Path) -> Inventory:
    _reject_unknown(doc, NATIVE_TOP, source, "", "the inventory")
    cluster_map = _expect_map(doc.get("cluster"), _At(source, doc.key_lines.get("cluster"),
                                                       "cluster"), "the cluster")
    _reject_unknown(cluster_map, CLUSTER_FIELDS, source, "cluster", "the cluster")
    defaults_map = _expect_map(doc.get("defaults"), _At(source, doc.key_lines.get("defaults"),
                                                         "defaults"), "node defaults")
    _reject_unknown(defaults_map, DEFAULT_FIELDS, source, "defaults", "node defaults")
    defaults = _native_fields(defaults_map, source, "defaults")
    nodes_at = _At(source, doc.key_lines["nodes"], "nodes")
    entries = doc["nodes"]
    if not isinstance(entries, _Seq) or not entries:
        raise nodes_at.error(f"expected a non-empty list of nodes, got {_kind(entries)}")
    nodes: list[Node] = []
    lines: dict[str, int] = {}
    for index, (entry, line) in enumerate(zip(entries, entries.item_lines, strict=True)):
        node = _native_node(entry, line, source, index, defaults)
        if node.name in lines:
            raise InventoryError(source, line, f"nodes[{index}].name",
                                 f"duplicate node name {node.name!r} (first at line "
                                 f"{lines[node.name]})", hint="node names must be unique")
        lines[node.name] = line
        nodes.append(node)
    return Inventory(nodes, _cluster(_native_fields(cluster_map, source, "cluster")), source)


# --- Ansible shape ----------------------------------------------------------------------------


@dataclass
class _AnsibleHost:
    line: int
    groups: list[str] = field(default_factory=list)
    vars: dict[str, tuple[Any, _At]] = field(default_factory=dict)


def _var_map(value: Any, at: _At, source: Path) -> dict[str, tuple[Any, _At]]:
    mapping = _expect_map(value, at, "variables")
    return {str(k): (v, _At(source, mapping.key_lines[k], _join(at.path, k)))
            for k, v in mapping.items()}


def _walk_group(name: str, group: Any, at: _At, source: Path,
                inherited: dict[str, tuple[Any, _At]], chain: list[str],
                hosts: dict[str, _AnsibleHost]) -> None:
    """Collect hosts depth-first; a host's own vars beat its group's, a child group's beat its
    parent's (Ansible's precedence). A host listed under several groups gets all of them."""
    if group is not None and not isinstance(group, _Map):
        hint = _did_you_mean(name, ("all", *NATIVE_TOP)) if not chain else None
        raise at.error(f"expected an Ansible group (a mapping with {', '.join(GROUP_KEYS)}), "
                       f"got {_kind(group)}", hint=hint)
    group = _expect_map(group, at, "a group")
    _reject_unknown(group, GROUP_KEYS, source, at.path, "an Ansible group")
    chain = [*chain, name]
    group_vars = {**inherited}
    if "vars" in group:
        group_vars.update(_var_map(group["vars"], _At(source, group.key_lines["vars"],
                                                      f"{at.path}.vars"), source))
    host_map = _expect_map(group.get("hosts"), _At(source, group.key_lines.get("hosts"),
                                                   f"{at.path}.hosts"), "hosts")
    for host_name, host_vars in host_map.items():
        line = host_map.key_lines[host_name]
        host_at = _At(source, line, f"{at.path}.hosts.{host_name}")
        host = hosts.setdefault(str(host_name), _AnsibleHost(line))
        host.groups.extend(g for g in chain if g != "all" and g not in host.groups)
        host.vars.update(group_vars)
        host.vars.update(_var_map(host_vars, host_at, source))
    children = _expect_map(group.get("children"), _At(source, group.key_lines.get("children"),
                                                      f"{at.path}.children"), "child groups")
    for child_name, child in children.items():
        child_at = _At(source, children.key_lines[child_name], f"{at.path}.children.{child_name}")
        _walk_group(str(child_name), child, child_at, source, group_vars, chain, hosts)


def _ansible_node(name: str, host: _AnsibleHost, source: Path) -> Node:
    node = Node(name=_name(name, _At(source, host.line, name)), host=name,
                groups=tuple(host.groups))
    for key, (value, at) in host.vars.items():
        if key in SECRET_VARS:
            raise at.error("passwords are not accepted", hint="use key authentication "
                           "(ansible_ssh_private_key_file) and passwordless sudo")
        if key in ANSIBLE_FIELDS:
            target = ANSIBLE_FIELDS[key]
            if target == "connection":
                node.connection = _connection(value, at, ANSIBLE_CONNECTION_ALIASES)
            else:
                setattr(node, target, _CHECKS[target](value, at))
        elif key in ("cri_endpoint", "docker_endpoint"):
            setattr(node, key, _endpoint(value, at))
        elif key in CLUSTER_FIELDS:
            if not at.path.startswith("all.vars."):
                raise at.error("is a cluster setting", hint=f"put {key} under all.vars")
        elif hint := _did_you_mean(key, (*ANSIBLE_FIELDS, *HARNESS_VARS), TYPO_CUTOFF):
            raise at.error("unknown variable", hint=hint)
        else:
            node.vars[key] = value
    return node


def _load_ansible(doc: _Map, source: Path) -> Inventory:
    hosts: dict[str, _AnsibleHost] = {}
    # Top-level keys are groups; `all` is the implicit parent of every other one.
    all_group = doc.get("all")
    all_vars: dict[str, tuple[Any, _At]] = {}
    if isinstance(all_group, _Map) and "vars" in all_group:
        all_vars = _var_map(all_group["vars"], _At(source, all_group.key_lines["vars"],
                                                   "all.vars"), source)
    for name, group in doc.items():
        at = _At(source, doc.key_lines[name], str(name))
        _walk_group(str(name), group, at, source, {} if name == "all" else all_vars, [], hosts)
    if not hosts:
        raise InventoryError(source, doc.line, "all.hosts", "no hosts in the inventory",
                             hint="list at least one host under all.hosts or a child group")
    nodes = [_ansible_node(name, host, source) for name, host in hosts.items()]
    return Inventory(nodes, _cluster({k: v for k, v in all_vars.items()
                                      if k in CLUSTER_FIELDS}), source)


# --- Entry points -----------------------------------------------------------------------------


def load_inventory(path: str | Path) -> Inventory:
    """Read and validate an inventory in either shape; raise InventoryError at the first fault."""
    source = Path(path)
    doc = _parse_yaml(source)
    if doc is None:
        raise InventoryError(source, None, "", "the file is empty",
                             hint="see examples/inventory.yaml for the expected shape")
    if not isinstance(doc, _Map):
        raise InventoryError(source, 1, "", f"expected a mapping at the top, got {_kind(doc)}",
                             hint="start with `nodes:` (harness shape) or `all:` (Ansible shape)")
    if any(key in doc for key in NATIVE_TOP):
        if "nodes" not in doc:
            raise InventoryError(source, doc.line, "nodes", "missing required field 'nodes'")
        return _load_native(doc, source)
    return _load_ansible(doc, source)


def load_inventory_or_none(path: str | Path | None) -> Inventory | None:
    """The inventory named on the command line or in $HARNESS_INVENTORY; None means "no
    inventory given": callers then use the local lab's nodes."""
    if path:
        return load_inventory(path)
    if not (path := os.environ.get("HARNESS_INVENTORY")):
        return None
    try:
        return load_inventory(path)
    except InputError as err:  # say where the file came from: no flag named it
        raise InputError(f"$HARNESS_INVENTORY: {err.message}", hint=err.hint) from None
