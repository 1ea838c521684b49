"""The image cache: one directory per recipe + inputs hash, published atomically.

Several engineers and CI jobs build at once, so a build goes to a temp dir beside the final
one and is renamed into place under a file lock; a reader never sees half an image.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

from harness import paths

BUILDER_VERSION = 1  # bump when the builder's output format changes


def cache_root() -> Path:
    """$HARNESS_IMAGE_CACHE, else ~/.cache/harness/images."""
    return paths.cache_dir("images", "HARNESS_IMAGE_CACHE")


def key(inputs: dict) -> str:
    blob = json.dumps({"builder": BUILDER_VERSION, **inputs}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def entry_dir(name: str, inputs_key: str) -> Path:
    return cache_root() / f"{name}-{inputs_key}"


@contextlib.contextmanager
def building(final: Path) -> Iterator[Path | None]:
    """Yield a temp dir to build into (None if `final` exists); rename it to `final` after."""
    final.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(final) + ".lock"):
        if final.exists():
            yield None
            return
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
        try:
            yield tmp
            os.rename(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def clear(name: str | None = None) -> None:
    """Remove cached builds of one recipe (all params), or everything."""
    root = cache_root()
    if not root.exists():
        return
    for path in root.iterdir():
        if name is None or path.name.rsplit("-", 1)[0] == name:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
