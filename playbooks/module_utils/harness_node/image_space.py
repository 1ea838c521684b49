"""What copying Docker's images into containerd takes on disk, and whether a node has it: used
by preflight's disk-space finding and by the copy itself, which refuses before it starts.

Three writers share the bytes of every layer the copy brings: Docker stages a whole export under
its data root before the first byte streams (`docker save`), containerd's content store keeps
the layer tars, and its snapshotter unpacks them. Layers shared by several images count once.
What must stay free afterwards is the kubelet's hard eviction threshold for its image
filesystem (imagefs.available, 15% unless the kubelet is told otherwise): a copy that went
below it would have the kubelet evict pods and delete images on a node that still runs them.

Node-side (see harness_node): standard library only."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

DEFAULT_THRESHOLD = "15%"
# Kubernetes quantities the kubelet accepts for a threshold in bytes.
UNITS = {"": 1, "k": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4,
         "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}
SNAPSHOTTER_DIR = "io.containerd.snapshotter.v1.overlayfs"
CONTENT_DIR = "io.containerd.content.v1.content"


def chain_ids(diff_ids: list[str]) -> list[str]:
    """The OCI chain ID of each layer: its identity together with the layers below it."""
    chain, found = "", []
    for diff_id in diff_ids:
        chain = diff_id if not chain else (
            "sha256:" + hashlib.sha256(f"{chain} {diff_id}".encode()).hexdigest())
        found.append(chain)
    return found


def layer_sizes(api, image_id: str) -> dict[str, int]:
    """{chain ID: bytes} of an image's layers, read through `api` (a docker.DockerAPI).
    Docker's history gives each non-empty layer's size, newest first; where a layer is empty or
    the history is missing that alignment is lost, and the image's whole size counts as one
    layer of its own (more than it takes, never less)."""
    info = api.get_json(f"/images/{image_id}/json")
    diff_ids = info["RootFS"].get("Layers") or []
    history = api.get_json(f"/images/{image_id}/history")
    sizes = [entry.get("Size", 0) for entry in reversed(history) if entry.get("Size", 0) > 0]
    if len(sizes) != len(diff_ids):
        return {image_id: info.get("Size", 0)}
    return {chain: sizes[index] for index, chain in enumerate(chain_ids(diff_ids))}


def unique_bytes(api, image_ids: list[str]) -> int:
    """The bytes of the layers of `image_ids`, each shared layer once."""
    layers: dict[str, int] = {}
    for image_id in image_ids:
        layers.update(layer_sizes(api, image_id))
    return sum(layers.values())


def existing(path: str) -> str:
    while not os.path.exists(path):
        path = os.path.dirname(path) or "/"
    return path


def keep_free(threshold: str, size: int) -> int:
    """The bytes a threshold ("15%", "2Gi", "500M") keeps free on a filesystem of `size`; one
    this cannot read counts as the kubelet's default."""
    try:
        if threshold.endswith("%"):
            return int(size * float(threshold[:-1]) / 100)
        number = threshold.rstrip("kMGTi")
        return int(float(number) * UNITS[threshold[len(number):]])
    except (ValueError, KeyError):
        return keep_free(DEFAULT_THRESHOLD, size)


@dataclass(frozen=True)
class Filesystem:
    """One filesystem the copy writes to: the paths on it, what they take, what it has, and
    the kubelet's imagefs.available threshold it must stay above."""
    paths: tuple[str, ...]
    needed: int
    free: int
    size: int
    threshold: str = DEFAULT_THRESHOLD

    @property
    def keep(self) -> int:
        return keep_free(self.threshold, self.size)

    @property
    def fits(self) -> bool:
        return self.free - self.needed >= self.keep

    def shortfall(self) -> str:
        return (f"the image copy needs {gib(self.needed)} on the filesystem of "
                f"{', '.join(self.paths)}, which has {gib(self.free)} free of {gib(self.size)} "
                f"and must keep {gib(self.keep)} free (the kubelet's imagefs.available eviction "
                f"threshold, {self.threshold}): free {gib(self.needed + self.keep - self.free)} "
                "there, or copy fewer images (--images in-use)")

    def to_json(self) -> dict:
        return {"paths": list(self.paths), "needed": self.needed, "free": self.free,
                "size": self.size, "threshold": self.threshold, "fits": self.fits}

    @classmethod
    def from_json(cls, data: dict) -> Filesystem:
        return cls(tuple(data["paths"]), data["needed"], data["free"], data["size"],
                   data.get("threshold", DEFAULT_THRESHOLD))


def filesystems(layer_bytes: int, containerd_root: str, docker_root: str | None,
                threshold: str = DEFAULT_THRESHOLD) -> list[Filesystem]:
    """Each filesystem the copy of `layer_bytes` writes to, with what it needs there."""
    writers = [os.path.join(containerd_root, CONTENT_DIR),
               os.path.join(containerd_root, SNAPSHOTTER_DIR)]
    if docker_root:
        writers.append(os.path.join(docker_root, "tmp"))
    by_device: dict[int, list[str]] = {}
    for path in writers:
        by_device.setdefault(os.stat(existing(path)).st_dev, []).append(path)
    found = []
    for paths in by_device.values():
        stat = os.statvfs(existing(paths[0]))
        found.append(Filesystem(tuple(paths), layer_bytes * len(paths),
                                stat.f_bavail * stat.f_frsize, stat.f_blocks * stat.f_frsize,
                                threshold))
    return found


def gib(count: int) -> str:
    """Bytes for people: GiB with two decimals, MiB below one GiB."""
    if count < 1 << 30:
        return f"{count / (1 << 20):.1f} MiB"
    return f"{count / (1 << 30):.2f} GiB"
