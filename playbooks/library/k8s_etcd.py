#!/usr/bin/python
"""Ansible module (controller side): the health, members and revision of a kubeadm node's
stacked etcd, asked with etcdctl inside its static pod through the API (`kubectl exec`), the
way an operator asks; the same whether the pod runs on Docker or on containerd."""

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_etcd
short_description: Health, member list and revision of a kubeadm control-plane node's etcd
options:
  name: {type: str, required: true, description: the Node's name; the pod is etcd-<name>}
  kubeconfig: {type: path, required: true}
  timeout:
    type: int
    default: 0
    description: keep asking this many seconds until etcd answers healthy (the API server and
      etcd come back after the node's runtime switch)
  members:
    type: list
    elements: str
    description: fail unless the member IDs are exactly these
  min_revision:
    type: int
    default: 0
    description: fail if etcd's revision is lower (its data went back in time or was lost)
"""
EXAMPLES = r"""
- name: Check that etcd came back with the same members and data
  k8s_etcd:
    name: "{{ inventory_hostname }}"
    kubeconfig: "{{ kubeconfig }}"
    timeout: 180
    members: "{{ before.members }}"
    min_revision: "{{ before.revision }}"
  delegate_to: localhost
"""
RETURN = r"""
healthy: {description: etcdctl endpoint health succeeded, type: bool}
members: {description: member IDs (hex), sorted, type: list}
member_names: {description: member names, sorted, type: list}
revision: {description: the store's revision (endpoint status), type: int}
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.kube_api import core_api, wait_until

PKI = "/etc/kubernetes/pki/etcd"  # kubeadm's etcd certificates, mounted into the pod
ETCDCTL = ["etcdctl", "--endpoints=https://127.0.0.1:2379", f"--cacert={PKI}/ca.crt",
           f"--cert={PKI}/healthcheck-client.crt", f"--key={PKI}/healthcheck-client.key"]


def etcdctl(core, pod: str, *args: str) -> str:
    from kubernetes.stream import stream

    # The image holds etcd and etcdctl alone (no shell, no env); etcdctl 3.4+ speaks v3.
    return stream(core.connect_get_namespaced_pod_exec, pod, "kube-system",
                  command=[*ETCDCTL, *args], stderr=True, stdin=False, stdout=True, tty=False,
                  _request_timeout=30)


def status(core, pod: str, problem: list[str]) -> dict | None:
    """None while the API server or etcd does not answer; `problem` then says why."""
    answer = ""
    try:
        answer = etcdctl(core, pod, "member", "list", "-w", "json")
        members = json.loads(answer)["members"]
        answer = etcdctl(core, pod, "endpoint", "status", "-w", "json")
        revision = int(json.loads(answer)[0]["Status"]["header"]["revision"])
        answer = etcdctl(core, pod, "endpoint", "health")
    except Exception as err:  # API down, pod not yet started, etcdctl's text not JSON yet
        problem[:] = [" ".join((answer or str(err)).split())[:300]]
        return None
    return {"healthy": "is healthy" in answer,
            "members": sorted(f"{m['ID']:x}" for m in members),
            "member_names": sorted(m.get("name", "") for m in members),
            "revision": revision}


def main() -> None:
    module = AnsibleModule(argument_spec={
        "name": {"type": "str", "required": True},
        "kubeconfig": {"type": "path", "required": True},
        "timeout": {"type": "int", "default": 0},
        "members": {"type": "list", "elements": "str"},
        "min_revision": {"type": "int", "default": 0},
    }, supports_check_mode=True)
    p = module.params
    core = core_api(p["kubeconfig"])
    pod = f"etcd-{p['name']}"

    problem = ["no answer"]

    def healthy():
        now = status(core, pod, problem)
        if now and not now["healthy"]:
            problem[:] = ["etcdctl endpoint health: not healthy"]
        return now if now and now["healthy"] else None

    found = wait_until(healthy, p["timeout"], interval=3)
    if not found:
        module.fail_json(msg=f"etcd of {p['name']} (pod kube-system/{pod}) not healthy within "
                         f"{p['timeout']}s: {problem[0]}")
    problems = []
    if p["members"] is not None and found["members"] != sorted(p["members"]):
        problems.append(f"members {found['members']}, expected {sorted(p['members'])}")
    if found["revision"] < p["min_revision"]:
        problems.append(f"revision {found['revision']} is below {p['min_revision']} from "
                        "before the switch: data was lost")
    if problems:
        module.fail_json(msg=f"etcd of {p['name']}: {'; '.join(problems)}", **found)
    module.exit_json(changed=False, **found)


if __name__ == "__main__":
    main()
