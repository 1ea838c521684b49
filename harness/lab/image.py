"""The cached node image: built once with debootstrap + apt, keyed by the recipe hash.

A build happens in a temporary directory beside the cache entry and is renamed into place only
when complete, so an interrupted build never leaves a directory that looks like an image."""

from __future__ import annotations

import fcntl
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.lab.host import run
from harness.lab.paths import cache_root
from harness.lab.recipe import ImageRecipe
from harness.progress import progress

PRIVATE_MOUNTS = ("unshare", "--mount", "--propagation", "private")
BUILD_TIMEOUT = 1800  # apt on 2 cores takes minutes; a stuck mirror must not hang forever


@dataclass(frozen=True)
class NodeImage:
    digest: str
    path: Path  # the cache entry; the root filesystem is path / "rootfs"

    @property
    def rootfs(self) -> Path:
        return self.path / "rootfs"


def images_dir() -> Path:
    return cache_root() / "images"


def ensure_image(recipe: ImageRecipe | None = None) -> NodeImage:
    """The image for `recipe` from the cache, building it first when it is not there."""
    recipe = recipe or ImageRecipe()
    digest = recipe.digest()
    final = images_dir() / digest
    image = NodeImage(digest, final)
    if final.is_dir():
        return image
    images_dir().mkdir(parents=True, exist_ok=True)
    with _locked(images_dir() / f".{digest}.lock"):
        if final.is_dir():  # another process built it while we waited
            return image
        _build(recipe, final)
    return image


@contextmanager
def _locked(path: Path):
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _build(recipe: ImageRecipe, final: Path) -> None:
    tmp = final.with_name(f".build-{final.name}")
    shutil.rmtree(tmp, ignore_errors=True)  # leftover of an interrupted build (we hold the lock)
    rootfs = tmp / "rootfs"
    rootfs.mkdir(parents=True)
    log = final.with_name(f"{final.name}.build.log")
    log.write_text("")
    progress("image", f"building node image {final.name} (debootstrap + apt, minutes; log {log})")
    # In a private mount namespace: the /proc and /sys debootstrap mounts in the new root vanish
    # with it, even when it is killed (an rmtree of the leftover then stays on plain files).
    run(
        [*PRIVATE_MOUNTS, "debootstrap", f"--variant={recipe.variant}",
         f"--include={','.join(recipe.base_packages)}", recipe.suite, str(rootfs), recipe.mirror],
        log=log, timeout=BUILD_TIMEOUT,
    )
    _write_apt_sources(rootfs, recipe.apt_sources)
    policy = rootfs / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\n# image build: start nothing in the chroot\nexit 101\n")
    policy.chmod(0o755)
    progress("image", "installing the Docker node packages")
    _in_chroot(rootfs, "apt-get update -q", log)
    _in_chroot(
        rootfs,
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "
        + " ".join(recipe.packages) + " && apt-get clean",
        log,
    )
    _install_node_files(rootfs, recipe)
    policy.unlink()
    (tmp / "recipe.json").write_text(recipe.to_json())
    os.rename(tmp, final)
    progress("image", f"node image {final.name} ready")


def _write_apt_sources(rootfs: Path, sources: dict[str, str]) -> None:
    for old in (rootfs / "etc/apt/sources.list.d").glob("*"):
        old.unlink()
    (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
    for rel, text in sources.items():
        (rootfs / rel).write_text(text)


def _in_chroot(rootfs: Path, script: str, log: Path) -> None:
    """Run `script` chrooted into rootfs with /proc and /dev, in a private mount namespace
    so those mounts vanish with the command, even when it is killed."""
    setup = (
        f"mount -t proc proc {rootfs}/proc && mount --rbind /dev {rootfs}/dev && "
        f"mount -t sysfs sysfs {rootfs}/sys && exec chroot {rootfs} /bin/sh -c \"$0\""
    )
    run([*PRIVATE_MOUNTS, "sh", "-c", setup, script],
        log=log, timeout=BUILD_TIMEOUT)


def _install_node_files(rootfs: Path, recipe: ImageRecipe) -> None:
    for node_file in recipe.files:
        target = rootfs / node_file.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(node_file.content)
        target.chmod(node_file.mode)
    for unit, wanted_by in recipe.enabled_units:
        wants = rootfs / "etc/systemd/system" / f"{wanted_by}.wants"
        wants.mkdir(parents=True, exist_ok=True)
        (wants / unit).unlink(missing_ok=True)
        (wants / unit).symlink_to(f"/etc/systemd/system/{unit}")
    # Every node gets its own SSH host keys and machine id at `lab up`.
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (rootfs / "etc/machine-id").write_text("")
    # Lab nodes resolve no outside names: their traffic stays on the lab bridge.
    (rootfs / "etc/resolv.conf").write_text("")
    (rootfs / "var/lib/dbus/machine-id").unlink(missing_ok=True)
