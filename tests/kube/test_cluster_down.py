"""`cluster.down` finds the cluster's host daemons even without their record (an `up` killed
before it wrote cluster.json): by the cluster directory in their arguments."""

from __future__ import annotations

import subprocess

from harness.kube import cluster


def test_down_stops_a_daemon_naming_the_cluster_dir_without_a_record():
    lab = "hkdown"
    marker = str(cluster.cluster_dir(lab) / "etcd")
    proc = subprocess.Popen(["sh", "-c", "sleep 600", marker], start_new_session=True)
    try:
        assert cluster.down(lab) is False  # no record
        assert proc.wait(timeout=15) != 0  # but the process was stopped
    finally:
        proc.kill()
        proc.wait()


def test_down_leaves_processes_of_other_clusters_alone():
    other = subprocess.Popen(["sh", "-c", "sleep 600", str(cluster.cluster_dir("hkother") / "x")],
                             start_new_session=True)
    try:
        cluster.down("hkdown")
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
