"""Lifecycle operations and their errors: runtime-spec runtime.md#operations, #lifecycle,
#errors, and the runtime-tools CLI (create --pid-file, list, ps, exec, pause)."""

import json

import pytest

from harness.oci.runtime import OciRuntimeError

SPEC_STATUSES = {"creating", "created", "running", "stopped"}
LONG_RUNNING = "echo ready; exec sleep 60"


def test_create_does_not_run_process_args(containers):
    """runtime.md#create: process.args MUST NOT be applied until start."""
    container = containers.create(containers.spec("echo started"))
    assert container.bundle.stdout == ""


def test_state_after_create_is_created(containers):
    """runtime.md#state: status `created` once create finished and the program has not run."""
    container = containers.create(containers.spec("echo started"))
    assert container.state().status == "created"


def test_state_has_required_fields(containers):
    """runtime.md#state: ociVersion, id, status, bundle REQUIRED; pid REQUIRED when created."""
    container = containers.create(containers.spec("true"))
    state = container.state()
    assert (state.id, state.bundle) == (container.id, str(container.bundle.path))
    assert state.oci_version and state.status in SPEC_STATUSES
    assert state.pid > 0


def test_state_pid_is_the_container_process(containers):
    """runtime.md#state: pid is the container process's id as seen by the host."""
    container = containers.create(containers.spec(LONG_RUNNING))
    container.start()
    container.wait_output("ready")
    with open(f"/proc/{container.state().pid}/cmdline", "rb") as cmdline:
        assert cmdline.read().split(b"\0")[:2] == [b"sleep", b"60"]


def test_state_annotations_match_config(containers):
    """runtime.md#state: annotations are the ones from config.json."""
    annotations = {"org.example.ho-key": "value"}
    container = containers.create(containers.spec("true", annotations=annotations))
    assert container.state().annotations == annotations


def test_state_of_running_container_is_running(containers):
    """runtime.md#state: status `running` while the program runs."""
    container = containers.create(containers.spec(LONG_RUNNING))
    container.start()
    container.wait_output("ready")
    assert container.state().status == "running"


def test_start_runs_process(containers):
    """runtime.md#start: start MUST run the user-specified program."""
    assert containers.run(containers.spec("echo started")) == "started\n"


def test_state_after_exit_is_stopped(containers):
    """runtime.md#state: status `stopped` once the container process exited."""
    container = containers.create(containers.spec("true"))
    container.start()
    assert container.wait("stopped").status == "stopped"


@pytest.mark.parametrize("operation", ["state", "start", "kill", "delete"])
def test_operation_without_id_is_an_error(runtime, operation):
    """runtime.md#operations: each operation MUST generate an error if it is not given the
    container ID."""
    assert not runtime.call(operation).ok


def test_create_without_id_is_an_error(containers, runtime):
    """runtime.md#create: MUST generate an error if not given the container ID."""
    bundle = containers.bundle(containers.spec("true"))
    before = runtime.list()
    assert not runtime.call("create", "--bundle", str(bundle.path)).ok
    assert runtime.list() == before


def test_state_of_unknown_id_is_an_error(runtime):
    """runtime.md#query-state: MUST generate an error if the container does not exist."""
    assert not runtime.call("state", "ho-does-not-exist").ok


def test_create_with_duplicate_id_is_an_error(containers):
    """runtime.md#create: an ID that is not unique MUST be an error and create nothing new."""
    first = containers.create(containers.spec("true"))
    with pytest.raises(OciRuntimeError):
        containers.create(containers.spec("echo second"), container_id=first.id)
    assert first.state().bundle == str(first.bundle.path)


def test_create_without_config_is_an_error(containers, runtime):
    """runtime.md#create: a bundle the runtime cannot read MUST be an error, and
    runtime.md#errors: the failed operation leaves no container behind."""
    bundle = containers.bundle(containers.spec("true"))
    bundle.config_path.unlink()
    container_id = containers.new_id()
    containers.created.append(container_id)
    assert not runtime.call("create", "--bundle", str(bundle.path), container_id).ok
    assert not runtime.exists(container_id)


def test_failed_create_leaves_nothing_behind(containers, runtime):
    """runtime.md#errors: an operation that errors MUST leave the environment as if it had
    not been attempted: no state, no listing, and the id is free again."""
    spec = containers.spec("true")
    spec.linux.namespace("pid").path = "/proc/self/ns/net"  # a path of the wrong type
    container_id = containers.new_id()
    with pytest.raises(OciRuntimeError):
        containers.create(spec, container_id=container_id)
    assert not runtime.exists(container_id)
    assert container_id not in [c.id for c in runtime.list()]
    containers.create(containers.spec("true"), container_id=container_id)


def test_start_of_running_container_is_an_error(containers):
    """runtime.md#start: on a container that is not `created`, MUST have no effect and error."""
    container = containers.create(containers.spec(LONG_RUNNING))
    container.start()
    container.wait_output("ready")
    pid = container.state().pid
    with pytest.raises(OciRuntimeError):
        container.start()
    assert (container.state().status, container.state().pid) == ("running", pid)


def test_start_of_stopped_container_is_an_error(containers):
    """runtime.md#start: start on a `stopped` container errors and does not rerun the program."""
    container = containers.create(containers.spec("echo started"))
    container.start()
    container.wait("stopped")
    with pytest.raises(OciRuntimeError):
        container.start()
    assert container.bundle.stdout == "started\n"


def test_start_of_unknown_id_is_an_error(runtime):
    """runtime.md#start: MUST generate an error for a container that does not exist."""
    assert not runtime.call("start", "ho-does-not-exist").ok


def test_start_without_process_is_an_error(containers, runtime):
    """runtime.md#start: if process was not set, start MUST generate an error (a runtime may
    already refuse the bundle at create: config.md#process)."""
    spec = containers.spec(process=None)
    try:
        container = containers.create(spec)
    except OciRuntimeError:
        return
    with pytest.raises(OciRuntimeError):
        container.start()


def test_kill_of_created_container_stops_it(containers):
    """runtime.md#kill: kill on a `created` container sends the signal to its process."""
    container = containers.create(containers.spec("true"))
    container.runtime.kill(container.id, "KILL")
    assert container.wait("stopped").status == "stopped"


@pytest.mark.parametrize("signal", ["TERM", "USR1", "USR2"])
def test_kill_delivers_signal_to_running_process(containers, signal):
    """runtime.md#kill: the signal MUST be sent to the container process."""
    script = f'trap "echo got-{signal}; exit 0" {signal}; echo ready; while :; do sleep 0.05; done'
    container = containers.create(containers.spec(script))
    container.start()
    container.wait_output("ready")
    container.runtime.kill(container.id, signal)
    assert f"got-{signal}" in container.wait_output(f"got-{signal}")


def test_kill_of_stopped_container_is_an_error(containers):
    """runtime.md#kill: on a container neither created nor running, MUST error with no effect."""
    container = containers.create(containers.spec("true"))
    container.start()
    before = container.wait("stopped")
    with pytest.raises(OciRuntimeError):
        container.runtime.kill(container.id, "KILL")
    assert container.state() == before


def test_kill_of_unknown_id_is_an_error(runtime):
    """runtime.md#kill: MUST generate an error for a container that does not exist."""
    assert not runtime.call("kill", "ho-does-not-exist", "KILL").ok


def test_delete_of_running_container_is_an_error(containers):
    """runtime.md#delete: on a container that is not stopped, MUST error with no effect."""
    container = containers.create(containers.spec(LONG_RUNNING))
    container.start()
    container.wait_output("ready")
    with pytest.raises(OciRuntimeError):
        container.runtime.delete(container.id)
    assert container.state().status == "running"


def test_delete_of_created_container_is_an_error(containers):
    """runtime.md#delete: on a container that is not stopped (here `created`), MUST error
    with no effect."""
    container = containers.create(containers.spec("true"))
    with pytest.raises(OciRuntimeError):
        container.runtime.delete(container.id)
    assert container.state().status == "created"


def test_delete_removes_stopped_container(containers, runtime):
    """runtime.md#delete: delete MUST delete the resources created by create."""
    container = containers.create(containers.spec("true"))
    container.start()
    container.wait("stopped")
    runtime.delete(container.id)
    assert not runtime.exists(container.id)


def test_delete_of_unknown_id_is_an_error(runtime):
    """runtime.md#delete: MUST generate an error for a container that does not exist."""
    assert not runtime.call("delete", "ho-does-not-exist").ok


def test_config_changes_after_create_do_not_affect_container(containers):
    """runtime.md#lifecycle step 2: updates to config.json after create MUST NOT affect the
    container."""
    container = containers.create(containers.spec("echo original"))
    container.bundle.config_path.write_text(json.dumps({"ociVersion": "1.0.0"}))
    container.start()
    container.wait("stopped")
    assert container.bundle.stdout == "original\n"


def test_pid_file_holds_state_pid(containers):
    """runtime-tools command-line-interface.md#create: --pid-file gets the container pid
    reported by state (runtime.md#state pid)."""
    pid_file = containers.workdir / "container.pid"
    container = containers.create(containers.spec("true"), pid_file=pid_file)
    assert int(pid_file.read_text()) == container.state().pid


def test_unknown_properties_are_accepted(containers):
    """config.md#extensibility: unknown properties MUST NOT be an error; annotations with
    unknown keys neither (config.md#annotations)."""
    spec = containers.spec("true", annotations={"org.example.ho.unknown": "x"})
    spec.extra["org.example.ho-unknown-property"] = {"any": "thing"}
    assert containers.create(spec).state().status == "created"


def test_invalid_oci_version_is_rejected(containers):
    """config.md#specification-version: ociVersion MUST be SemVer; runtime.md#create: a
    configuration the runtime cannot apply MUST be an error."""
    with pytest.raises(OciRuntimeError):
        containers.create(containers.spec("true", oci_version="invalid"))


def test_list_shows_container_with_status(containers, runtime):
    """runtime-tools command-line-interface.md: `list` shows the runtime's containers."""
    container = containers.create(containers.spec("true"))
    listed = {c.id: c for c in runtime.list()}
    assert listed[container.id].status == "created"
    assert listed[container.id].pid == container.state().pid


def test_ps_lists_container_process(containers, runtime):
    """runc/crun `ps`: the container's processes as host pids, the init pid among them."""
    container = containers.create(containers.spec(LONG_RUNNING))
    container.start()
    container.wait_output("ready")
    assert container.state().pid in runtime.ps(container.id)


def test_exec_runs_inside_container(containers, runtime):
    """config.md#hostname seen through `exec`: exec joins the container's namespaces."""
    container = containers.create(containers.spec(LONG_RUNNING, hostname="ho-exec"))
    container.start()
    container.wait_output("ready")
    done = runtime.exec(container.id, ["hostname"])
    assert (done.exit_code, done.stdout.strip()) == (0, "ho-exec")


def test_pause_and_resume(containers, runtime):
    """runtime.md#state: runtimes MAY add states; `paused` must return to `running`."""
    container = containers.create(containers.spec(LONG_RUNNING))
    container.start()
    container.wait_output("ready")
    runtime.pause(container.id)
    assert container.state().status == "paused"
    runtime.resume(container.id)
    assert container.state().status == "running"


def test_features_lists_hooks_and_namespaces(runtime):
    """features.md: hooks and linux.namespaces the runtime knows."""
    features = runtime.features()
    if features is None:
        pytest.skip(f"{runtime.info.id} has no `features` command (features.md is optional)")
    assert "prestart" in features["hooks"] and "poststop" in features["hooks"]
    assert {"pid", "mount", "network"} <= set(features["linux"]["namespaces"])


def test_events_stats_report_pids(containers, runtime):
    """runc `events --stats`: one stats sample of a running container."""
    if not runtime.info.has("events"):
        pytest.skip(f"{runtime.info.id} has no `events` command")
    container = containers.create(containers.spec(LONG_RUNNING))
    container.start()
    container.wait_output("ready")
    sample = runtime.stats(container.id)
    assert sample["type"] == "stats" and sample["data"]["pids"]["current"] >= 1
