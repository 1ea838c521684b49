"""Image archives are unpacked safely on both Python paths: the `data` filter (this venv) and
the by-hand refusals for Debian 12's Python 3.11.2, which lab nodes run the suite with."""

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = "/usr/bin/python3"
INTERPRETERS = [sys.executable] + ([DEBIAN_PYTHON] if Path(DEBIAN_PYTHON).exists() else [])


def make_tar(path: Path, *members: tarfile.TarInfo) -> Path:
    with tarfile.open(path, "w") as tar:
        tar.addfile(file_info("a/layer.tar", b"layer"), io.BytesIO(b"layer"))
        for member in members:
            tar.addfile(member)
    return path


def file_info(name: str, data: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info


def link(name: str, target: str, kind=tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def device(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
    return info


def extract(python: str, archive: Path, target: Path) -> subprocess.CompletedProcess:
    code = (
        "import sys; from pathlib import Path; from harness.oci.unpack import extract_archive; "
        "extract_archive(Path(sys.argv[1]), Path(sys.argv[2]))"
    )
    return subprocess.run(
        [python, "-c", code, str(archive), str(target)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("python", INTERPRETERS)
def test_links_inside_the_archive_are_kept(tmp_path, python):
    """docker save may link a repeated layer to an earlier one: ../a/layer.tar."""
    archive = make_tar(tmp_path / "ok.tar", link("b/layer.tar", "../a/layer.tar"))
    done = extract(python, archive, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out/b/layer.tar").read_bytes() == b"layer"


@pytest.mark.parametrize("python", INTERPRETERS)
@pytest.mark.parametrize(
    "member",
    [
        link("escape", "../../etc/passwd"),
        link("absolute", "/etc/passwd"),
        link("hard", "/etc/passwd", tarfile.LNKTYPE),
        device("null"),
        file_info("../outside", b""),
    ],
    ids=["symlink-up", "symlink-absolute", "hardlink-absolute", "device", "dotdot-name"],
)
def test_members_leaving_the_archive_are_refused(tmp_path, python, member):
    archive = make_tar(tmp_path / "bad.tar", member)
    done = extract(python, archive, tmp_path / "out")
    assert done.returncode != 0
    assert "points outside the archive" in done.stderr
    assert not (tmp_path / "outside").exists()
