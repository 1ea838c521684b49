#!/usr/bin/python
"""Ansible module (controller side): read, cordon, uncordon, annotate a Node, or wait for it to
be Ready on a given runtime, through the Kubernetes API (never kubectl output)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_node
short_description: Read or change one Kubernetes Node through the API
options:
  name: {type: str, required: true, description: the Node's name (the inventory host name)}
  kubeconfig: {type: path, required: true}
  action:
    type: str
    choices: [info, cordon, uncordon, annotate, wait_ready]
    default: info
  annotation: {type: str, description: key to set with I(action=annotate)}
  value: {type: str, description: value to set with I(action=annotate)}
  runtime_prefix: {type: str, description: with I(action=wait_ready), e.g. containerd://}
  kubelet_version:
    type: str
    description: with I(action=wait_ready), also wait until the Node reports this kubeletVersion
      (e.g. v1.24.17)
  timeout: {type: int, default: 180}
  api_wait:
    type: int
    default: 0
    description: keep asking this many seconds while the API server does not answer
  pods_running:
    type: bool
    default: false
    description: with I(action=wait_ready), also wait until the node's pods are Running (a
      control-plane node's static pods)
  settle:
    type: int
    default: 0
    description: with I(action=info), wait up to this many seconds for the Node to be Ready and
      its pods Running before reporting (a kubelet needs a moment after its runtime restarts)
"""
EXAMPLES = r"""
- name: Wait until the node is Ready on containerd
  k8s_node:
    name: "{{ inventory_hostname }}"
    kubeconfig: "{{ kubeconfig }}"
    action: wait_ready
    runtime_prefix: "containerd://"
  delegate_to: localhost
"""
RETURN = r"""
node: {description: runtime and kubelet versions, Ready, unschedulable, cri-socket, type: dict}
server_version: {description: the API server's gitVersion (action info), type: str}
docker_dependents: {description: pods on the node with a hostPath reaching Docker, type: list}
pods_not_running: {description: pods on the node neither Running nor Succeeded, type: list}
pod_images: {description: images the node's pods run, type: list}
runtime_classes: {description: "the RuntimeClasses, name: handler (action info)", type: dict}
pod_runtime_classes: {description: RuntimeClasses the node's pods name (action info), type: list}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.kube_api import (
    core_api,
    docker_dependents,
    node_summary,
    not_running,
    pod_images,
    pod_runtime_classes,
    pods_on,
    wait_until,
)


def runtime_classes(kubeconfig: str) -> dict[str, str]:
    from kubernetes import client, config

    api = client.NodeV1Api(config.new_client_from_config(config_file=kubeconfig))
    return {rc.metadata.name: rc.handler for rc in api.list_runtime_class().items}


def server_version(kubeconfig: str) -> str:
    from kubernetes import client, config

    return client.VersionApi(config.new_client_from_config(config_file=kubeconfig)).get_code(
    ).git_version


def read_node(core, name: str, module: AnsibleModule, wait: int = 0):
    """The Node, asking for up to `wait` seconds while the API server does not answer (on a
    control-plane node it is one of the static pods the runtime switch restarts)."""
    from kubernetes.client.exceptions import ApiException

    problem = []

    def attempt():
        try:
            return core.read_node(name)
        except ApiException as err:
            if err.status == 404:
                module.fail_json(msg=f"no Kubernetes Node named {name!r}: inventory host names "
                                 "must be the cluster's Node names")
            problem[:] = [f"Kubernetes API: {err.status} {err.reason}"]
        except Exception as err:  # unreachable API server, bad kubeconfig
            problem[:] = [f"Kubernetes API unreachable: {err}"]
        return None

    node = wait_until(attempt, wait, interval=2)
    if node is None:
        module.fail_json(msg=problem[0] + (f" (for {wait}s)" if wait else ""))
    return node


def main() -> None:
    module = AnsibleModule(argument_spec={
        "name": {"type": "str", "required": True},
        "kubeconfig": {"type": "path", "required": True},
        "action": {"type": "str", "default": "info",
                   "choices": ["info", "cordon", "uncordon", "annotate", "wait_ready"]},
        "annotation": {"type": "str"},
        "value": {"type": "str"},
        "runtime_prefix": {"type": "str"},
        "kubelet_version": {"type": "str"},
        "timeout": {"type": "int", "default": 180},
        "settle": {"type": "int", "default": 0},
        "api_wait": {"type": "int", "default": 0},
        "pods_running": {"type": "bool", "default": False},
    }, required_if=[("action", "annotate", ("annotation", "value")),
                    ("action", "wait_ready", ("runtime_prefix",))],
        supports_check_mode=True)
    p = module.params
    core = core_api(p["kubeconfig"])
    node = read_node(core, p["name"], module, p["api_wait"])
    summary = node_summary(node)
    action = p["action"]
    if action == "info":
        readings = []  # the last one is reported, settled or not

        def settled():
            readings.append((node_summary(core.read_node(p["name"])), pods_on(core, p["name"])))
            now, pods = readings[-1]
            return now["ready"] and not not_running(pods)

        wait_until(settled, p["settle"], interval=2)
        summary, pods = readings[-1]
        module.exit_json(changed=False, node=summary, docker_dependents=docker_dependents(pods),
                         pods_not_running=not_running(pods), pod_images=pod_images(pods),
                         pod_runtime_classes=pod_runtime_classes(pods),
                         runtime_classes=runtime_classes(p["kubeconfig"]),
                         server_version=server_version(p["kubeconfig"]))
    if action in ("cordon", "uncordon"):
        wanted = action == "cordon"
        changed = summary["unschedulable"] != wanted
        if changed and not module.check_mode:
            core.patch_node(p["name"], {"spec": {"unschedulable": wanted}})
        module.exit_json(changed=changed, node={**summary, "unschedulable": wanted})
    if action == "annotate":
        current = (node.metadata.annotations or {}).get(p["annotation"])
        changed = current != p["value"]
        if changed and not module.check_mode:
            core.patch_node(p["name"], {"metadata": {"annotations": {p["annotation"]: p["value"]}}})
        key = p["annotation"]
        module.exit_json(changed=changed, previous=current, diff={
            "before": f"{key}: {current}\n", "after": f"{key}: {p['value']}\n"})
    if module.check_mode:
        module.exit_json(changed=False, node=summary)

    kubelet = p["kubelet_version"]

    def ready_on_runtime():
        try:
            now = node_summary(core.read_node(p["name"]))
            waiting = not_running(pods_on(core, p["name"])) if p["pods_running"] else []
        except Exception:  # the API server restarts with a control-plane node's runtime
            return None
        return now if now["ready"] and now["runtime_version"].startswith(
            p["runtime_prefix"]) and kubelet in (None, now["kubelet_version"]) and not waiting \
            else None

    ready = wait_until(ready_on_runtime, p["timeout"], interval=2)
    if not ready:
        now = node_summary(read_node(core, p["name"], module, p["timeout"]))
        at = f" with kubelet {kubelet}" if kubelet else ""
        waiting = not_running(pods_on(core, p["name"])) if p["pods_running"] else []
        pods = f"; not running: {', '.join(waiting)}" if waiting else ""
        module.fail_json(msg=f"node {p['name']} not Ready on {p['runtime_prefix']}{at} within "
                         f"{p['timeout']}s (runtime {now['runtime_version']}, kubelet "
                         f"{now['kubelet_version']}, Ready {now['ready']}: "
                         f"{now['ready_message']}){pods}", node=now)
    module.exit_json(changed=False, node=ready)


if __name__ == "__main__":
    main()
