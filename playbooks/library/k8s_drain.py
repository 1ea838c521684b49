#!/usr/bin/python
"""Ansible module (controller side): drain a Node through the Eviction API, as `kubectl drain
--ignore-daemonsets --delete-emptydir-data` does, honouring PodDisruptionBudgets."""

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_drain
short_description: Cordon a Node and evict its pods, honouring PodDisruptionBudgets
description:
  - DaemonSet pods and mirror (static) pods are left alone. A pod that no controller would
    recreate is refused unless I(force) is set. An eviction refused by a PodDisruptionBudget
    (HTTP 429) is retried until I(timeout); then the task fails naming the budget.
  - With I(dry_run) (and in check mode) every eviction is a server-side dry run: nothing is
    evicted, and the answer says whether the budgets would allow it.
  - An eviction can succeed while its workload has nowhere to go (no node with room, the
    others cordoned): the pods that replace the evicted ones and that the scheduler still
    cannot place after I(reschedule_wait) seconds are returned in C(unscheduled) with the
    scheduler's reason, and warned about; the drain itself succeeds.
options:
  name: {type: str, required: true}
  kubeconfig: {type: path, required: true}
  timeout: {type: int, default: 300}
  force: {type: bool, default: false}
  dry_run: {type: bool, default: false}
  reschedule_wait: {type: int, default: 20}
"""
EXAMPLES = r"""
- name: Drain the node
  k8s_drain:
    name: "{{ inventory_hostname }}"
    kubeconfig: "{{ kubeconfig }}"
  delegate_to: localhost
"""
RETURN = r"""
evicted: {description: namespace/name of the pods evicted (or that would be), type: list}
left: {description: DaemonSet and mirror pods left on the node, type: list}
blocked: {description: pods whose eviction a budget refuses, with the budget's name, type: list}
cordoned: {description: this run cordoned the Node (also returned on failure), type: bool}
unscheduled: {description: "replacements of evicted pods not scheduled: pod (reason)", type: list}
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.kube_api import (
    core_api,
    is_daemonset_pod,
    is_mirror_pod,
    pods_on,
    wait_until,
)


def label(pod) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


def budgets_for(pod, policy) -> list[str]:
    """Names of the PodDisruptionBudgets in the pod's namespace that select it."""
    labels = pod.metadata.labels or {}
    names = []
    for pdb in policy.list_namespaced_pod_disruption_budget(pod.metadata.namespace).items:
        match = (pdb.spec.selector.match_labels or {}) if pdb.spec.selector else {}
        if match and all(labels.get(k) == v for k, v in match.items()):
            names.append(f"{pod.metadata.namespace}/{pdb.metadata.name}")
    return names


def evict(core, pod, dry_run: bool) -> int:
    """The API's status for one eviction: 201 done, 429 refused by a budget, 404 already gone."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    body = client.V1Eviction(
        metadata=client.V1ObjectMeta(name=pod.metadata.name, namespace=pod.metadata.namespace),
        delete_options=client.V1DeleteOptions(dry_run=["All"] if dry_run else None))
    try:
        core.create_namespaced_pod_eviction(pod.metadata.name, pod.metadata.namespace, body,
                                            dry_run="All" if dry_run else None)
        return 201
    except ApiException as err:
        if err.status in (404, 429):
            return err.status
        raise


def unscheduled(core, evicted: list, wait: float) -> list[str]:
    """Pods that controllers made to replace `evicted` and that the scheduler cannot place,
    with its reason, once every replacement is placed or `wait` seconds have passed. A
    controller that has not made its replacement yet (a busy controller manager) counts as
    not placed: the check waits for it rather than finding nothing to report."""
    owners = {ref.uid for pod in evicted for ref in pod.metadata.owner_references or []}
    old = {pod.metadata.uid for pod in evicted}
    namespaces = {pod.metadata.namespace for pod in evicted}

    def stuck() -> dict[str, str]:
        found, replaced = {}, set()
        for namespace in namespaces:
            for pod in core.list_namespaced_pod(namespace).items:
                refs = {ref.uid for ref in pod.metadata.owner_references or []}
                if pod.metadata.uid in old or not refs & owners:
                    continue
                replaced |= refs
                if pod.spec.node_name:
                    continue
                reason = next((c.message for c in pod.status.conditions or []
                               if c.type == "PodScheduled" and c.status == "False"), None)
                found[label(pod)] = reason or "not scheduled yet"
        for pod in evicted:
            if pod.metadata.owner_references and not {
                    ref.uid for ref in pod.metadata.owner_references} & replaced:
                found[f"{label(pod)}'s replacement"] = "not made by its controller yet"
        return found

    deadline = time.monotonic() + wait
    while (found := stuck()) and time.monotonic() < deadline:
        time.sleep(2)
    return [f"{pod} ({reason})" for pod, reason in sorted(found.items())]


def main() -> None:
    module = AnsibleModule(argument_spec={
        "name": {"type": "str", "required": True},
        "kubeconfig": {"type": "path", "required": True},
        "timeout": {"type": "int", "default": 300},
        "force": {"type": "bool", "default": False},
        "dry_run": {"type": "bool", "default": False},
        "reschedule_wait": {"type": "int", "default": 20},
    }, supports_check_mode=True)
    p = module.params
    dry_run = p["dry_run"] or module.check_mode
    from kubernetes import client

    core = core_api(p["kubeconfig"])
    policy = client.PolicyV1Api(core.api_client)  # one connection for the budget lookups
    started = time.monotonic()
    node = core.read_node(p["name"])
    cordon = not node.spec.unschedulable
    if cordon and not dry_run:
        core.patch_node(p["name"], {"spec": {"unschedulable": True}})
    pods = [pod for pod in pods_on(core, p["name"]) if pod.status.phase not in ("Succeeded",
                                                                                 "Failed")]
    left = [label(pod) for pod in pods if is_daemonset_pod(pod) or is_mirror_pod(pod)]
    to_evict = [pod for pod in pods if label(pod) not in left]
    unmanaged = [label(pod) for pod in to_evict if not pod.metadata.owner_references]
    if unmanaged and not p["force"]:
        module.fail_json(msg=f"node {p['name']}: pods no controller would recreate: "
                         f"{', '.join(unmanaged)}; delete or move them, or drain with force",
                         cordoned=cordon and not dry_run)
    pending = {label(pod): pod for pod in to_evict}
    blocked: dict[str, list[str]] = {}
    deadline = started + p["timeout"]
    while pending:
        for name, pod in list(pending.items()):
            status = evict(core, pod, dry_run)
            if status == 429:
                blocked[name] = budgets_for(pod, policy)
            else:
                blocked.pop(name, None)
                del pending[name]
        if not pending or dry_run or time.monotonic() >= deadline:
            break
        time.sleep(2)
    blocked_list = [f"{pod} (budget {', '.join(b) or 'unknown'})" for pod, b in blocked.items()]
    if blocked and not dry_run:
        module.fail_json(msg=f"node {p['name']}: drain timed out after {p['timeout']}s; "
                         f"eviction refused for {'; '.join(blocked_list)}",
                         blocked=blocked_list, left=left, cordoned=cordon)
    evicted = [label(pod) for pod in to_evict if label(pod) not in blocked]
    if not dry_run:
        uids = {pod.metadata.uid for pod in to_evict}

        def gone():
            return not any(pod.metadata.uid in uids for pod in pods_on(core, p["name"]))

        if not wait_until(gone, max(deadline - time.monotonic(), 5), interval=1):
            module.fail_json(msg=f"node {p['name']}: evicted pods still terminating after "
                             f"{p['timeout']}s", evicted=evicted, left=left, cordoned=cordon)
    nowhere = [] if dry_run else unscheduled(
        core, [pod for pod in to_evict if label(pod) in evicted], p["reschedule_wait"])
    if nowhere:
        module.warn(f"node {p['name']}: evicted, but not rescheduled anywhere: "
                    f"{'; '.join(nowhere)}")
    module.exit_json(changed=bool(cordon or evicted) and not p["dry_run"], evicted=evicted,
                     left=left, blocked=blocked_list, unscheduled=nowhere,
                     cordoned=cordon and not dry_run,
                     seconds=round(time.monotonic() - started, 1))


if __name__ == "__main__":
    main()
