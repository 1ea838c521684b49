"""A private OpenSSH server on 127.0.0.1, for tests and for commands that need a real SSH node.

    with SshServer(tmp_dir) as server:
        node = server.inventory_node("hf-node")          # an inventory Node that logs in here
        SSHTransport(node, known_hosts=server.known_hosts_path).run(["id"])

Everything (host key, client key, authorized_keys, known_hosts, config, log) lives in `state_dir`;
only /run/sshd, the privilege-separation directory Debian's sshd insists on, is shared.
"""

from __future__ import annotations

import getpass
import subprocess
from pathlib import Path

from harness.daemons.process import Daemon, free_tcp_port, tcp_port_answers
from harness.errors import InputError, MissingToolError, StepFailed
from harness.inventory import Node

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")
HOST = "127.0.0.1"
START_ATTEMPTS = 3  # a free port can be taken by someone else before sshd binds it

CONFIG = """\
ListenAddress {host}:{port}
HostKey {state}/host_key
PidFile {state}/sshd.pid
AuthorizedKeysFile {state}/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
# The state dir is a test temp dir, whose parents' modes sshd need not like.
StrictModes no
AllowStreamLocalForwarding {streamlocal}
# sshd 9.2 grants streamlocal channels only with local forwarding permitted (channel_permit_all).
AllowTcpForwarding {tcp_forwarding}
X11Forwarding no
Subsystem sftp internal-sftp
LogLevel VERBOSE
"""


def keygen(path: Path, comment: str) -> None:
    try:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment,
                        "-f", str(path)], check=True, capture_output=True)
    except FileNotFoundError:
        raise MissingToolError("ssh-keygen not found", hint="run scripts/setup.sh "
                               "(openssh-client)") from None


class SshServer:
    """sshd -D -e on a free loopback port, accepting one throwaway client key for the current
    user. `port` may be given; if it is in use, start() raises InputError."""

    def __init__(self, state_dir: Path, port: int | None = None, allow_streamlocal: bool = True,
                 tcp_forwarding: str = "local"):
        self.state_dir = Path(state_dir).absolute()  # sshd wants absolute paths everywhere
        self.host = HOST
        self.port = port
        self.fixed_port = port is not None
        self.allow_streamlocal = allow_streamlocal
        self.tcp_forwarding = tcp_forwarding  # sshd's AllowTcpForwarding: local, remote, yes, no
        self.user = getpass.getuser()
        self.host_key_path = self.state_dir / "host_key"
        self.client_key_path = self.state_dir / "client_key"
        self.known_hosts_path = self.state_dir / "known_hosts"
        self.config_path = self.state_dir / "sshd_config"
        self.log_path = self.state_dir / "sshd.log"
        self.daemon: Daemon | None = None

    @property
    def host_key_pub(self) -> str:
        """The host's public key line: `ssh-ed25519 AAAA... comment`."""
        return self.host_key_path.with_suffix(".pub").read_text().strip()

    @property
    def known_hosts_line(self) -> str:
        kind, blob = self.host_key_pub.split()[:2]
        return f"[{self.host}]:{self.port} {kind} {blob}"

    def start(self) -> SshServer:
        if not Path(SSHD).exists():
            raise MissingToolError(f"{SSHD} not found", hint="run scripts/setup.sh "
                                   "(openssh-server)")
        self.prepare()
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        for attempt in range(1 if self.fixed_port else START_ATTEMPTS):
            if not self.fixed_port:
                self.port = free_tcp_port(self.host)
            elif tcp_port_answers(self.host, self.port):
                raise InputError(f"sshd: port {self.host}:{self.port} is in use",
                                 hint="pick another port or leave it unset for a free one")
            try:
                return self._start_on_port()
            except StepFailed:
                if attempt + 1 == START_ATTEMPTS or "Address already in use" not in self._log():
                    raise

    def prepare(self) -> SshServer:
        """Create the keys (once), so clients can be set up before the server starts."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if not self.host_key_path.exists():
            keygen(self.host_key_path, "hf-sshd host key")
            keygen(self.client_key_path, "hf-sshd client key")
            (self.state_dir / "authorized_keys").write_text(
                self.client_key_path.with_suffix(".pub").read_text())
        if self.port:
            self.known_hosts_path.write_text(self.known_hosts_line + "\n")
        return self

    def _start_on_port(self) -> SshServer:
        self.config_path.write_text(CONFIG.format(
            host=self.host, port=self.port, state=self.state_dir,
            streamlocal="yes" if self.allow_streamlocal else "no",
            tcp_forwarding=self.tcp_forwarding))
        self.known_hosts_path.write_text(self.known_hosts_line + "\n")  # the port may be new
        self.daemon = Daemon(
            name=f"sshd on {self.host}:{self.port}",
            argv=[SSHD, "-D", "-e", "-f", str(self.config_path)],
            log_path=self.log_path,
            ready=lambda: tcp_port_answers(self.host, self.port),
        ).start()
        return self

    def _log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.daemon:
            self.daemon.stop()

    def inventory_node(self, name: str, **overrides) -> Node:
        """A Node that logs in to this server with the client key, its host key pinned the
        way providers pin theirs (vars.known_hosts, see harness.transport.open_transport)."""
        fields = dict(name=name, host=self.host, port=self.port, user=self.user,
                      ssh_key=self.client_key_path, groups=("hf-sshd",),
                      vars={"known_hosts": str(self.known_hosts_path)})
        return Node(**{**fields, **overrides})

    def __enter__(self) -> SshServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
