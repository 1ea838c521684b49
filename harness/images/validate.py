"""Check an OCI image layout against the image-spec JSON schemas and its own descriptors.

The schemas are read from the image-spec Go module (fetched through the Go module proxy into
the Go module cache, the schema files are part of that module), not copied into this tree.
Beyond the schemas: every descriptor's blob exists with that digest and size, and the config's
diff_ids are the (uncompressed) layer digests.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from harness.errors import MissingToolError, UnreachableError
from harness.images.layout import MT_CONFIG, MT_LAYER, MT_MANIFEST

IMAGE_SPEC_MODULE = "github.com/opencontainers/image-spec"
IMAGE_SPEC_VERSION = "v1.1.0"
SCHEMAS = {
    "layout": "image-layout-schema.json",
    "index": "image-index-schema.json",
    "manifest": "image-manifest-schema.json",
    "config": "config-schema.json",
}


@functools.cache
def schema_dir(version: str = IMAGE_SPEC_VERSION) -> Path:
    """The image-spec module's schema/ directory (`go mod download`, cached by Go)."""
    go = shutil.which("go") or next(
        (p for p in ("/usr/local/go/bin/go", "/usr/lib/go-1.19/bin/go") if Path(p).exists()), None
    )
    if not go:
        raise MissingToolError(
            "go not found (needed to fetch the image-spec schemas)",
            hint="install Go or run scripts/setup.sh",
        )
    proc = subprocess.run(
        [go, "mod", "download", "-json", f"{IMAGE_SPEC_MODULE}@{version}"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd="/",
    )
    if proc.returncode != 0:
        raise UnreachableError(
            f"go mod download {IMAGE_SPEC_MODULE}@{version} failed",
            hint=(proc.stdout + proc.stderr).strip().replace("\n", " | "),
        )
    return Path(json.loads(proc.stdout)["Dir"]) / "schema"


def _validator(schemas: Path, name: str):
    """A draft-04 validator whose $refs resolve to files of `schemas` by name: the spec's
    nested ids would otherwise point at opencontainers.org URLs."""
    import jsonschema
    from referencing import Registry
    from referencing.jsonschema import DRAFT4

    def retrieve(uri: str):
        return DRAFT4.create_resource(
            json.loads((schemas / Path(urlsplit(uri).path).name).read_text())
        )

    schema = json.loads((schemas / SCHEMAS[name]).read_text())
    return jsonschema.Draft4Validator(schema, registry=Registry(retrieve=retrieve))


def _schema_problems(schemas: Path, name: str, doc: dict, where: str) -> list[str]:
    return [
        f"{where}: {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in _validator(schemas, name).iter_errors(doc)
    ]


def _blob(layout: Path, desc: dict, problems: list[str], where: str) -> bytes | None:
    algo, _, hexdigest = desc["digest"].partition(":")
    path = layout / "blobs" / algo / hexdigest
    if not path.is_file():
        problems.append(f"{where}: blob {desc['digest']} missing")
        return None
    data = path.read_bytes()
    if f"{algo}:{hashlib.new(algo, data).hexdigest()}" != desc["digest"]:
        problems.append(f"{where}: blob content does not match {desc['digest']}")
    if len(data) != desc["size"]:
        problems.append(f"{where}: size {desc['size']} but blob has {len(data)} bytes")
    return data


def validate_layout(layout: Path, schemas: Path | None = None) -> list[str]:
    """Problems found in the layout at `layout` (empty list: valid)."""
    schemas = schemas or schema_dir()
    problems = _schema_problems(
        schemas, "layout", json.loads((layout / "oci-layout").read_text()), "oci-layout"
    )
    index = json.loads((layout / "index.json").read_text())
    problems += _schema_problems(schemas, "index", index, "index.json")
    for i, desc in enumerate(index.get("manifests", [])):
        where = f"index.json manifests[{i}]"
        if desc.get("mediaType") != MT_MANIFEST:
            problems.append(f"{where}: mediaType {desc.get('mediaType')} is not {MT_MANIFEST}")
        data = _blob(layout, desc, problems, where)
        if data is None:
            continue
        manifest = json.loads(data)
        problems += _schema_problems(schemas, "manifest", manifest, desc["digest"])
        config_data = _blob(layout, manifest["config"], problems, f"{desc['digest']} config")
        layers = manifest.get("layers", [])
        for j, layer in enumerate(layers):
            _blob(layout, layer, problems, f"{desc['digest']} layers[{j}]")
            if layer.get("mediaType") != MT_LAYER:
                problems.append(f"{desc['digest']} layers[{j}]: mediaType is not {MT_LAYER}")
        if manifest["config"].get("mediaType") != MT_CONFIG:
            problems.append(f"{desc['digest']} config: mediaType is not {MT_CONFIG}")
        if config_data is None:
            continue
        config = json.loads(config_data)
        problems += _schema_problems(schemas, "config", config, manifest["config"]["digest"])
        if config.get("rootfs", {}).get("diff_ids") != [layer["digest"] for layer in layers]:
            problems.append(f"{manifest['config']['digest']}: diff_ids differ from the layers")
    return problems
