"""Node facts: the one layer preflight, the suites' fixtures, the lab and the report read.

A `Host` is a machine seen through a transport (or this machine). Each fact is a module of the
node-side package (harness.node: system, cgroups, oom, docker, devices) holding its typed
record, a `probe()` and a `record(raw)`; the same source runs in process, is fed to a node's
python3 over SSH or nspawn, and is what the playbooks' node_runtime_facts imports on the node."""

from harness.facts.host import Host, NodeFacts, gather, this_host

__all__ = ["Host", "NodeFacts", "gather", "this_host"]
