"""Control run: on a healthy private containerd (CNI, seccomp, sandbox image, a registry CA it
trusts) the whole CRI suite passes or skips with a reason, in parallel, with JUnit output; the
restart check passes when allowed."""

import pytest

from harness.daemons.containerd import RuntimeHandler

from .conftest import REPO, run_suite

pytestmark = [pytest.mark.root, pytest.mark.slow]


def _trusting(tls_registry):
    """containerd registry config_path with a hosts.toml that trusts the TLS registry's CA."""

    def config_dir(base):
        tls_registry.write_containerd_hosts(base / "certs.d")
        return base / "certs.d"

    return config_dir


CRUN_ON_THIS_HOST = REPO / "suites" / "oci" / "tools" / "crun-on-hybrid-cgroups"


def packaged() -> tuple[dict, tuple[str, ...]]:
    return {}, ()


def built_2x() -> tuple[dict, tuple[str, ...]]:
    """containerd 2.x from its Go module (harness containerd build), reading config version 3."""
    from harness.containerd import build

    return {"bin_dir": build.build(build.DEFAULT_VERSION).bin_dir, "config_version": 3}, ()


def crun_handler() -> tuple[dict, tuple[str, ...]]:
    """crun as a second runtime handler, every pod of the suite on it (through the wrapper that
    hides this host's hybrid cgroup mount from crun 1.8, see suites/oci/tools)."""
    return ({"handlers": (RuntimeHandler("crun", str(CRUN_ON_THIS_HOST)),)},
            ("--runtime-handler", "crun"))


@pytest.mark.parametrize("runtime", [packaged, built_2x, crun_handler],
                         ids=["containerd-1.6-runc", "containerd-2.x-runc", "containerd-1.6-crun"])
def test_whole_suite_passes_on_a_healthy_containerd(runtime, containerd_factory, tls_registry):
    """The conformance matrix's cells: every test passes, and every skip is one the suite's
    allowed-skips.yaml allows for that runtime (--strict-skips); the TLS pull runs because the
    runtime trusts the registry's CA."""
    overrides, args = runtime()
    containerd = containerd_factory(registry_config_dir=_trusting(tls_registry), **overrides)
    run = run_suite(containerd.endpoint, "-n", "2", "--dist", "loadgroup", "--strict-skips",
                    "--tls-registry", tls_registry.host,
                    "--tls-registry-ca", str(tls_registry.ca), *args)
    assert run.returncode == 0, run.output[-3000:]
    assert not run.named("failed") | run.named("error")
    assert len(run.outcomes) > 100
    assert run.of("test_pull_from_tls_registry_with_ca") == "passed"
    assert run.of("test_restart_keeps_sandboxes_and_containers") == "skipped"


def test_restart_check_passes_when_allowed(containerd_factory, restart_command):
    """--allow-runtime-restart with a restart command: sandboxes and containers survive."""
    containerd = containerd_factory()
    run = run_suite(containerd.endpoint, "-k", "restart", "--allow-runtime-restart",
                    "--runtime-restart-command", restart_command(containerd))
    assert run.of("test_restart_keeps_sandboxes_and_containers") == "passed", run.output[-3000:]


def test_network_tests_pass_on_a_pod_network_wider_than_a_24(containerd_factory):
    """containerd's usual pod network is a /16 (10.88.0.0/16): once pod IPs pass .255 the
    gateway is not the pod IP's first three octets plus .1. Pods here start in 10.94.3.x, the
    bridge is 10.94.0.1."""
    containerd = containerd_factory(subnet="10.94.0.0/16", range_start="10.94.3.10")
    run = run_suite(containerd.endpoint, "-k", "test_network")
    assert run.returncode == 0, run.output[-3000:]
    assert run.of("test_port_mapping_with_host_port") == "passed"
