"""Commands and files on a node over SSH (paramiko).

Host keys are verified against a known_hosts file; an unknown host is refused unless
trust-on-first-use was asked for, in which case its key is recorded. Only connecting is retried
(with backoff): a command is never run twice. Key contents and passphrases are never logged or
put in messages; only the key's path is.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import select
import shlex
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import paramiko

from harness.errors import HarnessTimeout, InputError, StepFailed, UnreachableError
from harness.inventory import Node
from harness.transport.base import (
    REDACTED,
    AuthenticationError,
    Command,
    CommandResult,
    HostKeyError,
    Transport,
    as_bytes,
    checked,
    command_text,
)

log = logging.getLogger("harness.transport")

DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")
PASSPHRASE_ENV = "HARNESS_SSH_KEY_PASSPHRASE"


def fingerprint(key: paramiko.PKey) -> str:
    digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")
    return f"{key.get_name()} SHA256:{digest}"


class _RefuseUnknownHost(paramiko.MissingHostKeyPolicy):
    def __init__(self, known_hosts: Path):
        self.known_hosts = known_hosts

    def missing_host_key(self, client, hostname, key):
        host, _, port = hostname.strip("[").partition("]:")
        raise HostKeyError(
            f"host key of {hostname} ({fingerprint(key)}) is not in {self.known_hosts}",
            hint=f"check the fingerprint, then add it: ssh-keyscan -p {port or 22} {host} >> "
            f"{self.known_hosts}; or pass --trust-on-first-use to record it",
        )


class _RecordNewHost(paramiko.MissingHostKeyPolicy):
    """Trust on first use: accept an unknown host's key and append it to known_hosts, so the
    next connection verifies against it."""

    def __init__(self, known_hosts: Path):
        self.known_hosts = known_hosts

    def missing_host_key(self, client, hostname, key):
        client.get_host_keys().add(hostname, key.get_name(), key)
        self.known_hosts.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.known_hosts, "a") as out:
            out.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        log.warning(
            "trusted on first use: host key of %s (%s), recorded in %s",
            hostname,
            fingerprint(key),
            self.known_hosts,
        )


class SSHTransport(Transport):
    def __init__(
        self,
        node: Node,
        *,
        known_hosts: Path | str | None = None,
        trust_on_first_use: bool = False,
        connect_timeout: float = 10.0,
        connect_retries: int = 3,
        retry_backoff: float = 0.5,
        passphrase: str | None = None,
    ):
        self.node = node
        self.node_name = node.name
        self.known_hosts = Path(known_hosts or DEFAULT_KNOWN_HOSTS).expanduser()
        self.trust_on_first_use = trust_on_first_use
        self.connect_timeout = connect_timeout
        self.connect_retries = connect_retries
        self.retry_backoff = retry_backoff
        self._passphrase = passphrase if passphrase is not None else os.environ.get(PASSPHRASE_ENV)
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the passphrase
        return f"SSHTransport({self.node.name}, {self.node.user}@{self.node.address})"

    # --- connecting -----------------------------------------------------------------------

    def connect(self) -> SSHTransport:
        with self._lock:
            if self._client is None:
                self._client = self._connect_with_retries()
        return self

    def __enter__(self) -> SSHTransport:
        return self.connect()

    def close(self) -> None:
        with self._lock:
            if self._sftp:
                self._sftp.close()
            if self._client:
                self._client.close()
            self._sftp = self._client = None

    def _load_key(self) -> paramiko.PKey | None:
        path = self.node.ssh_key
        if path is None:
            return None
        where = f"node {self.node.name}: SSH key {path}"
        try:
            password = self._passphrase.encode() if self._passphrase else None
            try:
                return paramiko.PKey.from_path(path, password=password)
            except TypeError:
                if password is None:
                    raise
                # cryptography refuses a passphrase for a key that has none: the passphrase in
                # the environment is for the operator's other keys
                return paramiko.PKey.from_path(path)
        except (paramiko.SSHException, ValueError, TypeError) as err:
            # cryptography raises TypeError for "password-protected, but none given".
            if self._passphrase:
                problem, hint = "cannot be decrypted (wrong passphrase?)", f"check {PASSPHRASE_ENV}"
            elif isinstance(err, paramiko.PasswordRequiredException | TypeError):
                problem, hint = "is encrypted", f"set {PASSPHRASE_ENV} or use ssh-agent"
            else:
                problem, hint = f"cannot be used ({type(err).__name__})", "give an OpenSSH key"
            raise AuthenticationError(f"{where} {problem}", hint=hint) from None
        except OSError as err:
            raise InputError(f"{where} cannot be read: {err.strerror}") from None

    def _connect_with_retries(self) -> paramiko.SSHClient:
        key = self._load_key()
        attempts = self.connect_retries + 1
        last: Exception | None = None
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.retry_backoff * 2 ** (attempt - 1))
            try:
                return self._connect_once(key)
            except (OSError, EOFError, paramiko.SSHException) as err:
                # Host key and authentication failures surface as our own errors: not retried.
                last = err
                log.debug(
                    "node %s: connect attempt %d/%d failed: %s",
                    self.node.name,
                    attempt + 1,
                    attempts,
                    err,
                )
        reason = " ".join(str(last).split()) or type(last).__name__
        raise UnreachableError(
            f"node {self.node.name}: cannot reach {self.node.address} over "
            f"SSH after {attempts} attempt(s): {reason}",
            hint="check the address, the port and that sshd runs",
        )

    def _connect_once(self, key: paramiko.PKey | None) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        if self.known_hosts.exists():
            client.load_host_keys(str(self.known_hosts))
        policy = _RecordNewHost if self.trust_on_first_use else _RefuseUnknownHost
        client.set_missing_host_key_policy(policy(self.known_hosts))
        node = self.node
        try:
            client.connect(
                node.host,
                port=node.port,
                username=node.user,
                pkey=key,
                look_for_keys=key is None,
                allow_agent=key is None,
                timeout=self.connect_timeout,
                banner_timeout=self.connect_timeout,
                auth_timeout=self.connect_timeout,
                channel_timeout=self.connect_timeout,
            )
        except paramiko.BadHostKeyException as err:
            client.close()
            name = node.host if node.port == 22 else f"[{node.host}]:{node.port}"
            raise HostKeyError(
                f"node {node.name}: host key of {name} ({fingerprint(err.key)}) does not match "
                f"the one in {self.known_hosts}",
                hint=f"if the node was reinstalled, remove the old entry (ssh-keygen -R "
                f"'{name}' -f {self.known_hosts}); otherwise the connection may be "
                f"intercepted",
            ) from None
        except paramiko.AuthenticationException:
            client.close()
            key_name = str(node.ssh_key) if node.ssh_key else "the default keys and agent"
            raise AuthenticationError(
                f"node {node.name}: {node.user}@{node.address} refused {key_name}",
                hint="authorize the key's public half for that user",
            ) from None
        except BaseException:
            client.close()
            raise
        return client

    def _ssh(self) -> paramiko.Transport:
        self.connect()
        transport = self._client.get_transport()
        if transport is None or not transport.is_active():
            raise UnreachableError(
                f"node {self.node.name}: the SSH connection to {self.node.address} is closed"
            )
        return transport

    # --- commands -------------------------------------------------------------------------

    def _remote_command(self, cmd: Command, become: bool | None) -> str:
        text = command_text(cmd)
        if (self.node.become if become is None else become) and self.node.user != "root":
            return f"sudo -n -- sh -c {shlex.quote(text)}"
        return text

    def run(
        self,
        cmd: Command,
        timeout: float = 60.0,
        input: str | bytes | None = None,
        check: bool = False,
        become: bool | None = None,
        sensitive: bool = False,
    ) -> CommandResult:
        shown = REDACTED if sensitive else command_text(cmd)
        start = time.monotonic()
        try:
            chan = self._ssh().open_session(timeout=self.connect_timeout)
            chan.exec_command(self._remote_command(cmd, become))
            # Feed stdin from a thread: a command that writes while it reads would otherwise
            # stall once both SSH windows are full.
            feeder = threading.Thread(target=_feed, args=(chan, as_bytes(input)), daemon=True)
            feeder.start()
            out, err = _drain(chan, start + timeout)
            feeder.join()
        except TimeoutError:
            raise HarnessTimeout(
                f"node {self.node.name}: `{shown}` did not finish within {timeout:g}s"
            ) from None
        except (OSError, EOFError, paramiko.SSHException) as err:
            raise UnreachableError(
                f"node {self.node.name}: lost the SSH connection to "
                f"{self.node.address} while running `{shown}`: "
                f"{' '.join(str(err).split()) or type(err).__name__}"
            ) from None
        result = CommandResult(
            shown,
            out.decode(errors="replace"),
            err.decode(errors="replace"),
            chan.recv_exit_status(),
            time.monotonic() - start,
        )
        chan.close()
        return checked(result, self.node.name) if check else result

    # --- files ----------------------------------------------------------------------------

    def _sftp_client(self) -> paramiko.SFTPClient:
        self.connect()
        with self._lock:
            if self._sftp is None:
                self._sftp = self._client.open_sftp()
            return self._sftp

    def _needs_sudo(self) -> bool:
        return self.node.become and self.node.user != "root"

    def put(self, local: Path | str, remote: str, mode: int = 0o644) -> None:
        # SFTP runs as the login user: with become, upload beside /tmp then move it as root.
        target = f"/tmp/.harness-put-{uuid.uuid4().hex}" if self._needs_sudo() else remote
        try:
            self._sftp_client().put(str(local), target)
            self._sftp_client().chmod(target, mode)
        except OSError as err:
            raise StepFailed(
                f"node {self.node.name}: cannot copy {local} to {target}: {err.strerror or err}"
            ) from None
        if target != remote:
            self.run(["mv", "-f", target, remote], check=True, become=True)

    def get(self, remote: str, local: Path | str) -> None:
        source = remote
        if self._needs_sudo():
            source = f"/tmp/.harness-get-{uuid.uuid4().hex}"
            self.run(["install", "-m", "0644", remote, source], check=True, become=True)
        try:
            self._sftp_client().get(source, str(local))
        except OSError as err:
            raise StepFailed(
                f"node {self.node.name}: cannot copy {remote} to {local}: {err.strerror or err}"
            ) from None
        finally:
            if source != remote:
                self.run(["rm", "-f", source])


    # --- forwarding -----------------------------------------------------------------------

    @contextmanager
    def remote_forward(self, port: int, target: tuple[str, int]) -> Iterator[None]:
        """The node's 127.0.0.1:`port` leads to `target` on this machine while the block runs
        (OpenSSH's `ssh -R`): a service of ours reaches a node that can reach nothing of ours."""
        transport = self._ssh()

        def accepted(channel, _origin, _server) -> None:
            threading.Thread(target=_splice, args=(channel, target), daemon=True).start()

        try:
            transport.request_port_forward("127.0.0.1", port, handler=accepted)
        except paramiko.SSHException as err:
            raise StepFailed(
                f"node {self.node.name}: sshd refused to forward its 127.0.0.1:{port} to this "
                f"machine ({' '.join(str(err).split()) or 'no reason given'})",
                hint="allow it in the node's sshd_config (AllowTcpForwarding remote or yes), "
                "or free that port on the node",
            ) from None
        try:
            yield
        finally:
            with suppress(paramiko.SSHException, EOFError, OSError):
                transport.cancel_port_forward("127.0.0.1", port)


def _feed(chan: paramiko.Channel, data: bytes | None) -> None:
    try:
        if data:
            chan.sendall(data)
        chan.shutdown_write()
    except OSError:  # the command exited without reading everything: not our error
        pass


def _drain(chan: paramiko.Channel, deadline: float) -> tuple[bytes, bytes]:
    """Read stdout and stderr until the command exits and both streams end, or raise
    TimeoutError at `deadline` (the channel is then closed, which hangs up the command)."""
    out, err = bytearray(), bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            chan.close()
            raise TimeoutError
        select.select([chan], [], [], min(remaining, 0.5))
        while chan.recv_ready():
            out += chan.recv(65536)
        while chan.recv_stderr_ready():
            err += chan.recv_stderr(65536)
        if chan.exit_status_ready() and chan.eof_received:
            # EOF came: whatever is left is already buffered.
            while data := chan.recv(65536):
                out += data
            while data := chan.recv_stderr(65536):
                err += data
            return bytes(out), bytes(err)
        if chan.eof_received:
            chan.status_event.wait(min(remaining, 0.1))


def _splice(chan: paramiko.Channel, target: tuple[str, int]) -> None:
    """Copy bytes both ways between a forwarded channel and a new connection to `target`; an
    end of input on one side is passed on as such (a client may stop writing and still read)."""
    try:
        sock = socket.create_connection(target, timeout=10)
    except OSError:
        chan.close()
        return
    with sock, chan:
        sock.settimeout(None)
        sinks = {sock: chan, chan: sock}
        while sinks:
            readable, _, _ = select.select(list(sinks), [], [], 60)
            for source in readable:
                try:
                    data = source.recv(65536)
                    if data:
                        sinks[source].sendall(data)
                        continue
                    sinks.pop(source).shutdown(socket.SHUT_WR)
                except OSError:  # either side went away: nothing left to carry
                    return
