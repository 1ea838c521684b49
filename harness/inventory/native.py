"""The harness-native inventory shape (`cluster:`, `defaults:`, `nodes:`; examples/inventory.yaml):
read with line numbers, validated against native.schema.json, converted once into Nodes.

Every problem is one line `FILE:LINE: FIELD: what was expected`, FIELD being the schema path
(`nodes[0].port`), so a user can jump straight to it."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from harness import files
from harness.inventory import values
from harness.inventory.records import At, Cluster, Inventory, InventoryError, Node

SCHEMA_FILE = Path(__file__).with_name("native.schema.json")
TOP_FIELDS = ("cluster", "defaults", "nodes")

# --- YAML with line numbers -------------------------------------------------------------------


class _Map(dict):
    """A mapping that remembers the line of itself and of each of its keys."""

    def __init__(self):
        super().__init__()
        self.line = 0
        self.key_lines: dict = {}


class _Seq(list):
    line: int = 0
    item_lines: list


class _Loader(yaml.SafeLoader):
    source: Path


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line = node.start_mark.line + 1
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


def parse_yaml(source: Path) -> tuple[Any, InventoryError | None]:
    """The file's YAML document, or the error that says where it is malformed (an INI inventory
    is not YAML: the caller decides whether the error counts)."""
    loader = _Loader(files.read_text(source, "inventory file",
                                     "pass the path of an existing inventory (see examples/)"))
    loader.source = source
    try:
        return loader.get_single_data(), None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = " ".join(str(err.problem or err.context or "invalid YAML").split())
        return None, InventoryError(source, mark.line + 1 if mark else None, "",
                                    f"malformed YAML: {problem}",
                                    hint="fix the syntax (indentation, quotes, colons)")
    except yaml.YAMLError as err:
        problem = " ".join(str(err).split())
        return None, InventoryError(source, None, "", f"malformed YAML: {problem}")
    finally:
        loader.dispose()


# --- Schema -----------------------------------------------------------------------------------


@cache
def schema() -> dict:
    """native.schema.json, with the refused variable names filled in from the one list both
    shapes use."""
    doc = json.loads(SCHEMA_FILE.read_text())
    doc["$defs"]["secret_vars"]["enum"] = list(values.SECRET_VARS)
    doc["$defs"]["connection_vars"]["enum"] = list(values.CONNECTION_VARS)
    return doc


def _field(path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _line(doc: _Map, path) -> int:
    line, item = doc.line, doc
    for key in path:
        line = item.key_lines[key] if isinstance(item, _Map) else item.item_lines[key]
        item = item[key]
    return line


def _allowed(subschema: dict) -> list[str]:
    """The fields a mapping may have: its own properties and those of the $ref it extends."""
    fields = list(subschema.get("properties", {}))
    if "$ref" in subschema:
        fields += list(schema()["$defs"][subschema["$ref"].rsplit("/", 1)[1]]["properties"])
    return fields


def _error(doc: _Map, source: Path, err: jsonschema.ValidationError) -> InventoryError:
    path, instance, sub = list(err.absolute_path), err.instance, err.schema
    if err.validator in ("additionalProperties", "unevaluatedProperties"):
        allowed = _allowed(sub)
        key = next(k for k in instance if k not in allowed)
        return InventoryError(source, _line(doc, [*path, key]), _field([*path, key]),
                              f"unknown field in {sub['title'].split(' (')[0]}",
                              hint=values.did_you_mean(key, allowed)
                              or f"allowed: {', '.join(allowed)}")
    if err.validator == "required":
        missing = next(f for f in sub["required"] if f not in instance)
        return InventoryError(source, _line(doc, path), _field(path) or missing,
                              f"missing required field {missing!r}")
    if "propertyNames" in err.schema_path:
        # the failing name is the instance; its own line is that of its key
        return InventoryError(source, _line(doc, [*path, instance]),
                              _field([*path, instance]), sub["title"], hint=sub.get("x-hint"))
    hint = f'quote it: "{instance}" (YAML reads 1.20 as 1.2)' \
        if isinstance(instance, float) and sub.get("type") == "string" else None
    return InventoryError(source, _line(doc, path), _field(path),
                          f"expected {sub.get('title', 'another value')}, got "
                          f"{values.kind(instance)}", hint=hint)


def _validate(doc: _Map, source: Path) -> None:
    validator = jsonschema.Draft202012Validator(schema())
    errors = list(validator.iter_errors(doc))
    if errors:
        # the first one in the file; for a value several rules refuse, the innermost
        first = min(errors, key=lambda e: (_line(doc, e.absolute_path), -len(e.absolute_path)))
        raise _error(doc, source, _innermost(first))


def _innermost(err: jsonschema.ValidationError) -> jsonschema.ValidationError:
    while err.context:
        err = min(err.context, key=lambda e: -len(e.absolute_path))
    return err


# --- Conversion -------------------------------------------------------------------------------


def _path(value: str, source: Path) -> Path:
    """Relative paths are read from the inventory's own directory; ~ is expanded. realpath, not
    resolve(): a symlink loop is left for the file's own check to name."""
    return Path(os.path.realpath(source.parent / Path(value).expanduser()))


def _node(entry: _Map, defaults: _Map, source: Path, index: int) -> Node:
    fields = {**defaults, **entry}

    def at(key: str) -> At:
        own = key in entry
        where = entry if own else defaults
        return At(source, where.key_lines[key], f"nodes[{index}].{key}" if own else
                  f"defaults.{key}")

    name = values.node_name(entry["name"], at("name"))
    node = Node(name=name, host=values.host(entry["host"], at("host"), name))
    for key, value in fields.items():
        if key == "port":
            node.port = value
        elif key == "user":
            node.user = values.user(value, at(key), name)
        elif key == "ssh_key":
            node.ssh_key = values.private_key(_path(value, source), at(key))
        elif key in ("become", "connection"):
            setattr(node, key, value)
        elif key == "groups":
            node.groups = tuple(value)
        elif key in ("cri_endpoint", "docker_endpoint"):
            setattr(node, key, values.endpoint(value, at(key)))
        elif key == "vars":
            node.vars = {var: values.ssh_args(setting, At(source, at(key).line,
                                                          f"{at(key).path}.{var}"))
                         if var in values.SSH_ARG_VARS else setting
                         for var, setting in (value or {}).items()}
    return node


def load(doc: _Map, source: Path) -> Inventory:
    """Validate a native-shaped document and convert it into the typed records."""
    _validate(doc, source)
    defaults = doc.get("defaults") or _Map()
    nodes: list[Node] = []
    lines: dict[str, int] = {}
    for index, (entry, line) in enumerate(zip(doc["nodes"], doc["nodes"].item_lines,
                                              strict=True)):
        node = _node(entry, defaults, source, index)
        if node.name in lines:
            raise InventoryError(source, line, f"nodes[{index}].name",
                                 f"duplicate node name {node.name!r} (first at line "
                                 f"{lines[node.name]})", hint="node names must be unique")
        lines[node.name] = line
        nodes.append(node)
    cluster_map = doc.get("cluster") or {}
    cluster = Cluster()
    if "kubeconfig" in cluster_map:
        cluster.kubeconfig = _path(cluster_map["kubeconfig"], source)
    if "kubernetes_version" in cluster_map:
        cluster.kubernetes_version = values.version(
            cluster_map["kubernetes_version"],
            At(source, cluster_map.key_lines["kubernetes_version"], "cluster.kubernetes_version"))
    return Inventory(nodes, cluster, source, shape="native")
