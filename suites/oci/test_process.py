"""The container process: config.md#process (args, env, cwd, user, umask, capabilities,
rlimits, noNewPrivileges, oomScoreAdj, terminal), checked from inside the container."""

import os
import select
import time

import pytest

from harness.oci.bundle import Rlimit, User
from harness.oci.containers import ConsoleSocket, status_field
from harness.oci.runtime import OciRuntimeError

# linux/capability.h numbers of the capabilities these tests use.
CAP_BITS = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_KILL": 5, "CAP_NET_BIND_SERVICE": 10}


def test_args_are_executed(containers):
    """config.md#process args: the program and its arguments are run as given."""
    spec = containers.spec()
    spec.process.args = ["echo", "first", "second arg"]
    assert containers.run(spec) == "first second arg\n"


def test_env_is_set(containers):
    """config.md#process env: variables are set in the process environment."""
    spec = containers.spec("env")
    spec.process.env += ["testa=valuea", "testb=123"]
    assert {"testa=valuea", "testb=123"} <= set(containers.run(spec).splitlines())


def test_cwd_is_set(containers):
    """config.md#process cwd: the working directory of the process."""
    spec = containers.spec("pwd")
    spec.process.cwd = "/tmp"
    assert containers.run(spec) == "/tmp\n"


def test_user_uid_and_gid_are_set(containers):
    """config.md#posix-platform-user: uid and gid of the process."""
    spec = containers.spec("echo $(id -u) $(id -g)")
    spec.process.user = User(uid=10, gid=10)
    assert containers.run(spec) == "10 10\n"


def test_user_additional_gids_are_set(containers):
    """config.md#posix-platform-user additionalGids: supplementary groups of the process."""
    spec = containers.spec("cat /proc/self/status")
    spec.process.user = User(uid=10, gid=10, additional_gids=[5, 7])
    assert status_field(containers.run(spec), "Groups").split() == ["5", "7"]


def test_user_umask_is_set(containers):
    """config.md#posix-platform-user umask."""
    spec = containers.spec("umask")
    spec.process.user = User(umask=0o027)
    assert containers.run(spec).strip() == "0027"


@pytest.mark.parametrize("field", ["CapBnd", "CapEff", "CapPrm"])
def test_capabilities_are_applied(containers, field):
    """config.md#linux-process capabilities: bounding, effective and permitted sets are
    exactly the configured capabilities."""
    wanted = ["CAP_CHOWN", "CAP_KILL"]
    spec = containers.spec("cat /proc/self/status")
    spec.process.capabilities = wanted
    mask = sum(1 << CAP_BITS[cap] for cap in wanted)
    assert int(status_field(containers.run(spec), field), 16) == mask


# config.md#linux-process, capabilities (runtime-spec v1.1.0): "Any value which cannot be
# mapped to a relevant kernel interface, or cannot be granted otherwise MUST be logged as a
# warning by the runtime. Runtimes SHOULD NOT fail if the container configuration requests
# capabilities that cannot be granted".
UNKNOWN_CAPABILITIES = ["CAP_CHOWN", "CAP_HO_UNKNOWN"]


def test_unknown_capability_does_not_fail_the_container(containers):
    """config.md#linux-process capabilities: runtimes SHOULD NOT fail on a capability that
    cannot be granted; the container runs with the ones that can."""
    spec = containers.spec("true")
    spec.process.capabilities = UNKNOWN_CAPABILITIES
    containers.run(spec)


def test_unknown_capability_is_logged_as_a_warning(containers):
    """config.md#linux-process capabilities: a capability that cannot be granted MUST be
    logged as a warning: the runtime's output names it, whether or not it goes on."""
    spec = containers.spec("true")
    spec.process.capabilities = UNKNOWN_CAPABILITIES
    try:
        container = containers.create(spec)
    except OciRuntimeError as err:
        assert "CAP_HO_UNKNOWN" in err.stderr
        return
    assert "CAP_HO_UNKNOWN" in container.bundle.stderr


def test_rlimits_are_applied(containers):
    """config.md#posix-process rlimits: soft and hard limits are set for the process."""
    spec = containers.spec("cat /proc/self/limits")
    spec.process.rlimits = [Rlimit("RLIMIT_NOFILE", 3000, 4000), Rlimit("RLIMIT_CPU", 60, 120)]
    limits = {
        line[:26].strip(): line[26:].split()[:2] for line in containers.run(spec).splitlines()
    }
    assert limits["Max open files"] == ["3000", "4000"]
    assert limits["Max cpu time"] == ["60", "120"]


def test_unknown_rlimit_is_an_error(containers):
    """config.md#posix-process rlimits: the runtime MUST generate an error for any values
    which cannot be mapped to a relevant kernel interface."""
    spec = containers.spec("true")
    spec.process.rlimits = [Rlimit("RLIMIT_HO_UNKNOWN", 1, 1)]
    with pytest.raises(OciRuntimeError):
        containers.create(spec)


@pytest.mark.parametrize("enabled", [True, False], ids=["set", "unset"])
def test_no_new_privileges(containers, enabled):
    """config.md#linux-process noNewPrivileges: sets (or leaves unset) no_new_privs."""
    spec = containers.spec("cat /proc/self/status")
    spec.process.no_new_privileges = enabled
    assert status_field(containers.run(spec), "NoNewPrivs") == str(int(enabled))


def test_oom_score_adj_is_applied(containers):
    """config.md#linux-process oomScoreAdj: written to /proc/<pid>/oom_score_adj."""
    spec = containers.spec("cat /proc/self/oom_score_adj")
    spec.process.oom_score_adj = 500
    assert containers.run(spec).strip() == "500"


def test_negative_oom_score_adj_is_applied(containers, host):
    """config.md#linux-process oomScoreAdj: negative values too (kernel permitting)."""
    if host.oom.negative_refused:
        pytest.skip(host.oom.negative_refusal)
    spec = containers.spec("cat /proc/self/oom_score_adj")
    spec.process.oom_score_adj = -500
    assert containers.run(spec).strip() == "-500"


def test_terminal_gives_process_a_pty(containers):
    """config.md#process terminal: the process gets a pseudoterminal on its stdio, handed to
    the caller through the console socket (runtime-tools command-line-interface.md)."""
    spec = containers.spec("tty")
    spec.process.terminal = True
    console = ConsoleSocket(containers.workdir / "console.sock")
    try:
        container = containers.create(spec, console_socket=console.path)
        master = console.receive_master()
        container.start()
        assert read_until(master, b"\n").strip().startswith(b"/dev/pts/")
        os.close(master)
    finally:
        console.close()


def read_until(fd: int, end: bytes, timeout: float = 10.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while end not in data and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 1024)
        if not chunk:
            break
        data += chunk
    return data
