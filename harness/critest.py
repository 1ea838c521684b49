"""critest, cri-tools' CRI validation suite, built from the sigs.k8s.io/cri-tools module and
cached (harness/critools.py, under ~/.cache/harness/critest/<version>/), and run offline
against a containerd: the images it pulls come from a loopback registry holding local
stand-ins under the names critest asks for.

critest pulls every image it uses, from registry.k8s.io/e2e-test-images and
gcr.io/k8s-staging-cri-tools (pause also from k8s.gcr.io). The containerd under test is given
the loopback registry as the mirror of those three (`mirror_registries`), where
`push_stand_ins` puts fixture images (fixtures/images/critest-*.yaml) that do what each spec
checks of the original, under the original paths. critest's own -registry-prefix does not do:
it pulls the prefixed name but creates containers by the original one. Two specs cannot pass
offline with these stand-ins and are skipped with their reasons (SKIPPED)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness import critools, images
from harness.daemons.registry import Registry
from harness.images import load

DEFAULT_VERSION = critools.DEFAULT_VERSION
E2E = "e2e-test-images"  # registry.k8s.io/e2e-test-images/..., critest's framework images
STAGING = "k8s-staging-cri-tools"  # gcr.io/k8s-staging-cri-tools/..., its own test images
GOARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())

MIRRORED = ("registry.k8s.io", "gcr.io", "k8s.gcr.io")

# critest's image (its path in its registry) -> (fixture recipe, its parameters).
# Sources: pkg/validate/consts.go, consts_linux.go, multi_container_linux.go,
# security_context_linux.go and pkg/framework/util.go of cri-tools v1.37.0.
STAND_INS: dict[str, tuple[str, dict]] = {
    f"{E2E}/busybox:1.29-2": ("critest-busybox", {}),
    f"{E2E}/nginx:1.14-2": ("critest-web", {}),
    f"{E2E}/httpd:2.4.39-4": ("critest-web", {"program": "httpd"}),
    f"{E2E}/nonewprivs:1.3": ("critest-nonewprivs", {}),
    f"{STAGING}/hostnet-nginx-{GOARCH}:latest": ("critest-web", {"port": 12003}),
    f"{STAGING}/test-image-user-uid:latest": ("critest-user", {"user": "1002"}),
    f"{STAGING}/test-image-user-username:latest": ("critest-user", {"user": "www-data"}),
    f"{STAGING}/test-image-user-uid-group:latest": ("critest-user", {"user": "1003:1003"}),
    f"{STAGING}/test-image-user-username-group:latest":
        ("critest-user", {"user": "www-data:www-data"}),
    f"{STAGING}/test-image-predefined-group:latest": ("critest-predefined-group", {}),
    f"{STAGING}/test-image-latest:latest": ("critest-marker", {}),
    f"{STAGING}/test-image-tag:test": ("critest-marker", {}),
    f"{STAGING}/test-image-tag:all": ("critest-marker", {}),
    # Three images that must differ, and one image under three tags.
    **{f"{STAGING}/test-image-{n}:latest": ("critest-marker", {"n": n}) for n in (1, 2, 3)},
    **{f"{STAGING}/test-image-tags:{n}": ("critest-marker", {"n": 4}) for n in (1, 2, 3)},
    # registry.k8s.io/pause and k8s.gcr.io/pause: pulled, compared and removed by ID, never
    # run; an image of its own, since removing the sandbox image would fail every later spec.
    "pause:3.9": ("critest-marker", {"n": 5}),
}

# Spec text (a regular expression for -ginkgo.skip) -> why it cannot run here.
SKIPPED = {
    "public image with digest should be pulled and removed":
        "pins the digest of an image in gcr.io; no stand-in can have that digest offline",
    "runtime should support MaskedPaths":
        "masks /bin/ls and runs `sh -c ls`; Debian's busybox-static shell runs ls as a built-in "
        "applet, so the masked file is never executed (the CRI suite checks masking on files)",
}


@dataclass(frozen=True)
class Run:
    """One critest run, read from its Ginkgo JSON report."""

    returncode: int
    seconds: float  # the suite's own run time, as Ginkgo measured it
    specs: dict[str, str]  # full spec text -> state (passed, failed, skipped, pending...)
    spec_seconds: dict[str, float]

    def count(self, state: str) -> int:
        return sum(1 for s in self.specs.values() if s == state)


def build(version: str = DEFAULT_VERSION, *, rebuild: bool = False, say=None) -> Path:
    """The verified critest of `version`, built first if not cached (or if `rebuild`)."""
    return critools.build(critools.CRITEST, version, "--critest-version", rebuild=rebuild,
                          say=say)


def mirror_registries(registry: Registry, config_dir: Path) -> None:
    """Make `registry` the mirror of critest's registries in containerd's config_path."""
    for upstream in MIRRORED:
        registry.write_containerd_hosts(config_dir, mirror_of=upstream)


def push_stand_ins(registry_url: str) -> list[str]:
    """Build each stand-in and push it under the names critest asks for; return the refs."""
    by_image: dict[tuple, list[str]] = {}
    for path, (recipe, params) in STAND_INS.items():
        by_image.setdefault((recipe, tuple(sorted(params.items()))), []).append(path)
    refs = []
    for (recipe, params), names in by_image.items():
        refs += load.into_registry(registry_url, images.build(recipe, **dict(params)),
                                   names=names)
    return refs


def argv(binary: Path, endpoint: str, report: Path) -> list[str]:
    """critest against `endpoint`, writing a JSON report."""
    return [str(binary), f"-runtime-endpoint={endpoint}", f"-image-endpoint={endpoint}",
            f"-ginkgo.json-report={report}", f"-ginkgo.skip={'|'.join(SKIPPED)}",
            "-ginkgo.no-color"]


def run(binary: Path, endpoint: str, work: Path, log: Path, parallel: int = 1,
        timeout: float = 3600) -> Run:
    """Run critest in `work` (it writes there), its output to `log`; read its report. With
    `parallel` > 1, through the ginkgo CLI cached beside it, in that many processes."""
    report = work / "critest.json"
    command = argv(binary, endpoint, report)
    env = dict(os.environ)
    if parallel > 1:
        command.append(f"-parallel={parallel}")
        env["PATH"] = f"{binary.parent}:{env.get('PATH', '')}"
    with log.open("w") as out:
        proc = subprocess.run(command, cwd=work, env=env,
                              stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False)
    return read_report(report, proc.returncode)


def read_report(path: Path, returncode: int) -> Run:
    suite = json.loads(path.read_text())[0]
    specs, seconds = {}, {}
    for spec in suite["SpecReports"]:
        if spec["LeafNodeType"] != "It":  # suite-level setup nodes are no specs
            continue
        name = " ".join([*spec["ContainerHierarchyTexts"], spec["LeafNodeText"]])
        specs[name] = spec["State"]
        seconds[name] = spec["RunTime"] / 1e9  # Ginkgo reports nanoseconds
    return Run(returncode, suite["RunTime"] / 1e9, specs, seconds)
