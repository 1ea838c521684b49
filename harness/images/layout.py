"""Writers for the two on-disk image formats: an OCI image layout and a docker-archive.

Layers are uncompressed tars (`application/vnd.oci.image.layer.v1.tar`), so a layer's blob
digest equals its diff_id and the docker-archive's `layer.tar` is the very same file: no
compressor whose output could vary between machines.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from harness.images.layers import Bytes, Entry, HostFile, file_digest, write_tar

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"
ANNOTATION_IMAGE_NAME = "io.containerd.image.name"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"


def canonical_json(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Blob:
    """A content-addressed file: its digest, size and where it is on disk."""

    digest: str
    size: int
    path: Path

    @property
    def hex(self) -> str:
        return self.digest.split(":", 1)[1]

    def descriptor(self, media_type: str) -> dict:
        return {"mediaType": media_type, "digest": self.digest, "size": self.size}


def tag_of(ref: str) -> str:
    """The tag part of "host/repo:tag" (a registry port is not a tag)."""
    name = ref.rsplit("/", 1)[-1]
    return name.rsplit(":", 1)[1] if ":" in name else "latest"


def manifest_json(config: Blob, layers: list[Blob]) -> bytes:
    return canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": MT_MANIFEST,
            "config": config.descriptor(MT_CONFIG),
            "layers": [layer.descriptor(MT_LAYER) for layer in layers],
        }
    )


def index_json(manifest: Blob, refs: list[str], platform: dict) -> bytes:
    """One descriptor per ref: containerd reads the full name, OCI tools the tag."""
    manifests = [
        {
            **manifest.descriptor(MT_MANIFEST),
            "platform": platform,
            "annotations": {ANNOTATION_IMAGE_NAME: ref, ANNOTATION_REF_NAME: tag_of(ref)},
        }
        for ref in refs
    ]
    return canonical_json({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": manifests})


def put_blob(blobs_dir: Path, data_or_path: bytes | Path) -> Blob:
    """Store bytes (or hard-link/copy a file already digested by the caller) under blobs/."""
    blobs_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(data_or_path, bytes):
        digest = "sha256:" + hashlib.sha256(data_or_path).hexdigest()
        dest = blobs_dir / digest.split(":")[1]
        dest.write_bytes(data_or_path)
        return Blob(digest, len(data_or_path), dest)
    digest = file_digest(data_or_path)
    dest = blobs_dir / digest.split(":")[1]
    if not dest.exists():
        try:
            os.link(data_or_path, dest)
        except OSError:
            shutil.copyfile(data_or_path, dest)
    return Blob(digest, dest.stat().st_size, dest)


def write_oci_layout(
    root: Path, config: bytes, layers: list[Blob], refs: list[str], platform: dict
) -> tuple[Blob, Blob, list[Blob]]:
    """Write an OCI image layout at `root`; return its manifest, config and layer blobs."""
    blobs = root / "blobs" / "sha256"
    config_blob = put_blob(blobs, config)
    stored = [put_blob(blobs, layer.path) for layer in layers]
    manifest = put_blob(blobs, manifest_json(config_blob, stored))
    (root / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))
    (root / "index.json").write_bytes(index_json(manifest, refs, platform))
    return manifest, config_blob, stored


def _tree_entries(root: Path) -> list[Entry]:
    entries = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_dir():
            entries.append(Entry(rel, "dir", 0o755))
        else:
            entries.append(Entry(rel, "file", 0o644, content=HostFile(path)))
    return entries


def write_oci_archive(layout: Path, dest: Path) -> None:
    """The layout as one tar: what `ctr images import` and `skopeo oci-archive:` read."""
    write_tar(dest, _tree_entries(layout))


def write_docker_archive(dest: Path, config: Blob, layers: list[Blob], refs: list[str]) -> None:
    """docker-archive (`docker save` format): manifest.json, <config>.json, <id>/layer.tar."""
    manifest = [
        {
            "Config": f"{config.hex}.json",
            "RepoTags": list(refs),
            "Layers": [f"{layer.hex}/layer.tar" for layer in layers],
        }
    ]
    entries = [Entry(f"{config.hex}.json", "file", content=HostFile(config.path))]
    for layer in layers:
        entries += [
            Entry(layer.hex, "dir", 0o755),
            Entry(f"{layer.hex}/VERSION", "file", content=Bytes(b"1.0")),
            Entry(f"{layer.hex}/layer.tar", "file", content=HostFile(layer.path)),
        ]
    entries.append(Entry("manifest.json", "file", content=Bytes(canonical_json(manifest))))
    write_tar(dest, sorted(entries, key=lambda e: e.path))
