"""Building pinned binaries from Go modules, the part Kubernetes, CoreDNS, crictl and
containerd builds share: the version pin, the go tool with its log, and the cache's
SHA256SUMS checked on every reuse."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from harness import progress as events
from harness.errors import InputError, MissingToolError, StepFailed

GO_INSTALL_DIR = "/usr/local/go/bin/go"  # where the go.dev tarball puts it

@dataclass(frozen=True)
class Built:
    version: str
    bin_dir: Path

    def path(self, binary: str) -> Path:
        return self.bin_dir / binary


def pinned(version: str, releases: dict, flag: str, what: str, source: str) -> str:
    """`version` without its "v" if `releases` has it; else an InputError naming the flag."""
    version = version.removeprefix("v")
    if version not in releases:
        raise InputError(f"{flag} {version}: not {what}",
                         hint=f"use one of {', '.join(releases)} ({source} RELEASES)")
    return version


def verify(bin_dir: Path, rebuild_hint: str) -> None:
    """Check every binary against SHA256SUMS; a mismatch means the cache was tampered with."""
    sums = bin_dir / "SHA256SUMS"
    for line in sums.read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        path = bin_dir / name
        if not path.exists() or sha256(path) != digest:
            raise StepFailed(
                f"{path}: missing or its sha256 differs from {sums}",
                hint=rebuild_hint,
            )


def write_checksums(bin_dir: Path, names: tuple[str, ...]) -> None:
    (bin_dir / "SHA256SUMS").write_text("".join(f"{sha256(bin_dir / n)}  {n}\n" for n in names))


class GoRunner:
    """Runs the pinned go tool in the wrapper module, appending its output to build.log;
    `what` names the build in failure messages."""

    def __init__(self, go: str, work: Path, what: str = "kubernetes"):
        self.go = go
        self.what = what
        self.work = work
        self.log = work / "build.log"
        go_bin = str(Path(go).parent)
        self.env = {
            **os.environ,
            # openapi-gen (gengo) calls `go list` from PATH: it must be the same toolchain.
            "PATH": f"{go_bin}:{os.environ.get('PATH', '')}",
            "GOTOOLCHAIN": "local",
            "GOFLAGS": "-mod=mod",
            "GO111MODULE": "on",
        }

    def run(self, *args: str, tool: str | None = None, cwd: Path | None = None) -> str:
        argv = [tool or self.go, *args]
        with self.log.open("a") as log:
            log.write(f"$ {' '.join(argv)}\n")
            log.flush()
            proc = subprocess.run(
                argv,
                cwd=cwd or self.work,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
            log.write(proc.stdout)
        if proc.returncode != 0:
            raise StepFailed(
                f"{self.what} build failed: `{' '.join(argv[:3])} ...` exited {proc.returncode}",
                hint=f"see {self.log}",
            )
        return proc.stdout

    def json(self, *args: str) -> dict:
        return json.loads(self.run(*args))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def progress(message: str) -> None:
    """The builds' default progress callback: a `build` event on the one progress path."""
    events.progress("build", message)


def find_go(minimum: str, purpose: str) -> str:
    """The first go, on PATH then at /usr/local/go, that is at least `minimum`."""
    candidates = dict.fromkeys(c for c in (shutil.which("go"), GO_INSTALL_DIR) if c)
    for go in candidates:
        if Path(go).exists() and _go_version(go) >= Version(minimum):
            return go
    raise MissingToolError(
        f"no Go {minimum} or newer on PATH or at {GO_INSTALL_DIR} to build {purpose}",
        hint=f"install Go {minimum}+ from https://go.dev/dl/ into /usr/local/go",
    )


def _go_version(go: str) -> Version:
    proc = subprocess.run(
        [go, "env", "GOVERSION"], capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "GOTOOLCHAIN": "local"},
    )
    try:
        return Version(proc.stdout.strip().removeprefix("go"))
    except InvalidVersion:
        return Version("0")
