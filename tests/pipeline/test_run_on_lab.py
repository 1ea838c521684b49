"""The README's main job, as a user runs it: `harness run` on the local lab (2 nodes, Kubernetes
1.23.17 on Docker) takes it through the whole pipeline and past dockershim.

The tests walk one lab (`pipeline_lab`, shared with tests/upgrade) through one life, in file
order: refusals while it is still on Docker, the whole run with the upgrade (with secrets planted
where it could pick them up, none of which may reach its reports), then an injected fault on the
migrated cluster."""

import json
import re
import time
import tomllib
from pathlib import Path

import planted
import pytest
import yaml
from kubernetes import client
from labs import harness_cli

from harness import junit
from harness.errors import EXIT_FAILURES, EXIT_OK, EXIT_USAGE
from harness.kube.cluster import ClusterRecord
from harness.nodes import artifacts
from harness.providers.lab import LabProvider
from harness.smoke import outcome
from harness.transport import open_transport

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(2400)]
FROM, TO = "1.23.17", "1.24.17"
REFUSAL = "dockershim is gone in 1.24: migrate {node} to containerd first (harness migrate)"
# Secrets besides the environment's (planted.ENVIRONMENT) where the whole run could pick them up.
INVENTORY_TOKEN = "planted-inventory-token-2a90e1"
INVENTORY_REGISTRY_PASSWORD = "planted-inventory-registry-password-8d14"
KUBECONFIG_TOKEN = "planted-kubeconfig-token-5c2e77"
CONFIG_REGISTRY_PASSWORD = "planted-containerd-registry-password-71b3"
CONFIG_REGISTRY_AUTH = "cGxhbnRlZDpjb250YWluZXJkLWF1dGgtOWQ0Nw=="
PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcplantedPemKeyBody0a1b2c3d"
# Appended to each node's containerd config.toml, which the migration's `before` state collects.
NODE_CONFIG = f"""
# -----BEGIN PRIVATE KEY-----
# {PEM_BODY}
# -----END PRIVATE KEY-----
[plugins."io.containerd.grpc.v1.cri".registry.configs."planted.invalid:5000".auth]
  username = "planted"
  password = "{CONFIG_REGISTRY_PASSWORD}"
  auth = "{CONFIG_REGISTRY_AUTH}"
"""


def run(lab, out, *args: str, env: dict[str, str] | None = None):
    return harness_cli("run", "--lab", lab.name, "--out", str(out), *args, timeout=2400,
                       env=env)


def outcomes(out) -> dict[tuple[str, str, str], str]:
    """(node, suite, test) -> passed | failed | error | skipped, from the merged JUnit."""
    found = {}
    for suite in junit.read(out / "junit.xml"):
        props = {p.name: p.value for p in suite.properties()}
        for case in suite:
            found[(suite.name, props["suite"], case.name)] = outcome(case)
    return found


def versions(lab) -> tuple[str, set[str]]:
    """The API server's version and the kubelets'."""
    server = client.VersionApi(lab.api).get_code().git_version
    return server, {n.status.node_info.kubelet_version
                    for n in client.CoreV1Api(lab.api).list_node().items}


def wait_ready(lab, name: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        node = client.CoreV1Api(lab.api).read_node(name)
        if any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or []):
            return
        time.sleep(2)
    raise AssertionError(f"{name} not Ready {timeout:.0f}s after its containerd was restarted")


def test_harness_upgrade_is_refused_on_dockershim_nodes_and_nothing_changes(pipeline_lab,
                                                                            tmp_path):
    done = harness_cli("upgrade", "--to", TO, "--lab", pipeline_lab.name, "--out", str(tmp_path))
    assert done.returncode == EXIT_USAGE, done.stdout + done.stderr
    for name in pipeline_lab.node_names:
        assert REFUSAL.format(node=name) in done.stdout
    assert versions(pipeline_lab) == (f"v{FROM}", {f"v{FROM}"})
    assert ClusterRecord.load(pipeline_lab.name).version == FROM
    assert not any(n.spec.unschedulable
                   for n in client.CoreV1Api(pipeline_lab.api).list_node().items)


def test_preflight_with_a_target_reports_dockershim_as_blocking(pipeline_lab, tmp_path):
    done = harness_cli("preflight", "--lab", pipeline_lab.name, "--kubernetes-target", TO,
                       "--out", str(tmp_path))
    assert done.returncode == EXIT_FAILURES, done.stdout + done.stderr
    found = json.loads((tmp_path / "preflight.json").read_text())
    for name in pipeline_lab.node_names:
        blocking = [f for f in found[name]["findings"] if f["id"] == "dockershim-removed"]
        assert blocking == [{"id": "dockershim-removed", "severity": "error",
                             "message": REFUSAL.format(node=name)}]
        assert not found[name]["passed"]


def test_the_pipeline_upgrade_is_refused_on_dockershim_nodes(pipeline_lab, tmp_path):
    done = run(pipeline_lab, tmp_path, "--phases", "upgrade", "--upgrade-to", TO)
    assert done.returncode == EXIT_FAILURES, done.stderr[-3000:]
    assert REFUSAL.format(node=pipeline_lab.node_names[0]) in done.stderr
    assert outcomes(tmp_path)[("cluster", "pipeline", "upgrade")] == "error"
    assert versions(pipeline_lab) == (f"v{FROM}", {f"v{FROM}"})


def test_the_cri_gate_fails_on_nodes_still_on_docker(pipeline_lab, tmp_path):
    """Before migration the node's containerd runs Debian's default config: its sandbox image
    (registry.k8s.io's pause) cannot be had offline, so no pod sandbox starts. The gate must
    say so on every node, not pass."""
    done = run(pipeline_lab, tmp_path, "--phases", "cri")
    assert done.returncode == EXIT_FAILURES, done.stderr[-2000:]
    rows = outcomes(tmp_path)
    for node in pipeline_lab.node_names:
        assert rows[(node, "cri", "test_sandbox_image_is_present")] == "failed"
        assert rows[(node, "cri", "test_run_sandbox_is_ready")] in ("failed", "error")


@pytest.fixture(scope="module")
def planted_secrets(pipeline_lab) -> list[str]:
    """Secrets planted where `harness run` could pick them up: the inventory's vars (a token on
    each host, a registry password for all), a user's token in the kubeconfig, and a PEM key and
    a registry's password and auth in each node's containerd config.toml; whole_run adds a CI
    job's environment. Every planted value."""
    path = pipeline_lab.inventory_path
    doc = yaml.safe_load(path.read_text())
    doc["all"]["vars"]["registry_password"] = INVENTORY_REGISTRY_PASSWORD
    for group in doc["all"]["children"]["lab"]["children"].values():
        for host in group["hosts"].values():
            host["my_token"] = INVENTORY_TOKEN
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    kubeconfig = Path(doc["all"]["vars"]["kubeconfig"])
    config = yaml.safe_load(kubeconfig.read_text())
    config["users"].append({"name": "planted", "user": {"token": KUBECONFIG_TOKEN}})
    kubeconfig.write_text(yaml.safe_dump(config, sort_keys=False))
    for node in pipeline_lab.inventory.nodes:
        with open_transport(node) as t:
            t.run(f"cat >> /etc/containerd/config.toml <<'EOF'\n{NODE_CONFIG}EOF\n", check=True)
    return [INVENTORY_TOKEN, INVENTORY_REGISTRY_PASSWORD, KUBECONFIG_TOKEN,
            CONFIG_REGISTRY_PASSWORD, CONFIG_REGISTRY_AUTH, PEM_BODY,
            *planted.ENVIRONMENT.values()]


@pytest.fixture(scope="module")
def whole_run(pipeline_lab, planted_secrets, tmp_path_factory):
    """The README's main command on the lab, with the upgrade gate, in a CI job's environment
    (cloud keys, a token, the SSH key's passphrase) and with planted_secrets in place."""
    out = tmp_path_factory.mktemp("whole-run")
    return run(pipeline_lab, out, "--upgrade-to", TO, env=planted.ENVIRONMENT), out


def test_no_planted_secret_reaches_any_byte_under_the_out_dir(pipeline_lab, whole_run,
                                                             planted_secrets):
    """Preflight, migrate and the rest of the pipeline ran with the secrets in place (the
    migration's `before` state holds the planted config, redacted); no file under --out (JUnit,
    journals, configs, Ansible's artifacts and events, report.html) holds any of them."""
    _, out = whole_run
    for node in pipeline_lab.node_names:
        before = artifacts.phase_dir(out, node, "migrate") / "before" / "etc_containerd_config.toml"
        assert '"planted.invalid:5000".auth]' in before.read_text(), node
    assert planted.hits(out, planted_secrets) == []


def test_the_whole_pipeline_passes_and_upgrades_past_dockershim(pipeline_lab, whole_run):
    done, out = whole_run
    assert done.returncode == EXIT_OK, done.stdout[-4000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "REGRESSION" not in done.stdout
    page = out / "report.html"
    assert page.is_file() and all(f'data-node="{name}"' in page.read_text()
                                  for name in pipeline_lab.node_names), page


def test_every_phase_ran_on_every_node_in_order(pipeline_lab, whole_run):
    done, out = whole_run
    rows = outcomes(out)
    for node in pipeline_lab.node_names:
        for phase in ("preflight", "migrate", "verify", "suite cri", "suite oci"):
            assert rows[(node, "pipeline", phase)] == "passed", (node, phase)
    for phase in ("smoke-before", "smoke-after", "upgrade", "smoke-upgraded"):
        assert rows[("cluster", "pipeline", phase)] == "passed", phase
    started = [done.stderr.index(f"] {phase} ...") for phase in (
        "smoke-before", "preflight", "migrate", "verify", "suite cri", "smoke-after", "upgrade",
        "smoke-upgraded")]
    assert started == sorted(started)


def test_each_node_has_its_own_junit_per_phase_and_suite(pipeline_lab, whole_run):
    _, out = whole_run
    rows = outcomes(out)
    for node in pipeline_lab.node_names:
        for suite in ("pipeline", "preflight", "migrate", "verify", "cri", "oci", "smoke-before",
                      "smoke-after", "smoke-upgraded", "upgrade"):
            assert junit.junit_path(out / "junit", node, suite).is_file(), \
                (node, suite)
        smoke_after = [r for (n, s, _), r in rows.items() if n == node and s == "smoke-after"]
        assert len(smoke_after) > 10 and set(smoke_after) == {"passed"}
        assert rows[(node, "smoke-after regressions",
                     "no regressions from smoke-before to smoke-after")] == "passed"


def test_the_run_writes_preflights_findings_as_harness_preflight_does(pipeline_lab, whole_run):
    """preflight.json per node, with findings and the settings the migration would write; the
    planted registry password in it is redacted (test_no_planted_secret_...)."""
    _, out = whole_run
    found = json.loads((out / "preflight.json").read_text())
    assert set(found) == set(pipeline_lab.node_names)
    for name, entry in found.items():
        assert entry["passed"] and entry["settings"]["endpoint"].startswith("unix://"), name
        assert all({"id", "severity", "message"} <= set(f) for f in entry["findings"]), name


def test_each_node_has_its_journals_configs_and_images_as_artifacts(pipeline_lab, whole_run):
    _, out = whole_run
    for node in pipeline_lab.node_names:
        for phase in ("preflight", "migrate", "verify", "cri", "oci", "smoke-after", "upgrade"):
            journal = artifacts.phase_dir(out, node, phase) / "journal-kubelet.log"
            assert journal.is_file(), (node, phase)
        migrate = artifacts.phase_dir(out, node, "migrate")
        assert "+++ after/etc/containerd/config.toml" in (migrate / artifacts.DIFF).read_text()
        assert "harness.local/busybox" in (migrate / "before" / "images.txt").read_text()
        assert "harness.local/busybox" in (migrate / "after" / "images.txt").read_text()
        assert (migrate / "after" / "crictl-info.json").read_text().startswith("{")
    assert 'id="artifacts"' in (out / "report.html").read_text()


def test_the_nodes_end_on_containerd_and_the_target_version(pipeline_lab, whole_run):
    nodes = client.CoreV1Api(pipeline_lab.api).list_node().items
    assert {n.metadata.name for n in nodes} == set(pipeline_lab.node_names)
    for node in nodes:
        info = node.status.node_info
        assert re.fullmatch(r"containerd://1\.\d+\.\d+\S*", info.container_runtime_version)
        assert info.kubelet_version == f"v{TO}"
    assert versions(pipeline_lab)[0] == f"v{TO}"


def test_fixture_images_the_cri_suite_imported_are_removed_and_the_nodes_own_stay(
        pipeline_lab, whole_run):
    """The CRI suite imports the images it runs into each node's containerd; afterwards those
    are gone, while the images the migration copied from Docker (the node's own) stay."""
    from harness import images
    from harness.cri.suite_images import SUITE_IMAGES
    from harness.lab.docker_node import FIXTURE_IMAGES

    for node in pipeline_lab.inventory.nodes:
        with open_transport(node) as t:
            refs = set(t.run("ctr -n k8s.io images ls -q", check=True).stdout.split())
        assert {images.build(name).ref for name in FIXTURE_IMAGES} <= refs, node.name
        imported = {images.build(name).ref for name in SUITE_IMAGES} - {
            images.build(name).ref for name in FIXTURE_IMAGES}
        assert not imported & refs, (node.name, sorted(imported & refs))


def test_the_tls_pull_trusts_the_ca_the_migration_carried_over_from_docker(
        pipeline_lab, whole_run, tmp_path):
    """The lab hands each node's Docker its registry CA in /etc/docker/certs.d; after the
    migration containerd trusts it through hosts.toml, so the run's TLS pull passed on every
    node. Without the carried-over hosts.toml the same test fails: the gate can go red."""
    _, out = whole_run
    for name in pipeline_lab.node_names:
        assert outcomes(out)[(name, "cri", "test_pull_from_tls_registry_with_ca")] == "passed"
    node = pipeline_lab.inventory.node(pipeline_lab.node_names[0])
    with LabProvider(pipeline_lab.name).tls_registry() as tls, open_transport(node) as t:
        certs = f"/etc/containerd/certs.d/{tls.host}"
        hosts = t.run(f"cat {certs}/hosts.toml", check=True).stdout
        assert [h.get("ca") for h in tomllib.loads(hosts)["host"].values()] == \
            [[f"{certs}/ca.crt"]], hosts
        t.run(f"mv {certs} /root/carried-ca", check=True)
        try:
            done = harness_cli("conformance", "--inventory", str(pipeline_lab.inventory_path),
                               "--node", node.name, "--junit-dir", str(tmp_path), "--", "-k",
                               "test_pull_from_tls_registry_with_ca", "--tls-registry", tls.host,
                               "--tls-registry-ca", tls.ca_on_node)
        finally:
            t.run(f"mv /root/carried-ca {certs}", check=True)
    rows = {case.name: outcome(case) for suite in junit.read(
        junit.junit_path(tmp_path, node.name, "cri")) for case in suite}
    assert rows == {"test_pull_from_tls_registry_with_ca": "failed"}, done.stdout[-2000:]


def test_an_inventory_run_serves_its_own_registries_on_the_nodes_loopback(
        pipeline_lab, whole_run, tmp_path):
    """Through an inventory (no lab bridge to lean on) the pull tests' registries are served
    from here on each node's own 127.0.0.1, forwarded over SSH: the TLS pull passes on the
    node's containerd with the CA trusted for that registry only, a pull with the smoke
    registry's credentials passes and one without them is refused, and afterwards nothing of
    either registry is left on the node."""
    from harness import images
    from harness.images import load
    from harness.providers.inventory import InventoryProvider

    node = pipeline_lab.inventory.node(pipeline_lab.node_names[0])
    done = harness_cli("conformance", "--inventory", str(pipeline_lab.inventory_path),
                       "--node", node.name, "--junit-dir", str(tmp_path), "--", "-k",
                       "test_pull_from_tls_registry_with_ca")
    rows = {case.name: outcome(case) for suite in junit.read(
        junit.junit_path(tmp_path, node.name, "cri")) for case in suite}
    assert rows == {"test_pull_from_tls_registry_with_ca": "passed"}, done.stdout[-2000:]
    provider = InventoryProvider(pipeline_lab.inventory_path)
    with provider.smoke_registry() as registry, \
            open_transport(node) as t:
        ref = load.into_registry(f"http://{registry.address}", images.build("busybox"),
                                 auth=(registry.user, registry.password))[0]
        refused = t.run(["crictl", "pull", ref], timeout=120)
        pulled = t.run(["crictl", "pull", "--creds", f"{registry.user}:{registry.password}",
                        ref], timeout=120, sensitive=True)
        # only this name: crictl rmi would remove the image by ID, and with it the node's own
        # harness.local tag of the same busybox, which verify checks later
        t.run(["ctr", "-n", "k8s.io", "images", "rm", ref], timeout=60)
    assert not refused.ok and "401" in refused.stderr, refused.stderr
    assert pulled.ok, pulled.stderr
    with open_transport(node) as t:
        left = t.run("ls -d /run/harness/registry-ca/* /etc/docker/certs.d/127.0.0.1:* "
                     "/etc/containerd/certs.d/127.0.0.1:*")
    assert left.stdout == "", left.stdout


def test_the_restart_check_restarts_the_nodes_own_containerd_only_when_cordoned(
        pipeline_lab, whole_run, tmp_path):
    """`conformance --inventory --allow-runtime-restart` runs the restart check on the node
    (staged), so it restarts the node's containerd, not this machine's; with --live-node (no
    drain by the harness), on a node whose kubelet runs it is refused until the node is
    cordoned."""
    node = pipeline_lab.inventory.node(pipeline_lab.node_names[0])
    core = client.CoreV1Api(pipeline_lab.api)

    def conformance(out):
        return harness_cli("conformance", "--inventory", str(pipeline_lab.inventory_path),
                           "--node", node.name, "--junit-dir", str(out),
                           "--allow-runtime-restart", "--live-node", "--", "-k",
                           "test_restart_keeps_sandboxes_and_containers")

    def containerd_pid() -> str:
        with open_transport(node) as t:
            return t.run("systemctl show -p MainPID --value containerd", check=True).stdout
    refused = conformance(tmp_path / "refused")
    assert refused.returncode == EXIT_FAILURES, refused.stdout + refused.stderr
    assert "is not cordoned" in refused.stderr
    before = containerd_pid()
    core.patch_node(node.name, {"spec": {"unschedulable": True}})
    try:
        done = conformance(tmp_path / "cordoned")
    finally:
        core.patch_node(node.name, {"spec": {"unschedulable": False}})
        wait_ready(pipeline_lab, node.name)  # its kubelet re-lists after the restart
    assert done.returncode == EXIT_OK, done.stdout + done.stderr[-3000:]
    rows = {case.name: outcome(case) for suite in junit.read(
        junit.junit_path(tmp_path / "cordoned", node.name, "cri")) for case in suite}
    assert rows == {"test_restart_keeps_sandboxes_and_containers": "passed"}
    assert containerd_pid() != before


def test_a_broken_containerd_after_the_migration_fails_the_run_naming_node_phase_and_tests(
        pipeline_lab, whole_run, tmp_path):
    """One node's containerd loses its CNI configuration: the run goes red, and its failing-test
    table names that node, the phase (verify or the CRI suite) and the tests; the other node
    stays green."""
    healthy, broken = pipeline_lab.node_names
    with open_transport(pipeline_lab.inventory.node(broken)) as t:
        t.run("cp /etc/containerd/config.toml /root/config.toml.good && "
              "sed -i 's#conf_dir = .*#conf_dir = \"/nonexistent/cni\"#' "
              "/etc/containerd/config.toml && systemctl restart containerd", check=True,
              timeout=120)
        try:
            done = run(pipeline_lab, tmp_path, "--phases", "verify,cri")
        finally:
            t.run("mv /root/config.toml.good /etc/containerd/config.toml && "
                  "systemctl restart containerd", timeout=120)
            wait_ready(pipeline_lab, broken)  # the lab goes on to tests/upgrade healthy
    assert done.returncode == EXIT_FAILURES, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if "FAILING TEST" in line)
    table = [line.split() for line in lines[header + 1:] if line.startswith((broken, healthy))]
    named = {(row[0], row[1]) for row in table}
    assert named and {node for node, _ in named} == {broken}, done.stdout
    # the failing tests' own suites, and the pipeline's row of the phase that failed there
    assert {phase for _, phase in named} <= {"verify", "cri", "pipeline"}, named
    assert outcomes(tmp_path)[(healthy, "cri", "test_status_network_ready")] == "passed"
