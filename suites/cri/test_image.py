"""ImageService: pull (tag, no tag, digest; plain, basic auth, TLS), status by every reference
form, image user fields, list, remove, consistency, ImageFsInfo (CRI v1 PullImage,
ImageStatus, ListImages, RemoveImage, ImageFsInfo).

Pulls come from a registry the suite starts on loopback with its own images; tests that pull
or remove are `serial` (images are node-wide and one ID can carry several tags).
"""

import concurrent.futures
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import grpc
import pytest
import requests

from harness import images as image_builder
from harness.cri.client import CriError
from harness.cri.suite_images import AUTH_IMAGE, PULL_IMAGE_KEYS, TLS_IMAGE, pull_image
from harness.daemons.registry import Registry, RegistryConfig
from harness.errors import MissingToolError
from harness.images import load

pytestmark = [pytest.mark.image, pytest.mark.conformance]
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
AUTH = ("hc-user", "hc-secret-pw")


def _start_registry(**cfg):
    """A registry on loopback for the pull tests; where the node has none to run, they skip."""
    base = Path(tempfile.mkdtemp(prefix="hc-cri-registry-"))
    try:
        registry = Registry(RegistryConfig(base_dir=base, **cfg)).start()
    except MissingToolError as err:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"no local registry for the pull tests on this node: {err}")
    return registry, base


# One distinct image per pulling test, with the extra tags it needs (all share the repository
# harness.local/large, so tags are unique across keys): containerd 1.6's image store can race
# when an image is pulled again right after it was removed.
# Extra tags per pull image (harness.cri.suite_images.PULL_IMAGE_KEYS lists them all).
EXTRA_TAGS = {"status_forms": ("forms-b", "forms-c"), "remove_tags": ("remove-b", "remove-c"),
              "no_tag": ("latest",)}


@pytest.fixture(scope="session")
def registry(cri, facts):
    """A plain-HTTP registry on 127.0.0.1 with the images of PULL_IMAGE_KEYS (small distinct
    images, by key; refs[key] lists every tag) and one image under three tags (multi)."""
    if not facts.local_socket:
        pytest.skip("the suite's registry listens on this machine's loopback: run on the node")
    registry, base = _start_registry()
    try:
        built = {key: image_builder.build(name, **params)
                 for key in PULL_IMAGE_KEYS for name, params in [pull_image(key)]}
        built["multi"] = image_builder.build("multi-tag")
        refs = {key: load.into_registry(registry.url, img) for key, img in built.items()}
        for key, tags in EXTRA_TAGS.items():
            for tag in tags:
                refs[key].append(_retag(registry.url, refs[key][0], tag))
        yield registry, built, refs
        leaked = _ours(cri, registry.host)
        for image in leaked:
            cri.remove_image(image.id)
        assert not leaked, f"images from the suite's registry left behind: {leaked}"
    finally:
        registry.stop()
        shutil.rmtree(base, ignore_errors=True)


def _retag(url, ref, tag):
    """Put the manifest of `ref` under another tag (the distribution API's way to tag)."""
    repo, old = ref.split("/", 1)[1].rsplit(":", 1)
    got = requests.get(f"{url}/v2/{repo}/manifests/{old}", headers={"Accept": OCI_MANIFEST},
                       timeout=30)
    got.raise_for_status()
    put = requests.put(f"{url}/v2/{repo}/manifests/{tag}", data=got.content,
                       headers={"Content-Type": OCI_MANIFEST}, timeout=30)
    put.raise_for_status()
    return f"{ref.rsplit(':', 1)[0]}:{tag}"


@pytest.fixture
def pulled(cri, registry):
    """Pull helper; every image a test pulled is removed afterwards, even on failure."""
    host, refs = registry[0].host, []

    def pull(ref, **kw):
        refs.append(ref)
        try:
            return cri.pull_image(ref, **kw)
        except CriError as err:
            if "server gave HTTP response to HTTPS client" in err.details:
                pytest.skip(f"runtime does not pull plain HTTP from {host}; configure it as an "
                            f"insecure registry to run this test ({err.details})")
            raise

    yield pull
    for image in filter(None, map(cri.image_status, refs)):
        cri.remove_image(image.id)


def _ours(cri, host):
    return [i for i in cri.list_images()
            if any(n.startswith(host + "/") for n in [*i.repo_tags, *i.repo_digests])]


# -- pulls --------------------------------------------------------------------------------------


@pytest.mark.serial
def test_pull_by_tag(cri, registry, pulled):
    """PullImage by name:tag: ImageStatus has the image's ID, a size and repo_tags [ref]."""
    _, built, refs = registry
    ref = refs["by_tag"][0]
    image_ref = pulled(ref)
    status = cri.image_status(ref)
    assert image_ref == status.id == built["by_tag"].config_digest
    assert status.size > 0
    assert list(status.repo_tags) == [ref]


@pytest.mark.serial
def test_pull_without_tag_means_latest(cri, registry, pulled):
    """PullImage without a tag pulls `latest`: repo_tags is [name:latest]."""
    _, _built, refs = registry
    name = refs["no_tag"][0].rsplit(":", 1)[0]
    pulled(name)
    assert list(cri.image_status(name).repo_tags) == [f"{name}:latest"]


@pytest.mark.serial
def test_pull_by_digest(cri, registry, pulled):
    """PullImage by name@digest: repo_digests holds that reference, repo_tags is empty."""
    _, built, refs = registry
    ref = f"{refs['digest'][0].rsplit(':', 1)[0]}@{built['digest'].digest}"
    pulled(ref)
    status = cri.image_status(ref)
    assert ref in status.repo_digests
    assert list(status.repo_tags) == []


@pytest.mark.serial
def test_pull_with_short_deadline_times_out(cri, registry):
    """PullImage honours the caller's deadline: a 1 ms deadline ends the call at once, in
    DEADLINE_EXCEEDED. The deadline travels to the runtime too, which may notice it first:
    it answers with its own error (UNKNOWN: its dial or request timed out), or its gRPC server
    resets the expired stream (CANCELLED, RST_STREAM), seen under load with containerd 2.x. The
    deadline was honoured all the same, as long as the call ended at once."""
    _, _built, refs = registry
    started = time.monotonic()
    with pytest.raises(CriError) as err:
        cri.pull_image(refs["timeout"][0], timeout=0.001)
    assert time.monotonic() - started < 5, "the call outlived its deadline"
    details = err.value.details.lower()
    assert err.value.code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED) or (
        err.value.code == grpc.StatusCode.UNKNOWN
        and any(word in details for word in ("timeout", "deadline exceeded"))), str(err.value)


@pytest.mark.serial
def test_pull_of_missing_image_fails_cleanly(cri, registry, pulled):
    """PullImage of a name the registry does not have fails with an error naming it, and
    leaves no image behind."""
    ref = f"{registry[0].host}/hc-missing/{uuid.uuid4().hex[:8]}:1"
    with pytest.raises(CriError) as err:
        pulled(ref)
    assert "not found" in err.value.details.lower()
    assert cri.image_status(ref) is None


@pytest.fixture(scope="session")
def auth_registry(facts):
    """A registry requiring basic auth. The image is pushed before auth is switched on (same
    storage and port): htpasswd is bcrypt, and every authenticated request costs ~0.25 s."""
    if not facts.local_socket:
        pytest.skip("the suite's registry listens on this machine's loopback: run on the node")
    plain, base = _start_registry()
    try:
        refs = load.into_registry(plain.url, image_builder.build(AUTH_IMAGE[0], **AUTH_IMAGE[1]))
    finally:
        plain.stop()
    registry = Registry(RegistryConfig(base_dir=base, auth=AUTH, port=plain.port)).start()
    try:
        yield registry, refs[0]
    finally:
        registry.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.serial
def test_pull_with_basic_auth(cri, auth_registry, pulled):
    """PullImageRequest.auth username and password authenticate to the registry."""
    _, ref = auth_registry
    pulled(ref, auth=cri.pb.AuthConfig(username=AUTH[0], password=AUTH[1]))
    assert cri.image_status(ref) is not None


@pytest.mark.serial
def test_pull_without_credentials_is_refused(cri, auth_registry, pulled):
    """Without PullImageRequest.auth a registry requiring authentication refuses the pull (the
    registry's 401; containerd 1.x quotes it, 2.x says the authorization failed)."""
    _, ref = auth_registry
    with pytest.raises(CriError) as err:
        pulled(ref)
    details = err.value.details.lower()
    assert any(word in details for word in ("401", "unauthorized", "authorization failed")), \
        err.value.details


@pytest.mark.serial
def test_pull_from_tls_registry_with_ca(cri, pytestconfig, facts):
    """PullImage over HTTPS from a registry whose CA the runtime's registry config trusts
    (containerd: hosts.toml `ca`)."""
    host = pytestconfig.getoption("tls_registry")
    if not host:
        pytest.skip("no --tls-registry given: TLS pulls need a registry the runtime's own "
                    "config trusts (containerd: config_path/<host>/hosts.toml with ca)")
    ca = pytestconfig.getoption("tls_registry_ca")
    ref = load.into_registry(f"https://{host}", image_builder.build(TLS_IMAGE[0], **TLS_IMAGE[1]),
                             ca=ca)[0]
    try:
        cri.pull_image(ref)
        assert cri.image_status(ref) is not None
    finally:
        if cri.image_status(ref):
            cri.remove_image(ref)


# -- status, list, remove -----------------------------------------------------------------------


@pytest.mark.serial
def test_image_status_by_every_reference_form(cri, registry, pulled):
    """ImageStatus by each tag, by ID and by repo digest returns the same image."""
    _, built, refs = registry
    for ref in refs["status_forms"]:
        pulled(ref)
    status = cri.image_status(refs["status_forms"][0])
    forms = [*refs["status_forms"], status.id, *status.repo_digests]
    assert {cri.image_status(form).id for form in forms} == {built["status_forms"].config_digest}


@pytest.mark.serial
def test_list_shows_three_images_with_one_tag_each(cri, registry, pulled):
    """ListImages after pulling three different images: three IDs, each with its one tag."""
    host, (_, _built, refs) = registry[0].host, registry
    keys = ("three_a", "three_b", "three_c")
    for key in keys:
        pulled(refs[key][0])
    listed = {tuple(i.repo_tags) for i in _ours(cri, host)}
    assert listed == {(refs[k][0],) for k in keys}


@pytest.mark.serial
def test_list_shows_one_image_with_three_tags(cri, registry, pulled):
    """ListImages after pulling one image by three tags: one ID carrying the three tags."""
    host, (_, built, refs) = registry[0].host, registry
    for ref in refs["multi"]:
        pulled(ref)
    (image,) = _ours(cri, host)
    assert image.id == built["multi"].config_digest
    assert sorted(image.repo_tags) == sorted(refs["multi"])


@pytest.mark.serial
def test_remove_by_one_tag_removes_every_tag(cri, registry, pulled):
    """RemoveImage by one tag removes the image: every tag and the ID are gone."""
    _, built, refs = registry
    for ref in refs["remove_tags"]:
        pulled(ref)
    cri.remove_image(refs["remove_tags"][0])
    assert [cri.image_status(ref) for ref in refs["remove_tags"]] == [None, None, None]
    assert cri.image_status(built["remove_tags"].config_digest) is None


@pytest.mark.serial
def test_remove_by_id_removes_tags_from_both_registry_names(cri, registry, pulled):
    """One image pulled through two registry names (127.0.0.1:P and localhost:P) is one ID;
    removing it by ID removes both names, and both pulls returned the same image_ref."""
    reg, built, refs = registry
    ref = refs["two_names"][0]
    other = ref.replace(reg.host, f"localhost:{reg.port}", 1)
    assert pulled(ref) == pulled(other) == built["two_names"].config_digest
    cri.remove_image(built["two_names"].config_digest)
    assert cri.image_status(ref) is None and cri.image_status(other) is None


@pytest.mark.serial
def test_image_is_listed_right_after_pull(cri, registry, pulled):
    """Right after PullImage returns, ListImages and ImageStatus show the image."""
    ref = registry[2]["after_pull"][0]
    image_ref = pulled(ref)
    assert image_ref in {i.id for i in cri.list_images()}
    assert cri.image_status(ref) is not None


@pytest.mark.serial
def test_image_is_gone_right_after_remove(cri, registry, pulled):
    """Right after RemoveImage returns, ListImages and ImageStatus no longer show it."""
    ref = registry[2]["after_remove"][0]
    image_ref = pulled(ref)
    cri.remove_image(ref)
    assert image_ref not in {i.id for i in cri.list_images()}
    assert cri.image_status(ref) is None


@pytest.mark.serial
def test_concurrent_removes_all_succeed(cri, registry, pulled, idempotent):
    """Five simultaneous RemoveImage calls of one image all succeed, and it is gone."""
    image_ref = pulled(registry[2]["concurrent"][0])
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        for future in [pool.submit(idempotent, cri.remove_image, image_ref) for _ in range(5)]:
            future.result()
    assert cri.image_status(image_ref) is None


@pytest.mark.serial
def test_image_id_is_the_same_across_apis(cri, registry, pulled, pods):
    """PullImage.image_ref, ImageStatus.id, ListImages id and a container's
    ContainerStatus.image_ref name the same image."""
    ref = registry[2]["id_apis"][0]
    image_ref = pulled(ref)
    assert cri.image_status(ref).id == image_ref
    assert image_ref in {i.id for i in cri.list_images(ref)}
    pod = pods("idcheck")
    status = cri.container_status(pod.create("c", image=ref))
    assert status.image_ref in (image_ref, *cri.image_status(ref).repo_digests)


def test_remove_missing_image_is_not_an_error(cri, idempotent):
    """RemoveImage is idempotent: an ID that does not exist is not an error, twice."""
    missing = "sha256:" + uuid.uuid4().hex * 2
    idempotent(cri.remove_image, missing)
    idempotent(cri.remove_image, missing)


def test_image_status_of_missing_image_is_nil(cri):
    """ImageStatus of an image the runtime lacks returns no image and no error."""
    assert cri.image_status(f"harness.local/hc-missing-{uuid.uuid4().hex[:8]}:1") is None


@pytest.mark.parametrize(
    "recipe, uid, username",
    [("user-uid", 1002, ""), ("user-name", None, "tester"), ("user-uid-gid", 1003, ""),
     ("user-name-group", None, "tester")],
)
def test_image_status_reports_image_user(cri, images, recipe, uid, username):
    """Image.uid and Image.username come from the image config's User (uid for numeric
    users, username for names; the group part is not part of either)."""
    status = cri.image_status(images[recipe].ref)
    assert (status.uid.value if status.HasField("uid") else None) == uid
    assert status.username == username


def test_list_images_includes_loaded_images(cri, images):
    """ListImages lists the suite's fixture images with their IDs and tags."""
    listed = {i.id: set(i.repo_tags) for i in cri.list_images()}
    for img in images.values():
        assert img.ref in listed.get(img.config_digest, set())


def test_image_fs_info_reports_the_image_filesystem(cri, optional):
    """ImageFsInfo (beyond critest): at least one image filesystem with its mountpoint, a
    timestamp and used bytes/inodes."""
    reply = optional(cri.image_fs_info)
    assert reply.image_filesystems
    for fs in reply.image_filesystems:
        assert fs.timestamp > 0
        assert fs.fs_id.mountpoint
        assert fs.HasField("used_bytes")
