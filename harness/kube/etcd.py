"""etcd for the kubeadm images, built from its Go modules at the version kubeadm's etcd image
tag names (3.5.6-0 for kubeadm 1.23 and 1.24): Debian ships 3.4.23, whose flags and health
endpoint are not those kubeadm's static pod expects of 3.5.

go.etcd.io/etcd/server/v3 (the etcd command) replaces its sibling modules with ../ paths that
its module zip does not hold, so `go install` refuses it; as for Kubernetes, a wrapper module
requires it and etcdctl at one version, and their own requirements pin the siblings.
CGO_ENABLED=0 as etcd's release builds: static binaries, no libraries in the image.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from filelock import FileLock

from harness.kube import build

ETCD_VERSION = "3.5.6"
COMMANDS = {"etcd": "go.etcd.io/etcd/server/v3", "etcdctl": "go.etcd.io/etcd/etcdctl/v3"}


def build_etcd(say=build.progress) -> Path:
    """The directory of the verified etcd and etcdctl, built once into
    ~/.cache/harness/kube/etcd-<version>/bin."""
    work = build.cache_root() / f"etcd-{ETCD_VERSION}"
    bin_dir = work / "bin"
    work.mkdir(parents=True, exist_ok=True)
    with FileLock(str(work) + ".lock"):
        if (bin_dir / "SHA256SUMS").exists():
            build.verify(bin_dir, f"remove {work} and run again")
            return bin_dir
        say(f"etcd {ETCD_VERSION}: building from {', '.join(COMMANDS.values())} "
            f"(log: {work}/build.log)")
        started = time.monotonic()
        go = build.GoRunner(build.GO_1_19, work, f"etcd {ETCD_VERSION}")
        go.env.update(CGO_ENABLED="0", GOFLAGS="-mod=mod -trimpath")
        go.log.write_text("")
        requires = "".join(f"\t{m} v{ETCD_VERSION}\n" for m in COMMANDS.values())
        (work / "go.mod").write_text(
            f"module harness.local/etcdbuild\n\ngo 1.19\n\nrequire (\n{requires})\n")
        # tools.go keeps the commands' dependencies in the build list through `go mod tidy`.
        imports = "".join(f'\t_ "{m}"\n' for m in COMMANDS.values())
        (work / "tools.go").write_text(
            f"//go:build tools\n\npackage tools\n\nimport (\n{imports})\n")
        go.run("mod", "tidy")
        out = work / ".bin-new"
        shutil.rmtree(out, ignore_errors=True)
        for name, module in COMMANDS.items():  # both main packages are named v3: one -o each
            go.run("build", "-ldflags", "-s -w", "-o", str(out / name), module)
        build.write_checksums(out, tuple(COMMANDS))
        shutil.rmtree(bin_dir, ignore_errors=True)
        os.rename(out, bin_dir)
        say(f"etcd {ETCD_VERSION}: built in {time.monotonic() - started:.0f}s")
    return bin_dir
