"""`docker load` of the docker-archives into Docker 20.10, then `docker run` (Engine API
through the Docker SDK; containers use network "none", the private daemon has no bridge)."""

from __future__ import annotations

import time

import docker
import pytest

from harness import images
from harness.daemons.containerd import negative_oom_score_adj_refused
from harness.images import load

pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.fixture(scope="module")
def client(dockerd):
    for name in ("busybox", "pause", "web", "nonewprivs", "multi-tag"):
        load.into_docker(dockerd.host, images.build(name))
    api = dockerd.client()
    yield api
    api.close()


def run(client, ref, command=None, **options) -> str:
    out = client.containers.run(ref, command, network_mode="none", remove=True, **options)
    return out.decode()


def test_loaded_busybox_runs_and_knows_its_users(client, busybox_image):
    """docker load then docker run: id(1) resolves tester and its supplementary groups."""
    assert run(client, busybox_image.ref, ["id", "tester"]) == (
        "uid=1000(tester) gid=1000(tester) groups=1000(tester),1001(extra1),1002(extra2)\n"
    )


def test_loaded_image_id_is_the_config_digest(client, busybox_image):
    assert client.images.get(busybox_image.ref).id == busybox_image.config_digest


def test_multi_tag_image_is_loaded_under_every_tag(client):
    image = images.build("multi-tag")
    assert sorted(client.images.get(image.ref).tags) == sorted(image.refs)


def test_nonewprivs_probe_gains_root_through_setuid(client):
    """Without no_new_privs, exec of a setuid-root binary makes the effective uid 0."""
    assert run(client, images.build("nonewprivs").ref) == "euid=0 uid=1000\n"


def test_nonewprivs_probe_keeps_its_uid_under_no_new_privileges(client):
    """--security-opt no-new-privileges sets no_new_privs: setuid is ignored on exec."""
    out = run(client, images.build("nonewprivs").ref, security_opt=["no-new-privileges"])
    assert out == "euid=1000 uid=1000\n"


def test_web_image_serves_its_known_body(client):
    """busybox httpd on 8080 answers with /www/index.html (fetched from inside the container)."""
    container = client.containers.run(images.build("web").ref, detach=True, network_mode="none")
    try:
        deadline = time.monotonic() + 20  # httpd binds within milliseconds: poll, no sleep
        while True:
            result = container.exec_run(["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"])
            if result.exit_code == 0 or time.monotonic() > deadline:
                break
        assert result.output.decode() == "harness web fixture\n"
    finally:
        container.remove(force=True)


@pytest.mark.skipif(not negative_oom_score_adj_refused(), reason="this kernel allows it")
def test_clamp_runtime_lets_a_negative_oom_score_adj_start(client, busybox_image):
    """The default runtime (oom_clamp_runtime.py) rewrites oomScoreAdj -998 to 0."""
    out = run(client, busybox_image.ref, ["cat", "/proc/self/oom_score_adj"], oom_score_adj=-998)
    assert out == "0\n"


@pytest.mark.skipif(not negative_oom_score_adj_refused(), reason="this kernel allows it")
def test_plain_runc_fails_on_a_negative_oom_score_adj(client, busybox_image):
    """Why the wrapper exists: runc itself cannot apply -998 on this node."""
    with pytest.raises(docker.errors.APIError, match="oom_score_adj|PID from pipe|runc"):
        run(client, busybox_image.ref, ["true"], oom_score_adj=-998, runtime="runc")


@pytest.mark.parametrize("signal", ["SIGTERM", "SIGINT"])
def test_pause_exits_0_on_sigterm_and_sigint(client, pause_image, signal):
    """The sandbox process ends cleanly when the runtime stops the pod."""
    container = client.containers.run(pause_image.ref, detach=True, network_mode="none")
    try:
        container.kill(signal=signal)
        assert container.wait(timeout=30)["StatusCode"] == 0
    finally:
        container.remove(force=True)


def test_pause_reaps_orphans_in_its_pid_namespace(client, pause_image, busybox_image):
    """A process orphaned in a pod's shared PID namespace is reparented to pause (PID 1),
    which must reap it: no zombie is left behind."""
    pause = client.containers.run(pause_image.ref, detach=True, network_mode="none")
    try:
        out = run(
            client,
            busybox_image.ref,
            ["sh", "-c", "(sleep 0.2 &); sleep 1; ps -o pid,stat,comm"],
            pid_mode=f"container:{pause.id}",
        )
    finally:
        pause.remove(force=True)
    rows = [line.split() for line in out.splitlines()[1:]]
    assert ["1", "S", "pause"] in rows
    assert not [row for row in rows if row[1].startswith("Z")], out
