"""`harness containerd`: build containerd 2.x for a pinned version.

    harness containerd build --version 2.4.2 [--rebuild]

Progress goes to stderr; stdout gets the directory holding the verified binaries.
"""

from __future__ import annotations

import argparse

from harness.commands import go_build
from harness.containerd import build

BUILD_NOTES = f"""build tags: {' '.join(build.TAGS)} (the shim adds no_grpc)
CGO_ENABLED=0: static binaries needing no C headers; the btrfs snapshotter builds only with cgo,
so it is left out without a no_btrfs tag; devmapper and zfs are pure Go and stay in.
cache: ~/.cache/harness/containerd/<version>/bin ($HARNESS_CONTAINERD_CACHE overrides the root),
with a SHA256SUMS checked on every reuse; a mismatch is refused until --rebuild.
"""


def register(sub):
    return go_build.register(
        sub, "containerd", "containerd",
        "build containerd 2.x from the github.com/containerd/containerd/v2 Go module",
        "Build containerd, containerd-shim-runc-v2 and ctr for a pinned version, cached under "
        "~/.cache/harness/containerd.", build.RELEASES,
        description=f"Build containerd, containerd-shim-runc-v2 and ctr from {build.MODULE} at "
        "--version, static, with the version stamped in.",
        epilog=BUILD_NOTES, formatter_class=argparse.RawDescriptionHelpFormatter)


def run(args) -> int:
    return go_build.run(build.build, args)
