"""The migration on a real Kubernetes lab (2 nodes, 1.23.17 on Docker 20.10), in the order an
operator runs it: preflight, plan, migrate (canary first) under a continuously probed
zero-downtime service, verify, a second migrate that changes nothing, and a rollback of one
node (the conformance suites on migrated nodes run in tests/pipeline, as part of the whole
pipeline). The tests share one lab and run in file order."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib

import pytest
import yaml
from junitparser import JUnitXml
from kubernetes import client

from harness.migration import runner
from harness.transport import open_transport

from . import workload

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(2400)]

WATCHED_FILES = ("/var/lib/kubelet/kubeadm-flags.env", "/var/lib/kubelet/config.yaml",
                 "/etc/containerd/config.toml", "/etc/containerd/base-runtime-spec.json",
                 "/etc/crictl.yaml")
SNAPSHOT = " ; ".join([
    *(f"echo {f} $(sha256sum {f} 2>/dev/null | cut -c1-64 || echo absent)" for f in WATCHED_FILES),
    "for u in docker.service docker.socket kubelet containerd; do "
    "echo $u $(systemctl is-active $u) $(systemctl is-enabled $u); done",
    "ls /etc/containerd/certs.d 2>/dev/null | sed 's/^/certs.d /'",
    "ctr -n k8s.io images ls -q | sort | sed 's/^/k8s.io /'",
    "ls /var/lib/harness/migration 2>/dev/null | sed 's/^/state /'",
])


def snapshot(node) -> list[str]:
    """What the migration may change on a node, as comparable lines."""
    with open_transport(node) as t:
        return t.run(SNAPSHOT, timeout=60, check=True).stdout.splitlines()


def docker_image_ids(node) -> dict[str, str]:
    with open_transport(node) as t:
        out = t.run("docker images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}'",
                    timeout=60, check=True).stdout
    return dict(line.split() for line in out.splitlines() if "<none>" not in line)


def cri_image_ids(node) -> dict[str, str]:
    with open_transport(node) as t:
        images = json.loads(t.run("crictl images -o json", timeout=60, check=True).stdout)
    return {tag: image["id"] for image in images["images"] for tag in image["repoTags"]}


def runtimes(api) -> dict[str, str]:
    return {n.metadata.name: n.status.node_info.container_runtime_version
            for n in client.CoreV1Api(api).list_node().items}


# Two extra runtimes in every node's daemon.json, besides the lab's own default where it has
# one (the oom-clamp wrapper): crun, and runc under another name with its own state root. Each
# RuntimeClass names one handler; `dockershim` names the one dockershim ran. And an open-files
# limit for every container, unlike both containerd's and dockerd's own.
EXTRA_RUNTIMES = {"crun": {"path": "/usr/bin/crun"},
                  "runc-alt": {"path": "/usr/sbin/runc",
                               "runtimeArgs": ["--root", "/run/runc-alt"]}}
RUNTIME_CLASSES = {"crun": "crun", "runc-alt": "runc-alt", "dockershim": "docker"}
ULIMITS = {"nofile": {"Name": "nofile", "Soft": 4096, "Hard": 8192}}
OPEN_FILES = re.compile(r"^Max open files\s+(\d+)\s+(\d+)", re.M)


def dress_with_runtimes(api, node) -> None:
    """Add EXTRA_RUNTIMES and ULIMITS to the node's daemon.json and restart Docker, as a
    fleet's GPU or sandboxed nodes have theirs; give the node's own containerd config (Debian's,
    version 2) the CRI switched off, as docker-ce's is, and a setting of its own."""
    with open_transport(node) as t:
        t.run("sed -i '1i disabled_plugins = [\"io.containerd.grpc.v1.cri\"]' "
              "/etc/containerd/config.toml && "
              "printf '[debug]\\n  level = \"warn\"\\n' >> /etc/containerd/config.toml && "
              "systemctl restart containerd", timeout=120, check=True)
        config = json.loads(t.run("cat /etc/docker/daemon.json", check=True).stdout)
        config["runtimes"] = {**config.get("runtimes", {}), **EXTRA_RUNTIMES}
        config["default-ulimits"] = ULIMITS
        t.run("cat > /etc/docker/daemon.json && systemctl restart docker",
              input=json.dumps(config, indent=2), timeout=120, check=True)
    wait_node_ready(api, node.name)


def runtime_class_deployment(api, runtime_class: str, node: str) -> str:
    """A one-pod Deployment of `runtime_class` held to `node`; returns its name."""
    name = f"rc-{runtime_class}"
    labels = {"app": name}
    client.AppsV1Api(api).create_namespaced_deployment("default", {
        "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"runtimeClassName": runtime_class, "terminationGracePeriodSeconds": 0,
                     "nodeSelector": {"kubernetes.io/hostname": node},
                     "containers": [{"name": "c", "image": "harness.local/busybox:1.0",
                                     "imagePullPolicy": "Never",
                                     "command": ["sleep", "3600"]}]}}}})
    return name


@pytest.fixture(scope="module")
def before(migration_lab):
    """Each node as the lab made it, dressed with EXTRA_RUNTIMES, before anything below runs;
    the RuntimeClasses made, and a pod of the dockershim one running on the first node."""
    for node in migration_lab.inventory.nodes:
        dress_with_runtimes(migration_lab.api, node)
    node_api = client.NodeV1Api(migration_lab.api)
    for name, handler in RUNTIME_CLASSES.items():
        node_api.create_runtime_class({"metadata": {"name": name}, "handler": handler})
    workload_ready(migration_lab.api, runtime_class_deployment(
        migration_lab.api, "dockershim", migration_lab.node_names[0]))
    with open_transport(migration_lab.inventory.nodes[0]) as t:
        limits = t.run("docker exec $(docker ps -q --filter label=io.kubernetes.container.name=c)"
                       " cat /proc/1/limits", timeout=60, check=True).stdout
    return {"open_files": OPEN_FILES.search(limits).groups(),
            **{n.name: {"snapshot": snapshot(n), "docker_images": docker_image_ids(n)}
               for n in migration_lab.inventory.nodes}}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return tmp_path_factory.mktemp("migration-reports")


def cli_args(lab, out, *more: str) -> list[str]:
    return ["-i", str(lab.inventory_path), "--out", str(out), *more]


def test_preflight_prints_findings_and_writes_them_as_json(migration_lab, before, harness_cli,
                                                           reports):
    """Preflight passes on the lab's Docker nodes and reports where each daemon.json setting
    goes; its findings are machine-readable JSON per node."""
    done = harness_cli("preflight", *cli_args(migration_lab, reports / "preflight"))
    assert done.returncode == 0, done.stdout + done.stderr
    findings = json.loads((reports / "preflight" / "preflight.json").read_text())
    assert sorted(findings) == migration_lab.node_names
    for node, entry in findings.items():
        ids = {f["id"]: f for f in entry["findings"]}
        assert entry["passed"], (node, entry["findings"])
        assert {"daemon-json:registry-mirrors", "daemon-json:insecure-registries",
                "daemon-json:log-opts", "runtime:runc", "runtime:crun", "runtime:runc-alt",
                "runtime:docker"} <= set(ids), ids
        assert "handler runc-alt (io.containerd.runc.v2, binary /usr/sbin/runc, Root " \
            "/run/runc-alt)" in ids["runtime:runc-alt"]["message"]
        assert entry["settings"]["rlimits"] == [
            {"type": "RLIMIT_NOFILE", "hard": 8192, "soft": 4096}]
        assert ids["daemon-json:default-ulimits"]["severity"] == "info"
        assert ids["containerd-config-kept"]["severity"] == "info"
        changed = [f["message"] for f in entry["findings"]
                   if f["id"] == "containerd-config-changed"]
        assert "disabled_plugins: ['io.containerd.grpc.v1.cri'] becomes []" in changed, changed
        carried = {h["name"] for h in entry["settings"]["runtimes"]}
        assert carried >= set(RUNTIME_CLASSES.values()), carried
        assert entry["facts"]["kubelet"]["runtime"] == "dockershim"
        assert "1.0.0" in entry["facts"]["cni"]["protocols"]  # what containerd 1.6 needs
        assert "containerd 1.6.20" in ids["versions"]["message"]
        assert entry["settings"]["container_log_max_size"] == "10Mi"
        assert entry["node"]["runtime_version"].startswith("docker://")
    assert "daemon-json:log-opts" in done.stdout


def test_plan_shows_every_change_and_changes_nothing(migration_lab, before, harness_cli,
                                                     reports):
    """`migrate --plan` prints the containerd config and kubelet flags as diffs, the images
    staging would copy with their sizes and the disk they need, and leaves every node exactly
    as it was."""
    done = harness_cli("migrate", "--plan", *cli_args(migration_lab, reports / "plan"))
    assert_plan(done, migration_lab, before)
    for node in migration_lab.node_names:
        assert re.search(r"image harness\.local/web:1\.0 \([\d.]+ MiB\) would be staged before "
                         r"the drain into containerd", plan_section(done, node))


def test_the_harness_installed_from_its_wheel_plans_copying_only_images_in_use(
        migration_lab, before, installed_wheel, reports, tmp_path):
    """Outside the checkout (issue 26) its playbooks come from the package data. With
    `--images in-use` one pod runs on the lab's first node (the dockershim RuntimeClass's,
    busybox): the plan would copy the sandbox image and, on that node, busybox."""
    done = subprocess.run([installed_wheel / "harness", "migrate", "--plan", "--images", "in-use",
                           *cli_args(migration_lab, reports / "plan-wheel")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=1200)
    assert_plan(done, migration_lab, before)
    copied = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("image ")]
    assert sorted(copied) == ["harness.local/busybox:1.0", *["harness.local/pause:3.9"] * 2]


def plan_section(done, node: str) -> str:
    return done.stdout.split(f"=== {node}:")[1].split("===")[0]


def assert_plan(done, lab, before) -> None:
    assert done.returncode == 0, done.stdout + done.stderr
    for node in lab.inventory.nodes:
        section = plan_section(done, node.name)
        assert "+++ /etc/containerd/config.toml (after)" in section
        assert '+sandbox_image = "harness.local/pause:3.9"' in section
        assert "+KUBELET_KUBEADM_ARGS=" in section and "--container-runtime=remote" in section
        assert re.search(r"disk: [\d.]+ MiB needed on the filesystem of /var/lib/containerd/io"
                         r"\.containerd\.content\.v1\.content, .* free: fits", section)
        assert snapshot(node) == before[node.name]["snapshot"]
    assert all(v.startswith("docker://") for v in runtimes(lab.api).values())


def test_migrate_moves_every_node_canary_first_with_zero_failed_probes(
        migration_lab, before, harness_cli, reports):
    """Both nodes end on containerd, the canary (first node) finished before the second node
    started, and a PDB-protected service probed through every node's NodePort never failed."""
    workload.deploy(migration_lab.api)
    addresses = [n.host for n in migration_lab.inventory.nodes]
    with workload.Prober(addresses) as prober:
        done = harness_cli("migrate", *cli_args(migration_lab, reports / "migrate"))
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
    assert all(v.startswith("containerd://") for v in runtimes(migration_lab.api).values())
    assert prober.ok > 50
    assert prober.failures == [], prober.failures[:20]
    first, second = migration_lab.node_names
    lines = done.stderr.splitlines()
    last_first = max(i for i, line in enumerate(lines) if line.startswith(f"[{first}]"))
    first_second = min(i for i, line in enumerate(lines) if line.startswith(f"[{second}]")
                       and "Cordon and drain" in line)
    assert last_first < first_second, "the second node started before the canary finished"


# Tasks a first migration of a lab node skips, and why: the node is not on containerd yet,
# preflight blocks nothing, Docker has no proxy and no registry CA (/etc/docker/certs.d; the
# pipeline's lab test has one) configured, and crictl comes from the harness.
MIGRATE_SKIPS = {
    "Leave a node that is already on containerd as it is",
    "End the play for a node already on containerd",
    "Refuse a node that preflight blocks",
    "Create containerd's drop-in directory",
    "Write the proxy drop-in",
    "Check that the node has crictl",
    "Refuse to go on without crictl",
    "Install the containerd built by the harness",  # only with --containerd
    "Create the migration's directory for the build's ctr",  # the same
    "Copy the build's ctr there",  # the same
    "Stop Docker before another containerd replaces the one it runs on",  # the same
    "Copy Docker's registry CAs and client certificates (/etc/docker/certs.d)",
    "Start no further batch after Ctrl-C",  # once per batch, until an operator presses it
    "Stop and disable cri-dockerd, the kubelet's way to Docker past 1.24",  # dockershim here
    "Name containerd in the KubeletConfiguration (kubelet 1.27 and later)",  # 1.23 here
    "Name containerd in kubeadm's instance-config.yaml (NodeLocalCRISocket)",  # no kubeadm
    # a kubeadm control-plane node's etcd; these are workers
    "Read etcd's members and revision before the switch",
    "Back up etcd's data directory",
    "Check that etcd is healthy with the same members and data",
}


def test_migrate_writes_one_junit_row_per_task_per_node(migration_lab, reports):
    """JUnit: one suite per node for the migrate phase, one passing testcase per task."""
    for node in migration_lab.node_names:
        xml = JUnitXml.fromfile(str(reports / "migrate" / "junit" /
                                    f"junit-{node}-migrate.xml"))
        cases = {case.name: case for suite in xml for case in suite}
        assert "Copy Docker's images into containerd's k8s.io namespace" in cases
        assert "Wait until the node is Ready on containerd" in cases
        skipped = {name for name, case in cases.items() if case.is_skipped}
        assert skipped == MIGRATE_SKIPS
        assert all(case.is_passed for name, case in cases.items() if name not in skipped)


def test_the_report_keeps_each_nodes_carry_over(migration_lab, harness_cli, reports):
    """`harness report` over the migration's output: per node, every daemon.json key and
    kubelet flag found, with what became of it."""
    done = harness_cli("report", str(reports / "migrate"))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    for node in migration_lab.node_names:
        runbook = (reports / "migrate" / "carry-over" / f"{node}.md").read_text()
        assert "| /etc/docker/daemon.json | `runtimes.crun` | translated | containerd runtime " \
            "handler crun (io.containerd.runc.v2) |" in runbook
        assert "| kubelet | `--network-plugin` | dropped |" in runbook
        assert f'href="carry-over/{node}.md"' in (reports / "migrate" / "report.html").read_text()


def test_every_docker_image_is_in_containerd_with_the_same_id(migration_lab, before):
    """Every tagged Docker image is listed by CRI under the same tag with Docker's image ID."""
    for node in migration_lab.inventory.nodes:
        docker = before[node.name]["docker_images"]
        cri = cri_image_ids(node)
        assert docker, "the lab node had no Docker images"
        assert {ref: cri.get(ref) for ref in docker} == docker


def test_verify_passes_on_migrated_nodes(migration_lab, harness_cli, reports):
    done = harness_cli("verify", *cli_args(migration_lab, reports / "verify"))
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]


def test_each_runtime_class_runs_on_containerd_under_its_docker_runtimes_name(migration_lab,
                                                                           before):
    """CRI RunPodSandboxRequest.runtime_handler: the RuntimeClass pods run on containerd under
    the handler named like the daemon.json runtime, with its binary and runtimeArgs as runc
    options (`--root` as Root); the dockershim one under `docker`, kept through the move. Each
    container has the open-files limit Docker gave its containers (default-ulimits)."""
    second = migration_lab.node_names[1]
    for runtime_class in ("crun", "runc-alt"):
        workload_ready(migration_lab.api,
                       runtime_class_deployment(migration_lab.api, runtime_class, second))
    workload_ready(migration_lab.api, "rc-dockershim")
    core = client.CoreV1Api(migration_lab.api)
    sandboxes = {}
    for runtime_class in RUNTIME_CLASSES:
        pod = core.list_namespaced_pod("default",
                                       label_selector=f"app=rc-{runtime_class}").items[0]
        node = next(n for n in migration_lab.inventory.nodes if n.name == pod.spec.node_name)
        with open_transport(node) as t:
            sandboxes[runtime_class] = json.loads(t.run(
                f"crictl inspectp $(crictl pods --name '^{pod.metadata.name}$' -q)",
                timeout=60, check=True).stdout)["info"]
            limits = t.run(f"crictl exec $(crictl ps -q --pod $(crictl pods --name "
                           f"'^{pod.metadata.name}$' -q)) cat /proc/1/limits", timeout=60,
                           check=True).stdout
        assert OPEN_FILES.search(limits).groups() == before["open_files"] == ("4096", "8192")
    assert {rc: info["runtimeHandler"] for rc, info in sandboxes.items()} == RUNTIME_CLASSES
    assert sandboxes["crun"]["runtimeOptions"]["binary_name"] == "/usr/bin/crun"
    assert sandboxes["runc-alt"]["runtimeOptions"]["binary_name"] == "/usr/sbin/runc"
    assert sandboxes["runc-alt"]["runtimeOptions"]["root"] == "/run/runc-alt"


def test_the_nodes_own_containerd_settings_are_kept_beneath_the_migrations(migration_lab):
    """The node's own config.toml (version 2, as the migration writes) keeps its debug level;
    the CRI it switched off is on."""
    with open_transport(migration_lab.inventory.nodes[1]) as t:
        dumped = tomllib.loads(t.run("containerd config dump", timeout=60, check=True).stdout)
    assert dumped["debug"]["level"] == "warn"
    assert dumped["disabled_plugins"] == []


def test_second_migrate_changes_nothing(migration_lab, reports):
    """Molecule's idempotence check: a second run has zero changed tasks."""
    from harness.crictl import build

    spec = runner.RunSpec("migrate", migration_lab.inventory, reports / "again", (),
                          {"kubeconfig": str(migration_lab.inventory.cluster.kubeconfig),
                           "harness_serial": [1, 1],
                           "crictl_binary": str(build())})
    result = runner.run(spec, say=lambda node, message: None)
    assert result.exit_code == 0, [(t.node, t.task, t.message) for t in result.failed()]
    assert [(t.node, t.task) for t in result.changed()] == []
    assert all(result.result(n, "Leave a node that is already on containerd as it is")
               for n in migration_lab.node_names)


def test_rollback_returns_one_node_to_docker_byte_for_byte(migration_lab, before, harness_cli,
                                                           reports):
    """`rollback --node X`: X is Ready on Docker again with its files as they were; the other
    node stays on containerd; verify then fails for X and says why."""
    first, second = migration_lab.inventory.nodes
    done = harness_cli("rollback", "--node", first.name,
                       *cli_args(migration_lab, reports / "rollback"))
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
    now = runtimes(migration_lab.api)
    assert now[first.name].startswith("docker://") and now[second.name].startswith("containerd")
    after = [line for line in snapshot(first) if not line.startswith(("k8s.io ", "state "))]
    was = [line for line in before[first.name]["snapshot"]
           if not line.startswith(("k8s.io ", "state "))]
    assert after == was
    assert docker_runs_pod_of(first, "rc-dockershim"), "the dockershim RuntimeClass pod"
    done = harness_cli("verify", *cli_args(migration_lab, reports / "verify-after-rollback"))
    assert done.returncode == 1
    assert f"FAILED {first.name}: The Node reports containerd as its runtime" in done.stdout
    assert f"FAILED {second.name}" not in done.stdout


# Every verify check goes red when the real thing it guards is broken, and with it only the
# checks that stand on the same thing. Each: (name, break command, restore command, the failing
# check's task name, the other checks the break may take down too).
HANDLER_SANDBOX = "Start and remove a pod sandbox with each runtime handler carried from Docker"
HANDLERS_START = "Every runtime handler carried from Docker starts a pod"
VERIFY_BREAKS = [
    ("docker-enabled", "systemctl enable --quiet docker.socket docker.service",
     "systemctl disable --quiet docker.socket docker.service", "Docker is stopped and disabled",
     ()),
    ("image-id-mismatch",
     "ctr -n k8s.io images tag --force harness.local/pause:3.9 harness.local/busybox:1.0",
     "ctr -n k8s.io images tag --force sha256:$(cat /tmp/busybox-id) harness.local/busybox:1.0",
     "Every copied image is listed by CRI with the same ID", ()),
    ("crictl-endpoint", "cp /etc/crictl.yaml /tmp/crictl.yaml && sed -i "
     "'s#containerd.sock#nowhere.sock#' /etc/crictl.yaml", "cp /tmp/crictl.yaml /etc/crictl.yaml",
     "List the images CRI sees (crictl with no flags, through /etc/crictl.yaml)",
     ("The crictl command reaches containerd with no flags",)),
    ("no-cni-config", "mv /etc/cni/net.d/10-harness-bridge.conflist /tmp/ && sleep 3",
     "mv /tmp/10-harness-bridge.conflist /etc/cni/net.d/ && sleep 3",
     "The CRI runtime and its network are ready",
     ("The Node is Ready and schedulable", HANDLER_SANDBOX, HANDLERS_START)),
    ("runtime-binary-gone", "mv /usr/bin/crun /usr/bin/crun.away",
     "mv /usr/bin/crun.away /usr/bin/crun", HANDLERS_START, (HANDLER_SANDBOX,)),
    ("docker-container-runs", "systemctl start docker && docker run -d --name hx "
     "harness.local/busybox:1.0 sleep 600",
     "docker rm -f hx && systemctl stop docker.socket docker.service",
     "No Docker-managed container still runs", ("Docker is stopped and disabled",)),
]


def failed_checks(stdout: str, node: str) -> set[str]:
    """The task names of verify's `FAILED <node>: <task>: <message>` lines for `node`."""
    prefix = f"FAILED {node}: "
    return {line.removeprefix(prefix).split(": ", 1)[0] for line in stdout.splitlines()
            if line.startswith(prefix)}


@pytest.mark.parametrize("name,breaks,restores,check,also", VERIFY_BREAKS,
                         ids=[b[0] for b in VERIFY_BREAKS])
def test_verify_goes_red_when_what_it_checks_is_broken(migration_lab, harness_cli, reports,
                                                        name, breaks, restores, check, also):
    """Only the checks the break stands on fail: anything left broken by an earlier break
    would show here as another failed check."""
    node = migration_lab.inventory.nodes[1]  # stays on containerd to the end
    with open_transport(node) as t:
        busybox = cri_image_ids(node)["harness.local/busybox:1.0"].removeprefix("sha256:")
        t.run(f"echo {busybox} > /tmp/busybox-id", check=True)
        t.run(breaks, timeout=60, check=True)
        try:
            done = harness_cli("verify", "--node", node.name,
                               *cli_args(migration_lab, reports / f"red-{name}"))
        finally:
            t.run(restores, timeout=60, check=True)
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    failed = failed_checks(done.stdout, node.name)
    assert check in failed and failed - {check} <= {*also, "Every check passed"}, done.stdout
    wait_node_ready(migration_lab.api, node.name)  # the kubelet reports a repair on its next beat


def test_verify_is_green_again_once_every_break_is_put_back(migration_lab, harness_cli,
                                                            reports):
    done = harness_cli("verify", "--node", migration_lab.node_names[1],
                       *cli_args(migration_lab, reports / "green-after-breaks"))
    assert done.returncode == 0, done.stdout


def test_verify_goes_red_on_a_cordoned_node(migration_lab, harness_cli, reports):
    node = migration_lab.node_names[1]
    core = client.CoreV1Api(migration_lab.api)
    core.patch_node(node, {"spec": {"unschedulable": True}})
    try:
        done = harness_cli("verify", "--node", node, *cli_args(migration_lab, reports / "cordon"))
    finally:
        core.patch_node(node, {"spec": {"unschedulable": False}})
    assert done.returncode == 1
    assert f"FAILED {node}: The Node is Ready and schedulable" in done.stdout, done.stdout


def test_verify_goes_red_on_a_pod_that_cannot_run(migration_lab, harness_cli, reports):
    """A pod whose image is not on the node (pull policy Never) is named by verify."""
    node = migration_lab.node_names[1]
    core = client.CoreV1Api(migration_lab.api)
    core.create_namespaced_pod("default", {
        "metadata": {"name": "no-image"},
        "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0, "containers": [
            {"name": "c", "image": "harness.local/absent:1", "imagePullPolicy": "Never"}]}})
    try:
        done = harness_cli("verify", "--node", node,
                           *cli_args(migration_lab, reports / "pod-down"))
    finally:
        core.delete_namespaced_pod("no-image", "default", grace_period_seconds=0)
    assert done.returncode == 1
    assert f"FAILED {node}: The node's pods are Running" in done.stdout, done.stdout
    assert "default/no-image" in done.stdout


def test_preflight_goes_red_on_a_docker_socket_user_and_a_blocking_budget(
        migration_lab, harness_cli, reports):
    """A pod mounting Docker's socket, protected by a PodDisruptionBudget that allows no
    eviction, on a node back on Docker: preflight names both and fails."""
    node = migration_lab.node_names[0]  # rolled back to Docker above
    labels = {"app": "docker-agent"}
    apps, policy = client.AppsV1Api(migration_lab.api), client.PolicyV1Api(migration_lab.api)
    apps.create_namespaced_deployment("default", {
        "metadata": {"name": "docker-agent"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0,
                     "volumes": [{"name": "sock", "hostPath": {"path": "/var/run/docker.sock"}}],
                     "containers": [{"name": "c", "image": "harness.local/busybox:1.0",
                                     "imagePullPolicy": "Never", "command": ["sleep", "600"],
                                     "volumeMounts": [{"name": "sock",
                                                       "mountPath": "/var/run/docker.sock"}]}]}}}})
    policy.create_namespaced_pod_disruption_budget("default", {
        "metadata": {"name": "docker-agent"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}}})
    try:
        workload_ready(migration_lab.api, "docker-agent")
        done = harness_cli("preflight", "--node", node,
                           *cli_args(migration_lab, reports / "preflight-red"))
    finally:
        apps.delete_namespaced_deployment("docker-agent", "default")
        policy.delete_namespaced_pod_disruption_budget("docker-agent", "default")
    assert done.returncode == 1, done.stdout
    findings = json.loads((reports / "preflight-red" / "preflight.json").read_text())[node]
    ids = {f["id"]: f["message"] for f in findings["findings"]}
    assert "/var/run/docker.sock" in ids["docker-socket-user"]
    assert "default/docker-agent" in ids["drain-blocked"]


def test_preflight_goes_red_on_a_pod_whose_runtime_class_containerd_would_lack(
        migration_lab, harness_cli, reports):
    """A pod bound to a Docker node with a RuntimeClass whose handler no daemon.json runtime
    carries (a GPU runtime never installed): preflight names the RuntimeClass and fails."""
    import time

    node = migration_lab.node_names[0]  # rolled back to Docker above
    node_api, core = client.NodeV1Api(migration_lab.api), client.CoreV1Api(migration_lab.api)
    node_api.create_runtime_class({"metadata": {"name": "gpu"}, "handler": "nvidia"})
    name = runtime_class_deployment(migration_lab.api, "gpu", node)
    try:
        deadline = time.monotonic() + 60
        while not any(p.spec.node_name == node for p in core.list_namespaced_pod(
                "default", label_selector=f"app={name}").items):
            assert time.monotonic() < deadline, "the gpu pod was not bound to the node"
            time.sleep(1)
        done = harness_cli("preflight", "--node", node,
                           *cli_args(migration_lab, reports / "preflight-runtime-class"))
    finally:
        client.AppsV1Api(migration_lab.api).delete_namespaced_deployment(name, "default")
        node_api.delete_runtime_class("gpu")
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    assert f"FAILED {node}: Every RuntimeClass the node's pods use keeps its handler on " \
        f"containerd: {node}: pods use RuntimeClass gpu" in " ".join(done.stdout.split())


def test_a_node_whose_docker_is_down_is_refused_and_nothing_changes(migration_lab, harness_cli,
                                                                   reports):
    """migrate refuses a Docker node whose Docker does not answer (exit 2, one line naming
    the node), before changing anything on it."""
    node = migration_lab.inventory.nodes[0]
    with open_transport(node) as t:
        t.run("systemctl stop docker.socket docker.service", timeout=60, check=True)
        try:
            was = snapshot(node)
            done = harness_cli("migrate", "--node", node.name,
                               *cli_args(migration_lab, reports / "refused"))
            assert snapshot(node) == was
        finally:
            t.run("systemctl start docker.socket docker.service", timeout=60, check=True)
    assert done.returncode == 2, done.stdout + done.stderr[-3000:]
    assert f"FAILED {node.name}: Refuse a node that preflight blocks: {node.name}: Docker does " \
        "not answer" in done.stdout, done.stdout


def docker_runs_pod_of(node, app: str, timeout: float = 180) -> bool:
    """Whether Docker on `node` comes to run a container of a pod labelled app=`app`."""
    import time

    deadline = time.monotonic() + timeout
    with open_transport(node) as t:
        while time.monotonic() < deadline:
            if t.run("docker ps --filter label=io.kubernetes.container.name=c --format "
                     f"'{{{{.Label \"io.kubernetes.pod.name\"}}}}' | grep -q '^{app}-'",
                     timeout=30).ok:
                return True
            time.sleep(2)
    return False


def wait_node_ready(api, name: str, timeout: float = 90) -> None:
    import time

    core = client.CoreV1Api(api)
    deadline = time.monotonic() + timeout
    while not any(c.type == "Ready" and c.status == "True"
                  for c in core.read_node(name).status.conditions):
        assert time.monotonic() < deadline, f"{name} not Ready within {timeout}s"
        time.sleep(1)


def workload_ready(api, name: str, timeout: float = 120) -> None:
    import time

    apps = client.AppsV1Api(api)
    deadline = time.monotonic() + timeout
    while (apps.read_namespaced_deployment(name, "default").status.ready_replicas or 0) < 1:
        assert time.monotonic() < deadline, f"{name} not ready within {timeout}s"
        time.sleep(1)


def test_an_unreachable_node_is_reported_and_the_others_still_checked(migration_lab, harness_cli,
                                                                      reports, tmp_path):
    """A node of the cluster that does not answer SSH (its machine is gone, its Node object
    stays) is an UNREACHABLE row and exit code 3; every other node is still checked."""
    from harness.lab import state

    doc = yaml.safe_load(migration_lab.inventory_path.read_text())
    address = state.load(migration_lab.name).network.node_address(99)  # nothing there
    doc["all"]["children"]["lab"]["children"][f"lab_{migration_lab.name}"]["hosts"]["ghost"] = {
        "ansible_host": address}
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump(doc))
    out = reports / "unreachable"
    core = client.CoreV1Api(migration_lab.api)
    # A Node named like the inventory's host: an inventory name the cluster lacks is bad input
    # (exit 2, before anything runs), not an unreachable node.
    core.create_node({"metadata": {"name": "ghost"}})
    try:
        done = harness_cli("preflight", "-i", str(inventory), "--out", str(out))
    finally:
        core.delete_node("ghost")
    assert done.returncode == 3, done.stdout + done.stderr[-3000:]
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()
            if line.split() and line.split()[0] in ("ghost", *migration_lab.node_names)
            and "preflight" in line.split()}
    assert rows["ghost"][-1] == "1"  # UNREACHABLE
    assert all(rows[n][4] == "0" for n in migration_lab.node_names)  # FAILED
    cases = [c for s in JUnitXml.fromfile(str(out / "junit" / "junit-ghost-preflight.xml"))
             for c in s]
    assert [c.result[0].type for c in cases if c.result] == ["UNREACHABLE"]
