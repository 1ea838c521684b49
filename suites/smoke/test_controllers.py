"""Cluster-wide workload controllers on the nodes: a Deployment rolls out, scales and rolls
back; a Job completes; a DaemonSet runs a pod on every node."""

from __future__ import annotations

import time

import pytest

from .kube import wait_until
from .workloads import ROLE, WEB_PORT

pytestmark = pytest.mark.timeout(180)

DEPLOYMENT = "rollout"
TIMEOUT = 90.0
REVISION = "deployment.kubernetes.io/revision"
HASH = "pod-template-hash"


def web_template(refs, revision: str) -> dict:
    labels = {ROLE: DEPLOYMENT}
    return {"metadata": {"labels": labels, "annotations": {"smoke.harness/template": revision}},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                "name": "web", "image": refs.web, "imagePullPolicy": "Never",
                "env": [{"name": "TEMPLATE", "value": revision}],
                "readinessProbe": {"httpGet": {"path": "/", "port": WEB_PORT},
                                   "periodSeconds": 1}}]}}


@pytest.fixture(scope="module")
def deployment(k, refs):
    k.apps.create_namespaced_deployment(k.ns, {
        "metadata": {"name": DEPLOYMENT},
        "spec": {"replicas": 2, "selector": {"matchLabels": {ROLE: DEPLOYMENT}},
                 "strategy": {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                 "template": web_template(refs, "1")}})
    return DEPLOYMENT


def rolled_out(k, replicas: int) -> None:
    """Wait for the Deployment's status to say the rollout is complete with `replicas`
    (the conditions `kubectl rollout status` checks)."""
    def done():
        d = k.apps.read_namespaced_deployment(DEPLOYMENT, k.ns)
        s = d.status
        return (s.observed_generation or 0) >= d.metadata.generation and \
            s.updated_replicas == s.ready_replicas == s.available_replicas == replicas and \
            (s.replicas or 0) == replicas
    wait_until(f"deployment {DEPLOYMENT} to roll out {replicas} replicas", done,
               time.monotonic() + TIMEOUT, lambda: str(
                   k.apps.read_namespaced_deployment(DEPLOYMENT, k.ns).status) + "; "
               + k.describe(DEPLOYMENT, "Deployment"))


def replica_sets(k) -> dict[str, object]:
    """The Deployment's ReplicaSets by revision."""
    items = k.apps.list_namespaced_replica_set(k.ns, label_selector=f"{ROLE}={DEPLOYMENT}").items
    return {rs.metadata.annotations[REVISION]: rs for rs in items}


def test_deployment_rolls_out(k, deployment):
    """A new Deployment creates a ReplicaSet (revision 1) and brings all replicas to ready."""
    rolled_out(k, 2)
    assert list(replica_sets(k)) == ["1"]


def test_deployment_scales(k, deployment):
    """Changing spec.replicas (the scale subresource) adds and removes ready pods."""
    for replicas in (3, 1):
        k.apps.patch_namespaced_deployment_scale(DEPLOYMENT, k.ns,
                                                 {"spec": {"replicas": replicas}})
        rolled_out(k, replicas)


def test_deployment_rolls_back_to_the_previous_revision(k, deployment, refs):
    """A template change rolls out revision 2; re-applying revision 1's template (what
    `kubectl rollout undo` does) makes the old ReplicaSet current again as revision 3."""
    k.apps.patch_namespaced_deployment(DEPLOYMENT, k.ns,
                                       {"spec": {"template": web_template(refs, "2")}})
    rolled_out(k, 1)
    old = replica_sets(k)["1"]
    template = k.api.sanitize_for_serialization(old.spec.template)
    del template["metadata"]["labels"][HASH]
    k.apps.patch_namespaced_deployment(DEPLOYMENT, k.ns, {"spec": {"template": template}})
    rolled_out(k, 1)
    current = replica_sets(k)
    assert sorted(current) == ["2", "3"], sorted(current)
    assert current["3"].metadata.name == old.metadata.name
    assert current["3"].spec.template.metadata.annotations["smoke.harness/template"] == "1"
    assert current["3"].status.ready_replicas == 1 and not current["2"].spec.replicas


def test_job_runs_to_completion(k, refs):
    """A Job with completions 2 and parallelism 2 gets two pods that exit 0, then the
    condition Complete."""
    k.batch.create_namespaced_job(k.ns, {
        "metadata": {"name": "complete"},
        "spec": {"completions": 2, "parallelism": 2, "backoffLimit": 0, "template": {
            "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "job", "image": refs.busybox,
                                     "imagePullPolicy": "Never",
                                     "command": ["sh", "-c", "echo done"]}]}}}})

    def complete():
        job = k.batch.read_namespaced_job("complete", k.ns)
        return any(c.type == "Complete" and c.status == "True"
                   for c in job.status.conditions or []) and job.status.succeeded == 2
    wait_until("job complete to finish", complete, time.monotonic() + TIMEOUT,
               lambda: str(k.batch.read_namespaced_job("complete", k.ns).status) + "; "
               + k.describe("complete", "Job"))


def test_daemonset_runs_a_ready_pod_on_every_node(k, refs, nodes):
    """A DaemonSet places one pod on each schedulable node, and each becomes ready. It
    tolerates every taint, as node agents do, so a tainted control-plane node counts too."""
    labels = {ROLE: "daemonset"}
    k.apps.create_namespaced_daemon_set(k.ns, {
        "metadata": {"name": "everywhere"},
        "spec": {"selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"terminationGracePeriodSeconds": 1,
                     "tolerations": [{"operator": "Exists"}],
                     "containers": [{
                         "name": "sleep", "image": refs.busybox, "imagePullPolicy": "Never",
                         "command": ["sleep", "3600"]}]}}}})

    def ready_on():
        pods = k.core.list_namespaced_pod(k.ns, label_selector=f"{ROLE}=daemonset").items
        return {p.spec.node_name for p in pods
                if any(c.type == "Ready" and c.status == "True"
                       for c in p.status.conditions or [])}
    wait_until("daemonset everywhere to be ready on every node",
               lambda: ready_on() >= set(nodes), time.monotonic() + TIMEOUT,
               lambda: f"ready on {sorted(ready_on())} of {sorted(nodes)}; "
               + k.describe("everywhere", "DaemonSet"))
    status = k.apps.read_namespaced_daemon_set("everywhere", k.ns).status
    assert status.desired_number_scheduled >= len(nodes), status
