"""Images written by another tool (skopeo: a docker-archive and a gzip-compressed OCI layout)
pass the image-spec checks and unpack to the same rootfs as the fixture they came from."""

import os
import shutil
import subprocess

import pytest

from harness import images
from harness.oci.imagespec import check_image
from harness.oci.unpack import find_manifest, unpack

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed"),
]


@pytest.fixture(scope="module")
def busybox():
    return images.build("busybox")


def skopeo_copy(source: str, dest: str, *flags: str) -> None:
    subprocess.run(["skopeo", "copy", "-q", *flags, source, dest], check=True, timeout=120)


def tree(root) -> dict[str, tuple]:
    """relative path -> (type, content or link target, mode) for every entry under root."""
    out = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            stat = os.lstat(path)
            if os.path.islink(path):
                body = ("link", os.readlink(path))
            elif os.path.isdir(path):
                body = ("dir", None)
            else:
                with open(path, "rb") as f:
                    body = ("file", f.read())
            out[os.path.relpath(path, root)] = (*body, stat.st_mode)
    return out


def test_skopeo_docker_archive_passes_checks(busybox, tmp_path):
    archive = tmp_path / "docker.tar"
    skopeo_copy(f"oci:{busybox.oci_layout}:1.0", f"docker-archive:{archive}:{busybox.ref}")
    report = check_image(archive, tmp_path / "work")
    assert report.kind == "docker-archive"
    assert {rule: found for rule, found in report.problems.items() if found} == {}


def test_skopeo_gzip_layout_passes_checks_and_unpacks_identically(busybox, tmp_path):
    layout = tmp_path / "gzip-layout"
    skopeo_copy(f"oci:{busybox.oci_layout}:1.0", f"oci:{layout}:1.0", "--dest-compress")
    assert all(layer["mediaType"].endswith("+gzip") for layer in find_manifest(layout)["layers"])
    report = check_image(layout, tmp_path / "work")
    assert {rule: found for rule, found in report.problems.items() if found} == {}
    original = unpack(busybox.oci_layout, tmp_path / "original")
    converted = unpack(layout, tmp_path / "converted")
    assert tree(converted) == tree(original)
