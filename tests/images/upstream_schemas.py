"""An independent cross-check for the shipped image-spec schemas (harness/oci/schemas): the
image-spec's own JSON schemas, read from its Go module (fetched through the Go module proxy
into Go's module cache), never copied into this tree."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT4

IMAGE_SPEC = "github.com/opencontainers/image-spec@v1.1.0"
SCHEMAS = {"layout": "image-layout-schema.json", "index": "image-index-schema.json",
           "manifest": "image-manifest-schema.json", "config": "config-schema.json"}


@functools.cache
def schema_dir() -> Path:
    go = shutil.which("go") or "/usr/local/go/bin/go"
    out = subprocess.run([go, "mod", "download", "-json", IMAGE_SPEC], capture_output=True,
                         text=True, timeout=300, check=True, cwd="/")
    return Path(json.loads(out.stdout)["Dir"]) / "schema"


def _validator(name: str) -> jsonschema.Draft4Validator:
    """$refs resolve to the module's files by name; the spec's ids point at web URLs."""
    def retrieve(uri: str):
        return DRAFT4.create_resource(
            json.loads((schema_dir() / Path(urlsplit(uri).path).name).read_text()))
    schema = json.loads((schema_dir() / SCHEMAS[name]).read_text())
    return jsonschema.Draft4Validator(schema, registry=Registry(retrieve=retrieve))


def problems(layout: Path) -> list[str]:
    """What the upstream schemas find wrong in the layout's layout file, index, manifests and
    configs (blob digests and the rest are the project checker's job)."""
    def blob(digest: str) -> dict:
        algo, _, hexdigest = digest.partition(":")
        return json.loads((layout / "blobs" / algo / hexdigest).read_bytes())

    index = json.loads((layout / "index.json").read_text())
    docs = [("layout", json.loads((layout / "oci-layout").read_text()), "oci-layout"),
            ("index", index, "index.json")]
    for desc in index["manifests"]:
        manifest = blob(desc["digest"])
        docs += [("manifest", manifest, desc["digest"]),
                 ("config", blob(manifest["config"]["digest"]), manifest["config"]["digest"])]
    return [f"{where}: {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for name, doc, where in docs for e in _validator(name).iter_errors(doc)]
