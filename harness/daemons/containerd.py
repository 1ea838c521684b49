"""A private containerd with its CRI plugin, for commands and tests on this host.

Everything it owns lives under one directory (root, state, sockets, CNI config and IPAM data)
and its pod bridge has its own name and subnet, so several instances coexist with each other
and with the host's own containerd. The CRI settings follow what the node needs, not a hidden
hack: `restrict_oom_score_adj` is set where the kernel refuses negative oom_score_adj.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from harness.containerd import config
from harness.daemons.process import Daemon, unix_socket_answers, unmount_below
from harness.facts import this_host

CNI_BIN_DIRS = ("/usr/lib/cni", "/opt/cni/bin")


def negative_oom_score_adj_refused() -> bool:
    """True where this kernel refuses a negative oom_score_adj even to root (see lab notes)."""
    return this_host().oom.negative_refused


@dataclass(frozen=True)
class RuntimeHandler:
    """A CRI runtime handler (RuntimeClass): a name and the OCI runtime binary it runs."""

    name: str
    binary: str = "runc"
    runtime_type: str = "io.containerd.runc.v2"


@dataclass
class ContainerdConfig:
    """What differs between the containerd instances the harness starts."""

    base_dir: Path
    sandbox_image: str = "harness.local/pause:3.9"
    restrict_oom_score_adj: bool = field(default_factory=negative_oom_score_adj_refused)
    bridge: str = "hcni0"
    subnet: str = "10.88.0.0/24"
    range_start: str | None = None  # first pod address (host-local IPAM), default the subnet's
    cni: bool = True  # False leaves the CNI config dir empty: NetworkReady must then be false
    handlers: tuple[RuntimeHandler, ...] = ()
    default_runtime_binary: str = "runc"
    registry_config_dir: Path | None = None  # hosts.toml per registry (CA, skip_verify)
    registry_auths: dict[str, tuple[str, str]] = field(default_factory=dict)
    stream_server_port: int = 0  # 0: the kernel picks, the CRI returns it in streaming URLs
    # Another containerd's binaries (containerd, its shim, ctr), e.g. a `harness containerd
    # build`; None: the packaged one on PATH. config_version must be one that binary reads.
    bin_dir: Path | None = None
    config_version: int = 2

    @property
    def root(self) -> Path:
        return self.base_dir / "root"

    @property
    def state(self) -> Path:
        return self.base_dir / "state"

    @property
    def address(self) -> Path:
        return self.base_dir / "containerd.sock"

    @property
    def cni_conf_dir(self) -> Path:
        return self.base_dir / "net.d"

    @property
    def config_path(self) -> Path:
        return self.base_dir / "config.toml"


# Plugins this host cannot run would only add noise to the log.
UNUSABLE_PLUGINS = (
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.snapshotter.v1.devmapper",
)


def settings(cfg: ContainerdConfig) -> config.Settings:
    """This instance's settings: everything under base_dir, streaming on loopback."""
    cni_bin = next((d for d in CNI_BIN_DIRS if Path(d, "bridge").exists()), CNI_BIN_DIRS[0])
    handlers = [config.Runtime("runc", cfg.default_runtime_binary),
                *(config.Runtime(h.name, h.binary, h.runtime_type) for h in cfg.handlers)]
    return config.Settings(
        sandbox_image=cfg.sandbox_image,
        root=str(cfg.root),
        state=str(cfg.state),
        address=str(cfg.address),
        ttrpc_address=str(cfg.base_dir / "containerd.sock.ttrpc"),
        disabled_plugins=UNUSABLE_PLUGINS,
        restrict_oom_score_adj=cfg.restrict_oom_score_adj,
        cni_bin_dirs=(cni_bin,),
        cni_conf_dir=str(cfg.cni_conf_dir),
        runtimes=tuple(handlers),
        registry_config_path=str(cfg.registry_config_dir or ""),
        registry_auths=dict(cfg.registry_auths),
        stream_server_port=str(cfg.stream_server_port),
        # Pod network namespaces under our state dir, not /run/netns: stop() unmounts them
        # all, including those containerd 1.6 leaks when RunPodSandbox fails in CNI setup.
        netns_mounts_under_state_dir=True,
    )


def render_config(cfg: ContainerdConfig) -> str:
    """This instance's config, in the version its containerd reads."""
    return config.render(settings(cfg), cfg.config_version)


def render_cni_conflist(cfg: ContainerdConfig) -> dict:
    """bridge + host-local + portmap + loopback: the pod network the lab notes verified.

    IPAM state stays under base_dir so instances never hand out each other's addresses; no
    masquerading, since no pod traffic may leave this machine.
    """
    return {
        "cniVersion": "1.0.0",
        "name": f"{cfg.bridge}-net",
        "plugins": [
            {
                "type": "bridge",
                "bridge": cfg.bridge,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": cfg.subnet,
                                 **({"rangeStart": cfg.range_start} if cfg.range_start else {})}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(cfg.base_dir / "cni-ipam"),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
            {"type": "loopback"},
        ],
    }


def write_files(cfg: ContainerdConfig) -> None:
    cfg.base_dir.mkdir(parents=True, exist_ok=True)
    cfg.cni_conf_dir.mkdir(exist_ok=True)
    conflist = cfg.cni_conf_dir / "10-harness.conflist"
    if cfg.cni:
        conflist.write_text(json.dumps(render_cni_conflist(cfg), indent=2))
    else:
        conflist.unlink(missing_ok=True)
    cfg.config_path.write_text(render_config(cfg))


class Containerd:
    """A running private containerd. Use as a context manager, or start() / stop()."""

    def __init__(self, cfg: ContainerdConfig):
        self.cfg = cfg
        self.daemon = Daemon(
            name=f"containerd ({cfg.base_dir})",
            argv=[str(cfg.bin_dir / "containerd") if cfg.bin_dir else "containerd",
                  "--config", str(cfg.config_path), "--log-level", "info"],
            log_path=cfg.base_dir / "containerd.log",
            ready=lambda: unix_socket_answers(cfg.address),
            # containerd finds its shim on PATH: the one built beside it.
            env={"PATH": f"{cfg.bin_dir}:{os.environ['PATH']}"} if cfg.bin_dir else None,
        )

    @property
    def address(self) -> str:
        return str(self.cfg.address)

    @property
    def endpoint(self) -> str:
        return f"unix://{self.cfg.address}"

    def start(self) -> Containerd:
        write_files(self.cfg)
        self.daemon.start()
        return self

    def restart(self) -> None:
        """Stop and start the daemon only: shims, containers and state survive, as on a node."""
        self.daemon.stop()
        write_files(self.cfg)
        self.daemon.start()

    def ctr(self, *args: str, namespace: str = "k8s.io", timeout: float = 120) -> str:
        out = subprocess.run(
            ["ctr", "--address", self.address, "--namespace", namespace, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        return out.stdout

    def remove_pods(self) -> None:
        """Remove every pod sandbox through the CRI: only then does containerd tear down the
        pod's CNI network and its /run/netns entry; stopping the daemon under them leaks both."""
        import grpc
        from cri_api.v1 import api_pb2, api_pb2_grpc

        with grpc.insecure_channel(self.endpoint) as channel:
            cri = api_pb2_grpc.RuntimeServiceStub(channel)
            try:
                pods = cri.ListPodSandbox(api_pb2.ListPodSandboxRequest(), timeout=30).items
            except grpc.RpcError:
                return  # not serving CRI (a fault under test): nothing it could remove
            for pod in pods:
                with contextlib.suppress(grpc.RpcError):
                    cri.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod.id),
                                       timeout=60)
                    cri.RemovePodSandbox(
                        api_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod.id), timeout=60)

    def stop(self, purge: bool = False) -> None:
        """Stop containerd and what it leaves running: pods, shims, mounts, the pod bridge."""
        if self.daemon.running():
            self.remove_pods()
        self.daemon.stop()
        _kill_shims(self.address)
        unmount_below(self.cfg.base_dir)
        if self.cfg.cni:
            subprocess.run(["ip", "link", "del", self.cfg.bridge], capture_output=True, check=False)
            remove_idle_portmap_chains()
        if purge:
            shutil.rmtree(self.cfg.base_dir, ignore_errors=True)

    def __enter__(self) -> Containerd:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


PORTMAP_CHAINS = ("CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK")


def remove_idle_portmap_chains() -> None:
    """The portmap plugin's base chains are shared and outlive every pod; once no pod mapping
    (a CNI-DN-* chain) is left on this host, nothing needs them."""
    listing = subprocess.run(["iptables", "-t", "nat", "-S"], capture_output=True, text=True,
                             check=False)
    if listing.returncode != 0 or "CNI-DN-" in listing.stdout:
        return
    for rule in listing.stdout.splitlines():
        chain, _, spec = rule.removeprefix("-A ").partition(" ")
        if rule.startswith("-A ") and chain not in PORTMAP_CHAINS and "CNI-HOSTPORT-" in spec:
            subprocess.run(["iptables", "-t", "nat", "-D", chain, *shlex.split(spec)],
                           capture_output=True, check=False)
    for chain in PORTMAP_CHAINS:
        subprocess.run(["iptables", "-t", "nat", "-F", chain], capture_output=True, check=False)
        subprocess.run(["iptables", "-t", "nat", "-X", chain], capture_output=True, check=False)


def _kill_shims(address: str) -> None:
    """Shims outlive containerd by design; ours are the ones started with our address."""
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            argv = (pid_dir / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and b"containerd-shim" in argv[0] and address.encode() in argv:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_dir.name), 9)
