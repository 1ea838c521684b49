"""Paths a user names, checked before anything reads or writes them: every input file is read
through here (an inventory, a kubeconfig, JUnit, allowed-skips lists), and every output path
is checked here, so that a bad one is one InputError line naming it and what to do, and nothing
gets created in a place the user did not mean."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from harness.errors import InputError


def _stat(path: Path, what: str) -> os.stat_result | None:
    """The path's stat following symlinks; None when nothing is there."""
    try:
        return path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise InputError(f"{what} {path}: a symlink to {os.readlink(path)}, which does "
                             "not exist", hint="point it at an existing file") from None
        return None
    except NotADirectoryError:
        return None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise InputError(f"{what} {path}: a symlink loop",
                             hint="point the link at a real path") from None
        raise InputError(f"{what} {path}: {err.strerror}") from None


def read_bytes(path: str | Path, what: str,
               missing: str = "pass the path of an existing file") -> bytes:
    """A UTF-8 text file's bytes, checked: it exists, is a regular file, is readable, is UTF-8
    and holds no NUL byte (which a YAML or XML parser reports as a riddle, or not at all).
    `missing` is the remedy when there is no such file."""
    path = Path(path)
    found = _stat(path, what)
    if found is None:
        raise InputError(f"{what} {path} not found", hint=missing)
    if stat.S_ISDIR(found.st_mode):
        raise InputError(f"{what} {path}: a directory, not a file", hint="pass a file")
    if not stat.S_ISREG(found.st_mode):
        raise InputError(f"{what} {path}: not a regular file", hint="pass a file")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"{what} {path}: cannot read it ({err.strerror})") from None
    nul = data.find(b"\0")
    if nul >= 0:
        raise InputError(f"{what} {path}: a NUL byte at offset {nul}, so not a text file",
                         hint="pass the text file itself")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{what} {path}: not UTF-8 (byte {data[err.start]:#04x} at offset "
                         f"{err.start})", hint="save it as UTF-8") from None
    return data


def read_text(path: str | Path, what: str,
              missing: str = "pass the path of an existing file") -> str:
    return read_bytes(path, what, missing).decode("utf-8")


def input_dir(path: str | Path, what: str) -> Path:
    """A directory to read from: it must exist and be a directory."""
    path = Path(path)
    found = _stat(path, what)
    if found is None:
        raise InputError(f"{what} {path} does not exist", hint="pass an existing directory")
    if not stat.S_ISDIR(found.st_mode):
        raise InputError(f"{what} {path}: a file, not a directory", hint="pass a directory")
    return path


def output_dir(path: str | Path, what: str) -> Path:
    """A directory to write into: an existing directory, or a new one whose parent exists (a
    mistyped parent is never created)."""
    path = Path(path)
    found = _stat(path, what)
    if found is not None:
        if not stat.S_ISDIR(found.st_mode):
            raise InputError(f"{what} {path}: a file, not a directory",
                             hint="pass a directory, or remove the file")
        return path
    _parent_exists(path, what)
    return path


def output_file(path: str | Path, what: str) -> Path:
    """A file to write: a new one or an existing regular file, in an existing directory."""
    path = Path(path)
    found = _stat(path, what)
    if found is not None:
        if stat.S_ISDIR(found.st_mode):
            raise InputError(f"{what} {path}: a directory, not a file",
                             hint="pass a file name")
        return path
    _parent_exists(path, what)
    return path


def _parent_exists(path: Path, what: str) -> None:
    parent = path.parent
    found = _stat(parent, f"{what} {path}: its directory")
    if found is None:
        raise InputError(f"{what} {path}: its directory {parent} does not exist",
                         hint=f"create it first (mkdir -p {parent}) or fix the path")
    if not stat.S_ISDIR(found.st_mode):
        raise InputError(f"{what} {path}: {parent} is a file, not a directory",
                         hint="fix the path")


def kubeconfig(path: str | Path) -> Path:
    """A kubeconfig, checked here because the Kubernetes client fails on a bad one with a
    traceback, mid-run."""
    read_bytes(path, "kubeconfig", "pass the cluster's admin kubeconfig with --kubeconfig")
    return Path(path)
