"""Hooks: config.md#posix-platform-hooks and their place in runtime.md#lifecycle.

Every hook appends `<name> <uts-namespace> <state JSON from stdin>` to one log. Hooks that run
in the runtime namespace write to the log's host path; startContainer's path resolves in the
container, so it uses the container's /bin/sh and the log bind-mounted at /hooks.
"""

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.oci.bundle import HOOK_KINDS, Hook, Mount
from harness.oci.containers import ContainerFactory
from harness.oci.runtime import OciRuntimeError

RUNTIME_NS_KINDS = ("prestart", "createRuntime", "poststart", "poststop")
CONTAINER_NS_KINDS = ("createContainer", "startContainer")
CREATE_TIME_KINDS = ("prestart", "createRuntime", "createContainer")
ALL_KINDS = HOOK_KINDS  # in lifecycle order
# runtime.md#state: the statuses a hook may see at its lifecycle step. The create-time hooks
# run after step 2 but inside the create operation, which the spec's wording leaves between
# `creating` (being created) and `created` (create finished); after `start` was invoked and
# before the program runs it is `created`; poststart is after the program started.
EXPECTED_STATUS = {
    "prestart": {"creating", "created"},
    "createRuntime": {"creating", "created"},
    "createContainer": {"creating", "created"},
    "startContainer": {"created"},
    "poststart": {"running"},
    "poststop": {"stopped"},
}


def recording_hook(name: str, log: str, fail: bool = False) -> Hook:
    script = f'echo "{name} $(readlink /proc/self/ns/uts) $(tr -d "\\n")" >> {log}'
    return Hook("/bin/sh", ["sh", "-c", script + ("; exit 3" if fail else "")])


@dataclass
class HookLog:
    path: Path

    def entries(self) -> list[tuple[str, str, dict]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            name, namespace, state = line.split(" ", 2)
            out.append((name, namespace, json.loads(state) if state.strip() else {}))
        return out

    def names(self) -> list[str]:
        return [name for name, _, _ in self.entries()]

    def entry(self, name: str) -> tuple[str, dict]:
        found = [(ns, state) for n, ns, state in self.entries() if n == name]
        assert found, f"hook {name} never ran; log: {self.names()}"
        return found[0]


def hooked_spec(containers, hooks: dict[str, list[str]], failing: str | None = None, args="true"):
    """A spec whose hooks record into <workdir>/hooks/log; `failing` names a hook that exits 3."""
    host_dir = containers.workdir / "hooks"
    host_dir.mkdir(exist_ok=True)
    spec = containers.spec(args, annotations={"org.example.ho-hooks": "yes"})
    spec.mounts.append(Mount("/hooks", "bind", str(host_dir), ["bind"]))
    for kind, names in hooks.items():
        log = "/hooks/log" if kind == "startContainer" else str(host_dir / "log")
        for name in names:
            spec.add_hook(kind, recording_hook(name, log, fail=name == failing))
    return spec, HookLog(host_dir / "log")


@dataclass
class Lifecycle:
    """One container run with one hook of each kind, observed after each operation."""

    container_id: str
    bundle: str
    host_pid: int
    after_create: list[str]
    after_start: list[str]
    before_delete: list[str]
    log: HookLog
    container_uts: str


@pytest.fixture(scope="module")
def lifecycle(runtime, rootfs, workdir):
    factory = ContainerFactory(
        runtime, rootfs, Path(tempfile.mkdtemp(prefix="hooks-", dir=workdir))
    )
    program = (
        'readlink /proc/self/ns/uts; echo "program $(readlink /proc/self/ns/uts) " >> /hooks/log'
    )
    spec, log = hooked_spec(factory, {kind: [kind] for kind in ALL_KINDS}, args=program)
    try:
        container = factory.create(spec)
        pid = container.state().pid
        after_create = log.names()
        container.start()
        after_start = log.names()
        container.wait("stopped")
        before_delete = log.names()
        runtime.delete(container.id)
        yield Lifecycle(
            container.id,
            str(container.bundle.path),
            pid,
            after_create,
            after_start,
            before_delete,
            log,
            container.bundle.stdout.strip(),
        )
    finally:
        factory.cleanup()


def test_create_time_hooks_run_in_lifecycle_order(lifecycle):
    """runtime.md#lifecycle steps 3-5: prestart, then createRuntime, then createContainer."""
    ran = [name for name in lifecycle.after_create if name in CREATE_TIME_KINDS]
    assert ran == list(CREATE_TIME_KINDS)


def test_start_container_hook_runs_at_start_not_create(lifecycle):
    """runtime.md#lifecycle step 7: startContainer hooks run after start is invoked (they may
    still be running when `start` returns: only the program has to wait for them)."""
    assert "startContainer" not in lifecycle.after_create
    assert "startContainer" in lifecycle.before_delete


def test_start_container_hook_runs_before_program(lifecycle):
    """runtime.md#lifecycle steps 7-8: startContainer hooks run before the user program."""
    names = lifecycle.before_delete
    assert names.index("startContainer") < names.index("program")


def test_poststart_hook_runs_after_start_is_invoked(lifecycle):
    """runtime.md#lifecycle step 9: poststart hooks run after the program started, i.e. not
    during create, and before start returns."""
    assert "poststart" not in lifecycle.after_create
    assert "poststart" in lifecycle.after_start


def test_poststop_hook_runs_at_delete(lifecycle):
    """runtime.md#lifecycle step 13: poststop hooks run after the container is deleted."""
    assert "poststop" not in lifecycle.before_delete
    assert lifecycle.log.names()[-1] == "poststop"


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_hook_gets_state_on_stdin(lifecycle, kind):
    """config.md#posix-platform-hooks: the container state MUST be passed on stdin."""
    _, state = lifecycle.log.entry(kind)
    assert (state["id"], state["bundle"]) == (lifecycle.container_id, lifecycle.bundle)
    assert state["annotations"] == {"org.example.ho-hooks": "yes"}


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_hook_state_status_matches_lifecycle_step(lifecycle, kind):
    """runtime.md#state status values at the hook's lifecycle step (runtime.md#lifecycle)."""
    _, state = lifecycle.log.entry(kind)
    assert state["status"] in EXPECTED_STATUS[kind]


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "poststart"])
def test_runtime_namespace_hook_state_has_host_pid(lifecycle, kind):
    """runtime.md#state pid: hooks in the runtime namespace see the pid as the host sees it."""
    _, state = lifecycle.log.entry(kind)
    assert state["pid"] == lifecycle.host_pid


@pytest.mark.parametrize("kind", RUNTIME_NS_KINDS)
def test_hook_runs_in_runtime_namespace(lifecycle, kind):
    """config.md#posix-platform-hooks summary: prestart, createRuntime, poststart, poststop
    run in the runtime namespace (here: the host's UTS namespace)."""
    namespace, _ = lifecycle.log.entry(kind)
    assert namespace == Path("/proc/self/ns/uts").readlink().as_posix()


@pytest.mark.parametrize("kind", CONTAINER_NS_KINDS)
def test_hook_runs_in_container_namespace(lifecycle, kind):
    """config.md#posix-platform-hooks summary: createContainer and startContainer run in the
    container namespace (the container's UTS namespace)."""
    namespace, _ = lifecycle.log.entry(kind)
    assert namespace == lifecycle.container_uts


def test_hooks_of_one_kind_run_in_listed_order(containers):
    """config.md#posix-platform-hooks: hooks MUST be called in the listed order."""
    spec, log = hooked_spec(containers, {"createRuntime": ["first", "second", "third"]})
    containers.create(spec)
    assert log.names() == ["first", "second", "third"]


@pytest.mark.parametrize("kind", CREATE_TIME_KINDS)
def test_failing_create_time_hook_fails_create(containers, runtime, kind):
    """config.md#<kind> hooks: on failure the runtime MUST generate an error and stop the
    container (runtime.md#lifecycle steps 3-5 -> 12): create fails, no container remains."""
    spec, _ = hooked_spec(containers, {kind: ["bad"]}, failing="bad", args="echo ran")
    container_id = containers.new_id()
    with pytest.raises(OciRuntimeError):
        containers.create(spec, container_id=container_id)
    assert not runtime.exists(container_id)


def test_failing_start_container_hook_stops_container(containers, runtime):
    """config.md#startcontainer-hooks: on failure the runtime MUST stop the container; the
    program never runs."""
    spec, _ = hooked_spec(containers, {"startContainer": ["bad"]}, failing="bad", args="echo ran")
    container = containers.create(spec)
    runtime.call("start", container.id)
    container.wait("stopped")
    assert "ran" not in container.bundle.stdout


def test_failing_start_container_hook_fails_start(containers):
    """config.md#startcontainer-hooks: on failure the runtime MUST generate an error."""
    spec, _ = hooked_spec(containers, {"startContainer": ["bad"]}, failing="bad", args="echo ran")
    container = containers.create(spec)
    with pytest.raises(OciRuntimeError):
        container.start()


def test_failing_poststart_hook_is_a_warning(containers):
    """config.md#poststart (runtime-spec v1.0.2-v1.2): a failing poststart hook MUST only log
    a warning; the lifecycle continues and the program runs."""
    spec, _ = hooked_spec(containers, {"poststart": ["bad"]}, failing="bad", args="echo ran")
    container = containers.create(spec)
    container.start()
    container.wait("stopped")
    assert container.bundle.stdout == "ran\n"


def test_failing_poststop_hook_is_a_warning(containers, runtime):
    """config.md#poststop: a failing poststop hook MUST only log a warning and the lifecycle
    continues: delete succeeds and the next poststop hook still runs."""
    spec, log = hooked_spec(containers, {"poststop": ["bad", "after"]}, failing="bad")
    container = containers.create(spec)
    container.start()
    container.wait("stopped")
    runtime.delete(container.id)
    assert log.names() == ["bad", "after"]
