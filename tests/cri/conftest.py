"""Fixtures for the CRI suite's own tests: private containerds (healthy or with one fault),
the fixture pause image in them, and a runner that executes suites/cri against one of them and
reads back its JUnit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from outcomes import SuiteRun, read_junit

from harness import images
from harness.daemons.containerd import Containerd, ContainerdConfig
from harness.images import load

REPO = Path(__file__).resolve().parents[2]
FAULTY_RUNC = Path(__file__).with_name("faulty_runc.py")


def run_suite(endpoint: str, *args: str, timeout: float = 240) -> SuiteRun:
    """`pytest suites/cri --cri-endpoint ENDPOINT ARGS` in a subprocess, JUnit parsed."""
    with tempfile.TemporaryDirectory(prefix="hc-cri-junit-") as tmp:
        junit = Path(tmp) / "cri.xml"
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "suites/cri", "-p", "no:cacheprovider", "-q",
             "--cri-endpoint", endpoint, f"--junitxml={junit}", *args],
            cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False,
            env={**os.environ, "COLUMNS": "250"},  # failure reasons in the summary, uncut
        )
        if not junit.exists():
            pytest.fail(f"suite wrote no JUnit (rc {proc.returncode}): {proc.stdout[-2000:]}")
        return SuiteRun(read_junit(junit), proc.returncode, proc.stdout + proc.stderr)


def faulty_runtime(base: Path, fault: str) -> Path:
    """An executable that runs faulty_runc.py with HC_FAULT=fault (containerd's BinaryName
    takes a path, no environment)."""
    path = base / f"runc-{fault}"
    path.write_text(f'#!/bin/sh\nHC_FAULT={fault} exec {sys.executable} {FAULTY_RUNC} "$@"\n')
    path.chmod(0o755)
    return path


_instances = iter(range(10, 250))


def start_containerd(**overrides) -> Containerd:
    """A private containerd (own dir, bridge hc-cri<N>, subnet 10.91.<N>.0/24) with the
    fixture pause image as its sandbox image; overrides are ContainerdConfig fields (a callable
    value gets the base dir)."""
    pause = images.build("pause")
    n = next(_instances)
    base = Path(tempfile.mkdtemp(prefix="hc-cri-cd-"))
    cfg = ContainerdConfig(base_dir=base, bridge=f"hc-cri{n}", subnet=f"10.91.{n}.0/24",
                           sandbox_image=pause.ref)
    for key, value in overrides.items():
        setattr(cfg, key, value(base) if callable(value) else value)
    containerd = Containerd(cfg)
    try:
        containerd.start()
        load.into_containerd(containerd.address, pause)
    except BaseException:
        containerd.stop(purge=True)
        raise
    return containerd


@pytest.fixture
def containerd_factory():
    """start_containerd for one test; everything it started is stopped and purged after."""
    started = []

    def start(**overrides) -> Containerd:
        started.append(start_containerd(**overrides))
        return started[-1]

    yield start
    for containerd in started:
        containerd.stop(purge=True)


@pytest.fixture(scope="module")
def private_containerd():
    """One healthy private containerd shared by a module's tests."""
    containerd = start_containerd()
    yield containerd
    containerd.stop(purge=True)


@pytest.fixture
def restart_command():
    """A shell command the suite runs to restart a containerd owned by this test process:
    it writes to a FIFO, a thread here calls Containerd.restart() and answers on another."""
    stops = []

    def make(containerd: Containerd) -> str:
        base = containerd.cfg.base_dir
        request, reply = base / "restart.req", base / "restart.ack"
        os.mkfifo(request)
        os.mkfifo(reply)

        def serve():
            while True:
                with open(request) as fifo:
                    if fifo.read().strip() != "restart":
                        return
                containerd.restart()
                with open(reply, "w") as fifo:
                    fifo.write("ok\n")

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        stops.append((request, thread))
        return f"echo restart > {request} && cat {reply}"

    yield make
    for request, thread in stops:
        with open(request, "w") as fifo:
            fifo.write("stop\n")
        thread.join(timeout=10)


@pytest.fixture
def tls_registry(tmp_path):
    """A TLS registry on loopback (throwaway CA) for the suite's TLS pull test."""
    from harness.daemons.registry import Registry, RegistryConfig

    base = Path(tempfile.mkdtemp(prefix="hc-cri-tlsreg-"))
    registry = Registry(RegistryConfig(base_dir=base, tls=True)).start()
    yield registry
    registry.stop()
    shutil.rmtree(base, ignore_errors=True)
