"""Preflight's findings on one node, from the results of its reading tasks: the node's own
(node_runtime_facts: facts, findings, the settings the migration writes), the API's (k8s_node:
pods reaching Docker, the RuntimeClasses its pods use) and the drain's dry run. One list of
typed findings (harness.node.findings.Finding, the shape the node writes them in), which
`harness preflight` prints, `harness preflight` and `harness run` write as preflight.json, and
the HTML report shows."""

from __future__ import annotations

import json
from pathlib import Path

from harness import redact
from harness.containerd import config
from harness.node.findings import Finding, ordered

# The preflight playbook's reading tasks, whose results the findings come from.
FACTS_TASK = "Read the kubelet, Docker and containerd configuration"
API_TASK = "Read the Node object"
DRAIN_TASK = "Server-side dry run of the drain (PodDisruptionBudgets)"


def per_node(result) -> dict:
    """Per node of a preflight run (runner.PlaybookRun): whether it passed, its findings, facts
    and the derived settings the migration would write."""
    out = {}
    for node in result.nodes():
        facts = result.result(node, FACTS_TASK) or {}
        api = result.result(node, API_TASK) or {}
        out[node] = {"passed": not any(t.node == node for t in result.failed()),
                     "node": api.get("node"),
                     "findings": node_findings(facts, api, result.result(node, DRAIN_TASK) or {}),
                     "facts": facts.get("facts"), "settings": facts.get("settings")}
    return out


def write(found: dict, out_dir: Path) -> Path:
    """per_node()'s findings as <out_dir>/preflight.json, redacted like every report."""
    path = out_dir / "preflight.json"
    as_json = {node: {**entry, "findings": [f.to_json() for f in entry["findings"]]}
               for node, entry in found.items()}
    path.write_text(json.dumps(redact.data(as_json), indent=1, sort_keys=True))
    return path


def node_findings(facts: dict, api: dict, drain: dict) -> list[Finding]:
    """Every finding on a node, the blocking first."""
    found = [Finding.from_json(f) for f in facts.get("findings") or []]
    found += [Finding("docker-socket-user", "error", f"pod reaches Docker through a hostPath: "
                      f"{d}") for d in api.get("docker_dependents") or []]
    found += [Finding("drain-blocked", "error", f"eviction refused: {b}")
              for b in drain.get("blocked") or []]
    settings = facts.get("settings")
    if settings and (facts.get("facts") or {}).get("kubelet", {}).get("runtime") != "containerd":
        found += _moved_runtime(settings, api)
    return ordered(found)


def lost_runtime_classes(settings: dict, api: dict) -> list[str]:
    """The RuntimeClasses the node's pods use (k8s_node) whose handler is none of those the
    migration gives containerd (node_runtime_facts' settings): the preflight playbook's gate,
    through a filter, and a finding here."""
    offered = {h["name"] for h in settings["runtimes"]}
    classes = api.get("runtime_classes") or {}
    return [name for name in api.get("pod_runtime_classes") or []
            if classes.get(name) not in offered]


def _moved_runtime(settings: dict, api: dict) -> list[Finding]:
    """What the move changes that the node alone cannot tell: the settings of its own
    containerd config that the migration's replace (the layout lives here, not on the node),
    and the RuntimeClasses its pods use whose handler containerd would lack."""
    found = [Finding("containerd-config-changed", "warning", line)
             for line in config.conflicts(config.from_node(settings),
                                          settings["containerd_config_version"])]
    classes = api.get("runtime_classes") or {}
    found += [Finding("runtime-class-lost", "error",
                      f"pods use RuntimeClass {name}, whose handler {classes[name]} containerd "
                      "would not have")
              for name in lost_runtime_classes(settings, api)]
    return found
