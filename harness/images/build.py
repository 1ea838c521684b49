"""Build an image from its recipe: expand layers, write deterministic tars, config, layouts.

The cache key covers everything that decides the output bytes: the expanded recipe chain,
the digest of every host file copied in (e.g. /bin/busybox), every C source with the gcc and
libc.a fingerprint, and the architecture.
"""

from __future__ import annotations

import os
import platform
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from harness.errors import InputError, MissingToolError
from harness.images import cache, libraries, recipe
from harness.images.compile import compile_static, toolchain_fingerprint
from harness.images.image import BuiltImage, uid_of
from harness.images.layers import Bytes, Entry, HostFile, RandomBytes, file_digest, write_tar
from harness.images.layout import (
    Blob,
    canonical_json,
    write_docker_archive,
    write_oci_archive,
    write_oci_layout,
)

CREATED = "1970-01-01T00:00:00Z"
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


@dataclass(frozen=True)
class Plan:
    """A recipe chain expanded with its parameters: the layers and config to build."""

    name: str
    refs: tuple[str, ...]
    layers: tuple[tuple[str, tuple[dict, ...]], ...]  # (comment, entries) bottom first
    config: dict


def _expand_layers(rec: recipe.Recipe, params: dict) -> list[tuple[str, tuple[dict, ...]]]:
    out = []
    for layer in rec.layers:
        layer = recipe.substitute(layer, params)
        count = int(layer.get("repeat", 1))
        for i in range(count):
            each = recipe.substitute(layer, {"i": i}) if "repeat" in layer else layer
            out.append((str(each.get("comment", "")), tuple(each.get("entries") or [])))
    return out


def plan(name: str, params: dict, _seen: tuple[str, ...] = ()) -> Plan:
    if name in _seen:
        raise InputError(f"image recipe {name}: 'from' loops through {' -> '.join(_seen)}")
    rec = recipe.load(name)
    values = recipe.resolve_params(rec, params)
    layers, config = [], {}
    if rec.base:
        base = plan(str(rec.base), {}, (*_seen, name))
        layers, config = list(base.layers), dict(base.config)
    layers += _expand_layers(rec, values)
    config.update(recipe.substitute(rec.config, values))
    tags = [str(t) for t in recipe.substitute(list(rec.tags), values)]
    repo = recipe.substitute(rec.repository, values)
    return Plan(name, tuple(f"{repo}:{t}" for t in tags), tuple(layers), config)


def _mode(entry: dict, default: int) -> int:
    mode = entry.get("mode", default)
    return int(mode, 8) if isinstance(mode, str) else int(mode)


def _host_path(entry: dict) -> Path:
    path = Path(entry["host"] if "host" in entry else entry["applets"])
    if not path.is_file():
        raise MissingToolError(f"{path} not found (an image input)", hint="run scripts/setup.sh")
    return path


def _source_path(entry: dict) -> Path:
    path = recipe.RECIPES_DIR / entry["compile"]
    if not path.is_file():
        raise InputError(f"C source {path} not found", hint="add it next to the recipe")
    return path


def inputs(p: Plan) -> dict:
    """Everything the output bytes depend on, for the cache key."""
    files, sources, links = {}, {}, {}
    for _, entries in p.layers:
        for entry in entries:
            if "host" in entry:
                for copied in _copied(entry, {}):
                    if copied.content:
                        files[str(copied.content.path)] = file_digest(copied.content.path)
                    else:
                        links[copied.path] = copied.target
            if "applets" in entry:
                path = _host_path(entry)
                files[str(path)] = file_digest(path)
            if "compile" in entry:
                path = _source_path(entry)
                sources[entry["compile"]] = file_digest(path)
    result = {"plan": [p.refs, p.layers, p.config], "files": files, "arch": _arch()}
    if sources:
        result.update(sources=sources, toolchain=toolchain_fingerprint())
    if links:  # a host directory's symlinks (its files are in `files`)
        result.update(links=links)
    return result


def _arch() -> str:
    return ARCH.get(platform.machine(), platform.machine())


def _applets(binary: Path) -> list[str]:
    """Every applet path from `busybox --list-full`, minus busybox itself (it would replace
    the binary with a link to itself)."""
    out = subprocess.run([str(binary), "--list-full"], capture_output=True, text=True, check=True)
    return [line for line in out.stdout.split() if PurePosixPath(line).name != "busybox"]


def _host_dir(entry: dict) -> Path:
    path = Path(entry["host"])
    if not path.is_dir():
        raise MissingToolError(f"{path}: no such directory (an image input)",
                               hint="run scripts/setup.sh")
    return path


def _copied(spec: dict, owner: dict) -> list[Entry]:
    """A `host:` file at the entry's path, or a `host:` directory with its files and symlinks
    (not recursive); 0755 by default, not the host file's mode: same bytes everywhere. With
    `libraries: true`, also every shared library the copied files load, at the host's paths."""
    if "dir" in spec:
        where, root = spec["dir"].strip("/"), _host_dir(spec)
        entries = [Entry(where, "dir", _mode(spec, 0o755), **owner)]
        for path in sorted(root.iterdir()):
            inside = f"{where}/{path.name}"
            if path.is_symlink():
                entries.append(Entry(inside, "symlink", 0o777, target=os.readlink(path), **owner))
            elif path.is_file():
                entries.append(Entry(inside, "file", 0o755, content=HostFile(path), **owner))
    else:
        content = HostFile(_host_path(spec))
        entries = [Entry(spec["file"].strip("/"), "file", _mode(spec, 0o755), content=content,
                         **owner)]
    if spec.get("libraries"):
        loaded = {lib for e in entries if e.content for lib in libraries.closure(e.content.path)}
        entries += [Entry(str(lib).strip("/"), "file", 0o755, content=HostFile(lib))
                    for lib in sorted(loaded)]
    return entries


def _entries(spec: dict, workdir: Path) -> list[Entry]:
    owner = {"uid": int(spec.get("uid", 0)), "gid": int(spec.get("gid", 0))}
    if "host" in spec:
        return _copied(spec, owner)
    if "dir" in spec:
        return [Entry(spec["dir"].strip("/"), "dir", _mode(spec, 0o755), **owner)]
    if "symlink" in spec:
        return [Entry(spec["symlink"].strip("/"), "symlink", 0o777, target=spec["target"], **owner)]
    if "applets" in spec:
        target = "/" + spec["applets"].strip("/")
        return [Entry(p, "symlink", 0o777, target=target) for p in _applets(_host_path(spec))]
    path = spec["file"].strip("/")
    if "text" in spec:
        return [
            Entry(path, "file", _mode(spec, 0o644), content=Bytes(spec["text"].encode()), **owner)
        ]
    if "compile" in spec:
        binary = compile_static(_source_path(spec), workdir)
        return [Entry(path, "file", _mode(spec, 0o755), content=HostFile(binary), **owner)]
    content = RandomBytes(int(spec["random_bytes"]), int(spec.get("seed", 0)))
    return [Entry(path, "file", _mode(spec, 0o644), content=content, **owner)]


def _layer_entries(specs: tuple[dict, ...], below: set[str], workdir: Path) -> list[Entry]:
    """Sorted entries of one layer, with parent directories no lower layer has yet."""
    by_path: dict[str, Entry] = {}
    for spec in specs:
        for entry in _entries(spec, workdir):
            by_path[entry.path] = entry
    for path in list(by_path):
        for parent in PurePosixPath(path).parents:
            name = parent.as_posix()
            if name != "." and name not in by_path and name not in below:
                by_path[name] = Entry(name, "dir", 0o755)
    below.update(by_path)
    return [by_path[p] for p in sorted(by_path)]


def _config(p: Plan, diff_ids: list[str]) -> bytes:
    config = dict(p.config)
    if "ExposedPorts" in config:
        config["ExposedPorts"] = {str(port): {} for port in config["ExposedPorts"]}
    return canonical_json(
        {
            "created": CREATED,
            "architecture": _arch(),
            "os": "linux",
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [
                {"created": CREATED, "created_by": f"harness images: {comment}"}
                for comment, _ in p.layers
            ],
        }
    )


def write_image(p: Plan, out: Path) -> BuiltImage:
    """Build `p` into the empty directory `out`."""
    layers: list[Blob] = []
    below: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="hi-build-") as work:
        for index, (_, specs) in enumerate(p.layers):
            tar = out / f"layer-{index}.tar"
            digest, size = write_tar(tar, _layer_entries(specs, below, Path(work)))
            layers.append(Blob(digest, size, tar))
    config = _config(p, [layer.digest for layer in layers])
    platform_ = {"architecture": _arch(), "os": "linux"}
    manifest, config_blob, stored = write_oci_layout(
        out / "oci", config, layers, list(p.refs), platform_
    )
    for layer in layers:
        layer.path.unlink()  # the layout holds the only copy now
    write_oci_archive(out / "oci", out / "oci.tar")
    write_docker_archive(out / "docker.tar", config_blob, stored, list(p.refs))
    user = str(p.config.get("User", ""))
    return BuiltImage(
        name=p.name,
        ref=p.refs[0],
        refs=p.refs,
        digest=manifest.digest,
        config_digest=config_blob.digest,
        diff_ids=tuple(b.digest for b in layers),
        user=user,
        uid=uid_of(user),
        oci_layout=out / "oci",
        oci_archive=out / "oci.tar",
        docker_archive=out / "docker.tar",
        size=config_blob.size + sum(b.size for b in layers),
    )


def shipped_name(name: str, params: dict) -> str:
    """The directory a shipped image lives in: `large@size=1000` for parameters."""
    return "@".join([name, *(f"{k}={v}" for k, v in sorted(params.items()))])


def shipped(name: str, params: dict | None = None) -> BuiltImage | None:
    """An image built elsewhere and shipped with a staged harness (see harness.staging): nodes
    have neither gcc nor busybox-static, so they take the host's bytes as they are."""
    base = os.environ.get("HARNESS_SHIPPED_IMAGES")
    meta = Path(base, shipped_name(name, params or {}), "image.json") if base else None
    if meta is None or not meta.is_file():
        return None
    return BuiltImage.from_json(meta.read_text(), meta.parent)


def build(name: str, **params) -> BuiltImage:
    """Build (or take from the cache) the image of recipe `name` with `params`."""
    if image := shipped(name, params):
        return image
    p = plan(name, params)
    final = cache.entry_dir(name, cache.key(inputs(p)))
    with cache.building(final) as tmp:
        if tmp is not None:
            image = write_image(p, tmp)
            (tmp / "image.json").write_text(image.to_json(tmp))
    return BuiltImage.from_json((final / "image.json").read_text(), final)
