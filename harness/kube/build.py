"""Build the Kubernetes binaries for one pinned version from the k8s.io/kubernetes Go module.

k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces every staging module
(k8s.io/api, k8s.io/client-go, ...) with ./staging/src/..., which the published module zip does
not contain. So the build writes a wrapper module whose `replace` lines point each staging module
at its published v0.X.Y version.

kube-apiserver also needs pkg/generated/openapi/zz_generated.openapi.go, which Kubernetes'
Makefile generates at build time and which is not in the module. The build copies the module
source to a writable directory, runs the pinned openapi-gen over every package tagged
`+k8s:openapi-gen=` (as Kubernetes' Makefile does), and replaces k8s.io/kubernetes with that copy.

Layout per version, under ~/.cache/harness/kube/<version>/:
    go.mod, go.sum, tools.go   the wrapper module
    src/kubernetes/            writable copy of the module source plus the generated openapi file
    tools/openapi-gen
    bin/<binary>, bin/SHA256SUMS, bin/BUILD (how they were built: STATIC)
    build.log                  everything the go tool printed
    kubeadm/kubeadm, kubeadm/SHA256SUMS, kubeadm-build.log
                               built on demand (runnable versions), an entry of its own
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from harness import gobuild, paths
from harness.errors import MissingToolError
from harness.gobuild import Built, GoRunner, pinned, progress, write_checksums

BINARIES = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
)
OPENAPI_PACKAGE = "k8s.io/kubernetes/pkg/generated/openapi"
OPENAPI_MODULE = "k8s.io/kube-openapi"
# Staging modules that are not part of any server binary and that Kubernetes' own openapi
# generation leaves out.
OPENAPI_SKIP_MODULES = ("k8s.io/code-generator", "k8s.io/sample-apiserver")
# Debian golang-1.19-go: upstream built 1.23.16+ and 1.24.10+ with Go 1.19.
GO_1_19 = "/usr/lib/go-1.19/bin/go"


KUBELET_ONLY = ("kubelet",)
# Release builds link statically, and so does this one: the kubelet and kube-proxy run on the
# nodes, and a binary linked against this machine's glibc (2.36) does not start on a node with
# an older one (Debian 11: "GLIBC_2.34 not found"). bin/BUILD holds this line; a cache entry
# without it was linked dynamically by an earlier harness and is built again.
STATIC = "CGO_ENABLED=0"


@dataclass(frozen=True)
class Release:
    """A Kubernetes version this harness knows how to build, the Go that builds it, and which
    binaries: the whole set for a version the lab runs, the kubelet alone for a version whose
    runtime settings are only checked against the kubelet that will read them."""

    version: str  # "1.23.17"
    go: str  # path of the go binary, or the oldest Go version that builds it (found on PATH)
    binaries: tuple[str, ...] = BINARIES

    def go_binary(self) -> str:
        if self.go.startswith("/"):
            if not Path(self.go).exists():
                raise MissingToolError(
                    f"{self.go}: the Go toolchain for Kubernetes {self.version} is missing",
                    hint="apt-get install golang-1.19-go (scripts/setup.sh installs it)")
            return self.go
        return gobuild.find_go(self.go, f"Kubernetes {self.version}")

    @property
    def go_directive(self) -> str:
        """The wrapper module's `go` line: at least what k8s.io/kubernetes' own go.mod says."""
        return "1.19" if self.go.startswith("/") else self.go

    @property
    def staging_version(self) -> str:
        """Staging modules are published as v0.<minor>.<patch> for Kubernetes 1.<minor>.<patch>."""
        return "v0." + self.version.split(".", 1)[1]

    @property
    def dockershim(self) -> bool:
        """The kubelet's built-in Docker support was removed in 1.24."""
        return int(self.version.split(".")[1]) < 24


RELEASES = {
    "1.23.17": Release("1.23.17", GO_1_19),  # the Docker "before" state: dockershim
    "1.24.17": Release("1.24.17", GO_1_19),  # first minor past the dockershim removal
    # Kubelets the lab does not run, each the last or first of a way to name the runtime:
    "1.26.15": Release("1.26.15", "1.21", KUBELET_ONLY),  # last with --container-runtime
    "1.27.8": Release("1.27.8", "1.21", KUBELET_ONLY),  # first with containerRuntimeEndpoint
    "1.34.4": Release("1.34.4", "1.24.0", KUBELET_ONLY),  # kubeadm's instance-config.yaml
}


def cache_root() -> Path:
    """$HARNESS_KUBE_CACHE, else ~/.cache/harness/kube."""
    return paths.cache_dir("kube", "HARNESS_KUBE_CACHE")


# The versions a cluster can run: every binary built, not the kubelet alone.
RUNNABLE = {v: r for v, r in RELEASES.items() if r.binaries == BINARIES}


def release(version: str, flag: str = "--version", *, runnable: bool = True) -> Release:
    """The pinned release `version`; with `runnable`, only one a cluster can be made of."""
    releases = RUNNABLE if runnable else RELEASES
    what = "a pinned Kubernetes version" + (" with every binary" if runnable else "")
    return releases[pinned(version, releases, flag, what, "harness/kube/build.py")]


def build(version: str, *, rebuild: bool = False, say=None) -> Built:
    """Return the verified binaries of `version`, building them first if not cached."""
    rel = release(version, runnable=False)
    say = say or progress
    work = cache_root() / rel.version
    return _cached(work, work / "bin", rebuild, say, f"kubernetes {rel.version}", None,
                   lambda: _build(rel, work, say))


def build_kubeadm(version: str, *, rebuild: bool = False, say=None) -> Built:
    """kubeadm of a runnable version, verified, built first if not cached.

    It has a cache entry of its own, <version>/kubeadm/, compiled in the module workspace of
    the other binaries (made here if missing): caches made before kubeadm was built stay valid
    (no 10-minute rebuild of the six), and `rebuild` redoes kubeadm alone."""
    rel = release(version)
    say = say or progress
    work = cache_root() / rel.version
    hint = f"rebuild with `harness kube build --version {rel.version} --kubeadm --rebuild`"
    return _cached(work, work / "kubeadm", rebuild, say, f"kubeadm {rel.version}", hint,
                   lambda: _build_kubeadm(rel, work, work / "kubeadm", say))


def verify(bin_dir: Path, rebuild_hint: str | None = None) -> None:
    gobuild.verify(bin_dir, rebuild_hint or
                   f"rebuild with `harness kube build --version {bin_dir.parent.name} --rebuild`")


def _cached(work: Path, bin_dir: Path, rebuild: bool, say, what: str, hint: str | None,
            make) -> Built:
    """The verified binaries in `bin_dir`, made by `make` first when missing or `rebuild`;
    under the version's lock, which every build in its workspace takes."""
    work.mkdir(parents=True, exist_ok=True)
    with FileLock(str(work) + ".lock"):
        if rebuild:
            shutil.rmtree(bin_dir, ignore_errors=True)
        if (bin_dir / "SHA256SUMS").exists() and _static(bin_dir):
            verify(bin_dir, hint)
            say(f"{what}: cached binaries verified in {bin_dir}")
        else:
            if (bin_dir / "SHA256SUMS").exists():
                say(f"{what}: the cached binaries are dynamically linked, building them again")
            make()
    return Built(work.name, bin_dir)


def _static(bin_dir: Path) -> bool:
    build = bin_dir / "BUILD"
    return build.exists() and build.read_text().strip() == STATIC


def _build_kubeadm(rel: Release, work: Path, bin_dir: Path, say) -> None:
    go = GoRunner(rel.go_binary(), work, "kubeadm")
    go.log = work / "kubeadm-build.log"  # the six binaries' build.log stays as it was
    go.log.write_text("")
    started = time.monotonic()
    if not (work / "go.mod").exists() or not (work / "src" / "kubernetes").is_dir():
        _workspace(go, rel, work, say)  # kubeadm wanted first, or the source copy removed
    say(f"kubeadm {rel.version}: compiling (log: {go.log})")
    _compile(go, rel, work, bin_dir, ("kubeadm",))
    say(f"kubeadm {rel.version}: built in {time.monotonic() - started:.0f}s -> {bin_dir}")


def _build(rel: Release, work: Path, say) -> None:
    go = GoRunner(rel.go_binary(), work)
    go.log.write_text("")  # the log of the last build only
    started = time.monotonic()
    source, staging = _workspace(go, rel, work, say)
    if "kube-apiserver" in rel.binaries:  # the only binary that serves the OpenAPI document
        say(f"kubernetes {rel.version}: generating {OPENAPI_PACKAGE}")
        _generate_openapi(go, work, source, staging)
    say(f"kubernetes {rel.version}: compiling {', '.join(rel.binaries)} "
        "(several minutes when cold)")
    _compile(go, rel, work, work / "bin", rel.binaries)
    say(f"kubernetes {rel.version}: built in {time.monotonic() - started:.0f}s -> {work / 'bin'}")


def _workspace(go: GoRunner, rel: Release, work: Path, say) -> tuple[Path, list[str]]:
    """The wrapper module over a writable copy of k8s.io/kubernetes: (source, staging modules)."""
    say(f"kubernetes {rel.version}: fetching k8s.io/kubernetes (log: {go.log})")
    module = go.json("mod", "download", "-json", f"k8s.io/kubernetes@v{rel.version}")
    staging = _staging_modules(Path(module["GoMod"]))
    source = work / "src" / "kubernetes"
    _copy_source(Path(module["Dir"]), source)
    _write_wrapper(work, rel, staging)
    say(f"kubernetes {rel.version}: resolving modules (go mod tidy)")
    go.run("mod", "tidy")
    return source, staging


def _compile(go: GoRunner, rel: Release, work: Path, bin_dir: Path,
             names: tuple[str, ...]) -> None:
    """`go build` of cmd/<name> for each name into `bin_dir` with its SHA256SUMS, written
    aside and renamed so that an interrupted build never looks complete."""
    out = work / f".{bin_dir.name}-new"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    go.env.update(CGO_ENABLED="0")
    go.run(
        "build",
        "-ldflags",
        _version_ldflags(rel.version),
        "-o",
        f"{out}/",
        *(f"k8s.io/kubernetes/cmd/{name}" for name in names),
    )
    write_checksums(out, names)
    (out / "BUILD").write_text(f"{STATIC}\n")
    shutil.rmtree(bin_dir, ignore_errors=True)
    os.rename(out, bin_dir)


def _staging_modules(gomod: Path) -> list[str]:
    """Modules that k8s.io/kubernetes' go.mod replaces with a ./staging/src directory."""
    pattern = re.compile(r"^\s*(k8s\.io/[\w.-]+)\s*=>\s*\./staging/src/", re.MULTILINE)
    return sorted(set(pattern.findall(gomod.read_text())))


def _copy_source(module_dir: Path, dest: Path) -> None:
    """A writable copy (the module cache is read-only), redone each build for a clean tree."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(module_dir, dest, copy_function=shutil.copy)
    for root, dirs, files in os.walk(dest):
        for name in dirs + files:
            path = Path(root) / name
            path.chmod(path.stat().st_mode | 0o200)
    dest.chmod(dest.stat().st_mode | 0o200)


def _write_wrapper(work: Path, rel: Release, staging: list[str]) -> None:
    replaces = "".join(f"\t{m} => {m} {rel.staging_version}\n" for m in staging)
    (work / "go.mod").write_text(
        "module harness.local/kubebuild\n\n"
        f"go {rel.go_directive}\n\n"
        f"require k8s.io/kubernetes v{rel.version}\n\n"
        "replace (\n"
        f"\tk8s.io/kubernetes => ./src/kubernetes\n{replaces})\n"
    )
    # tools.go keeps the commands' dependencies in the build list through `go mod tidy`.
    imports = "".join(f'\t_ "k8s.io/kubernetes/cmd/{b}"\n' for b in rel.binaries)
    (work / "tools.go").write_text(
        f"//go:build tools\n\npackage tools\n\nimport (\n{imports})\n"
    )


def _generate_openapi(go: GoRunner, work: Path, source: Path, staging: list[str]) -> None:
    tool = _build_openapi_gen(go, work)
    roots = {"k8s.io/kubernetes": source}
    for mod, module_dir in _module_dirs(go).items():
        if mod in staging and mod not in OPENAPI_SKIP_MODULES:
            roots[mod] = module_dir
    inputs = sorted(pkg for mod, root in roots.items() for pkg in _tagged_packages(mod, root))
    header = source / "hack" / "boilerplate" / "boilerplate.generatego.txt"
    out_base = work / "openapi-out"
    shutil.rmtree(out_base, ignore_errors=True)
    go.run(
        "--input-dirs",
        ",".join(inputs),
        "--output-base",
        str(out_base),
        "--output-package",
        OPENAPI_PACKAGE,
        "--output-file-base",
        "zz_generated.openapi",
        "--go-header-file",
        str(header),
        # Known API rule violations are reported, not fatal (Kubernetes keeps a list of them).
        "--report-filename",
        str(work / "openapi-violations.list"),
        tool=str(tool),
    )
    generated = out_base / OPENAPI_PACKAGE / "zz_generated.openapi.go"
    shutil.copy(generated, source / "pkg" / "generated" / "openapi" / generated.name)
    shutil.rmtree(out_base)


def _build_openapi_gen(go: GoRunner, work: Path) -> Path:
    """openapi-gen at the kube-openapi version Kubernetes pins, built inside a copy of that
    module so its own go.mod pins its dependencies (resolving them from the wrapper module
    picks today's golang.org/x/tools, which needs a newer Go)."""
    version = go.run("list", "-m", "-f", "{{.Version}}", OPENAPI_MODULE).strip()
    module = go.json("mod", "download", "-json", f"{OPENAPI_MODULE}@{version}")
    source = work / "tools" / "kube-openapi"
    _copy_source(Path(module["Dir"]), source)
    tool = work / "tools" / "openapi-gen"
    go.run("build", "-o", str(tool), "./cmd/openapi-gen", cwd=source)
    return tool


def _module_dirs(go: GoRunner) -> dict[str, Path]:
    """Source directory of every module in the build list (after replacements)."""
    template = "{{.Path}} {{with .Replace}}{{.Dir}}{{else}}{{.Dir}}{{end}}"
    listing = go.run("list", "-m", "-f", template, "all")
    pairs = (line.split(" ", 1) for line in listing.splitlines())
    return {path: Path(d) for path, d in pairs if d}


def _tagged_packages(module: str, root: Path) -> set[str]:
    """Import paths of packages under `root` with a `+k8s:openapi-gen=` tag in a Go file."""
    found = set()
    for path in root.rglob("*.go"):
        rel = path.parent.relative_to(root)
        if rel.parts[:1] in (("staging",), ("test",), ("vendor",)) or "testdata" in rel.parts:
            continue
        if rel == Path(".") or path.name.endswith("_test.go"):
            continue
        if "+k8s:openapi-gen=" in path.read_text(errors="replace"):
            found.add(f"{module}/{rel.as_posix()}")
    return found


def _version_ldflags(version: str) -> str:
    """What Kubernetes' build stamps in, so /version and nodeInfo.kubeletVersion are right."""
    major, minor, _ = version.split(".")
    values = {
        "gitVersion": f"v{version}",
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",  # fixed: the same inputs give the same binaries
    }
    pkgs = ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
    stamps = " ".join(f"-X {p}.{k}={v}" for p in pkgs for k, v in values.items())
    return f"-s -w {stamps}"  # stripped, as Kubernetes' release build: half the size to copy
