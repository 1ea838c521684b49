"""Node facts: the one layer preflight, the suites' fixtures, the lab and the report read.

A `Host` is a machine seen through a transport (or this machine); each fact is a small module
here (system, cgroups, oom, docker, devices) holding its typed record, a `probe()` and a
`record(raw)`. The modules use the standard library only, so the same source runs in process,
is fed to a node's python3 over SSH or nspawn, and runs alone (`python3 oom.py` prints the
fact as JSON), which is how a playbook can gather it too."""

from harness.facts.host import Host, NodeFacts, gather, this_host

__all__ = ["Host", "NodeFacts", "gather", "this_host"]
