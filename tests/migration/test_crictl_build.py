"""crictl built from the sigs.k8s.io/cri-tools module and cached like the Kubernetes binaries,
checked against a real private containerd, and the /etc/crictl.yaml the migration writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from harness import crictl, gobuild
from harness.daemons.containerd import Containerd, ContainerdConfig
from harness.errors import InputError, MissingToolError, StepFailed

BUILD_TIMEOUT = 900  # a cold build takes about two minutes on 2 cores


def run(argv: list, **kw) -> subprocess.CompletedProcess:
    """Run crictl with no endpoint from this process' environment."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("CONTAINER_RUNTIME_ENDPOINT", "IMAGE_SERVICE_ENDPOINT")}
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=60,
                          check=False, env=env, **kw)


def go_build_cache() -> str:
    return subprocess.run([gobuild.find_go("1.0", "crictl"), "env", "GOCACHE"], capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def built() -> Path:
    """The real cached crictl (~/.cache/harness/crictl), built on first use."""
    return crictl.build()


@pytest.fixture(scope="module")
def containerd(tmp_path_factory):
    """A private containerd with its own pod network config (no pod is run, so no bridge)."""
    n = os.getpid() % 240 + 10
    cfg = ContainerdConfig(base_dir=tmp_path_factory.mktemp("hc-crictl-cd"),
                           bridge=f"hc-crictl{n}", subnet=f"10.94.{n}.0/24")
    daemon = Containerd(cfg)
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop(purge=True)


@pytest.fixture
def private_cache(tmp_path, monkeypatch, built):
    """XDG_CACHE_HOME in tmp_path holding a copy of the cached crictl; Go keeps its real build
    cache (its default follows XDG_CACHE_HOME)."""
    monkeypatch.setenv("GOCACHE", go_build_cache())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("HARNESS_CRICTL_CACHE", raising=False)
    version_dir = crictl.cache_root() / crictl.DEFAULT_VERSION
    shutil.copytree(built.parent, version_dir)
    return version_dir


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT)
def test_build_gives_a_static_crictl_printing_its_version(built):
    assert built == Path.home() / ".cache/harness/crictl" / crictl.DEFAULT_VERSION / "crictl"
    assert os.access(built, os.X_OK)
    out = run([built, "--version"])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"crictl version v{crictl.DEFAULT_VERSION}"
    sums = (built.parent / "SHA256SUMS").read_text()
    assert sums == f"{gobuild.sha256(built)}  crictl\n"
    assert not list(built.parent.parent.glob(f".{crictl.DEFAULT_VERSION}-new"))


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT)
def test_second_build_reuses_the_cache_without_go(built, monkeypatch):
    def no_go(*args, **kwargs):
        raise AssertionError("go was looked for: the cache was not reused")

    monkeypatch.setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    monkeypatch.setattr(gobuild, "find_go", no_go)
    monkeypatch.setattr(gobuild, "GoRunner", no_go)
    said = []
    started = time.monotonic()
    again = crictl.build(say=said.append)
    elapsed = time.monotonic() - started
    assert again == built
    assert elapsed < 5, f"reuse took {elapsed:.1f}s"
    assert said == [f"crictl {crictl.DEFAULT_VERSION}: cached binary verified in {built.parent}"]


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT)
def test_tampered_binary_fails_the_checksum_and_rebuild_restores_it(private_cache, built):
    binary = private_cache / "crictl"
    assert crictl.build(say=lambda m: None) == binary  # the copy verifies as is
    with binary.open("ab") as f:
        f.write(b"\0tampered")
    with pytest.raises(StepFailed) as err:
        crictl.build(say=lambda m: None)
    message = str(err.value)
    assert "\n" not in message
    assert "SHA256SUMS" in message and f"remove {private_cache} and run again" in message

    said = []
    assert crictl.build(rebuild=True, say=said.append) == binary
    assert any("built in" in m for m in said)
    # -trimpath and fixed flags: the rebuild is byte for byte the cached original.
    assert gobuild.sha256(binary) == gobuild.sha256(built)
    assert crictl.build(say=lambda m: None) == binary


@pytest.mark.root
@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT)
def test_crictl_talks_to_a_private_containerd(built, containerd):
    flags = ["--runtime-endpoint", containerd.endpoint, "--image-endpoint", containerd.endpoint]
    version = run([built, *flags, "version"])
    assert version.returncode == 0, version.stderr
    assert "RuntimeName:  containerd" in version.stdout
    info = run([built, *flags, "info"])
    assert info.returncode == 0, info.stderr
    status = json.loads(info.stdout)
    conditions = {c["type"]: c["status"] for c in status["status"]["conditions"]}
    assert conditions["RuntimeReady"] is True
    # The private instance answered, not a host containerd: its root dir is ours.
    assert status["config"]["containerdRootDir"] == str(containerd.cfg.root)


def test_crictl_yaml_defaults_to_the_containerd_socket():
    config = yaml.safe_load(crictl.crictl_yaml())
    assert config == {
        "runtime-endpoint": "unix:///run/containerd/containerd.sock",
        "image-endpoint": "unix:///run/containerd/containerd.sock",
        "timeout": 30,
        "debug": False,
    }
    bare = yaml.safe_load(crictl.crictl_yaml("/run/x.sock", timeout=5))
    assert bare["runtime-endpoint"] == bare["image-endpoint"] == "unix:///run/x.sock"
    assert bare["timeout"] == 5
    with pytest.raises(InputError):
        crictl.crictl_yaml(timeout=0)


@pytest.mark.root
@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT)
def test_crictl_yaml_alone_points_crictl_at_containerd(built, containerd, tmp_path):
    text = crictl.crictl_yaml(containerd.endpoint)
    config = yaml.safe_load(text)
    assert config["runtime-endpoint"] == config["image-endpoint"] == containerd.endpoint
    assert config["timeout"] == 30 and config["debug"] is False
    path = tmp_path / "crictl.yaml"
    path.write_text(text)
    for command in ("version", "info", "images"):
        out = run([built, "--config", path, command], cwd=tmp_path)
        assert out.returncode == 0, f"crictl {command}: {out.stderr}"
        assert "WARN" not in out.stderr, out.stderr  # no guessed endpoints
    assert "RuntimeName:  containerd" in run([built, "--config", path, "version"]).stdout


def test_unknown_version_is_an_input_error_naming_the_flag(monkeypatch):
    def no_go(*args, **kwargs):
        raise AssertionError("an unknown version must fail before Go is looked for")

    monkeypatch.setattr(gobuild, "find_go", no_go)
    with pytest.raises(InputError) as err:
        crictl.build("1.99.0")
    message = str(err.value)
    assert "--crictl-version 1.99.0" in message
    assert "1.34.0" in message and "1.37.0" in message
    assert "\n" not in message


def test_missing_go_is_a_missing_tool_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("HARNESS_CRICTL_CACHE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(gobuild, "GO_INSTALL_DIR", str(tmp_path / "no-go"))
    with pytest.raises(MissingToolError) as err:
        crictl.build(say=lambda m: None)
    assert "go.dev/dl" in str(err.value)
    assert not (crictl.cache_root() / crictl.DEFAULT_VERSION).exists()


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT)
def test_parallel_callers_build_once(tmp_path, built):
    """Two processes ask for the same uncached version: the file lock lets one build and the
    other reuse its result."""
    env = {**os.environ, "HARNESS_CRICTL_CACHE": str(tmp_path / "crictl"),
           "GOCACHE": go_build_cache()}
    script = "from harness import crictl; print(crictl.build())"
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    outputs = [p.communicate(timeout=BUILD_TIMEOUT) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    binary = tmp_path / "crictl" / crictl.DEFAULT_VERSION / "crictl"
    assert {out.strip() for out, _ in outputs} == {str(binary)}
    said = "".join(err for _, err in outputs)
    assert said.count("built in") == 1 and said.count("cached binary verified") == 1, said
    assert gobuild.sha256(binary) == gobuild.sha256(built)
