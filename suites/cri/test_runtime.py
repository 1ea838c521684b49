"""RuntimeService basics: Version, Status, RuntimeConfig and the sandbox image (CRI v1)."""

import pytest


@pytest.mark.conformance
def test_version_names_runtime_and_api(cri):
    """VersionResponse: version, runtime_name, runtime_version and runtime_api_version are set."""
    version = cri.version()
    assert version.version
    assert version.runtime_name
    assert version.runtime_version
    assert version.runtime_api_version


@pytest.mark.conformance
def test_version_api_matches_negotiated_api(cri):
    """VersionResponse.runtime_api_version is the CRI version the endpoint served us."""
    assert cri.version().runtime_api_version.startswith(cri.api.version)


@pytest.mark.conformance
def test_status_runtime_ready(cri):
    """StatusResponse.status.conditions: RuntimeReady is true (kubelet marks the node NotReady
    otherwise)."""
    condition = cri.condition("RuntimeReady")
    assert condition is not None, "Status has no RuntimeReady condition"
    assert condition.status, f"RuntimeReady false: {condition.reason} {condition.message}"


@pytest.mark.conformance
@pytest.mark.network
def test_status_network_ready(cri):
    """StatusResponse.status.conditions: NetworkReady is true, i.e. the CNI config is loaded."""
    condition = cri.condition("NetworkReady")
    assert condition is not None, "Status has no NetworkReady condition"
    assert condition.status, f"NetworkReady false: {condition.reason}: {condition.message}"


def test_runtime_config_reports_cgroup_driver(cri, optional):
    """RuntimeConfig (CRI v1, kubelet >= 1.28): linux.cgroup_driver is SYSTEMD or CGROUPFS."""
    reply = optional(cri.runtime_config)
    assert reply.linux.cgroup_driver in (cri.pb.SYSTEMD, cri.pb.CGROUPFS)


def test_sandbox_image_is_present(cri, facts):
    """The runtime's sandbox (pause) image is in its image store: an offline node cannot pull
    it, and without it no RunPodSandbox succeeds."""
    if not facts.sandbox_image:
        pytest.skip(f"{facts.runtime_name} does not report its sandbox image in verbose Status")
    assert cri.image_status(facts.sandbox_image) is not None, (
        f"sandbox image {facts.sandbox_image} is missing from the runtime"
    )
