"""Preflight's findings in one typed shape (harness.node.findings.Finding): the node's own, as
node_runtime_facts writes them, and those the harness adds from the API and the drain; the table,
preflight.json and the report read the same list (issue 26)."""

from __future__ import annotations

import json

from harness.migration import findings
from harness.node.findings import Finding

NODE = {"findings": [{"id": "log-driver", "severity": "info", "message": "json-file"},
                     {"id": "cni-plugins", "severity": "warning", "message": "old"}]}
API = {"docker_dependents": ["default/agent"]}
DRAIN = {"blocked": ["default/db: PodDisruptionBudget db"]}


def test_the_node_api_and_drain_findings_are_one_typed_list_blocking_first():
    found = findings.node_findings(NODE, API, DRAIN)
    assert all(isinstance(f, Finding) for f in found)
    assert [f.id for f in found] == ["docker-socket-user", "drain-blocked", "cni-plugins",
                                     "log-driver"]
    assert [f.blocking for f in found] == [True, True, False, False]


def test_a_finding_goes_through_json_unchanged():
    finding = Finding("drain-blocked", "error", "eviction refused")
    assert Finding.from_json(json.loads(json.dumps(finding.to_json()))) == finding


def test_preflight_json_holds_the_findings_as_the_node_writes_them(tmp_path):
    entry = {"passed": False, "node": None, "facts": None, "settings": None,
             "findings": findings.node_findings(NODE, API, DRAIN)}
    written = json.loads(findings.write({"node1": entry}, tmp_path).read_text())
    assert written["node1"]["findings"][0] == {
        "id": "docker-socket-user", "severity": "error",
        "message": "pod reaches Docker through a hostPath: default/agent"}
