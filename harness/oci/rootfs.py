"""Root filesystems for OCI bundles: the fixture busybox image unpacked per image-spec (what
the suite uses), or a lighter one assembled from the host's static busybox (driver tests)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from harness import images
from harness.errors import MissingToolError
from harness.oci.unpack import unpack

BUSYBOX = "/bin/busybox"
ETC_FILES = {
    "passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    "group": "root:x:0:\nnogroup:x:65534:\n",
}


def busybox_rootfs(dest: Path) -> Path:
    """/bin/busybox plus one symlink per applet. Not a `busybox` link: that would overwrite the
    binary with a link to itself (lab notes)."""
    if not os.access(BUSYBOX, os.X_OK):
        raise MissingToolError(f"{BUSYBOX} not found", hint="apt-get install busybox-static")
    bin_dir = dest / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, bin_dir / "busybox")
    applets = subprocess.run(
        [BUSYBOX, "--list"], capture_output=True, text=True, check=True, timeout=10
    ).stdout.split()
    for applet in applets:
        if applet != "busybox":
            (bin_dir / applet).symlink_to("busybox")
    for name in ("proc", "sys", "dev", "tmp", "etc", "root"):
        (dest / name).mkdir(exist_ok=True)
    for name, text in ETC_FILES.items():
        (dest / "etc" / name).write_text(text)
    return dest


def fixture_rootfs(dest: Path) -> Path:
    """The busybox fixture image (harness.images) unpacked into `dest`."""
    return unpack(Path(images.build("busybox").oci_layout), dest)
