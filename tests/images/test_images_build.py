"""The builder: deterministic output, the cache, and what the images contain.

Formats: OCI image-spec v1.1 (image layout, index, manifest, config) and Docker's
docker-archive (`docker save`) format; containerd reads the annotations
io.containerd.image.name and org.opencontainers.image.ref.name.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile

import pytest
import upstream_schemas

from harness import images
from harness.errors import InputError
from harness.images import cache, recipe
from harness.oci.imagespec import check_image

# Small images of every kind (large with a small size keeps the run short).
SMALL = [
    "pause",
    "busybox",
    "web",
    "user-uid",
    "user-name",
    "user-uid-gid",
    "user-name-group",
    "nonewprivs",
    "multi-tag",
    "many-layers",
]


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_IMAGE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _layer_tars(image):
    blobs = image.oci_layout / "blobs" / "sha256"
    return [tarfile.open(blobs / d.split(":")[1]) for d in image.diff_ids]


def _blob_json(image, digest):
    return json.loads((image.oci_layout / "blobs" / "sha256" / digest.split(":")[1]).read_bytes())


def test_building_twice_gives_the_same_digests(fresh_cache):
    """Same recipe and inputs, same bytes: rebuilt after clearing the cache, every digest and
    every output file is identical."""
    first = {n: images.build(n) for n in ("busybox", "pause", "nonewprivs")}
    first_bytes = {n: i.docker_archive.read_bytes() for n, i in first.items()}
    cache.clear("busybox")
    cache.clear("pause")
    assert not first["busybox"].oci_layout.exists()
    second = {n: images.build(n) for n in first}
    for name in first:
        assert second[name].digest == first[name].digest
        assert second[name].config_digest == first[name].config_digest
        assert second[name].oci_archive.read_bytes() == first[name].oci_archive.read_bytes()
        assert second[name].docker_archive.read_bytes() == first_bytes[name]


def test_a_second_build_is_served_from_the_cache(fresh_cache):
    """Nothing changed: the second build returns the same directory without rewriting it."""
    first = images.build("busybox")
    stamp = (first.oci_layout.parent / "image.json").stat().st_mtime_ns
    second = images.build("busybox")
    assert second == first
    assert (second.oci_layout.parent / "image.json").stat().st_mtime_ns == stamp


def test_a_changed_recipe_is_rebuilt(fresh_cache, tmp_path, monkeypatch):
    """The cache key covers the recipe: an edited /etc/motd gives a new image."""
    before = images.build("busybox")
    copy = tmp_path / "recipes"
    shutil.copytree(recipe.RECIPES_DIR, copy)
    text = (
        (copy / "busybox.yaml")
        .read_text()
        .replace("nogroup:x:65534:", "nogroup:x:65534:\n          edited:x:2000:")
    )
    (copy / "busybox.yaml").write_text(text)
    monkeypatch.setattr(recipe, "RECIPES_DIR", copy)
    after = images.build("busybox")
    assert after.digest != before.digest
    assert after.oci_layout != before.oci_layout


def test_a_parameter_changes_the_image_and_its_tag(fresh_cache):
    """large's `size` parameter sets the blob size and the tag."""
    small, smaller = images.build("large", size=4096), images.build("large", size=1024)
    assert small.ref == "harness.local/large:4096"
    assert small.digest != smaller.digest
    blob = next(m for m in _layer_tars(small)[-1].getmembers() if m.name == "data/blob")
    assert blob.size == 4096


def test_an_unknown_parameter_is_refused():
    with pytest.raises(InputError, match="unknown parameter.*size"):
        images.build("busybox", size=1)


def test_an_unknown_recipe_names_the_known_ones():
    with pytest.raises(InputError, match="known: .*busybox.*pause"):
        images.build("no-such-image")


@pytest.mark.parametrize("name", SMALL)
def test_oci_layout_passes_the_image_spec_checks(name, tmp_path):
    """image-spec v1.1: schemas of oci-layout, index, manifest and config, blob digests and
    sizes, config.rootfs.diff_ids == layer digests, ref-name annotations (harness.oci)."""
    report = check_image(images.build(name).oci_layout, tmp_path)
    assert {rule: found for rule, found in report.problems.items() if found} == {}


@pytest.mark.parametrize("name", SMALL)
def test_oci_layout_validates_against_the_upstream_image_spec_schemas(name):
    """The image-spec's own schemas agree, so the shipped ones are no laxer on our images."""
    assert upstream_schemas.problems(images.build(name).oci_layout) == []


def test_skopeo_and_umoci_read_the_layout(busybox_image):
    """Two independent readers agree with our digests."""
    ref = f"oci:{busybox_image.oci_layout}:1.0"
    raw = subprocess.run(["skopeo", "inspect", "--raw", ref], capture_output=True, check=True)
    assert "sha256:" + hashlib.sha256(raw.stdout).hexdigest() == busybox_image.digest
    info = json.loads(
        subprocess.run(["skopeo", "inspect", ref], capture_output=True, check=True).stdout
    )
    assert info["Layers"] == list(busybox_image.diff_ids)
    subprocess.run(
        ["umoci", "stat", "--image", f"{busybox_image.oci_layout}:1.0"],
        capture_output=True,
        check=True,
    )


def test_index_annotates_each_ref_for_containerd_and_oci_tools():
    """One index entry per tag: io.containerd.image.name is the full ref,
    org.opencontainers.image.ref.name the tag (image-spec annotations.md)."""
    image = images.build("multi-tag")
    index = json.loads((image.oci_layout / "index.json").read_text())
    names = [
        (
            m["annotations"]["io.containerd.image.name"],
            m["annotations"]["org.opencontainers.image.ref.name"],
        )
        for m in index["manifests"]
    ]
    assert names == [(f"harness.local/multi-tag:{t}", t) for t in ("1", "2", "3")]
    assert {m["digest"] for m in index["manifests"]} == {image.digest}
    assert index["manifests"][0]["platform"]["os"] == "linux"


def test_docker_archive_agrees_with_the_oci_image(busybox_image):
    """manifest.json names the config and one uncompressed layer.tar per diff_id, in order."""
    with tarfile.open(busybox_image.docker_archive) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))
        assert len(manifest) == 1
        entry = manifest[0]
        assert entry["RepoTags"] == list(busybox_image.refs)
        config = archive.extractfile(entry["Config"]).read()
        assert "sha256:" + hashlib.sha256(config).hexdigest() == busybox_image.config_digest
        layer_digests = [
            "sha256:" + hashlib.sha256(archive.extractfile(p).read()).hexdigest()
            for p in entry["Layers"]
        ]
    assert layer_digests == list(busybox_image.diff_ids)
    assert json.loads(config)["rootfs"]["diff_ids"] == layer_digests


def test_layers_have_fixed_mtimes_owners_and_order(busybox_image):
    """Reproducible tars: mtime 0, no user/group names, root-owned except tester's home,
    members sorted."""
    for tar in _layer_tars(busybox_image):
        members = tar.getmembers()
        assert [m.name for m in members] == sorted(m.name for m in members)
        for m in members:
            assert (m.mtime, m.uname, m.gname) == (0, "", "")
            expected = 1000 if m.name == "home/tester" else 0
            assert (m.uid, m.gid) == (expected, expected), m.name


def test_busybox_links_every_applet_but_not_itself(busybox_image):
    """`busybox --list-full` includes busybox: linking it would replace the binary."""
    applets = subprocess.run(
        ["/bin/busybox", "--list-full"], capture_output=True, text=True, check=True
    ).stdout.split()
    members = {m.name: m for tar in _layer_tars(busybox_image) for m in tar.getmembers()}
    assert members["bin/busybox"].isfile() and members["bin/busybox"].mode == 0o755
    links = [a for a in applets if a != "bin/busybox"]
    assert len(links) > 200
    for applet in links:
        assert members[applet].issym() and members[applet].linkname == "/bin/busybox", applet


def test_busybox_has_root_nobody_and_a_user_with_supplementary_groups(busybox_image):
    files = {
        m.name: tar.extractfile(m).read().decode()
        for tar in _layer_tars(busybox_image)
        for m in tar.getmembers()
        if m.name in ("etc/passwd", "etc/group")
    }
    users = {line.split(":")[0]: line.split(":")[2:4] for line in files["etc/passwd"].split()}
    assert users == {"root": ["0", "0"], "tester": ["1000", "1000"], "nobody": ["65534", "65534"]}
    groups_of_tester = {
        line.split(":")[2]
        for line in files["etc/group"].split()
        if "tester" in line.split(":")[3].split(",")
    }
    assert groups_of_tester == {"1001", "1002"}


def test_nonewprivs_probe_is_setuid_root(fresh_cache):
    image = images.build("nonewprivs")
    probe = next(
        m for tar in _layer_tars(image) for m in tar.getmembers() if m.name == "usr/local/bin/euid"
    )
    assert (probe.mode, probe.uid) == (0o4755, 0)
    assert image.uid == 1000


@pytest.mark.parametrize(
    ("name", "user", "uid", "username"),
    [
        ("user-uid", "1002", 1002, ""),
        ("user-name", "tester", None, "tester"),
        ("user-uid-gid", "1003:1004", 1003, ""),
        ("user-name-group", "tester:extra1", None, "tester"),
        ("pause", "65535:65535", 65535, ""),
    ],
)
def test_user_variants_carry_their_user_in_the_config(name, user, uid, username):
    """config.User as written; BuiltImage.uid/username as CRI ImageStatus derives them."""
    image = images.build(name)
    assert _blob_json(image, image.config_digest)["config"]["User"] == user
    assert (image.user, image.uid, image.username) == (user, uid, username)


def test_many_layers_has_one_layer_per_file():
    image = images.build("many-layers", layers=5)
    assert len(image.diff_ids) == 2 + 5
    assert image.ref == "harness.local/many-layers:5"


def test_skopeo_reads_the_docker_archive(busybox_image):
    """The docker-archive as another reader sees it: same layers and image config."""
    ref = f"docker-archive:{busybox_image.docker_archive}"
    info = json.loads(
        subprocess.run(["skopeo", "inspect", ref], capture_output=True, check=True).stdout
    )
    assert info["Layers"] == list(busybox_image.diff_ids)
    config = subprocess.run(
        ["skopeo", "inspect", "--raw", "--config", ref], capture_output=True, check=True
    ).stdout
    assert "sha256:" + hashlib.sha256(config).hexdigest() == busybox_image.config_digest
