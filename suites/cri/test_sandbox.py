"""PodSandbox lifecycle, listing, attributes, idempotence, sysctls and sandbox stats (CRI v1
RunPodSandbox, PodSandboxStatus, ListPodSandbox, StopPodSandbox, RemovePodSandbox)."""

import uuid

import pytest


@pytest.mark.conformance
def test_run_sandbox_is_ready(cri, pod):
    """RunPodSandbox: the sandbox's state is SANDBOX_READY."""
    assert pod.status().state == cri.pb.SANDBOX_READY


@pytest.mark.conformance
def test_run_sandbox_is_listed(cri, pod):
    """ListPodSandbox with filter.id finds the new sandbox."""
    assert [s.id for s in cri.list_sandboxes(id=pod.id)] == [pod.id]


@pytest.mark.conformance
def test_stop_sandbox_is_not_ready(cri, pod):
    """StopPodSandbox: the state becomes SANDBOX_NOTREADY."""
    cri.stop_sandbox(pod.id)
    assert pod.status().state == cri.pb.SANDBOX_NOTREADY


@pytest.mark.conformance
def test_remove_sandbox_unlists_it(cri, pod):
    """RemovePodSandbox after StopPodSandbox: ListPodSandbox no longer returns it."""
    cri.stop_sandbox(pod.id)
    cri.remove_sandbox(pod.id)
    assert cri.list_sandboxes(id=pod.id) == []


@pytest.mark.conformance
def test_sandbox_status_keeps_metadata_labels_annotations(cri, pods):
    """PodSandboxStatus returns metadata (name, uid, namespace, attempt), labels and
    annotations as given to RunPodSandbox."""
    pod = pods("attrs", labels={"tier": "a"}, annotations={"note": "x=y"}, attempt=2)
    status = pod.status()
    assert status.metadata == pod.config.metadata
    assert status.labels["tier"] == "a"
    assert dict(status.annotations) == {"note": "x=y"}


@pytest.mark.conformance
def test_list_sandbox_keeps_metadata_labels_annotations(cri, pods):
    """ListPodSandbox items carry the same metadata, labels and annotations."""
    pod = pods("attrs", labels={"tier": "b"}, annotations={"note": "z"})
    (item,) = cri.list_sandboxes(id=pod.id)
    assert item.metadata == pod.config.metadata
    assert item.labels["tier"] == "b"
    assert dict(item.annotations) == {"note": "z"}


@pytest.mark.conformance
def test_list_sandbox_filters_by_state(cri, pods):
    """PodSandboxFilter.state: READY lists running sandboxes only, NOTREADY stopped ones."""
    ready, stopped = pods("ready"), pods("stopped")
    cri.stop_sandbox(stopped.id)
    mine = cri.labels()
    assert {s.id for s in cri.list_sandboxes(state=cri.pb.SANDBOX_READY, labels=mine)} == {ready.id}
    notready = cri.list_sandboxes(state=cri.pb.SANDBOX_NOTREADY, labels=mine)
    assert {s.id for s in notready} == {stopped.id}


@pytest.mark.conformance
def test_list_sandbox_filters_by_labels(cri, pods):
    """PodSandboxFilter.label_selector matches all given labels exactly."""
    blue, _red = pods("blue", labels={"color": "blue"}), pods("red", labels={"color": "red"})
    found = cri.list_sandboxes(labels=cri.labels({"color": "blue"}))
    assert [s.id for s in found] == [blue.id]


@pytest.mark.conformance
def test_list_sandbox_filter_by_unknown_id_is_empty(cri, pod):
    """PodSandboxFilter.id of a sandbox that does not exist lists nothing (no error)."""
    assert cri.list_sandboxes(id=uuid.uuid4().hex) == []


def test_stop_missing_sandbox_is_not_an_error(cri, idempotent):
    """StopPodSandbox is idempotent: a sandbox that does not exist is not an error."""
    idempotent(cri.stop_sandbox, uuid.uuid4().hex)


def test_stop_stopped_sandbox_is_not_an_error(cri, pod):
    """StopPodSandbox is idempotent: stopping twice succeeds."""
    cri.stop_sandbox(pod.id)
    cri.stop_sandbox(pod.id)


def test_remove_missing_sandbox_is_not_an_error(cri, idempotent):
    """RemovePodSandbox is idempotent: a sandbox that does not exist is not an error."""
    idempotent(cri.remove_sandbox, uuid.uuid4().hex)


def test_remove_ready_sandbox_stops_and_removes_it(cri, pod):
    """RemovePodSandbox on a ready sandbox forcibly stops and removes it and its containers."""
    container_id = pod.start("sleeper")
    cri.remove_sandbox(pod.id)
    assert cri.list_sandboxes(id=pod.id) == []
    assert cri.list_containers(id=container_id) == []


@pytest.mark.linux
def test_safe_sysctl_is_applied(pods):
    """LinuxPodSandboxConfig.sysctls: the namespaced safe sysctl kernel.shm_rmid_forced=1 is
    visible in /proc/sys inside the pod's containers."""
    pod = pods("sysctl", sysctls={"kernel.shm_rmid_forced": "1"})
    container_id = pod.start("reader")
    assert pod.sh(container_id, "cat /proc/sys/kernel/shm_rmid_forced").stdout.strip() == b"1"


@pytest.mark.linux
def test_unsafe_sysctl_is_applied(pods):
    """LinuxPodSandboxConfig.sysctls: the unsafe (but namespaced) fs.mqueue.msg_max=100 is
    applied; kubelet's allow-list decides, not the runtime."""
    pod = pods("sysctl", sysctls={"fs.mqueue.msg_max": "100"})
    container_id = pod.start("reader")
    assert pod.sh(container_id, "cat /proc/sys/fs/mqueue/msg_max").stdout.strip() == b"100"


def test_pod_sandbox_stats_names_the_sandbox(cri, pod, optional):
    """PodSandboxStats (CRI v1, beyond critest): attributes.id and metadata are the sandbox's,
    and Linux CPU and memory are reported."""
    pod.start("busy")
    stats = optional(cri.sandbox_stats, pod.id)
    assert stats.attributes.id == pod.id
    assert stats.attributes.metadata == pod.config.metadata
    assert stats.linux.cpu.timestamp and stats.linux.memory.timestamp


def test_list_pod_sandbox_stats_filters_by_labels(cri, pods, optional):
    """ListPodSandboxStats with a label selector returns exactly the matching sandboxes."""
    pod = pods("stats", labels={"stats": "yes"})
    pods("other")
    found = optional(cri.list_sandbox_stats, cri.labels({"stats": "yes"}))
    assert [s.attributes.id for s in found] == [pod.id]


@pytest.mark.conformance
def test_list_metric_descriptors(cri, optional):
    """ListMetricDescriptors (CRI v1, kubelet's CRI stats provider): descriptors carry a name
    and help text."""
    reply = optional(cri.call, "ListMetricDescriptors", cri.pb.ListMetricDescriptorsRequest())
    assert reply.descriptors and all(d.name and d.help for d in reply.descriptors)


@pytest.mark.conformance
def test_list_pod_sandbox_metrics_has_the_pod(cri, pod, optional):
    """ListPodSandboxMetrics has an entry for a running pod."""
    pod.start("busy")
    reply = optional(cri.call, "ListPodSandboxMetrics", cri.pb.ListPodSandboxMetricsRequest())
    assert pod.id in {m.pod_sandbox_id for m in reply.pod_metrics}
