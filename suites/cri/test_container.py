"""Container lifecycle, status, listing, stop semantics, idempotence and ExecSync (CRI v1
CreateContainer, StartContainer, StopContainer, RemoveContainer, ContainerStatus,
ListContainers, ExecSync)."""

import time
import uuid

import pytest

from harness.cri.client import CriError

pytestmark = pytest.mark.conformance


def test_create_container_is_listed_as_created(cri, pod):
    """CreateContainer: ListContainers(filter.id) finds it in state CONTAINER_CREATED."""
    container_id = pod.create("created")
    (item,) = cri.list_containers(id=container_id)
    assert item.state == cri.pb.CONTAINER_CREATED
    assert item.pod_sandbox_id == pod.id


def test_container_status_keeps_metadata_labels_annotations(cri, pod):
    """ContainerStatus returns metadata, labels and annotations as given to CreateContainer."""
    container_id = pod.create("attrs", labels={"tier": "a"}, annotations={"note": "x=y"})
    status = cri.container_status(container_id)
    assert status.metadata.name == "attrs"
    assert status.labels["tier"] == "a"
    assert dict(status.annotations) == {"note": "x=y"}


def test_list_containers_keeps_metadata_labels_annotations(cri, pod):
    """ListContainers items carry the same metadata, labels and annotations."""
    container_id = pod.create("attrs", labels={"tier": "b"}, annotations={"note": "z"})
    (item,) = cri.list_containers(id=container_id)
    assert item.metadata.name == "attrs"
    assert item.labels["tier"] == "b"
    assert dict(item.annotations) == {"note": "z"}


def test_start_container_is_running(cri, pod):
    """StartContainer: the state becomes CONTAINER_RUNNING, with started_at set."""
    status = cri.container_status(pod.start("runner"))
    assert status.state == cri.pb.CONTAINER_RUNNING
    assert status.started_at > 0


def test_stop_container_is_exited(cri, pod):
    """StopContainer: the state becomes CONTAINER_EXITED, with finished_at set."""
    container_id = pod.start("stopper")
    cri.stop_container(container_id, timeout=1)
    status = cri.container_status(container_id)
    assert status.state == cri.pb.CONTAINER_EXITED
    assert status.finished_at >= status.started_at > 0


def test_remove_created_container(cri, pod):
    """RemoveContainer of a created container: it is no longer listed."""
    container_id = pod.create("created")
    cri.remove_container(container_id)
    assert cri.list_containers(id=container_id) == []


def test_remove_running_container(cri, pod):
    """RemoveContainer of a running container force-removes it (CRI: must stop it first)."""
    container_id = pod.start("running")
    cri.remove_container(container_id)
    assert cri.list_containers(id=container_id) == []


def test_remove_stopped_container(cri, pod):
    """RemoveContainer of a stopped container: it is no longer listed."""
    container_id = pod.start("stopped")
    cri.stop_container(container_id, timeout=1)
    cri.remove_container(container_id)
    assert cri.list_containers(id=container_id) == []


def test_exited_container_reports_exit_code_and_error_reason(cri, pod):
    """ContainerStatus of a container that exited 3: exit_code 3, reason "Error"."""
    status = pod.run("fails", ["sh", "-c", "exit 3"])
    assert status.exit_code == 3
    assert status.reason == "Error"


def test_completed_container_reports_exit_code_zero(cri, pod):
    """ContainerStatus of a container that exited 0: exit_code 0, reason "Completed"."""
    status = pod.run("completes", ["true"])
    assert status.exit_code == 0
    assert status.reason == "Completed"


def test_container_status_names_image_and_image_ref(cri, pod, images):
    """ContainerStatus.image is the requested image; image_ref resolves to the same image."""
    status = cri.container_status(pod.create("img"))
    busybox = images["busybox"]
    assert status.image.image in (busybox.ref, busybox.config_digest)
    assert busybox.config_digest in status.image_ref or busybox.digest in status.image_ref


def test_list_containers_filters_by_state(cri, pod):
    """ContainerFilter.state: RUNNING lists the running container only, EXITED the stopped."""
    running, exited = pod.start("running"), pod.start("exited")
    cri.stop_container(exited, timeout=1)
    mine = cri.labels()
    assert [c.id for c in cri.list_containers(state=cri.pb.CONTAINER_RUNNING, labels=mine)] == [
        running
    ]
    assert [c.id for c in cri.list_containers(state=cri.pb.CONTAINER_EXITED, labels=mine)] == [
        exited
    ]


def test_list_containers_filters_by_sandbox(cri, pods):
    """ContainerFilter.pod_sandbox_id lists the containers of that sandbox only."""
    first, second = pods("first"), pods("second")
    wanted = first.create("a")
    second.create("b")
    assert [c.id for c in cri.list_containers(sandbox_id=first.id)] == [wanted]


def test_list_containers_filters_by_labels(cri, pod):
    """ContainerFilter.label_selector matches all given labels exactly."""
    blue = pod.create("blue", labels={"color": "blue"})
    pod.create("red", labels={"color": "red"})
    assert [c.id for c in cri.list_containers(labels=cri.labels({"color": "blue"}))] == [blue]


def test_stop_timeout_kills_a_container_ignoring_sigterm(cri, pod):
    """StopContainer.timeout: after the grace period the runtime kills the container (SIGKILL,
    exit code 137)."""
    script = "trap '' TERM; while true; do sleep 0.1; done"
    container_id = pod.start("stubborn", ["sh", "-c", script])
    started = time.monotonic()
    cri.stop_container(container_id, timeout=1)
    elapsed = time.monotonic() - started
    status = cri.container_status(container_id)
    assert status.state == cri.pb.CONTAINER_EXITED
    assert status.exit_code == 137
    assert 0.8 <= elapsed < 15, f"stop took {elapsed:.1f}s with a 1s grace period"


def test_stop_sends_sigterm_first(cri, pod):
    """StopContainer sends SIGTERM before the grace period ends: a container that handles it
    exits with its own code, not 137."""
    script = "trap 'exit 42' TERM; while true; do sleep 0.1; done"
    container_id = pod.start("graceful", ["sh", "-c", script])
    cri.stop_container(container_id, timeout=10)
    assert cri.container_status(container_id).exit_code == 42


def test_stop_missing_container_is_not_an_error(cri, idempotent):
    """StopContainer is idempotent: a container that does not exist is not an error."""
    idempotent(cri.stop_container, uuid.uuid4().hex)


def test_stop_and_remove_twice_are_not_errors(cri, pod, idempotent):
    """StopContainer and RemoveContainer are idempotent: repeating them succeeds."""
    container_id = pod.start("twice")
    cri.stop_container(container_id, timeout=1)
    cri.stop_container(container_id, timeout=1)
    cri.remove_container(container_id)
    idempotent(cri.remove_container, container_id)


def test_remove_missing_container_is_not_an_error(cri, idempotent):
    """RemoveContainer is idempotent: a container that does not exist is not an error."""
    idempotent(cri.remove_container, uuid.uuid4().hex)


def test_exec_sync_returns_stdout(cri, pod):
    """ExecSync: stdout is exactly what the command printed (echo -n hello)."""
    reply = cri.exec_sync(pod.start("exec"), ["echo", "-n", "hello"])
    assert reply.stdout == b"hello"
    assert reply.exit_code == 0


def test_exec_sync_returns_exit_code(cri, pod):
    """ExecSync: exit_code is the command's exit status (an error exit is not an RPC error)."""
    assert pod.sh(pod.start("exec"), "exit 7").exit_code == 7


def test_exec_sync_separates_stderr(cri, pod):
    """ExecSync: stderr is returned apart from stdout."""
    reply = pod.sh(pod.start("exec"), "echo out; echo err >&2")
    assert (reply.stdout, reply.stderr) == (b"out\n", b"err\n")


def test_exec_sync_timeout_fails_and_kills_the_process(cri, pod):
    """ExecSync.timeout: a command running longer fails the call, and the runtime kills it."""
    container_id = pod.start("exec", ["tail", "-f", "/dev/null"])
    with pytest.raises(CriError):
        cri.exec_sync(container_id, ["sleep", "4321"], timeout=1)
    deadline = time.monotonic() + 10
    while cri.exec_sync(container_id, ["pidof", "sleep"]).exit_code == 0:
        assert time.monotonic() < deadline, "the timed-out exec is still running"
        time.sleep(0.1)


def test_exec_sync_in_stopped_container_fails(cri, pod):
    """ExecSync into an exited container is an error, not a silent empty result."""
    container_id = pod.start("stopped")
    cri.stop_container(container_id, timeout=1)
    with pytest.raises(CriError):
        cri.exec_sync(container_id, ["true"])
