"""Run a suite on a node, the way a node-e2e runner does: stage the suites, the harness and the
fixture images onto the node, run pytest there, and bring its JUnit back.

Many checks only make sense on the node itself (cgroupfs, /proc, host paths, pod IPs seen from
the host), so the suites run there, not over a forwarded socket. Nodes are often air-gapped:
nothing is installed from a network. The Python packages the suites import are copied from this
machine's environment, file by file as their metadata lists them; compiled ones (grpcio, PyYAML)
need the node's python3 to be the same minor version as ours, which is checked first.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata as metadata
import io
import platform
import re
import shlex
import sys
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

from harness import images, paths, suite_command
from harness import node as node_side
from harness.cri import suite_images
from harness.errors import InputError, StepFailed
from harness.gate_policy import GatePolicy
from harness.images.build import shipped_name
from harness.transport.base import Transport

# What the suites import on a node, beyond the standard library; requirements follow.
SUITE_DISTRIBUTIONS = (
    "pytest",
    "pytest-timeout",
    "container-runtime-interface-api",
    "websocket-client",
    "PyYAML",
    "junitparser",
    "jsonschema",
    "requests",
    "filelock",
    "bcrypt",  # the CRI suite's registry with basic auth
    "tomli-w",  # the hosts.toml of the CRI suite's registries
)
# `large` at its default size is for benchmarks only; every other fixture image goes with its
# default parameters, and the CRI suite's parameterised images with theirs.
UNSTAGED_IMAGES = ("large",)
# Programs the suites start on the node: the CRI suite's pull tests push to a registry on the
# node's loopback (which containerd pulls from over plain HTTP). Nodes rarely have one, so the
# harness's own goes along (Go, linked against libc only).
STAGED_PROGRAMS = ("/usr/bin/docker-registry",)
REMOTE_ROOT = "/opt/harness"


@dataclass(frozen=True)
class Stage:
    """A staged copy on the node: where it lives and how to run pytest from it."""

    root: str

    @property
    def env(self) -> dict[str, str]:
        return {
            "PYTHONPATH": f"{self.root}/src:{self.root}/site",
            "HARNESS_SHIPPED_IMAGES": f"{self.root}/images",
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def pytest_command(self, suite: str, junit: str, policy: GatePolicy,
                       extra: Iterable[str] = ()) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        args = suite_command.argv(suite, junit, policy, extra, python="python3",
                                  suites_dir="suites")
        return (f"cd {shlex.quote(self.root)}/src && env {env} "
                f"PATH={shlex.quote(self.root + '/bin')}:\"$PATH\" {shlex.join(args)}")


def distributions(names: Iterable[str]) -> list[metadata.Distribution]:
    """The named distributions and everything they require here (extras not taken)."""
    seen: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError as err:
            raise InputError(f"Python package {name} is not installed",
                             hint="run scripts/setup.sh") from err
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen[key] = dist
        for text in dist.requires or ():
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return sorted(seen.values(), key=lambda d: d.metadata["Name"].lower())


def _add_tree(tar: tarfile.TarFile, src: Path, arcname: str, leave: tuple[str, ...] = ()) -> None:
    """`src` as `arcname`, without bytecode and without its top-level entries named `leave`."""
    for path in sorted(src.rglob("*")):
        if ("__pycache__" in path.parts or path.suffix == ".pyc" or path.is_dir()
                or path.relative_to(src).parts[0] in leave):
            continue
        tar.add(path, f"{arcname}/{path.relative_to(src)}", recursive=False)


def build_bundle(out_dir: Path) -> Path:
    """A tar of src/ (harness, its node-side package, suites), site/ (packages) and images/,
    named by its content."""
    out_dir.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        # the code and the suites; of the playbooks only the node-side package, which is
        # harness.node (found beside src/harness as in a checkout); the fixture recipes are
        # not needed there
        _add_tree(tar, paths.PACKAGE, "src/harness", leave=paths.SHIPPED)
        _add_tree(tar, node_side.DIRECTORY, f"src/playbooks/{node_side.WITHIN_PLAYBOOKS}")
        _add_tree(tar, paths.shipped("suites"), "src/suites")
        for program in map(Path, STAGED_PROGRAMS):
            if program.is_file():
                tar.add(program, f"bin/{program.name}")
        for dist in distributions(SUITE_DISTRIBUTIONS):
            for file in sorted(dist.files or (), key=str):
                located = Path(dist.locate_file(file))
                if located.is_file() and ".." not in file.parts and file.suffix != ".pyc":
                    tar.add(located, f"site/{file}", recursive=False)
        variants = [(n, {}) for n in images.recipes() if n not in UNSTAGED_IMAGES]
        for name, params in [*variants, *suite_images.shipped_variants()]:
            built = images.build(name, **params)
            where = f"images/{shipped_name(name, params)}"
            tar.add(built.oci_layout.parent / "image.json", f"{where}/image.json")
            tar.add(built.oci_layout, f"{where}/oci")
            tar.add(built.oci_archive, f"{where}/oci.tar")
            tar.add(built.docker_archive, f"{where}/docker.tar")
    data = buf.getvalue()
    bundle = out_dir / f"harness-stage-{hashlib.sha256(data).hexdigest()[:16]}.tar"
    if not bundle.exists():
        bundle.write_bytes(data)
    return bundle


def stage(node: Transport, bundle: Path) -> Stage:
    """Copy and unpack the bundle on the node once; a second call finds it there."""
    _check_python(node)
    root = f"{REMOTE_ROOT}/{bundle.stem}"
    if node.run(["test", "-f", f"{root}/.complete"], timeout=30).ok:
        return Stage(root)
    tmp = f"{REMOTE_ROOT}/{bundle.name}"
    node.run(["mkdir", "-p", REMOTE_ROOT], timeout=30, check=True)
    # Stages of other harness versions pile up (each ~100 MB); one untouched for a day is not
    # in use by a run, since a run lasts hours at most.
    node.run(f"find {REMOTE_ROOT} -mindepth 1 -maxdepth 1 -name 'harness-stage-*' "
             "-mmin +1440 -exec rm -rf {} +", timeout=120)
    node.put(bundle, tmp, mode=0o600)
    # Unpack aside and rename, so a crash never leaves a half stage that looks complete.
    node.run(f"rm -rf {root}.part && mkdir {root}.part && tar -xf {tmp} -C {root}.part"
             f" && touch {root}.part/.complete && rm -rf {root} && mv {root}.part {root}"
             f" && rm -f {tmp}", timeout=300, check=True)
    return Stage(root)


_MANYLINUX = re.compile(r"manylinux_(\d+)_(\d+)_(\w+)$")
_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def compiled_needs(dists: Iterable[metadata.Distribution]) -> tuple[str, tuple[int, int]]:
    """(machine, oldest glibc) the staged compiled wheels run on: each wheel's most lenient
    manylinux tag, the strictest over all wheels."""
    machine, glibc = platform.machine(), (2, 5)
    for dist in dists:
        tags = [line.split(":", 1)[1].strip().rsplit("-", 1)[1]
                for line in (dist.read_text("WHEEL") or "").splitlines()
                if line.startswith("Tag:")]
        needs = []
        for tag in tags:
            if m := _MANYLINUX.match(tag):
                needs.append((int(m[1]), int(m[2])))
            elif (legacy := tag.rsplit("_", 1)[0]) in _LEGACY_MANYLINUX:
                needs.append(_LEGACY_MANYLINUX[legacy])
        if needs:
            glibc = max(glibc, min(needs))
    return machine, glibc


@functools.cache
def _staged_wheels_need() -> tuple[str, tuple[int, int]]:
    """compiled_needs of what is staged: the same for every node of a run, read once."""
    return compiled_needs(distributions(SUITE_DISTRIBUTIONS))


_PROBE = ("import platform, sys; print('%d.%d' % sys.version_info[:2], platform.machine(), "
          "*platform.libc_ver())")


def _check_python(node: Transport) -> None:
    """The node's python3 must import what is staged: the same minor version (compiled
    modules are per version), machine, and a glibc at least as new as the wheels need."""
    want = f"{sys.version_info.major}.{sys.version_info.minor}"
    machine, glibc = _staged_wheels_need()
    probe = node.run(["python3", "-c", _PROBE], timeout=30)
    fields = probe.stdout.split() if probe.ok else []
    have, arch, libc, version = (fields + ["none"] * 4)[:4]
    name = node.node_name
    if have != want:
        raise StepFailed(f"node {name}: python3 is {have}, the staged suites need {want}",
                         hint="install python3 " + want + " on the node")
    if arch != machine:
        raise StepFailed(f"node {name}: its machine is {arch}, the staged wheels are {machine}",
                         hint="run the harness from a machine of the node's architecture")
    have_glibc = tuple(int(n) for n in version.split(".")[:2]) if libc == "glibc" else (0, 0)
    if have_glibc < glibc:
        raise StepFailed(f"node {name}: C library {libc} {version}, the staged wheels need "
                         f"glibc {glibc[0]}.{glibc[1]} or newer",
                         hint="use nodes with a newer glibc, or run the suites there by hand")


def run_suite(node: Transport, st: Stage, suite: str, local_junit: Path, policy: GatePolicy,
              extra: Iterable[str] = (), timeout: float = 900) -> int:
    """Run suites/<suite> on the node; copy its JUnit to `local_junit`; pytest's exit code."""
    remote_junit = f"{st.root}/out/{suite}.xml"
    node.run(["mkdir", "-p", f"{st.root}/out"], timeout=30, check=True)
    node.run(["rm", "-f", remote_junit], timeout=30)
    result = node.run(st.pytest_command(suite, remote_junit, policy, extra), timeout=timeout)
    if not node.run(["test", "-s", remote_junit], timeout=30).ok:
        tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
        raise StepFailed(f"node {node.node_name}: suites/{suite} wrote no JUnit "
                         f"(exit {result.exit_code})", hint=" | ".join(tail) or "no output")
    local_junit.parent.mkdir(parents=True, exist_ok=True)
    node.get(remote_junit, local_junit)
    return result.exit_code
