"""The node image is keyed by its recipe: the same inputs find the cached image, any changed
input (packages, suite, a baked-in file, the host's apt sources) names a new one."""

from __future__ import annotations

import dataclasses

from harness.lab.image import ensure_image
from harness.lab.node_files import NodeFile
from harness.lab.recipe import ImageRecipe


def test_the_same_recipe_has_the_same_digest():
    assert ImageRecipe().digest() == ImageRecipe().digest()


def test_every_recipe_input_changes_the_digest():
    base = ImageRecipe()
    changed = [
        dataclasses.replace(base, packages=(*base.packages, "kmod")),
        dataclasses.replace(base, suite="trixie"),
        dataclasses.replace(base, files=(*base.files, NodeFile("/etc/motd", "lab\n"))),
        dataclasses.replace(base, apt_sources={"etc/apt/sources.list": "deb http://x/ y main\n"}),
    ]
    digests = {r.digest() for r in changed}
    assert base.digest() not in digests and len(digests) == len(changed)


def test_a_cached_image_is_used_without_building(tmp_path, monkeypatch):
    """Only a complete image is ever renamed to its digest, so its presence means cached."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    recipe = ImageRecipe()
    cached = tmp_path / "harness" / "lab" / "images" / recipe.digest()
    (cached / "rootfs").mkdir(parents=True)
    assert ensure_image(recipe).rootfs == cached / "rootfs"
