"""The API downtime measurement (harness.migration.api_watch) against a real API server: one that
answers throughout reports no outage; one frozen for a few seconds (SIGSTOP, as a killed static
pod looks to its clients) reports one outage of about that length."""

import os
import signal
import time

from harness.migration.api_watch import ApiWatch


def apiserver_pid(cp) -> int:
    return next(d.proc.pid for d in cp.daemons if d.name == "kube-apiserver")


def wait_for(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.1)


def test_an_api_server_that_answers_throughout_has_no_outage(control_plane):
    with ApiWatch(str(control_plane.admin_kubeconfig), interval=0.1) as watch:
        wait_for(lambda: watch.asked >= 10)  # the first answers take seconds on a new server
    assert watch.outages == [] and watch.asked >= 10
    assert watch.summary().startswith("API server: answered throughout")


def test_a_frozen_api_server_is_one_outage_of_about_its_length(control_plane, tmp_path):
    pid = apiserver_pid(control_plane)
    with ApiWatch(str(control_plane.admin_kubeconfig), interval=0.1) as watch:
        wait_for(lambda: watch.asked >= 10)
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(4)
        finally:
            os.kill(pid, signal.SIGCONT)
        wait_for(lambda: watch.outages and watch.outages[-1].end is not None)
    assert len(watch.outages) == 1, watch.outages
    assert 2.5 <= watch.outages[0].seconds <= 8, watch.outages
    assert "unreachable 1 time(s)" in watch.summary()
    saved = watch.write(tmp_path / "api.json").read_text()
    assert '"outages"' in saved and '"end"' in saved
