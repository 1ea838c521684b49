"""harness.nodes.artifacts on this machine through the local transport (no journald and no
Docker daemon here: what a node lacking them gives), and on a node that does not answer."""

from __future__ import annotations

import time

from harness.inventory import Node
from harness.nodes import artifacts

HERE = Node("this-host", "127.0.0.1", connection="local")


def test_what_a_node_lacks_is_written_down_not_raised(tmp_path):
    artifacts.state([HERE], tmp_path, "before")
    before = artifacts.phase_dir(tmp_path, HERE.name, "migrate") / "before"
    images = (before / "images.txt").read_text()
    assert images.startswith("`docker images --digests` exited ")  # and why, from docker
    assert (before / "var_lib_kubelet_kubeadm-flags.env").read_text() == artifacts.ABSENT
    artifacts.journals([HERE], tmp_path, "verify", time.time())
    assert len(list(artifacts.phase_dir(tmp_path, HERE.name, "verify").iterdir())) == 3


def test_the_diff_needs_both_states(tmp_path):
    artifacts.state([HERE], tmp_path, "before")
    artifacts.config_diff([HERE], tmp_path)
    assert not (artifacts.phase_dir(tmp_path, HERE.name, "migrate") / artifacts.DIFF).exists()
    artifacts.state([HERE], tmp_path, "after")
    artifacts.config_diff([HERE], tmp_path)
    diff = artifacts.phase_dir(tmp_path, HERE.name, "migrate") / artifacts.DIFF
    assert diff.read_text() == "no config file changed\n"


def test_a_node_that_does_not_answer_costs_one_line_and_no_files(tmp_path, capsys):
    ghost = Node("ghost", "127.0.0.1", port=1)  # nothing listens on port 1: refused at once
    started = time.monotonic()
    artifacts.journals([ghost], tmp_path, "verify", time.time())
    assert time.monotonic() - started < 10
    assert "verify journals not collected" in capsys.readouterr().err
    assert artifacts.listing(tmp_path, "ghost") == []
