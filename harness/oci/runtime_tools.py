"""runtime-tools' validation suite, built from its Go module and run against a runtime, for
comparison with suites/oci (see suites/oci/README.md).

    python -m harness.oci.runtime_tools [--runtime /usr/sbin/runc] [--out DIR]

runtime-tools v0.9.0 (the only version the module proxy serves) has no go.mod: its Godeps
pins are not served, so the build writes one of its own with the nearest tags and lets
`go mod tidy` settle the rest. Source, binaries and results are cached under
~/.cache/harness/runtime-tools ($HARNESS_RUNTIME_TOOLS_CACHE overrides it). Running needs
root; the binaries use the runtime's default --root and create cgroups of their own.

Its TAP is irregular (JSON diagnostic blocks, several documents in one stream, `1..0` with
only a YAML `error`, no plan after a fatal error), so `parse_tap` reads it leniently.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

MODULE = "github.com/opencontainers/runtime-tools"
VERSION = "v0.9.0"
# The nearest tags of its Godeps pins; `go mod tidy` resolves the untagged ones.
REQUIRES = {
    "github.com/blang/semver": "v3.5.0+incompatible",
    "github.com/hashicorp/go-multierror": "v1.0.0",
    "github.com/opencontainers/runtime-spec": "v1.0.2",
    "github.com/opencontainers/selinux": "v1.3.0",
    "github.com/satori/go.uuid": "v1.1.0",
    "github.com/sirupsen/logrus": "v1.0.6",
    "github.com/stretchr/testify": "v1.2.2",
    "github.com/urfave/cli": "v1.19.1",
    "github.com/xeipuuv/gojsonschema": "v1.1.0",
}


def cache_dir() -> Path:
    override = os.environ.get("HARNESS_RUNTIME_TOOLS_CACHE")
    return Path(override) if override else Path.home() / ".cache" / "harness" / "runtime-tools"


def go_mod() -> str:
    lines = [f"module {MODULE}", "", "go 1.19", "", "require ("]
    lines += [f"\t{path} {version}" for path, version in sorted(REQUIRES.items())]
    return "\n".join([*lines, ")", ""])


def _go(args: list[str], cwd: Path, go: str, timeout: float, **extra_env: str) -> str:
    env = {
        **os.environ,
        **extra_env,
        "GOPATH": str(cache_dir() / "gopath"),
        "GOFLAGS": "-modcacherw",
        "GOTOOLCHAIN": "local",
    }
    done = subprocess.run(
        [go, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"go {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def build(go: str = "go") -> Path:
    """The source tree with `runtimetest` and every `validation/<name>/<name>.t`, built once."""
    src = cache_dir() / f"src-{VERSION}"
    stamp = src / ".harness-built"
    if stamp.exists():
        return src
    src.parent.mkdir(parents=True, exist_ok=True)
    info = json.loads(_go(["mod", "download", "-json", f"{MODULE}@{VERSION}"], Path("/"), go, 600))
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(info["Dir"], src)
    for path in [src, *src.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    shutil.rmtree(src / "Godeps", ignore_errors=True)
    (src / "go.mod").write_text(go_mod())
    _go(["mod", "tidy"], src, go, 600)
    # runtimetest runs inside runtime-tools' busybox rootfs: static.
    _go(["build", "-o", "runtimetest", "./cmd/runtimetest"], src, go, 600, CGO_ENABLED="0")
    for test in validation_names(src):
        _go(["build", "-o", f"validation/{test}/{test}.t", f"./validation/{test}"], src, go, 600)
    stamp.write_text(f"{VERSION}\n")
    return src


def validation_names(src: Path) -> list[str]:
    return sorted(p.name for p in (src / "validation").iterdir() if p.is_dir() and p.name != "util")


@dataclass
class Point:
    """One TAP test point; `ok` is None for a `1..0` file's YAML `error` (report-only)."""

    ok: bool | None
    description: str
    skip: bool = False
    diagnostic: str = ""


@dataclass
class FileResult:
    name: str
    exit_code: int
    seconds: float
    points: list[Point] = field(default_factory=list)
    planned: bool = False
    stderr: str = ""

    @property
    def verdict(self) -> str:
        if any(p.ok is False or p.ok is None for p in self.points):
            return "not ok"
        if self.exit_code != 0:
            return "error"
        return "ok" if self.points else "no tests"


POINT = re.compile(r"^(not ok|ok)\b\s*\d*\s*(?:-\s*)?(.*)$")


def parse_tap(text: str) -> tuple[list[Point], bool]:
    """Test points and whether any plan line was seen. Diagnostic blocks between `  ---` and
    `  ...` attach to the point before them; a block before any point in a document is kept
    as a report-only point (ok=None) when it carries an `error`."""
    points: list[Point] = []
    planned = False
    in_document = 0  # points of the current TAP document
    block: list[str] | None = None
    for line in text.splitlines():
        if block is not None:
            if line.strip() == "...":
                body = "\n".join(block)
                if in_document and not points[-1].diagnostic:
                    points[-1].diagnostic = body
                elif '"error"' in body:
                    points.append(Point(None, _error_of(body), diagnostic=body))
                block = None
            else:
                block.append(line)
            continue
        if line.strip() == "---":
            block = []
        elif line.startswith("TAP version"):
            in_document = 0
        elif re.match(r"^1\.\.\d+", line):
            planned = True
        elif match := POINT.match(line):
            description = match.group(2)
            skip = "# SKIP" in description.upper()
            points.append(Point(match.group(1) == "ok", description.strip(), skip=skip))
            in_document += 1
    return points, planned


def _error_of(body: str) -> str:
    try:
        return str(json.loads(body).get("error", "")).splitlines()[0]
    except (ValueError, AttributeError, IndexError):
        return body.strip().splitlines()[0] if body.strip() else ""


def run(src: Path, runtime: str, out: Path, timeout: float = 120) -> list[FileResult]:
    """Run each validation binary from the source root (it unpacks rootfs-*.tar.gz from
    there), one at a time, keeping its stdout and stderr under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for name in validation_names(src):
        started = time.monotonic()
        try:
            done = subprocess.run(
                [f"validation/{name}/{name}.t"],
                cwd=src,
                env={**os.environ, "RUNTIME": runtime},
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            stdout, stderr, code = done.stdout, done.stderr, done.returncode
        except subprocess.TimeoutExpired as err:
            stdout = (err.stdout or b"").decode() if isinstance(err.stdout, bytes) else ""
            stderr, code = f"timed out after {timeout} s", -1
        (out / f"{name}.out").write_text(stdout)
        (out / f"{name}.err").write_text(stderr)
        points, planned = parse_tap(stdout)
        results.append(
            FileResult(name, code, time.monotonic() - started, points, planned, stderr.strip())
        )
    return results


def summary(results: list[FileResult]) -> str:
    points = [p for r in results for p in r.points]
    ok = sum(1 for p in points if p.ok and not p.skip)
    skip = sum(1 for p in points if p.skip)
    not_ok = sum(1 for p in points if p.ok is False)
    report_only = sum(1 for p in points if p.ok is None)
    lines = [f"{r.name:34} {r.verdict:8} rc={r.exit_code} {r.seconds:.1f}s" for r in results]
    lines.append(
        f"{ok} ok, {not_ok} not ok, {skip} skip, {report_only} report-only errors in "
        f"{sum(r.seconds for r in results):.1f} s"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.oci.runtime_tools")
    parser.add_argument("--runtime", default="/usr/sbin/runc")
    parser.add_argument("--go", default="go", help="Go toolchain (1.19 or newer)")
    parser.add_argument("--out", type=Path, default=None, help="per-test stdout/stderr")
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args(argv)
    src = build(args.go)
    if args.build_only:
        print(src)
        return 0
    if os.geteuid() != 0:
        print("runtime-tools' validation needs root", file=sys.stderr)
        return 2
    out = args.out or cache_dir() / "results" / Path(args.runtime).name
    print(summary(run(src, args.runtime, out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
