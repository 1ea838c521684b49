"""What copying Docker's images into containerd takes on disk (harness_node/image_space):
shared layers counted once, each filesystem written to measured for real, and preflight's
disk-space finding made from the same figures as the copy's own refusal."""

from __future__ import annotations

import hashlib
import subprocess

import pytest
from node_facts import docker_node_facts
from playbook_code import library_module

from harness.node import image_space

facts_module = library_module("node_runtime_facts")
A, B, C = (f"sha256:{c * 64}" for c in "abc")


class History:
    """Docker's answers for images given as {id: [(diff ID, size), ...]}, oldest layer first."""

    def __init__(self, images: dict[str, list[tuple[str, int]]]):
        self.images = images

    def get_json(self, path: str):
        image_id, what = path.split("/")[2:4]
        layers = self.images[image_id]
        if what == "json":
            return {"RootFS": {"Layers": [d for d, _ in layers]},
                    "Size": sum(s for _, s in layers)}
        return [{"Size": size} for _, size in reversed(layers)]


def test_a_chain_id_names_a_layer_with_every_layer_below_it():
    """OCI image spec, "ChainID": the first layer's is its DiffID, each next one the digest of
    the chain below, a space, and its own DiffID."""
    second = "sha256:" + hashlib.sha256(f"{A} {B}".encode()).hexdigest()
    assert image_space.chain_ids([A, B]) == [A, second]


def test_layers_shared_by_images_count_once():
    api = History({"i1": [(A, 100), (B, 10)], "i2": [(A, 100), (C, 5)]})
    assert image_space.unique_bytes(api, ["i1", "i2"]) == 115


def test_an_empty_layer_makes_the_whole_image_count_on_its_own():
    """History sizes that do not line up with the layers (an empty layer has size 0, and so
    has no history entry counted) give the image's whole size: too much, never too little."""
    api = History({"i1": [(A, 100), (B, 0), (C, 7)], "i2": [(A, 100)]})
    assert image_space.unique_bytes(api, ["i1", "i2"]) == 207


@pytest.mark.root
def test_each_filesystem_written_to_is_measured_with_what_lands_there(tmp_path):
    """containerd's root on one 8 MiB filesystem (content store and snapshots: twice the
    layers), Docker's on another (its export staging: once): two entries with real figures,
    for 3.5 MiB of layers."""
    ctrd, docker = tmp_path / "containerd", tmp_path / "docker"
    for path in (ctrd, docker):
        path.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(path)], check=True)
    try:
        found = {fs.paths: fs for fs in image_space.filesystems(7 << 19, str(ctrd), str(docker))}
    finally:
        for path in (ctrd, docker):
            subprocess.run(["umount", str(path)], check=True)
    on_ctrd = found[(f"{ctrd}/{image_space.CONTENT_DIR}", f"{ctrd}/{image_space.SNAPSHOTTER_DIR}")]
    on_docker = found[(f"{docker}/tmp",)]
    assert on_ctrd.size == on_docker.size == 8 << 20
    assert on_ctrd.needed == 7 << 20 and not on_ctrd.fits  # 8 - 7 < 15% of 8
    assert on_docker.needed == 7 << 19 and on_docker.fits


def test_the_shortfall_names_the_filesystem_and_every_figure():
    short = image_space.Filesystem(("/var/lib/containerd/x",), needed=6 << 30, free=5 << 30,
                                   size=10 << 30)
    assert short.shortfall().startswith(
        "the image copy needs 6.00 GiB on the filesystem of /var/lib/containerd/x, which has "
        "5.00 GiB free of 10.00 GiB and must keep 1.50 GiB free (the kubelet's imagefs.available"
        " eviction threshold, 15%): free 2.50 GiB there")


def test_a_threshold_is_a_share_or_a_kubernetes_quantity():
    """kubelet evictionHard values: a percentage of the filesystem, or bytes with a suffix."""
    size = 10 << 30
    assert [image_space.keep_free(t, size) for t in ("15%", "0.5%", "2Gi", "500M", "1024")] == [
        size * 15 // 100, size // 200, 2 << 30, 500_000_000, 1024]
    assert image_space.keep_free("lots", size) == size * 15 // 100  # unreadable: the default


@pytest.mark.parametrize(("flags", "config", "expected"), [
    ({}, None, "15%"),
    ({}, "evictionHard:\n  memory.available: 100Mi\n  imagefs.available: 1%\nfoo: 1\n", "1%"),
    ({}, '{"evictionHard": {"imagefs.available": "2Gi"}, "evictionSoft": {}}', "2Gi"),
    ({}, "evictionSoft:\n  imagefs.available: 30%\n", "15%"),
    ({"--eviction-hard": "memory.available<1Gi,imagefs.available<5%"},
     "evictionHard:\n  imagefs.available: 1%\n", "5%"),
])
def test_the_kubelets_imagefs_threshold_is_read_from_its_flags_then_its_config(
        flags, config, expected):
    """--eviction-hard wins over the config's evictionHard (YAML or JSON); evictionSoft does
    not count; nothing set is the kubelet's default, 15%."""
    assert facts_module.imagefs_threshold(flags, config) == expected


def test_preflight_blocks_a_node_whose_copy_would_not_fit():
    """The disk-space finding is the copy's own shortfall, as an error."""
    facts = docker_node_facts({})
    facts["node"]["image_copy_space"] = [
        {"paths": ["/var/lib/containerd/c"], "needed": 9 << 30, "free": 10 << 30,
         "size": 20 << 30}, {"paths": ["/var/lib/docker/tmp"], "needed": 1, "free": 10 << 30,
                             "size": 20 << 30}]
    found = [f for f in facts_module.findings(facts) if f["id"] == "disk-space"]
    assert [f["severity"] for f in found] == ["error"]
    assert "on the filesystem of /var/lib/containerd/c" in found[0]["message"]

