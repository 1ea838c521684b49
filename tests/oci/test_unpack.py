"""harness.oci.unpack against real OCI layouts built here: layers in order, whiteouts and
opaque whiteouts (image-spec layer.md#whiteouts), gzip layers, hard links, and entries that
try to leave the rootfs."""

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.oci.unpack import unpack

pytestmark = pytest.mark.root  # layers carry uid 0 ownership and the unpacker applies it

LAYER = "application/vnd.oci.image.layer.v1.tar"


def tar_bytes(entries) -> bytes:
    """entries: (name, content) for files, (name, None) for directories,
    (name, ("symlink"|"hardlink", target)) for links."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in entries:
            info = tarfile.TarInfo(name)
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif isinstance(content, tuple):
                info.type = tarfile.SYMTYPE if content[0] == "symlink" else tarfile.LNKTYPE
                info.linkname = content[1]
                tar.addfile(info)
            else:
                info.size, info.mode = len(content), 0o644
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def write_blob(layout: Path, data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def make_layout(path: Path, layers: list[bytes], gzipped: bool = False) -> Path:
    (path / "blobs" / "sha256").mkdir(parents=True)
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    descriptors = [
        {"mediaType": LAYER + ("+gzip" if gzipped else ""),
         **write_blob(path, gzip.compress(layer) if gzipped else layer)}
        for layer in layers
    ]  # fmt: skip
    config = write_blob(path, json.dumps({"architecture": "amd64", "os": "linux"}).encode())
    manifest = {
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": descriptors,
    }
    entry = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
             **write_blob(path, json.dumps(manifest).encode())}  # fmt: skip
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return path


def unpacked(tmp_path, *layers, gzipped=False) -> Path:
    layout = make_layout(tmp_path / "layout", list(layers), gzipped)
    return unpack(layout, tmp_path / "rootfs")


def test_later_layer_replaces_file(tmp_path):
    rootfs = unpacked(
        tmp_path, tar_bytes([("etc/motd", b"one")]), tar_bytes([("etc/motd", b"two")])
    )
    assert (rootfs / "etc/motd").read_bytes() == b"two"


def test_whiteout_removes_lower_file_and_directory(tmp_path):
    lower = tar_bytes([("a/file", b"x"), ("b", None), ("b/inner", b"y")])
    upper = tar_bytes([("a/.wh.file", b""), (".wh.b", b"")])
    rootfs = unpacked(tmp_path, lower, upper)
    assert not (rootfs / "a/file").exists() and not (rootfs / "b").exists()
    assert not (rootfs / "a/.wh.file").exists()


def test_opaque_whiteout_hides_lower_children_only(tmp_path):
    lower = tar_bytes([("d", None), ("d/old", b"x")])
    upper = tar_bytes([("d", None), ("d/.wh..wh..opq", b""), ("d/new", b"y")])
    rootfs = unpacked(tmp_path, lower, upper)
    assert sorted(p.name for p in (rootfs / "d").iterdir()) == ["new"]


def test_whiteout_does_not_hide_same_layer_entry(tmp_path):
    """layer.md: files in the same layer as a whiteout are only hidden by later layers."""
    rootfs = unpacked(tmp_path, tar_bytes([("keep", b"k"), (".wh.keep", b"")]))
    assert (rootfs / "keep").read_bytes() == b"k"


def test_gzip_layers_and_hard_links(tmp_path):
    layer = tar_bytes([("bin/busybox", b"elf"), ("bin/sh", ("hardlink", "bin/busybox"))])
    rootfs = unpacked(tmp_path, layer, gzipped=True)
    assert (rootfs / "bin/sh").stat().st_ino == (rootfs / "bin/busybox").stat().st_ino


def test_file_replaces_lower_symlink_without_following_it(tmp_path):
    outside = tmp_path / "outside"
    outside.write_text("untouched")
    lower = tar_bytes([("link", ("symlink", str(outside)))])
    rootfs = unpacked(tmp_path, lower, tar_bytes([("link", b"new")]))
    assert outside.read_text() == "untouched"
    assert (rootfs / "link").read_bytes() == b"new"


def test_entry_through_escaping_symlink_is_refused(tmp_path):
    layer = tar_bytes([("escape", ("symlink", str(tmp_path))), ("escape/planted", b"x")])
    with pytest.raises(InputError, match="escapes the rootfs"):
        unpacked(tmp_path, layer)
    assert not (tmp_path / "planted").exists()
