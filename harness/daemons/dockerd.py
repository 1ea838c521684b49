"""A private Docker Engine (Debian's dockerd 20.10) for tests and commands on this host.

Everything lives under one base directory: data root, exec root, API socket, pidfile,
daemon.json, and the containerd it talks to (a private one started here, so dockerd never
attaches to a host containerd at /run/containerd). No bridge, iptables or masquerading: other
engineers run daemons on this machine too, so containers run with network "none" or "host".

Where the node refuses a negative oom_score_adj (see lab notes), the OCI runtime wrapper in
oom_clamp_runtime.py is registered and made the default runtime: Docker asks runc for negative
values (e.g. dockershim's pause gets -998) that would otherwise fail every container start.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path

from harness.daemons import oom_clamp_runtime
from harness.daemons.containerd import (
    Containerd,
    ContainerdConfig,
    negative_oom_score_adj_refused,
)
from harness.daemons.process import Daemon, unmount_below

CLAMP_RUNTIME = "oom-clamp"
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass
class DockerdConfig:
    base_dir: Path
    clamp_oom_score_adj: bool = field(default_factory=negative_oom_score_adj_refused)
    runc: str = "runc"
    insecure_registries: tuple[str, ...] = ()

    @property
    def socket(self) -> Path:
        return self.base_dir / "docker.sock"

    @property
    def cgroup_parent(self) -> str:
        # Named after the base dir so parallel daemons never share a cgroup parent.
        return "hi-docker-" + self.base_dir.name


def install_clamp_runtime(dest: Path) -> Path:
    """Copy the oom_score_adj clamping wrapper to `dest` as an executable (e.g. on a node)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(oom_clamp_runtime.__file__, dest)
    dest.chmod(0o755)
    return dest


def daemon_json(cfg: DockerdConfig, wrapper: Path) -> dict:
    config = {
        "runtimes": {CLAMP_RUNTIME: {"path": str(wrapper)}},
        "insecure-registries": list(cfg.insecure_registries),
        "cgroup-parent": cfg.cgroup_parent,
        # 20.10 writes its trust key to /etc/docker/key.json unless told otherwise.
        "deprecated-key-path": str(cfg.base_dir / "key.json"),
    }
    if cfg.clamp_oom_score_adj:
        config["default-runtime"] = CLAMP_RUNTIME
    return config


def _api_answers(path: Path) -> bool:
    """True once the Engine API answers GET /_ping (the socket opens before the API is up)."""
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        sock.connect(str(path))
        sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        return sock.recv(4096).startswith(b"HTTP/1.0 200")


class Dockerd:
    """A running private dockerd. Use as a context manager, or start() / stop()."""

    def __init__(self, cfg: DockerdConfig):
        self.cfg = cfg
        base = cfg.base_dir
        self.containerd = Containerd(ContainerdConfig(base_dir=base / "containerd", cni=False))
        self.daemon = Daemon(
            name=f"dockerd ({base})",
            argv=[
                "dockerd",
                "--config-file",
                str(base / "daemon.json"),
                "--data-root",
                str(base / "data"),
                "--exec-root",
                str(base / "exec"),
                "--pidfile",
                str(base / "dockerd.pid"),
                "-H",
                f"unix://{cfg.socket}",
                "--containerd",
                self.containerd.address,
                "--bridge=none",
                "--iptables=false",
                "--ip-masq=false",
                "--ip6tables=false",
                "--userland-proxy=false",
            ],
            log_path=base / "dockerd.log",
            ready=lambda: _api_answers(cfg.socket),
            start_timeout=60,
            stop_timeout=30,
        )

    @property
    def host(self) -> str:
        """DOCKER_HOST for clients: unix:///.../docker.sock."""
        return f"unix://{self.cfg.socket}"

    def client(self):
        import docker

        return docker.DockerClient(base_url=self.host, version="auto", timeout=120)

    def start(self) -> Dockerd:
        base = self.cfg.base_dir
        base.mkdir(parents=True, exist_ok=True)
        wrapper = install_clamp_runtime(base / "bin" / "oom-clamp-runtime")
        (base / "daemon.json").write_text(json.dumps(daemon_json(self.cfg, wrapper), indent=2))
        self.containerd.start()
        try:
            self.daemon.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop dockerd (it stops its containers), its containerd, and remove what they leave:
        mounts below the base dir and the cgroup parent."""
        self.daemon.stop()
        self.containerd.stop()
        unmount_below(self.cfg.base_dir)
        for controller in CGROUP_ROOT.iterdir() if CGROUP_ROOT.is_dir() else ():
            parent = controller / self.cfg.cgroup_parent
            if parent.is_dir():
                for child in sorted(parent.rglob("*"), reverse=True):
                    if child.is_dir():
                        with contextlib.suppress(OSError):
                            child.rmdir()
                with contextlib.suppress(OSError):
                    parent.rmdir()

    def __enter__(self) -> Dockerd:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
