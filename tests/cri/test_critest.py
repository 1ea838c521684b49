"""critest built from the sigs.k8s.io/cri-tools module as a Ginkgo test binary and cached like
crictl (harness/critools.py), its stand-in images pushed under the names it asks for, and a
real critest spec run against a private containerd through them."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from harness import critest, critools, gobuild, images
from harness.daemons.containerd import Containerd, ContainerdConfig
from harness.daemons.registry import Registry, RegistryConfig
from harness.errors import InputError, StepFailed
from harness.images import load

BUILD_TIMEOUT = 900  # a cold build takes about a minute on 2 cores, more when they are busy


@pytest.fixture(scope="module")
def built() -> Path:
    """The real cached critest (~/.cache/harness/critest), built on first use."""
    return critest.build()


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    with Registry(RegistryConfig(base_dir=tmp_path_factory.mktemp("hc-critest-reg"))) as reg:
        critest.push_stand_ins(reg.url)
        yield reg


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT)
def test_build_gives_a_critest_printing_its_version_and_reuses_it(built, monkeypatch):
    assert built == Path.home() / ".cache/harness/critest" / critest.DEFAULT_VERSION / "critest"
    out = subprocess.run([built, "-version"], capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert f"critest version: v{critest.DEFAULT_VERSION}" in out.stdout
    ginkgo = built.parent / "ginkgo"  # what `critest -parallel N` runs
    assert (built.parent / "SHA256SUMS").read_text() == (
        f"{gobuild.sha256(built)}  critest\n{gobuild.sha256(ginkgo)}  ginkgo\n")
    assert subprocess.run([ginkgo, "version"], capture_output=True, text=True, timeout=60,
                          check=False).stdout.startswith("Ginkgo Version 2.")

    def no_go(*args, **kwargs):
        raise AssertionError("go was looked for: the cache was not reused")

    monkeypatch.setattr(gobuild, "find_go", no_go)
    said = []
    assert critest.build(say=said.append) == built
    assert said == [f"critest {critest.DEFAULT_VERSION}: cached binary verified in {built.parent}"]


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT)
def test_tampered_critest_fails_the_checksum_and_rebuild_restores_it(tmp_path, monkeypatch,
                                                                     built):
    monkeypatch.setenv("HARNESS_CRITEST_CACHE", str(tmp_path / "critest"))
    version_dir = critools.CRITEST.cache_root() / critest.DEFAULT_VERSION
    shutil.copytree(built.parent, version_dir)
    binary = version_dir / "critest"
    with binary.open("ab") as f:
        f.write(b"\0tampered")
    with pytest.raises(StepFailed) as err:
        critest.build(say=lambda m: None)
    assert "SHA256SUMS" in str(err.value) and f"remove {version_dir}" in str(err.value)
    said = []
    assert critest.build(rebuild=True, say=said.append) == binary
    assert any("built in" in m for m in said)
    assert gobuild.sha256(binary) == gobuild.sha256(built)  # -trimpath: byte for byte


def test_unknown_version_is_an_input_error_naming_the_flag():
    with pytest.raises(InputError) as err:
        critest.build("1.99.0")
    assert "--critest-version 1.99.0" in str(err.value)


@pytest.mark.root
@pytest.mark.slow
def test_stand_ins_are_served_under_critests_names(registry):
    session = requests.Session()
    session.trust_env = False
    accept = {"Accept": load.MT_MANIFEST}
    digests = {}
    for path in critest.STAND_INS:
        repo, tag = path.rsplit(":", 1)
        answer = session.head(f"{registry.url}/v2/{repo}/manifests/{tag}", headers=accept,
                              timeout=30)
        assert answer.status_code == 200, path
        digests[path] = answer.headers["Docker-Content-Digest"]
    staging = critest.STAGING
    distinct = {digests[f"{staging}/test-image-{n}:latest"] for n in (1, 2, 3)}
    assert len(distinct) == 3
    assert len({digests[f"{staging}/test-image-tags:{n}"] for n in (1, 2, 3)}) == 1
    assert digests[f"{critest.E2E}/busybox:1.29-2"] == images.build("critest-busybox").digest


@pytest.mark.root
@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT)
def test_a_critest_spec_passes_on_a_private_containerd_through_the_stand_ins(
        built, registry, tmp_path):
    pause = images.build("pause")
    n = os.getpid() % 240 + 10
    daemon = Containerd(ContainerdConfig(base_dir=tmp_path / "cd", bridge=f"hc-critest{n}",
                                         subnet=f"10.95.{n}.0/24", sandbox_image=pause.ref,
                                         registry_config_dir=tmp_path / "certs.d"))
    try:
        daemon.start()
        critest.mirror_registries(registry, tmp_path / "certs.d")
        load.into_containerd(daemon.address, pause)
        report = tmp_path / "report.json"
        # A container spec: it pulls busybox through the mirror under critest's own name.
        focus = "-ginkgo.focus=should support starting container \\[Conformance\\]"
        proc = subprocess.run(
            [*critest.argv(built, daemon.endpoint, report), focus],
            cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)
        run = critest.read_report(report, proc.returncode)
    finally:
        daemon.stop(purge=True)
    assert run.returncode == 0, proc.stdout[-3000:]
    assert [s for s in run.specs.values() if s != "skipped"] == ["passed"]
    assert run.seconds > 0
