"""Deterministic tar streams: the same entries give the same bytes on every run and machine.

Fixed mtime, owners from the entry (0:0 unless a recipe says otherwise), no user or group
names, entries in the order given (the builder sorts them), PAX only where a name needs it.
"""

from __future__ import annotations

import hashlib
import random
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MTIME = 0  # 1970-01-01T00:00:00Z: the only timestamp any image file carries
CHUNK = 1 << 20


@dataclass(frozen=True)
class Bytes:
    """File content given inline."""

    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def chunks(self) -> Iterator[bytes]:
        yield self.data


@dataclass(frozen=True)
class HostFile:
    """File content copied from a file on this host."""

    path: Path

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def chunks(self) -> Iterator[bytes]:
        with open(self.path, "rb") as src:
            while block := src.read(CHUNK):
                yield block


@dataclass(frozen=True)
class RandomBytes:
    """Incompressible filler of a given size, the same bytes for the same seed (big images)."""

    size: int
    seed: int = 0

    def chunks(self) -> Iterator[bytes]:
        rng = random.Random(self.seed)
        left = self.size
        while left:
            n = min(left, CHUNK)
            yield rng.randbytes(n)
            left -= n


Content = Bytes | HostFile | RandomBytes


@dataclass(frozen=True)
class Entry:
    """One tar member. `path` is relative to the root (no leading slash)."""

    path: str
    kind: str  # "file" | "dir" | "symlink"
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    content: Content | None = None
    target: str = ""


class _Counting:
    """A write-only file that hashes and counts what passes through to the real file."""

    def __init__(self, out):
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.out.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size


class _Stream:
    """File-like reader over content chunks, for tarfile.addfile."""

    def __init__(self, chunks: Iterable[bytes]):
        self.it = iter(chunks)
        self.buf = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.buf) < n:
            try:
                self.buf += next(self.it)
            except StopIteration:
                break
        if n < 0:
            n = len(self.buf)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


def _tarinfo(entry: Entry) -> tarfile.TarInfo:
    info = tarfile.TarInfo(entry.path + ("/" if entry.kind == "dir" else ""))
    info.mtime = MTIME
    info.mode = entry.mode
    info.uid, info.gid = entry.uid, entry.gid
    info.uname = info.gname = ""
    if entry.kind == "dir":
        info.type = tarfile.DIRTYPE
    elif entry.kind == "symlink":
        info.type = tarfile.SYMTYPE
        info.linkname = entry.target
    else:
        info.type = tarfile.REGTYPE
        info.size = entry.content.size if entry.content else 0
    return info


def write_tar(path: Path, entries: Iterable[Entry]) -> tuple[str, int]:
    """Write `entries` as a tar at `path`; return its digest ("sha256:...") and size."""
    with open(path, "wb") as out:
        counting = _Counting(out)
        with tarfile.open(fileobj=counting, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for entry in entries:
                info = _tarinfo(entry)
                body = _Stream(entry.content.chunks()) if entry.content else None
                tar.addfile(info, body)
    return f"sha256:{counting.sha.hexdigest()}", counting.size


def file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    for block in HostFile(path).chunks():
        sha.update(block)
    return f"sha256:{sha.hexdigest()}"
