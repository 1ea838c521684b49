"""Benchmark: copying Docker's images into containerd's k8s.io namespace, the migration's
longest step, against what a runbook does by hand, as ratios measured in the same invocation.

    .venv/bin/python bench/image_copy.py [--counts 1,10,50] [--layer-mib 4] [--base-mib 32]
                                         [--sizes-mib 64,256,1024]

A private Docker holds N images that share a base layer (--base-mib) and each add their own
layer (--layer-mib), and one image of each --sizes-mib (busybox plus one layer that size).
Each method copies a set into a fresh private containerd:
- harness: the migration's module (playbooks/library/docker_images_to_containerd, run by
  Ansible as on a node): one `docker save` stream of all images into one `ctr images import`;
- naive: the runbook loop, `docker save IMAGE | ctr -n k8s.io images import -`, one image at a
  time, so shared layers travel once per image;
- export: `docker save` of all images to /dev/null, the read side alone: the limit any copy
  from Docker has.
Peak RSS: the largest process of each copy (for the harness, the module's python3 and the ctr
it feeds; for naive, docker's CLI and ctr), read from the kernel's rusage of a wrapper's
children. Streaming means it stays flat as the image grows.
Targets (issue 16): harness at least 2x faster than naive for 10+ images sharing layers,
within 2x of export, and a peak RSS copying the largest image within 1.25x of the smallest's.
Records its figures through bench/results.py (reports/bench.json, script
"image_copy") with the growth curves over image counts and sizes, and prints them."""

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
TARGET_VS_NAIVE, TARGET_VS_EXPORT, TARGET_RSS_GROWTH = 2.0, 2.0, 1.25
MiB = 1024 * 1024
# Runs argv and appends the peak RSS (KiB) of its largest descendant to the file named first:
# the kernel folds each reaped process's peak into its parent's RUSAGE_CHILDREN.
PEAK_RSS = """import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "a") as out:
    out.write(f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n")
sys.exit(code)
"""


def build(client, base: str, tag: str, mib: int, seed: int, scratch: Path) -> None:
    """FROM `base`, plus one layer of `mib` MiB of its own (seeded, so runs are alike); the
    context is written to disk a MiB at a time, so a 1 GiB image needs no 1 GiB of memory."""
    blob, context = scratch / "blob", scratch / "context.tar"
    block = seed.to_bytes(4, "big") * (MiB // 4)
    with blob.open("wb") as out:
        for _ in range(mib):
            out.write(block)
    dockerfile = f"FROM {base}\nCOPY blob /blob\n".encode()
    with tarfile.open(context, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
        tar.add(blob, arcname="blob")
    blob.unlink()
    with context.open("rb") as fileobj:
        client.images.build(fileobj=fileobj, custom_context=True, tag=tag, rm=True)
    context.unlink()


class PeakRss:
    """Peak RSS of the processes a copy runs, each copy measured by its own wrapper process."""

    def __init__(self, tmp: Path):
        self.script = tmp / "peak-rss.py"
        self.script.write_text(PEAK_RSS)
        self.out = tmp / "peak-rss"
        # Ansible runs its interpreter as one word, so the wrapped python3 is a script.
        self.python = tmp / "python3-peak-rss"
        self.python.write_text(f"#!/bin/sh\nexec {shlex.join(self.wrap(['/usr/bin/python3']))} "
                               '"$@"\n')
        self.python.chmod(0o755)

    def wrap(self, argv: list[str]) -> list[str]:
        return ["/usr/bin/python3", str(self.script), str(self.out), *argv]

    def take(self) -> float:
        """MiB, of the one run since the last take."""
        kib = int(self.out.read_text().split()[-1])
        self.out.unlink()
        return round(kib / 1024, 1)


def fresh_containerd(tmp: Path, n: int) -> Containerd:
    cfg = ContainerdConfig(base_dir=tmp / f"containerd-{n}", bridge=f"hb-copy{n}",
                           subnet=f"10.92.{n}.0/24", cni=False)
    return Containerd(cfg).start()


def timed(argv: list[str] | str, **kwargs) -> float:
    start = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, **kwargs)
    return time.monotonic() - start


def ansible_module(module: str, args: dict, python: str = "/usr/bin/python3") -> float:
    """One module run as Ansible runs it on a node (ad hoc, this machine's python3, or the
    interpreter command `python` that runs it)."""
    env = {**os.environ, "ANSIBLE_LIBRARY": str(LIBRARY),
           "ANSIBLE_MODULE_UTILS": str(LIBRARY.parent / "module_utils"),
           "ANSIBLE_LOCALHOST_WARNING": "false"}
    ansible = Path(sys.executable).parent / "ansible"
    given = ["-a", json.dumps(args)] if args else []
    return timed([str(ansible), "localhost", "-i", "localhost,", "-c", "local", "-e",
                  f"ansible_python_interpreter={python}", "-m", module, *given], env=env)


def harness_copy(docker: Dockerd, containerd: Containerd, refs: list[str],
                 peak: PeakRss) -> float:
    return ansible_module("docker_images_to_containerd", {
        "docker_host": docker.host, "containerd_address": str(containerd.address),
        "images": refs, "record": str(containerd.cfg.base_dir / "images.json")},
        python=str(peak.python))


def naive_copy(docker: Dockerd, containerd: Containerd, refs: list[str],
               peak: PeakRss) -> float:
    loop = "; ".join(
        f"docker -H {shlex.quote(docker.host)} save {shlex.quote(ref)} | ctr -a "
        f"{shlex.quote(str(containerd.address))} -n {NAMESPACE} images import - || exit 1"
        for ref in refs)
    return timed(peak.wrap(["bash", "-c", f"set -o pipefail; {loop}"]))


def export_only(docker: Dockerd, refs: list[str]) -> float:
    return timed(["docker", "-H", docker.host, "save", *refs])


def copy_set(docker: Dockerd, tmp: Path, n: int, refs: list[str], size: int, peak: PeakRss,
             **row) -> dict:
    """Each method's seconds (and peak RSS) copying `refs`, `size` bytes, into a fresh
    containerd."""
    seconds, rss = {}, {}
    for k, (method, copy) in enumerate((("harness", harness_copy), ("naive", naive_copy))):
        containerd = fresh_containerd(tmp, 2 * n + k)
        try:
            seconds[method] = copy(docker, containerd, refs, peak)
            rss[method] = peak.take()
        finally:
            containerd.stop(purge=True)
    seconds["export"] = export_only(docker, refs)
    # Ansible's own start, part of the harness figure: what the module itself costs is the
    # difference.
    seconds["ansible_start"] = ansible_module("ping", {})
    return {**row, "images": len(refs), "bytes": size, "seconds": seconds, "peak_rss_MiB": rss,
            "harness_MiB_per_s": round(size / MiB / seconds["harness"], 1)}


def measure(counts: list[int], base_mib: int, layer_mib: int,
            sizes_mib: list[int]) -> tuple[list[dict], list[dict]]:
    """(rows of images sharing a base layer, by count; rows of one image, by size)."""
    with tempfile.TemporaryDirectory(prefix="hb-copy-") as tmp_name:
        tmp = Path(tmp_name)
        peak = PeakRss(tmp)
        with Dockerd(DockerdConfig(base_dir=tmp / "docker")) as docker:
            busybox = images.build("busybox")
            load.into_docker(docker.host, busybox)
            client = docker.client()
            build(client, busybox.ref, "bench/base:1", base_mib, seed=0, scratch=tmp)
            refs = [f"bench/app{i}:1" for i in range(max(counts))]
            for i, ref in enumerate(refs):
                build(client, "bench/base:1", ref, layer_mib, seed=i + 1, scratch=tmp)
            for mib in sizes_mib:
                build(client, busybox.ref, f"bench/big{mib}:1", mib, seed=mib, scratch=tmp)
            shared = [copy_set(docker, tmp, n, refs[:count],
                               (base_mib + count * layer_mib) * MiB, peak)
                      for n, count in enumerate(counts)]
            single = [copy_set(docker, tmp, len(counts) + n, [f"bench/big{mib}:1"],
                               mib * MiB, peak, layer_MiB=mib)
                      for n, mib in enumerate(sizes_mib)]
    return shared, single


def figures(shared: list[dict], single: list[dict]) -> list[results.Figure]:
    out = []
    for row in shared:
        s, n = row["seconds"], row["images"]
        # Issue 16: at least 2x faster than the runbook's loop from 10 images sharing layers.
        target = results.Target(1 / TARGET_VS_NAIVE, of="ratio") if n >= 10 else None
        out.append(results.Figure(
            f"copy {n} images, harness vs naive", round(s["harness"], 2), "s",
            "naive loop", round(s["naive"], 2), target,
            note=f"{row['bytes'] // MiB} MiB; Ansible's start {s['ansible_start']:.1f} s included"))
        out.append(export_figure(f"copy {n} images", s))
    for row in single:
        s, mib = row["seconds"], row["layer_MiB"]
        out.append(results.Figure(
            f"copy one {mib} MiB image, harness vs naive", round(s["harness"], 2), "s",
            "naive loop", round(s["naive"], 2),
            note=f"harness {row['harness_MiB_per_s']} MiB/s"))
        out.append(export_figure(f"copy one {mib} MiB image", s))
    if len(single) > 1:
        small, large = single[0], single[-1]
        out.append(results.Figure(
            f"peak RSS copying one {large['layer_MiB']} MiB image, harness",
            large["peak_rss_MiB"]["harness"], "MiB",
            f"the same, {small['layer_MiB']} MiB image", small["peak_rss_MiB"]["harness"],
            results.Target(TARGET_RSS_GROWTH, of="ratio"),
            note="largest process: the module's python3 or ctr; streamed in 1 MiB chunks"))
    return out


def export_figure(what: str, seconds: dict) -> results.Figure:
    return results.Figure(
        f"{what}, harness vs export", round(seconds["harness"], 2), "s",
        "docker save alone", round(seconds["export"], 2),
        results.Target(TARGET_VS_EXPORT, of="ratio"),
        note="import unpacks every layer; the export alone does not")


def curves(shared: list[dict], single: list[dict]) -> list[results.Curve]:
    methods = ("harness", "naive", "export")
    return [
        results.Curve("image-copy", "images (sharing a base layer)", "seconds", {
            m: [(row["images"], row["seconds"][m]) for row in shared] for m in methods}),
        results.Curve("image-copy-size", "MiB in one image", "seconds", {
            m: [(row["layer_MiB"], row["seconds"][m]) for row in single] for m in methods}),
        results.Curve("image-copy-rss", "MiB in one image", "peak RSS, MiB", {
            m: [(row["layer_MiB"], row["peak_rss_MiB"][m]) for row in single]
            for m in ("harness", "naive")}),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,10,50")
    parser.add_argument("--base-mib", type=int, default=32)
    parser.add_argument("--layer-mib", type=int, default=4)
    parser.add_argument("--sizes-mib", default="64,256,1024")
    args = parser.parse_args()
    shared, single = measure([int(c) for c in args.counts.split(",")], args.base_mib,
                             args.layer_mib, [int(m) for m in args.sizes_mib.split(",")])
    entry = results.record("image_copy", figures(shared, single), curves(shared, single))
    print(format_table(results.table_rows({"image_copy": entry})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
