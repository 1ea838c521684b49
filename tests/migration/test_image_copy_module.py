"""The docker_images_to_containerd module (playbooks/library), run by ansible-runner on the
system python3 as on a node, between a private Docker 20.10 and private containerds: which
images land in containerd, under which names and IDs (read back through the CRI, as the kubelet
sees them), and what a rerun, check mode and an image with a broken layer do."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from types import SimpleNamespace

import ansible_runner
import grpc
import pytest
from cri_api.v1 import api_pb2, api_pb2_grpc

from harness import images
from harness.daemons.containerd import Containerd, ContainerdConfig
from harness.daemons.dockerd import Dockerd, DockerdConfig
from harness.daemons.registry import Registry, RegistryConfig
from harness.images import load

pytestmark = [pytest.mark.root, pytest.mark.slow]

LIBRARY = Path(__file__).resolve().parents[2] / "playbooks" / "library"
FIXTURES = ("busybox", "pause", "web")
# A Docker Hub style tag: Docker lists it as busybox:extra, containerd names it in full.
EXTRA_TAG, EXTRA_REF = "busybox:extra", "docker.io/library/busybox:extra"
PINNED = "io.cri-containerd.pinned=pinned"


@pytest.fixture(scope="module")
def built():
    return {name: images.build(name) for name in FIXTURES}


def build(client, dockerfile: str, tag: str | None = None, files: dict | None = None) -> str:
    """Build through the Engine API (legacy builder, nothing runs); returns the image ID."""
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, data in {"Dockerfile": dockerfile.encode(), **(files or {})}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    image, _ = client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True)
    return image.id


def push(client, repo: str, tag: str) -> str:
    """Push repo:tag to the registry; returns the manifest digest it reports."""
    digest = ""
    for line in client.images.push(repo, tag, stream=True, decode=True):
        assert "error" not in line, line
        digest = line.get("aux", {}).get("Digest", digest)
    return digest


@pytest.fixture(scope="module")
def docker(tmp_path_factory, built):
    """Docker holding the fixture images, busybox also as busybox:extra, web also pushed (so it
    has a RepoDigest), an image pulled by digest only (no tag) and a dangling image."""
    registry = Registry(RegistryConfig(base_dir=tmp_path_factory.mktemp("hi-registry")))
    daemon = Dockerd(DockerdConfig(base_dir=tmp_path_factory.mktemp("hi-dockerd")))
    with registry, daemon:
        for image in built.values():
            load.into_docker(daemon.host, image)
        client = daemon.client()
        client.images.get(built["busybox"].ref).tag(EXTRA_TAG)
        web_repo = f"{registry.host}/hi/web"
        client.images.get(built["web"].ref).tag(web_repo, "1.0")
        web_digest = push(client, web_repo, "1.0")
        repo = f"{registry.host}/hi/digest-only"
        digest_only = build(client, f"FROM {built['busybox'].ref}\nLABEL role=digest-only\n",
                            tag=f"{repo}:1")
        digest = push(client, repo, "1")
        client.images.remove(f"{repo}:1")  # its last tag: the image goes, then comes back...
        client.images.pull(f"{repo}@{digest}")  # ...pulled by digest, with no tag at all
        dangling = build(client, f"FROM {built['busybox'].ref}\nLABEL role=dangling\n")
        yield SimpleNamespace(
            host=daemon.host, client=client, dangling=dangling, digest_only=digest_only,
            digest_ref=f"{repo}@{digest}", web_tag=f"{web_repo}:1.0",
            web_digest_ref=f"{web_repo}@{web_digest}")
        client.close()


def start_containerd(tmp_path_factory) -> Containerd:
    # mktemp, not tmp_path: a test's long name would push the socket path past 108 bytes.
    cfg = ContainerdConfig(base_dir=tmp_path_factory.mktemp("hi-ctrd"), cni=False,
                           bridge="hi-cni0", subnet="10.90.0.0/24")
    return Containerd(cfg).start()


@pytest.fixture
def containerd(tmp_path_factory):
    daemon = start_containerd(tmp_path_factory)
    yield daemon
    daemon.stop()


def run_module(tmp_path_factory, check: bool = False, **args) -> dict:
    """One task of a playbook run by ansible-runner on /usr/bin/python3; the task's result."""
    private = tmp_path_factory.mktemp("hi-runner")
    task = {"docker_images_to_containerd": args, "check_mode": check}
    runner = ansible_runner.run(
        private_data_dir=str(private),
        playbook=[{"hosts": "localhost", "gather_facts": False, "tasks": [task]}],
        inventory="localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3",
        # This venv's ansible-playbook, whatever PATH pytest was started with.
        envvars={"ANSIBLE_LIBRARY": str(LIBRARY),
                 "ANSIBLE_MODULE_UTILS": str(LIBRARY.parent / "module_utils"),
                 "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"},
        quiet=True,
    )
    # The event, not the result, says whether the task failed.
    results = [{**event["event_data"]["res"], "failed": event["event"] == "runner_on_failed"}
               for event in runner.events
               if event["event"] in ("runner_on_ok", "runner_on_failed")]
    assert len(results) == 1, (private / "artifacts").as_posix()
    return results[0]


def module_args(docker, containerd: Containerd, record: Path, **extra) -> dict:
    return {"docker_host": docker.host, "containerd_address": containerd.address,
            "ctr": "/usr/bin/ctr", "record": str(record), **extra}


def cri_image_id(containerd: Containerd, ref: str, expected: str | None = None) -> str:
    """The image ID the CRI reports for `ref` ("" if it has none). The CRI learns of images
    from containerd's events, so wait briefly for `expected` before answering."""
    deadline = time.monotonic() + 10
    with grpc.insecure_channel(containerd.endpoint) as channel:
        stub = api_pb2_grpc.ImageServiceStub(channel)
        request = api_pb2.ImageStatusRequest(image=api_pb2.ImageSpec(image=ref))
        while True:
            found = stub.ImageStatus(request, timeout=30).image.id
            if expected is None or found == expected or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


def names_in(containerd: Containerd) -> list[str]:
    return containerd.ctr("images", "ls", "-q").split()


def ids(entries: list[dict]) -> set[str]:
    return {entry["id"] for entry in entries}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, docker, built):
    """One run into an empty containerd, pinning the pause image."""
    daemon = start_containerd(tmp_path_factory)
    record = tmp_path_factory.mktemp("hi-record") / "migration" / "images.json"
    try:
        result = run_module(tmp_path_factory,
                            **module_args(docker, daemon, record, pin=[built["pause"].ref]))
        yield SimpleNamespace(containerd=daemon, record=record, result=result)
    finally:
        daemon.stop()


def test_every_tagged_image_lands_with_dockers_image_id(first_run, docker, built):
    """Every tag of every image (both of busybox's) has Docker's image ID in the CRI's view,
    and the record lists each copied image with its refs."""
    result, daemon = first_run.result, first_run.containerd
    assert result["changed"] and not result["failed"], result.get("msg")
    for image in built.values():
        for ref in image.refs:
            assert cri_image_id(daemon, ref, image.config_digest) == image.config_digest, ref
    busybox = built["busybox"].config_digest
    assert cri_image_id(daemon, EXTRA_REF, busybox) == busybox
    assert cri_image_id(daemon, docker.web_tag, built["web"].config_digest) == (
        built["web"].config_digest)
    record = {entry["id"]: entry["refs"] for entry in json.loads(first_run.record.read_text())}
    assert record == {entry["id"]: entry["refs"] for entry in result["copied"]}
    assert {built["busybox"].ref, EXTRA_REF} <= set(record[busybox])


def test_dangling_image_is_skipped_and_reported(first_run, docker):
    """An image with neither tag nor digest is reported in `dangling` and not copied."""
    assert first_run.result["dangling"] == [docker.dangling]
    assert docker.dangling not in ids(first_run.result["copied"])
    assert cri_image_id(first_run.containerd, docker.dangling) == ""


def test_repo_digests_become_digest_names(first_run, docker, built):
    """An image pulled by digest only lands as repo@sha256:... (no import-... name is left),
    and a tagged image's RepoDigest gets the same kind of name beside its tags."""
    daemon = first_run.containerd
    assert cri_image_id(daemon, docker.digest_ref, docker.digest_only) == docker.digest_only
    web = built["web"].config_digest
    assert cri_image_id(daemon, docker.web_digest_ref, web) == web
    assert not [name for name in names_in(daemon) if name.startswith("import-")]


def test_pinned_ref_gets_the_cri_pinned_label(first_run, built):
    """`pin` labels the pause image io.cri-containerd.pinned=pinned (the kubelet keeps it)."""
    ref = built["pause"].ref
    assert first_run.result["pinned"] == [ref]
    listing = first_run.containerd.ctr("images", "ls", f"name=={ref}")
    assert PINNED in listing.splitlines()[1].split()[-1].split(",")


def test_bytes_streamed_once_for_shared_layers(first_run, built):
    """`bytes` is one docker-archive of all images: more than the largest fixture's archive,
    less than their sum, since web and the digest-only image share busybox's layers."""
    archives = [image.docker_archive.stat().st_size for image in built.values()]
    assert max(archives) < first_run.result["bytes"] < sum(archives)


def test_second_run_changes_nothing(tmp_path_factory, docker, containerd, built):
    """A rerun finds every image present with the same ID: changed=false, nothing copied,
    the record left as it was."""
    record = tmp_path_factory.mktemp("hi-record") / "images.json"
    args = module_args(docker, containerd, record, pin=[built["pause"].ref])
    first = run_module(tmp_path_factory, **args)
    written = record.stat().st_mtime_ns
    second = run_module(tmp_path_factory, **args)
    assert first["changed"] and not second["changed"], second.get("msg")
    assert second["copied"] == [] and second["bytes"] == 0 and second["pinned"] == []
    assert ids(second["present"]) == ids(first["copied"])
    assert record.stat().st_mtime_ns == written


def test_check_mode_lists_what_it_would_copy_and_changes_nothing(
        tmp_path_factory, docker, containerd):
    """--check returns would_copy (ID, refs, Docker's size) and leaves containerd empty."""
    record = tmp_path_factory.mktemp("hi-record") / "images.json"
    result = run_module(tmp_path_factory, check=True, **module_args(docker, containerd, record))
    assert result["changed"] and result["copied"] == []
    sizes = {entry["id"]: entry["size"] for entry in result["would_copy"]}
    expected = {image.id for image in docker.client.images.list() if image.id != docker.dangling}
    assert set(sizes) == expected
    for image_id, size in sizes.items():
        assert size == docker.client.images.get(image_id).attrs["Size"] > 0
    assert names_in(containerd) == []
    assert not record.exists()


def test_ref_holding_another_image_is_copied_again(tmp_path_factory, docker, containerd, built):
    """containerd already has busybox:extra, but it is the pause image: busybox is copied
    again and the ref ends up with busybox's ID; pause itself (same ID) counts as present."""
    load.into_containerd(containerd.address, built["pause"])
    containerd.ctr("images", "tag", "--force", built["pause"].ref, EXTRA_REF)
    record = tmp_path_factory.mktemp("hi-record") / "images.json"
    result = run_module(tmp_path_factory, **module_args(docker, containerd, record))
    busybox = built["busybox"].config_digest
    assert not result["failed"], result.get("msg")
    assert busybox in ids(result["copied"])
    assert ids(result["present"]) == {built["pause"].config_digest}
    assert cri_image_id(containerd, EXTRA_REF, busybox) == busybox


@pytest.fixture(scope="module")
def broken_docker(tmp_path_factory, built):
    """A Docker of its own holding pause and an image one of whose layer files was cut short
    (its export fails Docker's integrity check)."""
    with Dockerd(DockerdConfig(base_dir=tmp_path_factory.mktemp("hi-dockerd"))) as daemon:
        load.into_docker(daemon.host, built["pause"])
        client = daemon.client()
        build(client, f"FROM {built['pause'].ref}\nCOPY blob /blob\n", tag="hi/broken:1",
              files={"blob": os.urandom(65536)})
        upper = client.images.get("hi/broken:1").attrs["GraphDriver"]["Data"]["UpperDir"]
        os.truncate(Path(upper) / "blob", 1000)
        yield SimpleNamespace(host=daemon.host, ref="docker.io/hi/broken:1")
        client.close()


def test_broken_image_fails_the_task_but_the_others_are_copied(
        tmp_path_factory, broken_docker, containerd, built):
    """The one-stream export fails, so images go one by one: pause lands, the broken image
    is reported in failed_images and the task fails naming it; no record is written."""
    record = tmp_path_factory.mktemp("hi-record") / "images.json"
    result = run_module(tmp_path_factory, **module_args(broken_docker, containerd, record))
    assert result["failed"] and broken_docker.ref in result["msg"]
    assert [entry["refs"] for entry in result["failed_images"]] == [[broken_docker.ref]]
    assert "integrity" in result["failed_images"][0]["error"]
    pause = built["pause"].config_digest
    assert ids(result["copied"]) == {pause}
    assert cri_image_id(containerd, built["pause"].ref, pause) == pause
    assert not record.exists()


def test_allow_missing_succeeds_without_the_broken_image(
        tmp_path_factory, broken_docker, containerd, built):
    """With allow_missing the task succeeds, still reports the broken image, and records
    only what containerd holds."""
    record = tmp_path_factory.mktemp("hi-record") / "images.json"
    args = module_args(broken_docker, containerd, record, allow_missing=True)
    result = run_module(tmp_path_factory, **args)
    assert not result["failed"] and result["changed"], result.get("msg")
    assert [entry["refs"] for entry in result["failed_images"]] == [[broken_docker.ref]]
    assert ids(json.loads(record.read_text())) == {built["pause"].config_digest}


def test_delta_after_staging_brings_new_images_and_removes_gone_ones(
        tmp_path_factory, docker, containerd, built):
    """Staging copies everything while Docker still runs the pods; then an image is built and
    a tag removed in Docker. The second run (the delta, after the drain) copies only the new
    image, removes the gone tag from containerd, and leaves alone what containerd held before
    the migration; a third run changes nothing."""
    load.into_containerd(containerd.address, built["pause"])  # containerd's own, before
    state = tmp_path_factory.mktemp("hi-stage")
    args = module_args(docker, containerd, state / "images.json", added=str(state / "added.json"))
    gone = "docker.io/hi/gone:1"
    docker.client.images.get(built["busybox"].ref).tag("hi/gone", "1")
    try:
        staged = run_module(tmp_path_factory, **args)
        assert not staged["failed"] and gone in names_in(containerd), staged.get("msg")
        fresh = build(docker.client, f"FROM {built['busybox'].ref}\nLABEL role=fresh\n",
                      tag="hi/fresh:1")
        docker.client.images.remove("hi/gone:1")
        delta = run_module(tmp_path_factory, **args)
        again = run_module(tmp_path_factory, **args)
    finally:
        docker.client.images.remove("hi/fresh:1", force=True)
        with_gone = [t for i in docker.client.images.list() for t in i.tags if t == "hi/gone:1"]
        assert not with_gone
    assert not delta["failed"], delta.get("msg")
    assert ids(delta["copied"]) == {fresh} and delta["removed"] == [gone]
    assert gone not in names_in(containerd)
    assert cri_image_id(containerd, "docker.io/hi/fresh:1", fresh) == fresh
    added = json.loads((state / "added.json").read_text())
    assert added["docker.io/hi/fresh:1"] == fresh and gone not in added
    assert built["pause"].ref not in added  # containerd had it before: never the copy's
    assert not again["changed"] and again["copied"] == again["removed"] == []


def test_absent_removes_what_the_copy_added_and_nothing_else(
        tmp_path_factory, docker, containerd, built):
    """state=absent (a rollback, or a failed drain after staging) takes out every ref the copy
    added and both its records, and keeps the image containerd held before."""
    load.into_containerd(containerd.address, built["pause"])
    state = tmp_path_factory.mktemp("hi-absent")
    args = module_args(docker, containerd, state / "images.json", added=str(state / "added.json"))
    copied = run_module(tmp_path_factory, **args)
    assert not copied["failed"], copied.get("msg")
    removed = run_module(tmp_path_factory, **args, state="absent")
    assert removed["changed"] and built["busybox"].ref in removed["removed"]
    left = names_in(containerd)
    # The CRI also names each image by its ID: for the others, those names went with them.
    assert [name for name in left if not name.startswith("sha256:")] == [built["pause"].ref]
    assert {name for name in left if name.startswith("sha256:")} <= {built["pause"].config_digest}
    assert not (state / "added.json").exists() and not (state / "images.json").exists()
    assert not run_module(tmp_path_factory, **args, state="absent")["changed"]


def test_too_little_space_refuses_before_copying_anything(tmp_path_factory, docker, built):
    """containerd's root on a 4 MiB filesystem: the copy refuses before it starts, naming the
    filesystem, the bytes needed and free, and the kubelet's threshold (default 15%); containerd
    holds nothing; check mode reports the same figures without failing."""
    base = tmp_path_factory.mktemp("hi-small")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(base)], check=True)
    try:
        cfg = ContainerdConfig(base_dir=base, cni=False, bridge="hi-cni0", subnet="10.90.0.0/24")
        with Containerd(cfg) as daemon:
            args = module_args(docker, daemon, base / "state" / "images.json",
                               containerd_root=str(cfg.root))
            planned = run_module(tmp_path_factory, check=True, **args)
            refused = run_module(tmp_path_factory, **args)
            held = names_in(daemon)
    finally:
        subprocess.run(["umount", str(base)], check=True)
    assert refused["failed"] and "nothing was copied" in refused["msg"], refused.get("msg")
    assert f"filesystem of {cfg.root}/io.containerd.content.v1.content" in refused["msg"]
    assert "(the kubelet's imagefs.available eviction threshold, 15%)" in refused["msg"]
    assert held == []
    [space] = [fs for fs in planned["space"] if f"{cfg.root}/io.containerd.content.v1.content"
               in fs["paths"]]
    assert not planned["failed"] and not space["fits"] and space["needed"] > space["free"]
    assert space["size"] == 4 << 20
