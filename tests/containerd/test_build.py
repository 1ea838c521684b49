"""containerd 2.x built from the github.com/containerd/containerd/v2 module: static, stamped
with its version, cached with checksums that catch a tampered binary."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import gobuild
from harness.containerd import build
from harness.errors import StepFailed

BUILD_TIMEOUT = 900
VERSION = build.DEFAULT_VERSION
PT_INTERP = 3  # the ELF program header naming a dynamic loader


def harness_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=BUILD_TIMEOUT, check=False, env=env)


def has_interpreter(path: Path) -> bool:
    """True if the 64-bit little-endian ELF at `path` asks for a dynamic loader."""
    data = path.read_bytes()
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    return any(struct.unpack_from("<I", data, phoff + i * phentsize)[0] == PT_INTERP
               for i in range(phnum))


@pytest.fixture
def private_cache(tmp_path, monkeypatch, containerd2):
    """$HARNESS_CONTAINERD_CACHE in tmp_path holding a copy of the cached build."""
    root = tmp_path / "containerd"
    monkeypatch.setenv("HARNESS_CONTAINERD_CACHE", str(root))
    shutil.copytree(containerd2.bin_dir.parent, root / VERSION, ignore=shutil.ignore_patterns(
        "build.log"))
    return root / VERSION / "bin"


def test_unknown_version_is_one_line_naming_the_flag():
    out = harness_cli("containerd", "build", "--version", "2.9.9")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("harness containerd: --version 2.9.9: not a containerd version")
    assert "2.4.2" in out.stderr


def test_help_names_the_build_tags_and_the_cache():
    out = harness_cli("containerd", "build", "--help")
    assert out.returncode == 0
    assert " ".join(build.TAGS) in out.stdout and "no_grpc" in out.stdout
    assert "CGO_ENABLED=0" in out.stdout and "no_btrfs" in out.stdout
    assert "~/.cache/harness/containerd/<version>/bin" in out.stdout


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT)
def test_build_gives_static_binaries_reporting_the_version(containerd2):
    assert containerd2.bin_dir == Path.home() / ".cache/harness/containerd" / VERSION / "bin"
    for name in build.BINARIES:
        assert not has_interpreter(containerd2.path(name)), f"{name} is dynamically linked"
    out = subprocess.run([containerd2.path("containerd"), "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.split()[:3] == ["containerd", build.MODULE, VERSION]
    ctr = subprocess.run([containerd2.path("ctr"), "--version"], capture_output=True,
                         text=True, check=True)
    assert ctr.stdout.split()[-1] == VERSION
    shim = subprocess.run([containerd2.path("containerd-shim-runc-v2"), "-v"],
                          capture_output=True, text=True, check=True)
    assert f"Version:  {VERSION}" in shim.stdout
    sums = (containerd2.bin_dir / "SHA256SUMS").read_text().splitlines()
    assert [line.split()[1] for line in sums] == list(build.BINARIES)


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT)
def test_second_build_reuses_the_cache_without_go(containerd2, monkeypatch):
    def no_go(*args, **kwargs):
        raise AssertionError("go was looked for: the cache was not reused")

    monkeypatch.setattr(gobuild, "find_go", no_go)
    monkeypatch.setattr(gobuild, "GoRunner", no_go)
    said = []
    started = time.monotonic()
    again = build.build(VERSION, say=said.append)
    assert again == containerd2
    assert time.monotonic() - started < 5
    assert said == [f"containerd {VERSION}: cached binaries verified in {containerd2.bin_dir}"]


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT)
def test_tampered_binary_is_refused_and_rebuild_restores_it(private_cache, containerd2):
    binary = private_cache / "containerd"
    assert build.build(VERSION, say=lambda m: None).bin_dir == private_cache  # verifies as is
    with binary.open("ab") as f:
        f.write(b"\0tampered")
    with pytest.raises(StepFailed) as err:
        build.build(VERSION, say=lambda m: None)
    assert "\n" not in str(err.value) and "--rebuild" in str(err.value)

    out = harness_cli("containerd", "build", "--version", VERSION)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert f"{binary}: missing or its sha256 differs" in out.stderr

    said = []
    assert build.build(VERSION, rebuild=True, say=said.append).bin_dir == private_cache
    assert any("built in" in m for m in said)
    # -trimpath and fixed flags: the rebuild is byte for byte the cached original.
    for name in build.BINARIES:
        assert gobuild.sha256(private_cache / name) == gobuild.sha256(
            containerd2.path(name))
