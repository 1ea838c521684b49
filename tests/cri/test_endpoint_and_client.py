"""Endpoint discovery in crictl's order and the CRI client's API negotiation, against a real
private containerd (never the host's default sockets)."""

import pytest

from harness.cri.client import CriClient
from harness.cri.endpoint import discover
from harness.errors import UnreachableError

pytestmark = pytest.mark.root


def test_explicit_endpoint_wins_over_env_and_config(tmp_path):
    config = tmp_path / "crictl.yaml"
    config.write_text("runtime-endpoint: unix:///from/config.sock\n")
    found = discover("/explicit.sock", env={"CONTAINER_RUNTIME_ENDPOINT": "unix:///env.sock"},
                     config_path=config)
    assert (found.runtime, found.source) == ("unix:///explicit.sock", "--cri-endpoint")


def test_env_wins_over_config(tmp_path):
    config = tmp_path / "crictl.yaml"
    config.write_text("runtime-endpoint: unix:///from/config.sock\n")
    found = discover(env={"CONTAINER_RUNTIME_ENDPOINT": "unix:///env.sock"}, config_path=config)
    assert found.runtime == "unix:///env.sock"


def test_crictl_yaml_gives_endpoints_and_timeout(tmp_path):
    config = tmp_path / "crictl.yaml"
    config.write_text("runtime-endpoint: unix:///rt.sock\nimage-endpoint: /img.sock\n"
                      "timeout: 7\n")
    found = discover(env={}, config_path=config)
    assert (found.runtime, found.image, found.timeout) == ("unix:///rt.sock",
                                                           "unix:///img.sock", 7.0)


def test_known_sockets_are_tried_in_order_until_one_answers(tmp_path, private_containerd):
    """Dead candidates (no socket file) are skipped; the first that answers CRI wins."""
    dead = f"unix://{tmp_path}/dead.sock"
    found = discover(env={}, config_path=tmp_path / "none.yaml",
                     known=(dead, private_containerd.endpoint, f"unix://{tmp_path}/later.sock"))
    assert (found.runtime, found.source) == (private_containerd.endpoint, "known socket")


def test_nothing_answering_names_everything_tried(tmp_path):
    dead = f"unix://{tmp_path}/dead.sock"
    with pytest.raises(UnreachableError) as err:
        discover(env={}, config_path=tmp_path / "none.yaml", known=(dead,))
    assert dead in str(err.value) and "CONTAINER_RUNTIME_ENDPOINT" in str(err.value)


def test_bad_crictl_yaml_is_an_input_error(tmp_path):
    config = tmp_path / "crictl.yaml"
    config.write_text("- just\n- a list\n")
    with pytest.raises(Exception, match="crictl.yaml"):
        discover(env={}, config_path=config)


def test_client_negotiates_v1_with_containerd_1_6(private_containerd):
    assert CriClient(private_containerd.endpoint).api.version == "v1"


def test_client_speaks_v1alpha2_when_asked(private_containerd):
    """containerd 1.6 serves both; the v1alpha2 path (dockershim-era runtimes) works too."""
    client = CriClient(private_containerd.endpoint, api_version="v1alpha2")
    assert client.version().runtime_api_version == "v1alpha2"
    assert client.condition("RuntimeReady").status


def test_client_cleanup_removes_everything_with_its_run_label(private_containerd):
    client = CriClient(private_containerd.endpoint)
    sandbox_id = client.run_sandbox(client.sandbox_config("cleanup"))
    assert client.cleanup() == (0, 1)
    assert client.leftovers() == ([], [])
    assert client.list_sandboxes(id=sandbox_id) == []
