"""containerd, its runc shim and ctr, built for one pinned 2.x version from the
github.com/containerd/containerd/v2 Go module and cached like the Kubernetes binaries.

The module has no replace lines, so a wrapper module that requires it builds the three
commands. CGO is off: the binaries are static and need no C headers. That alone drops the
btrfs snapshotter (its files build only with cgo), so no `no_btrfs` tag is needed; devmapper
and zfs are pure Go and stay in. The tags are those of containerd's own static release:
`osusergo netgo static_build` (Go's user and DNS lookups, no libc), `urfave_cli_no_docs` (no
man-page generator linked in), and `no_grpc` for the shim only (it speaks ttrpc).

Layout per version, under ~/.cache/harness/containerd/<version>/ ($HARNESS_CONTAINERD_CACHE
overrides the root):
    go.mod, go.sum, tools.go   the wrapper module
    bin/<binary>, bin/SHA256SUMS
    build.log                  everything the go tool printed
<version>.lock beside it is held while checking or building, so parallel callers build once.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from filelock import FileLock

from harness import gobuild, paths

MODULE = "github.com/containerd/containerd/v2"
BINARIES = ("containerd", "containerd-shim-runc-v2", "ctr")
# Version -> the minimum Go its go.mod states. 2.4.2 is the newest the module proxy served
# that `go get` accepted with Go 1.26 here.
RELEASES = {"2.4.2": "1.26.6"}
DEFAULT_VERSION = "2.4.2"
TAGS = ("urfave_cli_no_docs", "osusergo", "netgo", "static_build")
SHIM_TAGS = (*TAGS, "no_grpc")


def cache_root() -> Path:
    """$HARNESS_CONTAINERD_CACHE, else ~/.cache/harness/containerd."""
    return paths.cache_dir("containerd", "HARNESS_CONTAINERD_CACHE")


def check_version(version: str, flag: str = "--version") -> str:
    """`version` without its "v", if it is one this harness can build; else an InputError."""
    return gobuild.pinned(version, RELEASES, flag, "a containerd version this harness can "
                             "build", "harness/containerd/build.py")


def build(version: str = DEFAULT_VERSION, *, rebuild: bool = False, say=None,
          flag: str = "--version") -> gobuild.Built:
    """The verified binaries of `version`, built first if not cached (or if `rebuild`)."""
    version = check_version(version, flag)
    say = say or gobuild.progress
    work = cache_root() / version
    bin_dir = work / "bin"
    work.mkdir(parents=True, exist_ok=True)
    with FileLock(str(work) + ".lock"):
        if not rebuild and (bin_dir / "SHA256SUMS").exists():
            gobuild.verify(bin_dir, f"rebuild with `harness containerd build --version "
                                       f"{version} --rebuild`")
            say(f"containerd {version}: cached binaries verified in {bin_dir}")
            return gobuild.Built(version, bin_dir)
        go = gobuild.find_go(RELEASES[version], purpose=f"containerd {version}")
        _build(version, go, work, say)
    return gobuild.Built(version, bin_dir)


def _build(version: str, go: str, work: Path, say) -> None:
    runner = gobuild.GoRunner(go, work, what=f"containerd {version}")
    runner.env.update(CGO_ENABLED="0", GOFLAGS="-mod=mod -trimpath")
    runner.log.write_text("")  # the log of the last build only
    _write_wrapper(work, version)
    started = time.monotonic()
    say(f"containerd {version}: resolving {MODULE} (log: {runner.log})")
    runner.run("mod", "tidy")
    say(f"containerd {version}: compiling {', '.join(BINARIES)} (a few minutes when cold)")
    out = work / ".bin-new"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    ldflags = _ldflags(version)
    for tags, names in ((TAGS, ("containerd", "ctr")), (SHIM_TAGS, ("containerd-shim-runc-v2",))):
        runner.run("build", "-tags", " ".join(tags), "-ldflags", ldflags, "-o", f"{out}/",
                   *(f"{MODULE}/cmd/{name}" for name in names))
    gobuild.write_checksums(out, BINARIES)
    shutil.rmtree(work / "bin", ignore_errors=True)
    os.rename(out, work / "bin")
    say(f"containerd {version}: built in {time.monotonic() - started:.0f}s -> {work / 'bin'}")


def _write_wrapper(work: Path, version: str) -> None:
    (work / "go.mod").write_text(
        f"module harness.local/containerdbuild\n\ngo {RELEASES[version]}\n\n"
        f"require {MODULE} v{version}\n"
    )
    # tools.go keeps the commands' dependencies in the build list through `go mod tidy`.
    imports = "".join(f'\t_ "{MODULE}/cmd/{name}"\n' for name in BINARIES)
    (work / "tools.go").write_text(f"//go:build tools\n\npackage tools\n\nimport (\n{imports})\n")


def _ldflags(version: str) -> str:
    """The version the daemon reports (`--version`, the CRI's RuntimeVersion, so the node's
    containerRuntimeVersion reads containerd://<version>); stripped as release builds are."""
    return f"-s -w -X {MODULE}/version.Version={version}"
