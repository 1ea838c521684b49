"""Unpack an OCI image layout into a root filesystem (image-spec image-layout.md, manifest.md,
layer.md): index.json -> manifest for this platform -> layers applied in order, with whiteouts.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tarfile
from pathlib import Path

from harness.errors import InputError

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
MANIFEST_TYPES = {
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
}
REF_NAME = "org.opencontainers.image.ref.name"
FILTER_ERROR = getattr(tarfile, "FilterError", ())  # Python < 3.11.4 has no extraction filters


def blob_path(layout: Path, digest: str) -> Path:
    algorithm, _, encoded = digest.partition(":")
    return layout / "blobs" / algorithm / encoded


def read_json_blob(layout: Path, digest: str) -> dict:
    path = blob_path(layout, digest)
    if not path.is_file():
        raise InputError(f"{layout}: blob {digest} is missing", hint="re-export the image")
    return json.loads(path.read_bytes())


def find_manifest(layout: Path, ref: str | None = None, arch: str = "amd64") -> dict:
    """The manifest for linux/<arch>, following nested indexes; `ref` picks an index.json
    entry by its org.opencontainers.image.ref.name annotation."""
    index_file = layout / "index.json"
    if not index_file.is_file():
        raise InputError(f"{layout}: no index.json, not an OCI image layout")
    entries = json.loads(index_file.read_text())["manifests"]
    if ref is not None:
        entries = [e for e in entries if (e.get("annotations") or {}).get(REF_NAME) == ref]
        if not entries:
            raise InputError(f"{layout}: no index.json entry with {REF_NAME}={ref!r}")
    return _pick(layout, entries, arch)


def _pick(layout: Path, entries: list[dict], arch: str) -> dict:
    for entry in entries:
        platform = entry.get("platform") or {}
        if platform and (platform.get("os"), platform.get("architecture")) != ("linux", arch):
            continue
        if entry["mediaType"] in MANIFEST_TYPES:
            return read_json_blob(layout, entry["digest"])
        if entry["mediaType"] in INDEX_TYPES:
            return _pick(layout, read_json_blob(layout, entry["digest"])["manifests"], arch)
    raise InputError(f"{layout}: no image manifest for linux/{arch}")


def unpack(layout: Path, dest: Path, ref: str | None = None) -> Path:
    """Apply every layer of the chosen manifest, lowest first, onto `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for layer in find_manifest(layout, ref)["layers"]:
        with _open_layer(blob_path(layout, layer["digest"]), layer["mediaType"]) as tar:
            apply_layer(tar, dest)
    return dest


def _open_layer(path: Path, media_type: str) -> tarfile.TarFile:
    if media_type.endswith("+zstd") or media_type.endswith(".zstd"):
        raise InputError(f"{path}: zstd layers are not supported by this unpacker")
    if media_type.endswith("gzip"):
        return tarfile.open(fileobj=gzip.open(path), mode="r|")
    return tarfile.open(path, mode="r|")


def apply_layer(tar: tarfile.TarFile, dest: Path) -> None:
    """layer.md#whiteouts: a whiteout hides a path of the LOWER layers only, so a layer's
    whiteouts are applied before its own entries are written."""
    members = list(_members(tar, dest))
    for name, _member, _data in members:
        base = os.path.basename(name)
        parent = dest / os.path.dirname(name)
        if base == OPAQUE:
            for child in parent.iterdir() if parent.is_dir() else ():
                _remove(child)
        elif base.startswith(WHITEOUT):
            _remove(parent / base[len(WHITEOUT) :])
    for name, member, data in members:
        if not os.path.basename(name).startswith(WHITEOUT):
            _extract(member, data, dest / name, dest)


def _members(tar: tarfile.TarFile, dest: Path):
    """(normalised name, member, file bytes) for each entry; names may not leave `dest`."""
    for member in tar:
        name = os.path.normpath(member.name.lstrip("/"))
        if name == "." or name.startswith(".."):
            continue
        data = tar.extractfile(member).read() if member.isfile() else None
        yield name, member, data


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _inside(dest: Path, path: Path) -> bool:
    """True when `path`'s parent resolves inside `dest` (a symlinked parent may not escape)."""
    real = os.path.realpath(path.parent)
    root = os.path.realpath(dest)
    return real == root or real.startswith(root + os.sep)


def _extract(member: tarfile.TarInfo, data: bytes | None, target: Path, dest: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not _inside(dest, target):
        raise InputError(f"layer entry {member.name} escapes the rootfs through a symlink")
    if member.isdir():
        if target.is_symlink() or (target.exists() and not target.is_dir()):
            _remove(target)
        target.mkdir(exist_ok=True)
    else:
        _remove(target)  # never write through an existing symlink
        if member.issym():
            os.symlink(member.linkname, target)
        elif member.islnk():
            os.link(dest / os.path.normpath(member.linkname.lstrip("/")), target)
        elif member.isfile():
            target.write_bytes(data or b"")
        elif member.ischr() or member.isblk():
            kind = 0o020000 if member.ischr() else 0o060000
            os.mknod(target, kind | member.mode, os.makedev(member.devmajor, member.devminor))
        elif member.isfifo():
            os.mkfifo(target, member.mode)
    os.lchown(target, member.uid, member.gid)
    if not member.issym():
        os.chmod(target, member.mode)
        os.utime(target, (member.mtime, member.mtime))


def extract_archive(archive: Path, target: Path) -> Path:
    """Unpack an image archive (an OCI layout or docker-archive tar) as plain files: the
    `data` extraction filter where Python has it (3.11.4+), else the same refusals by hand
    (Debian 12 nodes run 3.11.2): absolute names, `..`, devices, links leaving the archive."""
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        try:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(target, filter="data")
                return target
            unsafe = next((m.name for m in tar.getmembers() if _leaves_archive(m)), None)
            if unsafe is None:
                tar.extractall(target)
                return target
        except FILTER_ERROR as err:
            unsafe = err.tarinfo.name
    raise InputError(
        f"{archive}: member {unsafe!r} points outside the archive",
        hint="an image archive holds files, directories and links inside itself only",
    )


def _leaves_archive(member: tarfile.TarInfo) -> bool:
    name = os.path.normpath(member.name)
    if os.path.isabs(member.name) or name.startswith(".."):
        return True
    if member.isdev():
        return True
    if member.issym():
        pointed = os.path.normpath(os.path.join(os.path.dirname(name), member.linkname))
        return os.path.isabs(member.linkname) or pointed.startswith("..")
    if member.islnk():
        return os.path.isabs(member.linkname) or os.path.normpath(member.linkname).startswith("..")
    return False
