"""CNI plugins 1.x as operators install them on nodes whose distribution packages older ones
(the kubernetes-cni package, the release tarball): static binaries, built here from the
github.com/containernetworking/plugins Go module and cached under ~/.cache/harness/cni-plugins.
Debian 12's own plugins are linked against its glibc 2.36 and do not run on Debian 11."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from filelock import FileLock

from harness import gobuild, paths

MODULE = "github.com/containernetworking/plugins"
VERSION = "1.6.2"
GO = "1.21"  # its go.mod's minimum
# What the lab's conflist uses (harness/kube/node_config.py cni_conflist).
PLUGINS = {"bridge": "main/bridge", "loopback": "main/loopback", "host-local": "ipam/host-local",
           "portmap": "meta/portmap"}


def build() -> Path:
    """The directory holding the verified plugins, built first if not cached."""
    final = paths.cache_dir("cni-plugins", "HARNESS_CNI_PLUGINS_CACHE") / VERSION
    final.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(final) + ".lock"):
        if (final / "SHA256SUMS").exists():
            gobuild.verify(final, f"remove {final} to rebuild it")
            return final
        new = final.with_name(f".{VERSION}-new")
        shutil.rmtree(new, ignore_errors=True)
        new.mkdir()
        go = gobuild.GoRunner(gobuild.find_go(GO, "the CNI plugins"), new, f"CNI plugins {VERSION}")
        go.env.update(GOBIN=str(new), CGO_ENABLED="0", GOFLAGS="-mod=mod -trimpath")
        go.run("install", "-ldflags", "-s -w",
               *(f"{MODULE}/plugins/{path}@v{VERSION}" for path in PLUGINS.values()))
        gobuild.write_checksums(new, tuple(PLUGINS))
        os.rename(new, final)
    return final
