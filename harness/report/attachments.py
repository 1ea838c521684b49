"""`[[ATTACHMENT|path]]` lines that hand the CI dashboards the artifacts of a failure: each
failing or erroring testcase's system-out names what was collected from its node in its phase
(harness.nodes.artifacts), the config diff first, then the kubelet's, containerd's and Docker's
journals. GitLab shows the first as the test's attachment; Jenkins' junit-attachments plugin
shows them all.

A path is the run's out dir as the run was given it joined with the artifact's place in it:
both dashboards resolve it from the directory the CI job ran the harness in, which is where a
relative `--out` (the default `reports/`) points from too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from junitparser import Error, Failure

from harness import junit
from harness.nodes import artifacts
from harness.report.model import column_of

FIRST = (artifacts.DIFF, "journal-kubelet.log", "journal-containerd.log", "journal-docker.log")


def attach(junit_dir: Path, out_dir: Path, phases: Sequence[str]) -> None:
    """Add the attachment lines to every failing testcase of the JUnit files in `junit_dir`
    whose node has artifacts for its phase under `out_dir` (again: a line already there is not
    repeated)."""
    for path in junit.junit_files(junit_dir):
        xml = junit.read(path)
        changed = False
        for suite in xml:
            kind = next((p.value for p in suite.properties() if p.name == "suite"), "")
            for case in suite:
                if not any(isinstance(r, Failure | Error) for r in case.result):
                    continue
                phase = column_of(kind, case.name or "", phases)
                lines = [f"[[ATTACHMENT|{f}]]" for f in _files(out_dir, suite.name or "", phase)]
                output = case.system_out or ""
                new = [line for line in lines if line not in output]
                if new:
                    case.system_out = "\n".join(filter(None, [output, *new]))
                    changed = True
        if changed:
            junit.save(xml, path)


def _files(out_dir: Path, node: str, phase: str) -> list[Path]:
    """The phase's own files for `node` (not the before/after copies the diff shows), the most
    telling first."""
    directory = artifacts.phase_dir(out_dir, node, phase)
    found = [p for p in directory.iterdir() if p.is_file()] if directory.is_dir() else []
    return sorted(found, key=lambda p: (FIRST.index(p.name) if p.name in FIRST else len(FIRST),
                                        p.name))
