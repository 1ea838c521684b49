"""Check an image against the OCI image-spec: an OCI image layout (directory or tar) or a
docker-archive (`docker save` tar). JSON documents are validated with the schemas shipped in
harness/oci/schemas/ (written from the spec's field tables), and the rules schemas cannot
express are checked here: blob digests and sizes, diff_ids, media types, ref-name annotations.

Each rule's problems are reported separately so a test can name the rule it checks.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import tarfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from jsonschema import Draft7Validator
from referencing import Registry, Resource

from harness.errors import InputError
from harness.oci.unpack import INDEX_TYPES, MANIFEST_TYPES, REF_NAME, blob_path, extract_archive

SCHEMA_DIR = Path(__file__).parent / "schemas"
CONFIG_TYPES = {
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
}
LAYER_TYPES = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
}
# annotations.md: ref ::= component ("/" component)*, component ::= alphanum (separator alphanum)*
REF_GRAMMAR = re.compile(
    r"^[A-Za-z0-9]+(?:[-._:@+]+[A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:[-._:@+]+[A-Za-z0-9]+)*)*$"
)

OCI_RULES = (
    "layout-header", "index-schema", "manifest-schema", "config-schema", "media-types",
    "blob-digests", "blob-sizes", "diff-ids", "ref-names",
)  # fmt: skip
DOCKER_RULES = ("docker-manifest-schema", "config-schema", "blob-digests", "diff-ids", "repo-tags")


@dataclass
class ImageReport:
    """Problems per rule for one image; rules absent from `rules` do not apply to its kind."""

    source: Path
    kind: str  # "oci-layout" or "docker-archive"
    rules: tuple[str, ...]
    problems: dict[str, list[str]] = field(default_factory=dict)

    def add(self, rule: str, problem: str) -> None:
        self.problems.setdefault(rule, []).append(problem)

    def of(self, rule: str) -> list[str]:
        return self.problems.get(rule, [])


@cache
def _registry() -> Registry:
    resources = []
    for path in SCHEMA_DIR.glob("*.json"):
        contents = json.loads(path.read_text())
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft7Validator:
    """A validator for schemas/<name>.json with $refs resolved among the shipped schemas."""
    schema = json.loads((SCHEMA_DIR / f"{name}.json").read_text())
    return Draft7Validator(schema, registry=_registry())


def schema_problems(name: str, document, where: str) -> list[str]:
    return [
        f"{where}: {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in validator(name).iter_errors(document)
    ]


def materialize(path: Path, workdir: Path) -> Path:
    """A directory with the image's files: `path` itself, or the tar unpacked in `workdir`."""
    if path.is_dir():
        return path
    return extract_archive(path, workdir / path.name)


def image_kind(path: Path) -> str:
    """ "oci-layout" or "docker-archive", from the file names alone (no extraction)."""
    if path.is_dir():
        names = {p.name for p in path.iterdir()}
    elif path.is_file() and tarfile.is_tarfile(path):
        with tarfile.open(path) as tar:
            names = {Path(name).as_posix().removeprefix("./") for name in tar.getnames()}
    else:
        raise InputError(f"--image-archive {path}: not a directory or tar archive")
    if "oci-layout" in names:
        return "oci-layout"
    if "manifest.json" in names:
        return "docker-archive"
    raise InputError(
        f"{path}: neither an OCI image layout (oci-layout) nor a docker-archive (manifest.json)"
    )


RULES = {"oci-layout": OCI_RULES, "docker-archive": DOCKER_RULES}


def check_image(path: Path, workdir: Path) -> ImageReport:
    kind = image_kind(path)
    root = materialize(path, workdir)
    if kind == "oci-layout":
        report = ImageReport(path, "oci-layout", OCI_RULES)
        _check_layout(root, report)
    else:
        report = ImageReport(path, "docker-archive", DOCKER_RULES)
        _check_docker_archive(root, report)
    return report


def _digest_of(path: Path, algorithm: str = "sha256", decompress: bool = False) -> str:
    hasher = hashlib.new(algorithm)
    with gzip.open(path) if decompress else open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            hasher.update(chunk)
    return f"{algorithm}:{hasher.hexdigest()}"


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as stream:
        return stream.read(2) == b"\x1f\x8b"


def _check_layout(root: Path, report: ImageReport) -> None:
    """image-layout.md: oci-layout and index.json, then every descriptor reachable from it."""
    report.problems.update(
        {"layout-header": schema_problems("image-layout", _load(root / "oci-layout"), "oci-layout")}
    )
    if not (root / "blobs").is_dir():
        report.add("layout-header", "blobs/ directory is missing")
    index = _load(root / "index.json")
    report.problems["index-schema"] = schema_problems("image-index", index, "index.json")
    for i, entry in enumerate(index.get("manifests", [])):
        ref = (entry.get("annotations") or {}).get(REF_NAME)
        if ref is None:
            report.add("ref-names", f"index.json manifests[{i}]: no {REF_NAME} annotation")
        elif not REF_GRAMMAR.match(ref):
            report.add("ref-names", f"index.json manifests[{i}]: {ref!r} breaks the ref grammar")
    _walk_index(root, index, "index.json", report)


def _walk_index(root: Path, index: dict, where: str, report: ImageReport) -> None:
    for i, entry in enumerate(index.get("manifests", [])):
        here = f"{where} manifests[{i}]"
        kind = entry.get("mediaType")
        if kind not in INDEX_TYPES | MANIFEST_TYPES:
            report.add("media-types", f"{here}: {kind} is neither an index nor a manifest")
            continue
        document = _blob_json(root, entry, here, report)
        if document is None:
            continue
        if kind in INDEX_TYPES:
            report.problems.setdefault("index-schema", []).extend(
                schema_problems("image-index", document, entry["digest"])
            )
            _walk_index(root, document, entry["digest"], report)
        else:
            _check_manifest(root, document, entry["digest"], report)


def _check_manifest(root: Path, manifest: dict, where: str, report: ImageReport) -> None:
    report.problems.setdefault("manifest-schema", []).extend(
        schema_problems("image-manifest", manifest, where)
    )
    config_desc = manifest.get("config", {})
    if config_desc.get("mediaType") not in CONFIG_TYPES:
        report.add("media-types", f"{where} config: {config_desc.get('mediaType')} is not a config")
    uncompressed = []
    for j, layer in enumerate(manifest.get("layers", [])):
        here = f"{where} layers[{j}]"
        if layer.get("mediaType") not in LAYER_TYPES:
            report.add("media-types", f"{here}: {layer.get('mediaType')} is not a layer type")
        path = _verified_blob(root, layer, here, report)
        if path is not None:
            uncompressed.append(_digest_of(path, decompress=_is_gzip(path)))
    config = _blob_json(root, config_desc, f"{where} config", report) if config_desc else None
    if config is None:
        return
    report.problems.setdefault("config-schema", []).extend(
        schema_problems("image-config", config, config_desc["digest"])
    )
    diff_ids = (config.get("rootfs") or {}).get("diff_ids")
    if diff_ids != uncompressed:
        report.add("diff-ids", f"{config_desc['digest']}: diff_ids {diff_ids} != {uncompressed}")


def _verified_blob(root: Path, desc: dict, where: str, report: ImageReport) -> Path | None:
    """descriptor.md: the blob's content MUST match the digest, and its length the size."""
    digest = desc.get("digest", "")
    path = blob_path(root, digest)
    if not digest or not path.is_file():
        report.add("blob-digests", f"{where}: blob {digest or '(no digest)'} is missing")
        return None
    algorithm = digest.partition(":")[0]
    if algorithm not in hashlib.algorithms_available:
        report.add("blob-digests", f"{where}: unknown digest algorithm {algorithm}")
        return None
    if _digest_of(path, algorithm) != digest:
        report.add("blob-digests", f"{where}: content of {path.name} does not hash to {digest}")
    if path.stat().st_size != desc.get("size"):
        report.add(
            "blob-sizes", f"{where}: size {desc.get('size')} but blob is {path.stat().st_size}"
        )
    return path


def _blob_json(root: Path, desc: dict, where: str, report: ImageReport):
    path = _verified_blob(root, desc, where, report)
    return None if path is None else _load(path)


def _load(path: Path):
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: not readable JSON ({err})") from err


def _check_docker_archive(root: Path, report: ImageReport) -> None:
    """docker-archive: manifest.json entries -> <id>.json config and layer tars."""
    entries = _load(root / "manifest.json")
    report.problems["docker-manifest-schema"] = schema_problems(
        "docker-archive-manifest", entries, "manifest.json"
    )
    if report.problems["docker-manifest-schema"]:
        return
    for i, entry in enumerate(entries):
        where = f"manifest.json[{i}]"
        if not entry.get("RepoTags"):
            report.add("repo-tags", f"{where}: no RepoTags, the image would load unnamed")
        config_path = root / entry["Config"]
        config = _load(config_path)
        report.problems.setdefault("config-schema", []).extend(
            schema_problems("image-config", config, entry["Config"])
        )
        # The config's file name is its sha256 (the image ID), as `docker load` verifies.
        expected = config_path.name.removesuffix(".json").rpartition("/")[2]
        if _digest_of(config_path) != f"sha256:{expected}":
            report.add("blob-digests", f"{where}: {entry['Config']} does not hash to its name")
        layers = [root / layer for layer in entry["Layers"]]
        actual = [_digest_of(p, decompress=_is_gzip(p)) for p in layers]
        diff_ids = (config.get("rootfs") or {}).get("diff_ids")
        if diff_ids != actual:
            report.add("diff-ids", f"{where}: diff_ids {diff_ids} != layer digests {actual}")
