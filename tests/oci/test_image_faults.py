"""The image-spec tests of suites/oci must fail on a broken image given as --image-archive:
a layer whose bytes no longer match its digest, and an index entry without a ref name."""

import json
import shutil

import pytest

from harness import images

pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.fixture
def layout_copy(tmp_path):
    target = tmp_path / "broken-layout"
    shutil.copytree(images.build("busybox").oci_layout, target)
    return target


def corrupt_first_layer(layout):
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((layout / "blobs" / "sha256" / digest).read_text())
    layer = layout / "blobs" / "sha256" / manifest["layers"][0]["digest"].split(":")[1]
    data = bytearray(layer.read_bytes())
    data[600] ^= 0xFF  # inside the first member's content
    layer.write_bytes(bytes(data))


def drop_ref_names(layout):
    index = json.loads((layout / "index.json").read_text())
    for entry in index["manifests"]:
        entry.get("annotations", {}).pop("org.opencontainers.image.ref.name", None)
    (layout / "index.json").write_text(json.dumps(index))


def archive_outcomes(run, layout) -> dict[str, str]:
    return {
        name.split("[")[0]: o for name, o in run.outcomes.items() if f"archive:{layout}" in name
    }


def test_corrupt_layer_fails_digest_and_diff_id_checks(run_suite, layout_copy):
    """descriptor.md digests and config.md diff_ids: a changed layer byte breaks both."""
    corrupt_first_layer(layout_copy)
    run = run_suite(
        "-k", "archive", "--image-archive", str(layout_copy), path="suites/oci/test_image_spec.py"
    )
    outcomes = archive_outcomes(run, layout_copy)
    assert outcomes["test_blob_digests_match_content"] == "failed"
    assert outcomes["test_diff_ids_match_uncompressed_layers"] == "failed"
    assert outcomes["test_manifests_match_schema"] == "passed"


def test_missing_ref_name_fails_annotation_check(run_suite, layout_copy):
    """annotations.md org.opencontainers.image.ref.name: its absence is reported."""
    drop_ref_names(layout_copy)
    run = run_suite(
        "-k", "archive", "--image-archive", str(layout_copy), path="suites/oci/test_image_spec.py"
    )
    outcomes = archive_outcomes(run, layout_copy)
    assert outcomes["test_ref_name_annotations_present"] == "failed"
    assert outcomes["test_blob_digests_match_content"] == "passed"
