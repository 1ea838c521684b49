"""Recipe entries that copy from this host beyond one file: a dynamically linked binary with
the shared libraries it loads (`libraries: true`), and a whole `host:` directory (iptables'
extensions, which are loaded by name at run time)."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from harness import images
from harness.errors import InputError
from harness.images import libraries, recipe

RECIPE = """\
description: a dynamic binary and a host directory
layers:
  - entries:
      - {file: /bin/probe, host: /usr/bin/true, libraries: true}
      - {dir: /opt/plugins, host: PLUGINS, libraries: true}
config:
  entrypoint: [/bin/probe]
"""


@pytest.fixture
def recipes(tmp_path, monkeypatch):
    """A private recipes dir with `copies`, whose directory entry reads tmp_path/plugins (a
    copy of true and a symlink to it); a private image cache."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    shutil.copy("/usr/bin/true", plugins / "one")
    (plugins / "two").symlink_to("one")
    copy = tmp_path / "recipes"
    shutil.copytree(recipe.RECIPES_DIR, copy)
    (copy / "copies.yaml").write_text(RECIPE.replace("PLUGINS", str(plugins)))
    monkeypatch.setattr(recipe, "RECIPES_DIR", copy)
    monkeypatch.setenv("HARNESS_IMAGE_CACHE", str(tmp_path / "cache"))
    return copy


def _members(image) -> dict[str, tarfile.TarInfo]:
    blob = image.oci_layout / "blobs" / "sha256" / image.diff_ids[0].split(":")[1]
    with tarfile.open(blob) as tar:
        return {m.name.rstrip("/"): m for m in tar.getmembers()}


def test_a_binary_comes_with_its_libraries_and_a_directory_with_its_links(recipes):
    members = _members(images.build("copies"))
    libs = subprocess.run(["ldd", "/usr/bin/true"], capture_output=True, text=True,
                          check=True).stdout
    assert "lib/x86_64-linux-gnu/libc.so.6" in members and "libc.so.6" in libs
    assert "lib64/ld-linux-x86-64.so.2" in members  # the loader the binary names
    assert members["bin/probe"].mode == 0o755
    assert members["opt/plugins/one"].isfile()
    assert members["opt/plugins/two"].issym() and members["opt/plugins/two"].linkname == "one"


@pytest.mark.root
def test_the_copied_binary_runs_in_a_root_of_only_its_layer(recipes, tmp_path):
    """The closure is complete: chroot into the unpacked layer and run the binary."""
    blob = images.build("copies")
    root = tmp_path / "root"
    with tarfile.open(blob.oci_layout / "blobs" / "sha256" / blob.diff_ids[0].split(":")[1]) as t:
        t.extractall(root, filter="tar")
    assert subprocess.run(["chroot", str(root), "/bin/probe"], check=False).returncode == 0


def test_a_changed_file_in_a_host_directory_is_a_new_image(recipes, tmp_path):
    before = images.build("copies")
    (tmp_path / "plugins" / "three").write_bytes(b"new")
    after = images.build("copies")
    assert after.digest != before.digest
    assert "opt/plugins/three" in _members(after)


def test_libraries_without_host_is_refused(recipes):
    (recipes / "bad.yaml").write_text("layers:\n  - entries:\n"
                                      "      - {file: /x, text: x, libraries: true}\n")
    with pytest.raises(InputError, match=r"bad.yaml: layers\[0\].entries\[0\]: libraries"):
        images.build("bad")


def test_a_static_binary_has_no_libraries():
    assert libraries.closure(Path("/bin/busybox")) == ()
