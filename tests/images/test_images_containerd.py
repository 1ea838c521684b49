"""`ctr -n k8s.io images import` of the built images, seen through the CRI image service
(CRI v1 ImageService: ImageStatus, ListImages; Image.id, repo_tags, uid, username)."""

from __future__ import annotations

import pytest

from harness import images
from harness.images import load

pytestmark = [pytest.mark.root, pytest.mark.slow]

USERS = ["user-uid", "user-name", "user-uid-gid", "user-name-group"]


@pytest.fixture(scope="module")
def containerd(start_containerd, pause_image, busybox_image):
    daemon = start_containerd()
    load.into_containerd(daemon.address, pause_image, pinned=True)
    for image in [busybox_image, *(images.build(n) for n in [*USERS, "multi-tag"])]:
        load.into_containerd(daemon.address, image)
    return daemon


@pytest.fixture(scope="module")
def cri(containerd, cri_images_of):
    return cri_images_of(containerd)


def test_imported_image_shows_in_image_status(cri, busybox_image):
    """ImageStatus by tag: id is the config digest, repo_tags the ref, size the layers."""
    status = cri.status(busybox_image.ref)
    assert status.id == busybox_image.config_digest
    assert list(status.repo_tags) == [busybox_image.ref]
    assert status.size > 0


def test_import_keeps_the_built_manifest_digest(containerd, busybox_image):
    """The OCI archive is imported as built: containerd's image target is our manifest."""
    listing = containerd.ctr("images", "ls")
    line = next(row for row in listing.splitlines() if row.startswith(busybox_image.ref + " "))
    assert busybox_image.digest in line


def test_pinned_import_carries_the_cri_pinned_label(containerd, pause_image):
    """io.cri-containerd.pinned=pinned keeps the sandbox image out of the kubelet's image GC."""
    listing = containerd.ctr("images", "ls")
    line = next(row for row in listing.splitlines() if row.startswith(pause_image.ref + " "))
    assert "io.cri-containerd.pinned=pinned" in line


@pytest.mark.parametrize(
    ("name", "uid", "username"),
    [
        ("user-uid", 1002, ""),
        ("user-name", None, "tester"),
        ("user-uid-gid", 1003, ""),
        ("user-name-group", None, "tester"),
    ],
)
def test_image_status_reports_the_image_user(cri, name, uid, username):
    """Image.uid is set for a numeric USER, Image.username for a named one (CRI v1 Image)."""
    status = cri.status(images.build(name).ref)
    assert (status.uid.value if status.HasField("uid") else None) == uid
    assert status.username == username


def test_sandbox_image_status_reports_uid_65535(cri, pause_image):
    status = cri.status(pause_image.ref)
    assert status.uid.value == 65535


def test_multi_tag_image_is_one_image_with_three_tags(cri):
    """ListImages: one id carrying every tag of the multi-tag image."""
    image = images.build("multi-tag")
    entries = [i for i in cri.list() if i.id == image.config_digest]
    assert len(entries) == 1
    assert sorted(entries[0].repo_tags) == sorted(image.refs)
