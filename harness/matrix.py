"""The conformance matrix: the CRI suite against each containerd and runtime handler, the OCI
suite against each OCI runtime, one JUnit per cell, so that a test tuned to one runtime's quirks
shows up as a difference between cells.

CRI cells run against a private containerd each (own state, socket, bridge and pod subnet, the
fixture pause image as its sandbox image, a TLS registry on loopback it trusts). OCI cells run
the OCI suite with one --oci-runtime each. Every cell runs and is judged under the run's gate
policy (harness.gate_policy): strict skips (a skip that the suite's allowed-skips.yaml does not
allow for that runtime fails the cell), the all-skipped rule and the skip budget.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from harness import allowed_skips, images, junit, suite_command
from harness.containerd import build as containerd_build
from harness.daemons.containerd import Containerd, ContainerdConfig, RuntimeHandler
from harness.daemons.registry import Registry, RegistryConfig
from harness.errors import EXIT_FAILURES, EXIT_OK, InputError
from harness.gate_policy import GatePolicy
from harness.images import load
from harness.paths import shipped

SUITES = shipped("suites")
# crun 1.8 cannot create containers beside this host's hybrid cgroup mount; the wrapper runs it
# in a private mount namespace without the v2 mount (suites/oci/tools).
CRUN_ON_HYBRID_CGROUPS = SUITES / "oci" / "tools" / "crun-on-hybrid-cgroups"


@dataclass(frozen=True)
class Cell:
    """One column of the matrix: a suite and the runtime it is run against."""

    name: str
    suite: str  # cri | oci
    runtime: str  # what the README's table says
    containerd_2x: bool = False  # CRI: the built containerd 2.x (config version 3)
    handler: RuntimeHandler | None = None  # CRI: every pod of the suite on this handler
    oci_runtime: str = ""  # OCI: the runtime binary (found on PATH when not a path)

    def containerd_config(self, base: Path, sandbox_image: str, index: int,
                          registry_dir: Path) -> ContainerdConfig:
        cfg = ContainerdConfig(base_dir=base, bridge=f"hmx{index}",
                               subnet=f"10.92.{index}.0/24", sandbox_image=sandbox_image,
                               registry_config_dir=registry_dir)
        if self.containerd_2x:
            cfg.bin_dir = containerd_build.build(containerd_build.DEFAULT_VERSION).bin_dir
            cfg.config_version = 3
        if self.handler:
            cfg.handlers = (self.handler,)
        return cfg


CELLS = (
    Cell("cri-containerd-1.6-runc", "cri", "containerd 1.6 (Debian), runc"),
    Cell("cri-containerd-2.x-runc", "cri",
         f"containerd {containerd_build.DEFAULT_VERSION} (built), runc", containerd_2x=True),
    Cell("cri-containerd-1.6-crun", "cri", "containerd 1.6 (Debian), crun as the handler",
         handler=RuntimeHandler("crun", str(CRUN_ON_HYBRID_CGROUPS))),
    Cell("oci-runc", "oci", "runc", oci_runtime="runc"),
    Cell("oci-crun", "oci", "crun (private mount namespace)",
         oci_runtime=str(CRUN_ON_HYBRID_CGROUPS)),
)


@dataclass
class CellResult:
    cell: Cell
    junit_file: Path
    returncode: int
    seconds: float
    policy: GatePolicy
    output: str = ""  # what pytest printed
    summary: junit.Summary = field(default_factory=junit.Summary)  # of its JUnit
    skip_reasons: Counter = field(default_factory=Counter)
    deviations: Counter = field(default_factory=Counter)

    @property
    def counts(self) -> junit.SuiteCounts:
        return self.summary.total()

    @property
    def ok(self) -> bool:
        """Passed: pytest finished without a failure (nothing collected is one too) and the
        gate policy passes the cell's JUnit."""
        return self.returncode == 0 and self.policy.exit_code(self.summary) == EXIT_OK


def select(names: list[str] | None) -> list[Cell]:
    """The cells named (all without names); an unknown name is bad input."""
    known = {c.name: c for c in CELLS}
    for name in names or ():
        if name not in known:
            raise InputError(f"--cell {name}: no such cell", hint=f"one of {', '.join(known)}")
    return [c for c in CELLS if not names or c.name in names]


def run(cells: list[Cell], out_dir: Path, policy: GatePolicy, say=print) -> list[CellResult]:
    """Every cell in turn (each suite uses both cores); JUnit in out_dir/junit-<cell>.xml."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for index, cell in enumerate(cells, start=10):
        say(f"matrix: {cell.name}: {cell.runtime}")
        result = run_cell(cell, out_dir, policy, index)
        say(f"matrix: {cell.name}: {result.counts.passed} passed, {result.counts.failures} "
            f"failed, {result.counts.errors} errors, {result.counts.skipped} skipped "
            f"in {result.seconds:.0f}s")
        results.append(result)
    return results


def run_cell(cell: Cell, out_dir: Path, policy: GatePolicy, index: int = 10) -> CellResult:
    junit_file = out_dir / f"junit-{cell.name}.xml"
    junit_file.unlink(missing_ok=True)
    started = time.monotonic()
    if cell.suite == "cri":
        done = _run_cri(cell, junit_file, policy, index)
    else:
        runtime = shutil.which(cell.oci_runtime) or cell.oci_runtime
        done = _pytest("oci", junit_file, policy, "--oci-runtime", runtime)
    result = CellResult(cell, junit_file, done.returncode, time.monotonic() - started, policy,
                        done.stdout + done.stderr)
    if junit_file.exists():
        xml = junit.read(junit_file)
        result.summary = junit.verify(xml)
        allowed = allowed_skips.load(SUITES / cell.suite / "allowed-skips.yaml")
        result.skip_reasons, result.deviations = skip_reasons(xml, allowed)
    return result


def _run_cri(cell: Cell, junit_file: Path, policy: GatePolicy,
             index: int) -> subprocess.CompletedProcess:
    pause = images.build("pause")
    base = Path(tempfile.mkdtemp(prefix=f"hmx-{cell.name}-"))
    registry = Registry(RegistryConfig(base_dir=base / "registry", tls=True)).start()
    containerd = None
    try:
        hosts = base / "certs.d"
        registry.write_containerd_hosts(hosts)
        containerd = Containerd(cell.containerd_config(base / "containerd", pause.ref, index,
                                                       hosts)).start()
        load.into_containerd(containerd.address, pause)
        args = ["--cri-endpoint", containerd.endpoint, "-n", "2", "--dist", "loadgroup",
                "--tls-registry", registry.host, "--tls-registry-ca", str(registry.ca)]
        if cell.handler:
            args += ["--runtime-handler", cell.handler.name]
        return _pytest("cri", junit_file, policy, *args)
    finally:
        if containerd:
            containerd.stop(purge=True)
        registry.stop()
        shutil.rmtree(base, ignore_errors=True)


def _pytest(suite: str, junit_file: Path, policy: GatePolicy,
            *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(suite_command.argv(suite, junit_file, policy, args),
                          capture_output=True, text=True, check=False)


DEVIATION = re.compile(r' deviates from (.+?) \("')  # the OCI suite's strict xfails


def skip_reasons(xml, allowed: list[allowed_skips.AllowedSkip]) -> tuple[Counter, Counter]:
    """(skips, deviations): how often each allowed-skips.yaml entry allowed a skip, by the
    words it matches (the entries say why at length), and each known spec deviation (the OCI
    suite's strict xfails, which JUnit records as skips) by the spec section it breaks."""
    skips, deviations = Counter(), Counter()
    for suite in xml:
        for case in suite:
            for result in case.result:
                if type(result).__name__ != "Skipped":
                    continue
                message = result.message or ""
                deviation = DEVIATION.search(message)
                if deviation:
                    deviations[deviation.group(1)] += 1
                    continue
                entry = next((e for e in allowed if e.allows(case.name, None, message)), None)
                skips[entry.message if entry else message] += 1
    return skips, deviations


def _counted(counter: Counter) -> str:
    return "; ".join(f"{key} ×{n}" if n > 1 else key for key, n in sorted(counter.items()))


def table(results: list[CellResult]) -> str:
    """The README's table: one row per cell, its skips by the allowed-skips.yaml words that
    allow them, its expected deviations by spec section (deviations.yaml says why)."""
    rows = ["| cell | runtime | passed | failed | skipped (allowed-skips.yaml) | expected "
            "deviations (deviations.yaml) |", "|---|---|---|---|---|---|"]
    for r in results:
        skipped = sum(r.skip_reasons.values())
        deviated = sum(r.deviations.values())
        rows.append(f"| {r.cell.name} | {r.cell.runtime} | {r.counts.passed} | "
                    f"{r.counts.failures + r.counts.errors} | {skipped}: "
                    f"{_counted(r.skip_reasons)} | {deviated}"
                    f"{': ' + _counted(r.deviations) if deviated else ''} |")
    return "\n".join(rows)


def exit_code(results: list[CellResult]) -> int:
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILURES
