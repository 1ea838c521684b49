"""`cluster.down` finds the cluster's host daemons even without their record (an `up` killed
before it wrote cluster.json): by the cluster directory in their arguments."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from harness.kube import cluster


def started(argv: list[str]) -> subprocess.Popen:
    """The process once it runs `argv`: down() finds daemons by their command line, which a
    child shows only after its exec (under load, later than Popen returns)."""
    proc = subprocess.Popen(argv, start_new_session=True)
    cmdline = Path(f"/proc/{proc.pid}/cmdline")
    deadline = time.monotonic() + 10
    while argv[-1].encode() not in cmdline.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    return proc


def test_down_stops_a_daemon_naming_the_cluster_dir_without_a_record():
    lab = "hkdown"
    marker = str(cluster.cluster_dir(lab) / "etcd")
    proc = started(["sh", "-c", "sleep 600", marker])
    try:
        assert cluster.down(lab) is False  # no record
        assert proc.wait(timeout=15) != 0  # but the process was stopped
    finally:
        proc.kill()
        proc.wait()


def test_down_leaves_processes_of_other_clusters_alone():
    other = started(["sh", "-c", "sleep 600", str(cluster.cluster_dir("hkother") / "x")])
    try:
        cluster.down("hkdown")
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
