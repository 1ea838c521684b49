"""Preflight's findings on one node, from the results of its reading tasks: the node's own
(node_runtime_facts: facts, findings, the settings the migration writes), the API's (k8s_node:
pods reaching Docker, the RuntimeClasses its pods use) and the drain's dry run. One list, which
`harness preflight` prints and writes and the HTML report shows."""

from __future__ import annotations

from harness.containerd import config


def node_findings(facts: dict, api: dict, drain: dict) -> list[dict]:
    """Every finding on a node: id, severity (error | warning | info), message."""
    found = list(facts.get("findings") or [])
    found += [{"id": "docker-socket-user", "severity": "error", "message": f"pod reaches "
               f"Docker through a hostPath: {d}"} for d in api.get("docker_dependents") or []]
    found += [{"id": "drain-blocked", "severity": "error", "message": f"eviction refused: {b}"}
              for b in drain.get("blocked") or []]
    settings = facts.get("settings")
    if settings and (facts.get("facts") or {}).get("kubelet", {}).get("runtime") != "containerd":
        found += _moved_runtime(settings, api)
    return found


def lost_runtime_classes(settings: dict, api: dict) -> list[str]:
    """The RuntimeClasses the node's pods use (k8s_node) whose handler is none of those the
    migration gives containerd (node_runtime_facts' settings): the preflight playbook's gate,
    through a filter, and a finding here."""
    offered = {h["name"] for h in settings["runtimes"]}
    classes = api.get("runtime_classes") or {}
    return [name for name in api.get("pod_runtime_classes") or []
            if classes.get(name) not in offered]


def _moved_runtime(settings: dict, api: dict) -> list[dict]:
    """What the move changes that the node alone cannot tell: the settings of its own
    containerd config that the migration's replace (the layout lives here, not on the node),
    and the RuntimeClasses its pods use whose handler containerd would lack."""
    found = [{"id": "containerd-config-changed", "severity": "warning", "message": line}
             for line in config.conflicts(config.from_node(settings),
                                          settings["containerd_config_version"])]
    classes = api.get("runtime_classes") or {}
    found += [{"id": "runtime-class-lost", "severity": "error",
               "message": f"pods use RuntimeClass {name}, whose handler {classes[name]} "
                          "containerd would not have"}
              for name in lost_runtime_classes(settings, api)]
    return found
