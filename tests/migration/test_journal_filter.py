"""The journal_errors filter (playbooks/filter_plugins/journal.py) on lines as the kubelet and
containerd write them: a crash-looping kubelet's repeated error is named once, without the
parts that differ between crashes; usage text and info lines are left out."""

from __future__ import annotations

from playbook_code import load

journal = load("filter_plugins/journal.py", "journal_filter")

FLAG_ERROR = '"Failed to parse kubelet flag" err="unknown flag: --no-such-flag"'
KUBELET = "\n".join([
    f"E1201 03:57:01.123456     812 server.go:158] {FLAG_ERROR}",
    "Usage:",
    "      --fail-swap-on   Makes the Kubelet fail to start if swap is enabled on the node.",
    f"E1201 03:57:11.654321     845 server.go:158] {FLAG_ERROR}",
    "I1201 03:57:12.000001     845 server.go:440] \"Kubelet version\" kubeletVersion=\"v1.23.17\"",
])
CONTAINERD = "\n".join([
    'time="2026-12-01T03:56:58.1Z" level=info msg="starting containerd" version=1.6.20',
    'time="2026-12-01T03:56:58.2Z" level=error msg="failed to load cni during init"',
    'time="2026-12-01T03:56:59.2Z" level=error msg="failed to load cni during init"',
])


def test_each_distinct_error_once_named_by_its_unit():
    found = journal.journal_errors([{"item": "kubelet", "stdout": KUBELET},
                                    {"item": "containerd", "stdout": CONTAINERD}])
    assert found == [f"kubelet: {FLAG_ERROR}",
                     'containerd: level=error msg="failed to load cni during init"']


def test_only_the_last_distinct_errors_are_kept():
    lines = "\n".join(f"E1201 03:57:0{i}.000000     9 kubelet.go:1{i}] error {i}" for i in range(6))
    assert journal.journal_errors([{"item": "kubelet", "stdout": lines}], keep=2) == [
        "kubelet: error 4", "kubelet: error 5"]


def test_a_quiet_or_unread_journal_names_nothing():
    assert journal.journal_errors([{"item": "containerd", "stdout": CONTAINERD.split("\n")[0]},
                                   {"item": "kubelet", "stdout": None}]) == []
