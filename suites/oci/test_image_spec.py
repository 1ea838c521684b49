"""OCI image-spec conformance of our fixture images and of any --image-archive given: the
JSON documents against the schemas in harness/oci/schemas/, plus the rules around them. Each
test checks one rule and runs for the images of the kinds that rule applies to."""

import importlib.util
import shutil
import tempfile
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.oci.imagespec import RULES, ImageReport, check_image, image_kind

FIXTURE_IMAGES = ("busybox", "pause", "many-layers", "multi-tag")
FIXTURE_FORMATS = {"oci_layout": "oci-layout", "oci_archive": "oci-layout",
                   "docker_archive": "docker-archive"}  # fmt: skip


def checks(rule: str):
    """Mark a test as checking `rule` (a key of ImageReport.problems)."""

    def mark(function):
        function.image_rule = rule
        return function

    return mark


def pytest_generate_tests(metafunc):
    rule = getattr(metafunc.function, "image_rule", None)
    if rule is None:
        return
    sources = [
        (f"fixture:{name}:{fmt}", kind)
        for name in FIXTURE_IMAGES
        for fmt, kind in FIXTURE_FORMATS.items()
    ]
    for path in metafunc.config.getoption("image_archive"):
        try:
            sources.append((f"archive:{path}", image_kind(Path(path))))
        except HarnessError as err:
            raise pytest.UsageError(str(err)) from err
    chosen = [source for source, kind in sources if rule in RULES[kind]]
    metafunc.parametrize("image_source", chosen, scope="session")


@pytest.fixture(scope="session")
def image_workdir():
    path = Path(tempfile.mkdtemp(prefix="ho-oci-images-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


_reports: dict[str, ImageReport] = {}


@pytest.fixture
def rule_problems(request, image_source, image_workdir) -> list[str]:
    """What the image breaks of the test's rule; the image is checked once for all rules."""
    if image_source not in _reports:
        _reports[image_source] = check_image(resolve(image_source), image_workdir)
    return _reports[image_source].of(request.function.image_rule)


def resolve(source: str) -> Path:
    kind, _, rest = source.partition(":")
    if kind == "archive":
        return Path(rest)
    if importlib.util.find_spec("harness.images") is None:
        pytest.skip("harness.images (the fixture image builder) is not available")
    from harness import images

    name, _, fmt = rest.partition(":")
    return Path(getattr(images.build(name), fmt))


@checks("layout-header")
def test_layout_header_is_valid(rule_problems):
    """image-layout.md#oci-layout-file: oci-layout exists with imageLayoutVersion 1.0.0, and
    blobs/ exists."""
    assert rule_problems == []


@checks("index-schema")
def test_index_matches_schema(rule_problems):
    """image-index.md (schema: image-index): schemaVersion 2, manifests of descriptors."""
    assert rule_problems == []


@checks("manifest-schema")
def test_manifests_match_schema(rule_problems):
    """manifest.md (schema: image-manifest): schemaVersion, config and layers descriptors."""
    assert rule_problems == []


@checks("config-schema")
def test_configs_match_schema(rule_problems):
    """config.md (schema: image-config): architecture, os, rootfs.diff_ids, Env as K=V."""
    assert rule_problems == []


@checks("media-types")
def test_media_types_are_known(rule_problems):
    """media-types.md: manifests, configs and layers carry OCI (or Docker-compatible)
    media types of their kind."""
    assert rule_problems == []


@checks("blob-digests")
def test_blob_digests_match_content(rule_problems):
    """descriptor.md#digests: blob content MUST hash to the descriptor's digest
    (docker-archive: the config file is named by its sha256)."""
    assert rule_problems == []


@checks("blob-sizes")
def test_blob_sizes_match_descriptors(rule_problems):
    """descriptor.md#properties size: the blob's length in bytes."""
    assert rule_problems == []


@checks("diff-ids")
def test_diff_ids_match_uncompressed_layers(rule_problems):
    """config.md#properties rootfs.diff_ids: the digests of the uncompressed layers, in
    order."""
    assert rule_problems == []


@checks("ref-names")
def test_ref_name_annotations_present(rule_problems):
    """annotations.md#pre-defined-annotation-keys org.opencontainers.image.ref.name on each
    index.json entry (image-layout.md#indexjson-file), following the ref grammar."""
    assert rule_problems == []


@checks("docker-manifest-schema")
def test_docker_manifest_matches_schema(rule_problems):
    """docker-archive manifest.json: Config and Layers for each image."""
    assert rule_problems == []


@checks("repo-tags")
def test_docker_archive_images_are_tagged(rule_problems):
    """docker-archive manifest.json RepoTags: without them `docker load` leaves the image
    unnamed."""
    assert rule_problems == []
