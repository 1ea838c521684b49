"""Container statistics (CRI v1 ContainerStats, ListContainerStats)."""

import time

import pytest

pytestmark = pytest.mark.conformance


def _stats_with_samples(fetch, timeout=10.0):
    """Stats are sampled by the runtime: poll until CPU and memory carry a timestamp."""
    deadline = time.monotonic() + timeout
    while True:
        stats = fetch()
        if stats.cpu.timestamp and stats.memory.timestamp:
            return stats
        assert time.monotonic() < deadline, f"no CPU/memory sample within {timeout:g}s"
        time.sleep(0.2)


def test_container_stats_names_container_and_samples(cri, pod):
    """ContainerStats: attributes.id and metadata are the container's; cpu and memory
    carry non-zero timestamps."""
    container_id = pod.start("measured")
    stats = _stats_with_samples(lambda: cri.container_stats(container_id))
    assert stats.attributes.id == container_id
    assert stats.attributes.metadata.name == "measured"


def test_list_container_stats_by_id(cri, pod):
    """ListContainerStats with filter.id returns that container only."""
    container_id = pod.start("measured")
    assert [s.attributes.id for s in cri.list_container_stats(id=container_id)] == [container_id]


def test_list_container_stats_with_nil_filter_includes_started(cri, pod):
    """ListContainerStats with no filter at all includes a started container."""
    container_id = pod.start("measured")
    assert container_id in {s.attributes.id for s in cri.list_container_stats(nil_filter=True)}


def test_list_container_stats_with_nil_filter_includes_created(cri, pod):
    """ListContainerStats with no filter includes three created (not started) containers."""
    created = {pod.create(f"created{i}") for i in range(3)}
    assert created <= {s.attributes.id for s in cri.list_container_stats(nil_filter=True)}


def test_list_container_stats_by_labels(cri, pod):
    """ContainerStatsFilter.label_selector: foo=bar includes the container, foo=baz does not."""
    container_id = pod.start("labelled", labels={"foo": "bar"})
    found = cri.list_container_stats(labels=cri.labels({"foo": "bar"}))
    assert [s.attributes.id for s in found] == [container_id]
    assert cri.list_container_stats(labels=cri.labels({"foo": "baz"})) == []


def test_list_container_stats_by_sandbox(cri, pods):
    """ContainerStatsFilter.pod_sandbox_id returns the containers of that sandbox only."""
    first, second = pods("first"), pods("second")
    wanted = first.start("a")
    second.start("b")
    assert [s.attributes.id for s in cri.list_container_stats(sandbox_id=first.id)] == [wanted]
