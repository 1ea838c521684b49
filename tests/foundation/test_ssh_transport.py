"""SSHTransport against a real OpenSSH sshd on loopback: commands, files, host-key policy,
connect retries, and the errors a user sees (through the CLI where a user would see them)."""

from __future__ import annotations

import os
import threading
import time

import pytest

from harness import junit
from harness.daemons.process import free_tcp_port
from harness.daemons.sshd import SshServer
from harness.errors import HarnessTimeout, StepFailed, UnreachableError
from harness.transport import AuthenticationError, HostKeyError, SSHTransport
from harness.transport.ssh import PASSPHRASE_ENV

pytestmark = pytest.mark.root


def test_run_returns_stdout_stderr_and_exit_code(transport):
    result = transport.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (result.stdout, result.stderr, result.exit_code) == ("out\n", "err\n", 3)
    assert result.duration > 0


def test_run_quotes_argv_for_the_remote_shell(transport):
    result = transport.run(["printf", "%s|", "two words", "$HOME", "it's"])
    assert result.stdout == "two words|$HOME|it's|"


def test_run_feeds_stdin(transport):
    assert transport.run("tr a-z A-Z", input="hello").stdout == "HELLO"


def test_large_stdin_and_stdout_flow_together(transport):
    """More than both SSH windows (2 MiB each) in and out at once must not stall."""
    data = "0123456789abcdef" * (512 * 1024)  # 8 MiB
    result = transport.run(["cat"], input=data, timeout=60)
    assert result.ok and result.stdout == data


def test_check_raises_step_failed_naming_node_and_command(transport):
    with pytest.raises(StepFailed, match=r"node hf-node: `false` exited with 1"):
        transport.run(["false"], check=True)


def test_command_timeout_raises_harness_timeout(transport):
    start = time.monotonic()
    with pytest.raises(HarnessTimeout, match=r"node hf-node: `sleep 5` did not finish within 0.5s"):
        transport.run(["sleep", "5"], timeout=0.5)
    assert time.monotonic() - start < 3
    assert transport.run(["true"]).ok  # the connection survives a timed-out command


def test_sensitive_command_text_stays_out_of_results_and_errors(transport):
    token = "hf-token-abcdef0123456789"
    result = transport.run(["sh", "-c", f"test {token} = x"], sensitive=True)
    assert token not in repr(result)
    with pytest.raises(StepFailed) as err:
        transport.run(["sh", "-c", f"test {token} = x"], sensitive=True, check=True)
    assert token not in str(err.value)


def test_put_and_get_roundtrip_keeps_bytes_and_mode(transport, tmp_path):
    payload = bytes(range(256)) * 4096  # 1 MiB, every byte value
    (tmp_path / "src").write_bytes(payload)
    remote = tmp_path / "remote-copy"
    transport.put(tmp_path / "src", str(remote), mode=0o640)
    assert remote.stat().st_mode & 0o777 == 0o640
    transport.get(str(remote), tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == payload


def test_get_of_a_missing_file_names_node_and_path(transport, tmp_path):
    with pytest.raises(StepFailed, match=r"node hf-node: cannot copy /nonexistent/hf-x to "):
        transport.get("/nonexistent/hf-x", tmp_path / "x")


def test_host_key_mismatch_is_refused(ssh_server, new_key, tmp_path):
    """An entry for [127.0.0.1]:port with another key: refuse, say where and what to do."""
    other = new_key("hf-other-host").with_suffix(".pub").read_text().split()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{ssh_server.port} {other[0]} {other[1]}\n")
    with pytest.raises(HostKeyError) as err:
        SSHTransport(ssh_server.inventory_node("hf-node"), known_hosts=known_hosts).connect()
    message = str(err.value)
    assert f"host key of [127.0.0.1]:{ssh_server.port}" in message
    assert f"does not match the one in {known_hosts}" in message
    assert "ssh-keygen -R" in message and "\n" not in message


def test_unknown_host_is_refused_without_trust_on_first_use(ssh_server, tmp_path):
    known_hosts = tmp_path / "known_hosts"
    with pytest.raises(HostKeyError, match=r"is not in .*known_hosts.*--trust-on-first-use"):
        SSHTransport(ssh_server.inventory_node("hf-node"), known_hosts=known_hosts).connect()
    assert not known_hosts.exists()


def test_trust_on_first_use_accepts_and_records_the_key(ssh_server, tmp_path):
    known_hosts = tmp_path / "ssh" / "known_hosts"
    node = ssh_server.inventory_node("hf-node")
    with SSHTransport(node, known_hosts=known_hosts, trust_on_first_use=True) as first:
        assert first.run(["true"]).ok
    assert known_hosts.read_text() == ssh_server.known_hosts_line + "\n"
    with SSHTransport(node, known_hosts=known_hosts) as verified:  # now verified, no TOFU
        assert verified.run(["true"]).ok


def test_connect_retries_until_sshd_listens(tmp_path):
    """Only connecting is retried: sshd comes up 0.6 s after the first refused attempt."""
    server = SshServer(tmp_path / "hf-late", port=free_tcp_port()).prepare()
    starter = threading.Timer(0.6, server.start)
    starter.start()
    try:
        node = server.inventory_node("hf-late")
        transport = SSHTransport(node, known_hosts=server.known_hosts_path, connect_retries=6,
                                 retry_backoff=0.2)
        start = time.monotonic()
        with transport:
            assert transport.run(["true"]).ok
        assert time.monotonic() - start >= 0.5
    finally:
        starter.join()
        server.stop()


def test_unreachable_port_raises_unreachable_error(new_key, ssh_server):
    port = free_tcp_port()
    node = ssh_server.inventory_node("hf-gone", port=port)
    with pytest.raises(UnreachableError, match=rf"node hf-gone: cannot reach 127.0.0.1:{port} "
                       r"over SSH after 2 attempt\(s\)"):
        SSHTransport(node, known_hosts=ssh_server.known_hosts_path, connect_retries=1,
                     retry_backoff=0.05).connect()


def test_unauthorized_key_is_an_authentication_error(ssh_server, new_key):
    node = ssh_server.inventory_node("hf-node", ssh_key=new_key("hf-stranger"))
    with pytest.raises(AuthenticationError, match=rf"node hf-node: \w+@127.0.0.1:"
                       rf"{ssh_server.port} refused .*hf-stranger"):
        SSHTransport(node, known_hosts=ssh_server.known_hosts_path).connect()


def test_a_passphrase_for_other_keys_does_not_stop_a_key_without_one(ssh_server, monkeypatch):
    """A CI job sets HARNESS_SSH_KEY_PASSPHRASE for its encrypted keys; a node whose key has no
    passphrase (the lab's) is still reached."""
    monkeypatch.setenv(PASSPHRASE_ENV, "hf-pass-for-other-keys")
    with SSHTransport(ssh_server.inventory_node("hf-node"),
                      known_hosts=ssh_server.known_hosts_path) as connected:
        assert connected.run(["true"]).ok


def test_authentication_is_not_retried(ssh_server, new_key):
    node = ssh_server.inventory_node("hf-node", ssh_key=new_key("hf-stranger"))
    start = time.monotonic()
    with pytest.raises(AuthenticationError):
        SSHTransport(node, known_hosts=ssh_server.known_hosts_path, connect_retries=5,
                     retry_backoff=2).connect()
    assert time.monotonic() - start < 2


def test_secrets_never_reach_logs_or_errors(ssh_server, new_key, caplog, transport):
    """Key material and passphrases appear nowhere: not in debug logs (ours and paramiko's),
    not in error messages, even when the key is encrypted, wrong or refused."""
    passphrase = "hf-pass-Zq8rX2"
    locked = new_key("hf-locked", passphrase=passphrase)
    secrets = [passphrase, *_key_body_lines(locked), *_key_body_lines(ssh_server.client_key_path)]
    caplog.set_level("DEBUG")
    messages = []
    assert transport.run(["true"]).ok
    for phrase in (None, "wrong-" + passphrase, passphrase):
        node = ssh_server.inventory_node("hf-node", ssh_key=locked)
        with pytest.raises(AuthenticationError) as err:
            SSHTransport(node, known_hosts=ssh_server.known_hosts_path,
                         passphrase=phrase).connect()
        messages.append(str(err.value))
        messages.append(repr(SSHTransport(node, passphrase=phrase)))
    assert "is encrypted" in messages[0] and "wrong passphrase" in messages[2]
    assert "refused" in messages[4]
    text = caplog.text + "\n".join(messages)
    assert [s for s in secrets if s in text] == []


def _key_body_lines(path):
    return [line for line in path.read_text().splitlines()
            if line and not line.startswith("-----")]


# --- the same errors through the CLI: one line, exit 2 or 3 -----------------------------------


def _inventory(tmp_path, node) -> str:
    path = tmp_path / "inventory.yaml"
    path.write_text(f"nodes:\n  - name: {node.name}\n    host: {node.host}\n"
                    f"    port: {node.port}\n    user: {node.user}\n    ssh_key: {node.ssh_key}\n")
    return str(path)


def test_cli_ping_reaches_a_node(harness, ssh_server, tmp_path):
    inv = _inventory(tmp_path, ssh_server.inventory_node("hf-node"))
    proc = harness("inventory", "ping", inv, "--known-hosts", ssh_server.known_hosts_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("hf-node: ok")


def test_cli_unreachable_node_exits_3(harness, ssh_server, tmp_path):
    port = free_tcp_port()
    inv = _inventory(tmp_path, ssh_server.inventory_node("hf-gone", port=port))
    proc = harness("inventory", "ping", inv, "--known-hosts", ssh_server.known_hosts_path,
                   "--connect-retries", "0")
    assert proc.returncode == 3
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines() == [
        f"hf-gone: unreachable: node hf-gone: cannot reach 127.0.0.1:{port} over SSH after 1 "
        "attempt(s): " + proc.stdout.split("attempt(s): ", 1)[1].strip()]
    assert "Connection refused" in proc.stdout or "Unable to connect" in proc.stdout


def test_cli_host_key_mismatch_is_one_line_exit_2(harness_error, ssh_server, new_key, tmp_path):
    other = new_key("hf-other-host").with_suffix(".pub").read_text().split()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{ssh_server.port} {other[0]} {other[1]}\n")
    inv = _inventory(tmp_path, ssh_server.inventory_node("hf-node"))
    line = harness_error("inventory", "ping", inv, "--known-hosts", known_hosts)
    assert f"host key of [127.0.0.1]:{ssh_server.port}" in line and str(known_hosts) in line


def test_cli_refused_key_is_one_line_exit_2(harness_error, ssh_server, new_key, tmp_path):
    inv = _inventory(tmp_path, ssh_server.inventory_node("hf-node", ssh_key=new_key("hf-x")))
    line = harness_error("inventory", "ping", inv, "--known-hosts", ssh_server.known_hosts_path)
    assert "node hf-node:" in line and "refused" in line


def test_secrets_stay_out_of_cli_output_and_junit(harness, ssh_server, new_key, tmp_path):
    """The passphrase given in the environment and the key's contents appear neither in what
    the CLI prints nor in the JUnit artifact that records the failed step."""
    passphrase = "hf-pass-Yw4kP9"
    locked = new_key("hf-locked", passphrase=passphrase)
    node = ssh_server.inventory_node("hf-node", ssh_key=locked)
    proc = harness("inventory", "ping", _inventory(tmp_path, node), "--known-hosts",
                   ssh_server.known_hosts_path, env={**os.environ, PASSPHRASE_ENV: passphrase})
    assert proc.returncode == 2 and "refused" in proc.stderr
    steps = junit.StepRecorder("hf-node", "preflight")
    with pytest.raises(AuthenticationError), steps.step("connect"):
        SSHTransport(node, known_hosts=ssh_server.known_hosts_path,
                     passphrase=passphrase).connect()
    artifact = steps.write(tmp_path / "junit").read_text()
    assert "refused" in artifact
    text = proc.stdout + proc.stderr + artifact
    assert [s for s in [passphrase, *_key_body_lines(locked)] if s in text] == []


def test_sshd_on_a_port_in_use_is_an_input_error(ssh_server, tmp_path):
    from harness.errors import InputError

    with pytest.raises(InputError, match=rf"sshd: port 127.0.0.1:{ssh_server.port} is in use"):
        SshServer(tmp_path / "hf-busy", port=ssh_server.port).start()
