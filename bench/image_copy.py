"""Benchmark: copying Docker's images into containerd's k8s.io namespace, the migration's
longest step, against what a runbook does by hand, as ratios measured in the same invocation.

    .venv/bin/python bench/image_copy.py [--counts 1,10,50] [--layer-mib 4] [--base-mib 32]

A private Docker holds N images that share a base layer (--base-mib) and each add their own
layer (--layer-mib). Each method copies them into a fresh private containerd:
- harness: the migration's module (playbooks/library/docker_images_to_containerd, run by
  Ansible as on a node): one `docker save` stream of all images into one `ctr images import`;
- naive: the runbook loop, `docker save IMAGE | ctr -n k8s.io images import -`, one image at a
  time, so shared layers travel once per image;
- export: `docker save` of all images to /dev/null, the read side alone: the limit any copy
  from Docker has.
Targets (issue 16): harness at least 2x faster than naive for 10+ images sharing layers, and
within 2x of export. Records its figures through bench/results.py (reports/bench.json, script
"image_copy") with the growth curve over the image counts, and prints them."""

from __future__ import annotations

import argparse
import io
import json
import os
import shlex
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import results  # noqa: E402
from harness import images  # noqa: E402
from harness.daemons.containerd import Containerd, ContainerdConfig  # noqa: E402
from harness.daemons.dockerd import Dockerd, DockerdConfig  # noqa: E402
from harness.images import load  # noqa: E402
from harness.table import format_table  # noqa: E402

LIBRARY = REPO / "playbooks" / "library"
NAMESPACE = "k8s.io"
TARGET_VS_NAIVE, TARGET_VS_EXPORT = 2.0, 2.0
MiB = 1024 * 1024


def build(client, base: str, tag: str, mib: int, seed: int) -> None:
    """FROM `base`, plus one layer of `mib` MiB of its own (seeded, so runs are alike)."""
    payload = (seed.to_bytes(4, "big") * (MiB // 4)) * mib
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, data in {"Dockerfile": f"FROM {base}\nCOPY blob /blob\n".encode(),
                           "blob": payload}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True)


def fresh_containerd(tmp: Path, n: int) -> Containerd:
    cfg = ContainerdConfig(base_dir=tmp / f"containerd-{n}", bridge=f"hb-copy{n}",
                           subnet=f"10.92.{n}.0/24", cni=False)
    return Containerd(cfg).start()


def timed(argv: list[str] | str, **kwargs) -> float:
    start = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, **kwargs)
    return time.monotonic() - start


def ansible_module(module: str, args: dict) -> float:
    """One module run as Ansible runs it on a node (ad hoc, this machine's python3)."""
    env = {**os.environ, "ANSIBLE_LIBRARY": str(LIBRARY),
           "ANSIBLE_MODULE_UTILS": str(LIBRARY.parent / "module_utils"),
           "ANSIBLE_LOCALHOST_WARNING": "false"}
    ansible = Path(sys.executable).parent / "ansible"
    given = ["-a", json.dumps(args)] if args else []
    return timed([str(ansible), "localhost", "-i", "localhost,", "-c", "local", "-e",
                  "ansible_python_interpreter=/usr/bin/python3", "-m", module, *given], env=env)


def harness_copy(docker: Dockerd, containerd: Containerd, refs: list[str]) -> float:
    return ansible_module("docker_images_to_containerd", {
        "docker_host": docker.host, "containerd_address": str(containerd.address),
        "images": refs, "record": str(containerd.cfg.base_dir / "images.json")})


def naive_copy(docker: Dockerd, containerd: Containerd, refs: list[str]) -> float:
    loop = "; ".join(
        f"docker -H {shlex.quote(docker.host)} save {shlex.quote(ref)} | ctr -a "
        f"{shlex.quote(str(containerd.address))} -n {NAMESPACE} images import - || exit 1"
        for ref in refs)
    return timed(["bash", "-c", f"set -o pipefail; {loop}"])


def export_only(docker: Dockerd, refs: list[str]) -> float:
    return timed(["docker", "-H", docker.host, "save", *refs])


def measure(counts: list[int], base_mib: int, layer_mib: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="hb-copy-") as tmp_name:
        tmp = Path(tmp_name)
        with Dockerd(DockerdConfig(base_dir=tmp / "docker")) as docker:
            busybox = images.build("busybox")
            load.into_docker(docker.host, busybox)
            build(docker.client(), busybox.ref, "bench/base:1", base_mib, seed=0)
            refs = [f"bench/app{i}:1" for i in range(max(counts))]
            for i, ref in enumerate(refs):
                build(docker.client(), "bench/base:1", ref, layer_mib, seed=i + 1)
            for n, count in enumerate(counts):
                chosen = refs[:count]
                seconds = {}
                for k, (method, copy) in enumerate((("harness", harness_copy),
                                                     ("naive", naive_copy))):
                    containerd = fresh_containerd(tmp, 2 * n + k)
                    try:
                        seconds[method] = copy(docker, containerd, chosen)
                    finally:
                        containerd.stop(purge=True)
                seconds["export"] = export_only(docker, chosen)
                # Ansible's own start, part of the harness figure: what the module itself costs
                # is the difference.
                seconds["ansible_start"] = ansible_module("ping", {})
                size = (base_mib + count * layer_mib) * MiB
                rows.append({
                    "images": count, "bytes": size, "seconds": seconds,
                    "harness_MiB_per_s": round(size / MiB / seconds["harness"], 1),
                    "naive_over_harness": round(seconds["naive"] / seconds["harness"], 2),
                    "harness_over_export": round(seconds["harness"] / seconds["export"], 2),
                })
    return rows


def figures(rows: list[dict]) -> list[results.Figure]:
    out = []
    for row in rows:
        s, n = row["seconds"], row["images"]
        # Issue 16: at least 2x faster than the runbook's loop from 10 images sharing layers.
        target = results.Target(1 / TARGET_VS_NAIVE, of="ratio") if n >= 10 else None
        out.append(results.Figure(
            f"copy {n} images, harness vs naive", round(s["harness"], 2), "s",
            "naive loop", round(s["naive"], 2), target,
            note=f"{row['bytes'] // MiB} MiB; Ansible's start {s['ansible_start']:.1f} s included"))
        out.append(results.Figure(
            f"copy {n} images, harness vs export", round(s["harness"], 2), "s",
            "docker save alone", round(s["export"], 2),
            results.Target(TARGET_VS_EXPORT, of="ratio"),
            note="import unpacks every layer; the export alone does not"))
    return out


def curve(rows: list[dict]) -> results.Curve:
    return results.Curve("image-copy", "images (sharing a base layer)", "seconds", {
        method: [(row["images"], row["seconds"][method]) for row in rows]
        for method in ("harness", "naive", "export")})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,10,50")
    parser.add_argument("--base-mib", type=int, default=32)
    parser.add_argument("--layer-mib", type=int, default=4)
    args = parser.parse_args()
    rows = measure([int(c) for c in args.counts.split(",")], args.base_mib, args.layer_mib)
    entry = results.record("image_copy", figures(rows), [curve(rows)])
    print(format_table(results.table_rows({"image_copy": entry})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
