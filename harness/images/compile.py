"""Static C programs for images (pause, probes): compiled with the host's gcc and glibc."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from harness.errors import MissingToolError, StepFailed
from harness.images.layers import file_digest


def _gcc() -> str:
    gcc = shutil.which("gcc")
    if not gcc:
        raise MissingToolError(
            "gcc not found (needed to compile static image programs)", hint="run scripts/setup.sh"
        )
    return gcc


@functools.cache
def toolchain_fingerprint() -> str:
    """What decides a static binary's bytes besides its source: gcc's version and libc.a."""
    gcc = _gcc()
    version = subprocess.run(
        [gcc, "--version"], capture_output=True, text=True, check=True
    ).stdout.splitlines()[0]
    libc = subprocess.run(
        [gcc, "-print-file-name=libc.a"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not Path(libc).is_file():
        raise MissingToolError("static libc (libc.a) not found", hint="run scripts/setup.sh")
    return f"{version} libc.a={file_digest(Path(libc))}"


def compile_static(source: Path, out_dir: Path) -> Path:
    """`gcc -static -s`: stripped, so no build path or file name leaks into the binary."""
    out = out_dir / source.stem
    proc = subprocess.run(
        [_gcc(), "-static", "-Os", "-s", "-Wall", "-o", str(out), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise StepFailed(
            f"compiling {source} failed", hint=proc.stderr.strip().replace("\n", " | ")
        )
    return out
