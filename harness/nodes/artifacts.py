"""What a node looked like around each phase, kept under the run's reports for whoever reads a
failure afterwards (the lab may be gone by then, a fleet node surely changed):

    artifacts/<node>/<phase>/journal-<unit>.log   kubelet, containerd and docker since the
                                                   phase started (journalctl over the node's
                                                   transport)
    artifacts/<node>/migrate/before/, after/      the runtime's and kubelet's config files, the
                                                   images (`docker images` before, `crictl images`
                                                   after) and `crictl info` after the migration
    artifacts/<node>/migrate/config.diff          the config files before -> after, unified

Collecting never fails a phase: a node that does not answer, or a command it lacks, leaves a
file saying so (a missing journal is itself a finding). Everything written passes through
harness.redact: journals carry bearer tokens, config.toml registry passwords.

The node's clock is trusted for `--since` (a lab node shares this machine's; a fleet's is kept
by NTP), with a few seconds' margin.
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Iterable
from pathlib import Path

from harness import junit, redact
from harness.inventory import Node
from harness.progress import progress
from harness.transport import Transport, open_transport

DIRECTORY = "artifacts"
UNITS = ("kubelet", "containerd", "docker")
CONFIGS = ("/etc/containerd/config.toml", "/var/lib/kubelet/kubeadm-flags.env",
           "/var/lib/kubelet/config.yaml", "/etc/crictl.yaml")
DIFF = "config.diff"
MIGRATE = "migrate"
SINCE_MARGIN = 5.0  # seconds before the phase started: clocks and journald's buffering
DEFAULT_CRI = "unix:///run/containerd/containerd.sock"
TIMEOUT = 60.0
# One short connection attempt: a node that does not answer would otherwise cost the run the
# transport's retries once per phase; the phase itself has already said it is unreachable.
CONNECT = {"connect_timeout": 5.0, "connect_retries": 0}
ABSENT = "(absent)\n"  # a config file the node does not have: diffed as such


def node_dir(out_dir: Path, node: str) -> Path:
    return Path(out_dir) / DIRECTORY / junit.identity(node)


def phase_dir(out_dir: Path, node: str, phase: str) -> Path:
    return node_dir(out_dir, node) / junit.identity(phase)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redact.text(text), encoding="utf-8")
    return path


def _output(transport: Transport, command: str) -> str:
    """A command's output, or why there is none (a node may lack docker or crictl)."""
    result = transport.run(["sh", "-c", command], timeout=TIMEOUT)
    if result.exit_code == 0:
        return result.stdout
    return f"`{command}` exited {result.exit_code}\n{result.stdout}{result.stderr}"


def _on_each(nodes: Iterable[Node], what: str, collect) -> None:
    """`collect(node, transport)` on each node; a failure is one progress line, not an error
    of the phase."""
    for node in nodes:
        try:
            with open_transport(node, **CONNECT) as transport:
                collect(node, transport)
        except Exception as err:  # noqa: BLE001 - an artifact never costs a phase its verdict
            progress(node.name, f"{what} not collected: {err}")


def journals(nodes: Iterable[Node], out_dir: Path, phase: str, since: float) -> None:
    """journal-<unit>.log of each node for `phase`, from `since` (seconds since the epoch)."""
    def collect(node: Node, transport: Transport) -> None:
        for unit in UNITS:
            text = _output(transport, f"journalctl --no-pager -o short-iso -u {unit}.service "
                                      f"--since @{int(since - SINCE_MARGIN)}")
            _write(phase_dir(out_dir, node.name, phase) / f"journal-{unit}.log", text)
    _on_each(nodes, f"{phase} journals", collect)


def state(nodes: Iterable[Node], out_dir: Path, when: str) -> None:
    """The migration's `before` or `after` state of each node: its config files, its images
    (Docker's before, the CRI's after) and, after, `crictl info`."""
    def collect(node: Node, transport: Transport) -> None:
        directory = phase_dir(out_dir, node.name, MIGRATE) / when
        for path in CONFIGS:
            text = _output(transport, f"if [ -e {path} ]; then cat {path}; "
                                      f"else printf %s {shlex.quote(ABSENT)}; fi")
            _write(directory / _flat(path), text)
        if when == "before":
            _write(directory / "images.txt", _output(transport, "docker images --digests"))
        else:
            crictl = f"crictl --runtime-endpoint {shlex.quote(node.cri_endpoint or DEFAULT_CRI)}"
            _write(directory / "images.txt", _output(transport, f"{crictl} images --digests"))
            _write(directory / "crictl-info.json", _output(transport, f"{crictl} info"))
    _on_each(nodes, f"{when}-migration state", collect)


def config_diff(nodes: Iterable[Node], out_dir: Path) -> None:
    """config.diff of each node whose before and after states were both recorded."""
    for node in nodes:
        directory = phase_dir(out_dir, node.name, MIGRATE)
        if not ((directory / "before").is_dir() and (directory / "after").is_dir()):
            continue
        diff = []
        for path in CONFIGS:
            before, after = (_read(directory / when / _flat(path)) for when in ("before", "after"))
            diff += difflib.unified_diff(before, after, f"before{path}", f"after{path}")
        _write(directory / DIFF, "".join(diff) or "no config file changed\n")


def _flat(path: str) -> str:
    """/etc/containerd/config.toml -> etc_containerd_config.toml: one directory per state."""
    return path.strip("/").replace("/", "_")


def _read(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True) if path.is_file() else []


def listing(out_dir: Path, node: str) -> list[Path]:
    """Every artifact collected for `node`, phase by phase."""
    directory = node_dir(out_dir, node)
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.is_dir() else []
