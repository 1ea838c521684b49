"""crictl, built from the sigs.k8s.io/cri-tools Go module and cached, and the /etc/crictl.yaml
the migration writes beside it on each node (Debian 12 packages no crictl).

`go install sigs.k8s.io/cri-tools/cmd/crictl@v<version>` builds it: the module has no replace
lines. The version is stamped in as cri-tools' release script does (else it prints "unknown");
CGO is off, so the binary is static and runs on any node.

Layout, under ~/.cache/harness/crictl/ ($HARNESS_CRICTL_CACHE overrides it):
    <version>/crictl, <version>/SHA256SUMS, <version>/build.log
    <version>.lock             held while checking or building, so parallel callers build once
    .<version>-new/            the build in progress, renamed to <version>/ once checksummed

The Go build cache is the default one (~/.cache/go-build), so a rebuild takes seconds.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import yaml
from filelock import FileLock

from harness import gobuild, paths
from harness.cri.endpoint import normalize
from harness.errors import InputError

MODULE = "sigs.k8s.io/cri-tools"
PACKAGE = f"{MODULE}/cmd/crictl"
VERSION_VAR = f"{MODULE}/pkg/version.Version"
DEFAULT_VERSION = "1.37.0"
# The versions the module proxy serves here, each with the minimum Go its go.mod states.
RELEASES = {"1.34.0": "1.24.1", "1.37.0": "1.26.6"}
DEFAULT_ENDPOINT = "unix:///run/containerd/containerd.sock"


def cache_root() -> Path:
    """$HARNESS_CRICTL_CACHE, else ~/.cache/harness/crictl."""
    return paths.cache_dir("crictl", "HARNESS_CRICTL_CACHE")


def check_version(version: str, flag: str = "--crictl-version") -> str:
    """`version` without its "v", if it is one this harness can build."""
    return gobuild.pinned(version, RELEASES, flag, "a crictl version this harness can build",
                             "harness/crictl.py")


def build(version: str = DEFAULT_VERSION, *, rebuild: bool = False, say=None) -> Path:
    """The verified crictl of `version`, built first if not cached (or if `rebuild`)."""
    version = check_version(version)
    say = say or gobuild.progress
    root = cache_root()
    final = root / version
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(final) + ".lock"):
        if not rebuild and (final / "SHA256SUMS").exists():
            gobuild.verify(final, f"remove {final} and run again to rebuild it")
            say(f"crictl {version}: cached binary verified in {final}")
            return final / "crictl"
        go = gobuild.find_go(RELEASES[version], "crictl")  # before anything cached is removed
        shutil.rmtree(final, ignore_errors=True)
        _build(version, go, final, say)
    return final / "crictl"


def _build(version: str, go: str, final: Path, say) -> None:
    new = final.with_name(f".{version}-new")
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir()
    runner = gobuild.GoRunner(go, new, what=f"crictl {version}")
    runner.env.update(GOBIN=str(new), CGO_ENABLED="0", GOFLAGS="-mod=mod -trimpath")
    say(f"crictl {version}: building {PACKAGE} with {go} (log: {runner.log})")
    started = time.monotonic()
    runner.run(
        "install",
        "-ldflags",
        f"-s -w -X {VERSION_VAR}=v{version}",
        f"{PACKAGE}@v{version}",
    )
    gobuild.write_checksums(new, ("crictl",))
    os.rename(new, final)
    say(f"crictl {version}: built in {time.monotonic() - started:.0f}s -> {final / 'crictl'}")


def crictl_yaml(endpoint: str = DEFAULT_ENDPOINT, timeout: int = 30) -> str:
    """The text of /etc/crictl.yaml: `endpoint` for both the runtime and image services."""
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
        raise InputError(f"crictl timeout {timeout!r}: expected whole seconds above 0")
    endpoint = normalize(endpoint)
    settings = {
        "runtime-endpoint": endpoint,
        "image-endpoint": endpoint,
        "timeout": timeout,
        "debug": False,
    }
    return yaml.safe_dump(settings, sort_keys=False)
