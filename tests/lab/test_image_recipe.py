"""The node image is keyed by its recipe: the same inputs find the cached image, any changed
input (packages, suite, a baked-in file, the host's apt sources) names a new one."""

from __future__ import annotations

import dataclasses

import pytest

from harness.errors import InputError
from harness.lab.image import ensure_image
from harness.lab.node_files import NodeFile
from harness.lab.recipe import ImageRecipe, host_apt_sources


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


def test_a_debian_11_recipe_reaches_the_same_mirrors_for_bullseye(tmp_path):
    """The host's apt sources with its release name replaced, suffixed suites included."""
    (tmp_path / "etc/apt/sources.list.d").mkdir(parents=True)
    (tmp_path / "etc/apt/sources.list.d/debian.sources").write_text(
        "URIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n\n"
        "URIs: http://mirror.example/debian-security\nSuites: bookworm-security\n")
    os_release = tmp_path / "os-release"
    os_release.write_text('VERSION_CODENAME=bookworm\n')
    sources = host_apt_sources("bullseye", tmp_path / "etc/apt", os_release)
    assert sources == {"etc/apt/sources.list.d/debian.sources":
                       "URIs: http://mirror.example/debian\nSuites: bullseye bullseye-updates"
                       "\n\nURIs: http://mirror.example/debian-security\n"
                       "Suites: bullseye-security\n"}
    assert host_apt_sources("bookworm", tmp_path / "etc/apt", os_release) == \
        host_apt_sources("", tmp_path / "etc/apt", os_release)


def test_each_debian_release_is_its_own_image_and_12_is_the_default():
    assert ImageRecipe.for_debian().digest() == ImageRecipe().digest()
    bullseye = ImageRecipe.for_debian("11")
    assert bullseye.suite == "bullseye" and bullseye.digest() != ImageRecipe().digest()


def test_an_unknown_debian_release_is_refused_naming_the_flag_and_the_choices():
    with pytest.raises(InputError, match=r"--debian: '10' is not one of 11, 12"):
        ImageRecipe.for_debian("10")
