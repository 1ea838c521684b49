"""Node facts: the one layer preflight, the suites' fixtures, the lab and the report read.

A `Host` is a machine seen through a transport (or this machine); each fact is a small module
here (system, cgroups, oom, docker, devices) holding its typed record, a `probe()` and a
`record(raw)`. The modules use the standard library only, so the same source runs in process,
is fed to a node's python3 over SSH or nspawn, runs alone (`python3 oom.py` prints the fact
as JSON), and is an Ansible module_utils file: playbooks/module_utils/node_fact_oom.py is a
symlink to oom.py, so the playbooks' node_runtime_facts reads the same probe."""

from harness.facts.host import Host, NodeFacts, gather, this_host

__all__ = ["Host", "NodeFacts", "gather", "this_host"]
