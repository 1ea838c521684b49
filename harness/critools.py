"""cri-tools binaries built from the sigs.k8s.io/cri-tools Go module and cached: crictl (a
command, `go install`) and critest (a Ginkgo test binary, `go test -c` as cri-tools' Makefile
builds it). One build path for both, so they share the version pin, the stamping and the
checksummed cache.

The version is stamped in as cri-tools' release script does (else they print "unknown"); CGO
is off, so the binaries are static and run on any node; -trimpath and fixed flags make a
rebuild byte for byte the same.

Layout, under ~/.cache/harness/<tool>/ ($HARNESS_<TOOL>_CACHE overrides it):
    <version>/<tool>, <version>/SHA256SUMS, <version>/build.log
    <version>.lock             held while checking or building, so parallel callers build once
    .<version>-new/            the build in progress, renamed to <version>/ once checksummed

The Go build cache is the default one (~/.cache/go-build), so a rebuild takes seconds.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from harness import gobuild, paths

MODULE = "sigs.k8s.io/cri-tools"
VERSION_VAR = f"{MODULE}/pkg/version.Version"
DEFAULT_VERSION = "1.37.0"
# The versions the module proxy serves here, each with the minimum Go its go.mod states.
RELEASES = {"1.34.0": "1.24.1", "1.37.0": "1.26.6"}


@dataclass(frozen=True)
class Tool:
    name: str  # the binary, its cache directory and its package cmd/<name>
    test_binary: bool  # a Ginkgo suite (package main of _test.go files): `go test -c`
    # Commands built beside a test binary, in its module graph, cached and checksummed with it.
    helpers: tuple[str, ...] = ()

    @property
    def package(self) -> str:
        return f"{MODULE}/cmd/{self.name}"

    @property
    def binaries(self) -> tuple[str, ...]:
        """What the cache holds: the tool, then each helper named after its package."""
        return (self.name, *(helper.rsplit("/", 1)[1] for helper in self.helpers))

    def cache_root(self) -> Path:
        """$HARNESS_<NAME>_CACHE, else ~/.cache/harness/<name>."""
        return paths.cache_dir(self.name, f"HARNESS_{self.name.upper()}_CACHE")


CRICTL = Tool("crictl", test_binary=False)
# `critest -parallel N` runs the suite through the ginkgo CLI found on PATH, at the Ginkgo
# version critest itself is built with.
CRITEST = Tool("critest", test_binary=True, helpers=("github.com/onsi/ginkgo/v2/ginkgo",))


def check_version(tool: Tool, version: str, flag: str) -> str:
    """`version` without its "v", if it is one this harness can build."""
    return gobuild.pinned(version, RELEASES, flag,
                          f"a {tool.name} version this harness can build", "harness/critools.py")


def build(tool: Tool, version: str, flag: str, *, rebuild: bool = False, say=None) -> Path:
    """The verified `tool` of `version`, built first if not cached (or if `rebuild`)."""
    version = check_version(tool, version, flag)
    say = say or gobuild.progress
    root = tool.cache_root()
    final = root / version
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(final) + ".lock"):
        if not rebuild and (final / "SHA256SUMS").exists():
            gobuild.verify(final, f"remove {final} and run again to rebuild it")
            # A cache from before a helper was added lacks it: built again below.
            if all((final / name).exists() for name in tool.binaries):
                say(f"{tool.name} {version}: cached binary verified in {final}")
                return final / tool.name
        go = gobuild.find_go(RELEASES[version], tool.name)  # before anything cached is removed
        shutil.rmtree(final, ignore_errors=True)
        _build(tool, version, go, final, say)
    return final / tool.name


def _build(tool: Tool, version: str, go: str, final: Path, say) -> None:
    new = final.with_name(f".{version}-new")
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir()
    runner = gobuild.GoRunner(go, new, what=f"{tool.name} {version}")
    runner.env.update(GOBIN=str(new), CGO_ENABLED="0", GOFLAGS="-mod=mod -trimpath")
    say(f"{tool.name} {version}: building {tool.package} with {go} (log: {runner.log})")
    started = time.monotonic()
    ldflags = f"-s -w -X {VERSION_VAR}=v{version}"
    if tool.test_binary:
        # `go test -c` builds a package of the main module's build list only (no @version):
        # a one-line wrapper module requiring cri-tools at the pinned version gives it one.
        runner.run("mod", "init", f"harness.local/{tool.name}-build")
        runner.run("mod", "edit", f"-require={MODULE}@v{version}")
        runner.run("test", "-c", "-o", str(new / tool.name), "-ldflags", ldflags, tool.package)
        # The helpers in the same wrapper module: the versions the test binary is built with.
        for helper, binary in zip(tool.helpers, tool.binaries[1:], strict=True):
            runner.run("build", "-o", str(new / binary), "-ldflags", "-s -w", helper)
    else:
        runner.run("install", "-ldflags", ldflags, f"{tool.package}@v{version}")
    gobuild.write_checksums(new, tool.binaries)
    os.rename(new, final)
    say(f"{tool.name} {version}: built in {time.monotonic() - started:.0f}s -> "
        f"{final / tool.name}")
