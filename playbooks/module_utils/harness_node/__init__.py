"""The node-side package: what runs on a node, standard library only, on the node's own Python
(3.8 at the oldest). One source for both ways it gets there:
- Ansible ships it with the modules that import it (ansible.module_utils.harness_node.<module>);
- the harness imports the same files as harness.node.<module>, and feeds a fact module's own
  source to a node's python3 as its probe (harness.facts.host).
Each fact module holds its typed record, a `probe()` and a `record(raw)`, and prints the fact
as JSON when run alone."""
