"""Root filesystems for OCI bundles: the fixture busybox image unpacked per image-spec, as the
OCI suite uses it."""

from __future__ import annotations

from pathlib import Path

from harness import images
from harness.oci.unpack import unpack


def fixture_rootfs(dest: Path) -> Path:
    """The busybox fixture image (harness.images) unpacked into `dest`."""
    return unpack(Path(images.build("busybox").oci_layout), dest)
