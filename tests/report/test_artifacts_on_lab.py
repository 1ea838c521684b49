"""Artifacts and redaction on a real node: a 1-node lab ("ha15", no cluster: the node's own
systemd, journald, Docker and containerd are what is collected), reached over SSH as the
pipeline reaches it.

Secrets are planted where a run meets them: a bearer token in a kubelet journal line (a unit
named kubelet, run by the node's systemd), a PEM key and a registry password in containerd's
config.toml, a kubeconfig's credentials in a step's output, a registry password among
ansible-runner's extra vars (a real playbook run). Then the writers run — the collection, the
playbook runner, JUnit, the merged file and report.html, and `harness report DIR` again — and
no file under the out dir may hold any of them.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from dashboards import gitlab_rows, schema_errors
from labs import plain_lab
from report_page import read_page

from harness import crictl, junit, pipeline
from harness.errors import StepFailed
from harness.migration import runner
from harness.nodes import artifacts
from harness.transport import open_transport

pytestmark = [pytest.mark.slow, pytest.mark.root]

LAB = "ha15"
TOKEN = "hunter2-bearer-0123456789abcdef"
PEM_BODY = "MHcCAQEEIPlantedPrivateKeyBodyForTheRedactionTest0123456789"
PASSWORD = "Pl4nted-Registry-Passw0rd"
CLIENT_KEY = "LS0tLS1QbGFudGVkQ2xpZW50S2V5RGF0YQ=="
SECRETS = (TOKEN, PEM_BODY, PASSWORD, CLIENT_KEY)

CONFIG_BEFORE = f"""# containerd as Debian ships it, plus a key someone left in a comment
# -----BEGIN EC PRIVATE KEY-----
# {PEM_BODY}
# -----END EC PRIVATE KEY-----
version = 2
"""
CONFIG_AFTER = f"""version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "harness.local/pause:3.9"
[plugins."io.containerd.grpc.v1.cri".registry.configs."10.251.0.1:5000".auth]
  username = "smoke"
  password = "{PASSWORD}"
"""
KUBECONFIG = f"""users:
- name: kubelet
  user:
    client-key-data: {CLIENT_KEY}
    token: {TOKEN}
"""


def run_on(node, command: str) -> str:
    with open_transport(node) as transport:
        result = transport.run(["sh", "-c", command], timeout=120)
    assert result.exit_code == 0, (command, result.stderr)
    return result.stdout


def write_on(node, path: str, text: str) -> None:
    run_on(node, f"mkdir -p {shlex.quote(str(Path(path).parent))} && "
                 f"printf %s {shlex.quote(text)} > {shlex.quote(path)}")


@pytest.fixture(scope="module")
def lab():
    with plain_lab(LAB, 1) as inventory:
        yield inventory


@pytest.fixture(scope="module")
def out(lab, tmp_path_factory) -> Path:
    """A run's out dir after a migration-shaped sequence on the node, every writer used."""
    out = tmp_path_factory.mktemp("artifacts") / "out"
    node = lab.nodes[0]
    write_on(node, "/etc/containerd/config.toml", CONFIG_BEFORE)
    gate = pipeline.Gate(lab, out / "junit", ("migrate", "verify"),
                         artifacts_dir=out)

    def migrate(nodes):
        # what the playbook changes, written for real on the node, between the two states
        artifacts.state([node], out, "before")
        write_on(node, "/etc/containerd/config.toml", CONFIG_AFTER)
        write_on(node, "/etc/crictl.yaml",
                 crictl.crictl_yaml("unix:///run/containerd/containerd.sock"))
        with open_transport(node) as transport:
            transport.put(crictl.build(), "/usr/local/bin/crictl", mode=0o755)
        run_on(node, "systemctl restart containerd")
        artifacts.state([node], out, "after")
        artifacts.config_diff([node], out)
        return pipeline.PhaseResult(frozenset(nodes))

    def verify(nodes):
        # a kubelet that logs its bearer token, as kubelet -v=8 does its API requests
        run_on(node, "systemd-run --unit=kubelet --wait --quiet sh -c "
                     + shlex.quote(f'echo "I1201 round_trippers.go:466] curl -v -XGET -H '
                                   f'\\"Authorization: Bearer {TOKEN}\\" '
                                   f'https://10.251.0.1:6443/api/v1/nodes/{node.name}"'))
        run_ = runner.run(runner.RunSpec("verify", lab, out,
                                         extravars={"registry_password": PASSWORD}),
                          say=lambda *_: None)
        runner.write_junit(run_, out / "junit", {node.name: node.host})
        steps = junit.StepRecorder(node.name, "verify", node.host)
        with pytest.raises(StepFailed), steps.step("kubelet talks to the API server"):
            raise StepFailed(f"401 from the API server with this kubeconfig:\n{KUBECONFIG}")
        steps.write(out / "junit")
        return pipeline.PhaseResult(frozenset())

    gate.run("migrate", migrate)
    gate.run("verify", verify)
    gate.write()
    pipeline.report(out / "junit", out / "junit.xml")
    return out


def test_journals_of_each_phase_are_kept(out, lab):
    node = lab.nodes[0]
    phase = artifacts.phase_dir(out, node.name, "verify")
    assert sorted(p.name for p in phase.iterdir()) == [
        "journal-containerd.log", "journal-docker.log", "journal-kubelet.log"]
    kubelet = (phase / "journal-kubelet.log").read_text()
    assert "sh[" in kubelet  # the line the unit wrote, not only systemd's
    assert "round_trippers.go:466" in kubelet and "Authorization: Bearer REDACTED" in kubelet
    containerd = (artifacts.phase_dir(out, node.name, "migrate") /
                  "journal-containerd.log").read_text()
    assert "containerd" in containerd and "-- No entries --" not in containerd  # its restart


def test_configs_images_and_crictl_info_before_and_after(out, lab):
    migrate = artifacts.phase_dir(out, lab.nodes[0].name, "migrate")
    before, after = migrate / "before", migrate / "after"
    assert "harness.local/busybox" in (before / "images.txt").read_text()  # docker images
    assert "IMAGE" in (after / "images.txt").read_text()  # crictl images' header
    assert '"config"' in (after / "crictl-info.json").read_text()  # crictl info answered
    assert (before / "etc_crictl.yaml").read_text() == artifacts.ABSENT
    diff = (migrate / artifacts.DIFF).read_text()
    assert "--- before/etc/containerd/config.toml" in diff
    assert "+  sandbox_image = \"harness.local/pause:3.9\"" in diff
    assert "+++ after/etc/crictl.yaml" in diff
    assert 'password = "REDACTED"' in diff
    assert "-# -----BEGIN EC PRIVATE KEY-----\n-# REDACTED\n-# -----END" in diff  # still a diff


def test_no_secret_is_written_anywhere_under_the_out_dir(out):
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any("ansible" in p.parts for p in files)  # ansible-runner's own files are there too
    for path in files:
        content = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in content, (path, secret)


def test_report_links_each_nodes_artifacts_and_a_failure_to_its_phases(out, lab):
    page = read_page(out / "report.html")
    hrefs = [a["href"] for tag, a in page.tags if tag == "a" and "artifacts/" in a.get("href", "")]
    ident = junit.identity(lab.nodes[0].name)
    assert f"artifacts/{ident}/migrate/config.diff" in hrefs
    assert f"artifacts/{ident}/verify/journal-kubelet.log" in hrefs
    for href in hrefs:
        assert (out / href).is_file(), href
    failure_links = [a["href"] for tag, a in page.tags if tag == "a" and
                     "artifact" in a.get("class", "")]
    assert f"artifacts/{ident}/verify/journal-kubelet.log" in failure_links
    page_text = (out / "report.html").read_text()
    assert page_text.index("<td>migrate</td>") < page_text.index("<td>verify</td>")  # run order


def test_a_failure_hands_its_artifacts_to_the_dashboards(out, lab):
    rows = gitlab_rows(out / "junit.xml").rows
    failed = next(r for r in rows if r.name == "kubelet talks to the API server")
    ident = junit.identity(lab.nodes[0].name)
    assert failed.attachment == str(out / "artifacts" / ident / "verify" / "journal-kubelet.log")
    assert Path(failed.attachment).is_file()
    assert "[[ATTACHMENT|" in failed.output and "journal-docker.log" in failed.output
    assert all(r.attachment is None for r in rows if r.status == "success")
    assert schema_errors(out / "junit.xml") == []


def test_harness_report_dir_renders_the_artifacts_again(out, tmp_path):
    attached = (out / "junit.xml").read_text().count("[[ATTACHMENT|")
    assert attached
    (out / "report.html").unlink()
    done = subprocess.run([sys.executable, "-m", "harness", "report", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr  # verify failed
    assert 'id="artifacts"' in (out / "report.html").read_text()
    # the files already name their attachments: none is added twice
    assert (out / "junit.xml").read_text().count("[[ATTACHMENT|") == attached
