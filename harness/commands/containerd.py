"""`harness containerd`: build containerd 2.x for a pinned version.

    harness containerd build --version 2.4.2 [--rebuild]

Progress goes to stderr; stdout gets the directory holding the verified binaries.
"""

from __future__ import annotations

import argparse

from harness.containerd import build

BUILD_NOTES = f"""build tags: {' '.join(build.TAGS)} (the shim adds no_grpc)
CGO_ENABLED=0: static binaries needing no C headers; the btrfs snapshotter builds only with cgo,
so it is left out without a no_btrfs tag; devmapper and zfs are pure Go and stay in.
cache: ~/.cache/harness/containerd/<version>/bin ($HARNESS_CONTAINERD_CACHE overrides the root),
with a SHA256SUMS checked on every reuse; a mismatch is refused until --rebuild.
"""


def register(sub):
    parser = sub.add_parser(
        "containerd",
        help="build containerd 2.x from the github.com/containerd/containerd/v2 Go module",
        description="Build containerd, containerd-shim-runc-v2 and ctr for a pinned version, "
        "cached under ~/.cache/harness/containerd.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    b = actions.add_parser(
        "build", help="build (or verify the cached) binaries",
        description="Build containerd, containerd-shim-runc-v2 and ctr from "
        f"{build.MODULE} at --version, static, with the version stamped in.",
        epilog=BUILD_NOTES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument(
        "--version", required=True, help=f"containerd version: {', '.join(build.RELEASES)}"
    )
    b.add_argument("--rebuild", action="store_true", help="ignore the cached binaries")
    return parser


def run(args) -> int:
    built = build.build(args.version, rebuild=args.rebuild)
    print(built.bin_dir)
    return 0
