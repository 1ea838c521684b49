"""Image recipes: one small YAML file per image in fixtures/images/, read and checked here.

A recipe names its repository and tags, optional parameters (with defaults), an optional
`from:` recipe whose layers and config it extends, its layers (lists of entries) and its config.
`${param}` in any string is replaced by the parameter's value; `${i}` by the index of a layer
that sets `repeat: N`.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harness.errors import InputError
from harness.paths import shipped

RECIPES_DIR = shipped("fixtures") / "images"
DEFAULT_REGISTRY = "harness.local"

TOP_KEYS = {"description", "repository", "tags", "params", "from", "layers", "config"}
LAYER_KEYS = {"comment", "repeat", "entries"}
ENTRY_KINDS = ("dir", "file", "symlink", "applets")
ENTRY_KEYS = {
    *ENTRY_KINDS,
    "mode",
    "uid",
    "gid",
    "text",
    "host",
    "compile",
    "random_bytes",
    "seed",
    "target",
    "libraries",
}
CONFIG_KEYS = {
    "user": "User",
    "env": "Env",
    "entrypoint": "Entrypoint",
    "cmd": "Cmd",
    "workdir": "WorkingDir",
    "exposed_ports": "ExposedPorts",
    "labels": "Labels",
    "stop_signal": "StopSignal",
}


@dataclass(frozen=True)
class Recipe:
    name: str
    path: Path
    description: str
    repository: str
    tags: tuple[str, ...]
    params: dict = field(default_factory=dict)
    base: str | None = None
    layers: tuple[dict, ...] = ()
    config: dict = field(default_factory=dict)


def names(recipes_dir: Path | None = None) -> list[str]:
    recipes_dir = recipes_dir or RECIPES_DIR
    return sorted(p.stem for p in recipes_dir.glob("*.yaml"))


def _fail(path: Path, field_name: str, problem: str) -> InputError:
    return InputError(
        f"{path}: {field_name}: {problem}", hint="fix the recipe (see fixtures/images/README.md)"
    )


def _check_keys(path: Path, where: str, got: dict, allowed: set) -> None:
    unknown = sorted(set(got) - allowed)
    if unknown:
        raise _fail(
            path,
            where,
            f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}",
        )


def _check_layer(path: Path, index: int, layer: dict) -> None:
    where = f"layers[{index}]"
    if not isinstance(layer, dict):
        raise _fail(path, where, "must be a mapping with 'entries'")
    _check_keys(path, where, layer, LAYER_KEYS)
    for j, entry in enumerate(layer.get("entries") or []):
        ewhere = f"{where}.entries[{j}]"
        if not isinstance(entry, dict):
            raise _fail(path, ewhere, "must be a mapping")
        _check_keys(path, ewhere, entry, ENTRY_KEYS)
        kinds = [k for k in ENTRY_KINDS if k in entry]
        if len(kinds) != 1:
            raise _fail(path, ewhere, f"needs exactly one of {', '.join(ENTRY_KINDS)}")
        if (
            kinds == ["file"]
            and sum(k in entry for k in ("text", "host", "compile", "random_bytes")) != 1
        ):
            raise _fail(
                path, ewhere, "a file needs exactly one of text, host, compile, random_bytes"
            )
        if kinds == ["symlink"] and "target" not in entry:
            raise _fail(path, ewhere, "a symlink needs a target")
        if "libraries" in entry and "host" not in entry:
            raise _fail(path, ewhere, "libraries: copies a host: file's libraries; add host:")


def load(name: str, recipes_dir: Path | None = None) -> Recipe:
    recipes_dir = recipes_dir or RECIPES_DIR
    path = recipes_dir / f"{name}.yaml"
    if not path.is_file():
        raise InputError(
            f"unknown image recipe {name!r}", hint=f"known: {', '.join(names(recipes_dir))}"
        )
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise _fail(path, "yaml", str(err).replace("\n", " ")) from err
    if not isinstance(raw, dict):
        raise _fail(path, "top level", "must be a mapping")
    _check_keys(path, "top level", raw, TOP_KEYS)
    config = raw.get("config") or {}
    _check_keys(path, "config", config, set(CONFIG_KEYS))
    layers = raw.get("layers") or []
    for i, layer in enumerate(layers):
        _check_layer(path, i, layer)
    tags = raw.get("tags") or ["latest"]
    return Recipe(
        name=name,
        path=path,
        description=str(raw.get("description", "")),
        repository=str(raw.get("repository", f"{DEFAULT_REGISTRY}/{name}")),
        tags=tuple(str(t) for t in tags),
        params=dict(raw.get("params") or {}),
        base=raw.get("from"),
        layers=tuple(layers),
        config={CONFIG_KEYS[k]: v for k, v in config.items()},
    )


def resolve_params(recipe: Recipe, given: dict) -> dict:
    """Defaults overridden by `given`; a value must fit its default's type (e.g. a size)."""
    unknown = sorted(set(given) - set(recipe.params))
    if unknown:
        known = ", ".join(sorted(recipe.params)) or "none"
        raise InputError(
            f"image {recipe.name}: unknown parameter(s) {', '.join(unknown)}",
            hint=f"{recipe.path} declares: {known}",
        )
    values = dict(recipe.params)
    for key, value in given.items():
        kind = type(recipe.params[key])
        try:
            values[key] = kind(value)
        except ValueError as err:
            raise InputError(
                f"image {recipe.name}: parameter {key}={value!r} must be of type {kind.__name__}",
                hint=f"default in {recipe.path}: {recipe.params[key]!r}",
            ) from err
    return values


def substitute(value, params: dict):
    """Replace ${name} in every string of a YAML value; a whole-string ${n} keeps its type."""
    if isinstance(value, str):
        if value.startswith("${") and value.endswith("}") and value[2:-1] in params:
            return params[value[2:-1]]
        return string.Template(value).safe_substitute({k: str(v) for k, v in params.items()})
    if isinstance(value, list):
        return [substitute(v, params) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, params) for k, v in value.items()}
    return value
