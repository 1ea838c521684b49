"""BuiltImage: what a build produced, as other areas use it (refs, digests, files)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

PATH_FIELDS = ("oci_layout", "oci_archive", "docker_archive")


@dataclass(frozen=True)
class BuiltImage:
    name: str  # recipe name
    ref: str  # first ref, e.g. "harness.local/busybox:1.0"
    refs: tuple[str, ...]  # every ref (multi-tag images have several)
    digest: str  # manifest digest
    config_digest: str  # the image ID containerd and Docker report
    diff_ids: tuple[str, ...]  # uncompressed layer digests, bottom first (= layer blob digests)
    user: str  # config User, "" when unset
    uid: int | None  # numeric uid from User, None when User names a user (or is unset: root)
    oci_layout: Path  # OCI image layout directory
    oci_archive: Path  # the layout as one tar (`ctr images import`, `skopeo oci-archive:`)
    docker_archive: Path  # docker-archive tar (`docker load`)
    size: int  # bytes of config + layers

    @property
    def repository(self) -> str:
        return self.ref.rsplit(":", 1)[0]

    @property
    def username(self) -> str:
        """The user name in User ("" when User is numeric or unset), as CRI ImageStatus shows."""
        name = self.user.split(":", 1)[0]
        return "" if not name or name.isdigit() else name

    def to_json(self, base: Path) -> str:
        data = asdict(self)
        for key in PATH_FIELDS:
            data[key] = str(Path(data[key]).relative_to(base))
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, base: Path) -> BuiltImage:
        data = json.loads(text)
        for key in PATH_FIELDS:
            data[key] = base / data[key]
        for f in fields(cls):
            if f.name in ("refs", "diff_ids"):
                data[f.name] = tuple(data[f.name])
        return cls(**data)


def uid_of(user: str) -> int | None:
    name = user.split(":", 1)[0]
    return int(name) if name.isdigit() else None
