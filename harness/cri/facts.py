"""What the suite needs to know about the runtime behind an endpoint, gathered once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harness.cri.client import CriClient, CriError
from harness.facts import this_host


@dataclass(frozen=True)
class RuntimeFacts:
    api_version: str  # the CRI version the endpoint speaks (v1 or v1alpha2)
    runtime_name: str
    runtime_version: str
    local_socket: Path | None  # the endpoint's unix socket when it is on this machine
    sandbox_image: str | None  # containerd's sandbox_image, from verbose Status
    status_info: dict  # verbose Status info, each value parsed from JSON where it is JSON
    handler_features: dict  # runtime handler name -> features from Status (empty if not given)
    apparmor: bool  # AppArmor enabled on this host (harness.node.system)
    systemd_cgroup: bool  # cgroup paths are systemd slices (RuntimeConfig, else runtime config)

    @property
    def is_containerd(self) -> bool:
        return self.runtime_name == "containerd"


def _parse_info(info) -> dict:
    parsed = {}
    for key, value in info.items():
        try:
            parsed[key] = json.loads(value)
        except ValueError:
            parsed[key] = value
    return parsed


def _systemd_cgroup(cri: CriClient, config: dict, handler: str) -> bool:
    try:
        return cri.runtime_config().linux.cgroup_driver == cri.pb.SYSTEMD
    except CriError:
        pass  # containerd 1.6 has no RuntimeConfig: read the handler's runc options
    runtimes = (config.get("containerd") or {}).get("runtimes") or {}
    name = handler or (config.get("containerd") or {}).get("defaultRuntimeName", "")
    options = (runtimes.get(name) or {}).get("options") or {}
    return bool(options.get("SystemdCgroup") or config.get("systemdCgroup"))


def gather(cri: CriClient, handler: str = "") -> RuntimeFacts:
    """Facts about the runtime behind `cri`, which the suite reaches on its own node (a TCP
    endpoint has no socket here)."""
    version = cri.version()
    try:
        status = cri.status(verbose=True)
    except CriError:
        status = None
    info = _parse_info(status.info) if status else {}
    handlers = {}
    for handler in getattr(status, "runtime_handlers", ()) if status else ():
        handlers[handler.name] = {
            "recursive_read_only_mounts": handler.features.recursive_read_only_mounts,
            "user_namespaces": handler.features.user_namespaces,
        }
    local = cri.endpoint.startswith("unix://")
    socket = cri.endpoint.removeprefix("unix://") if local else None
    config = info.get("config") if isinstance(info.get("config"), dict) else {}
    return RuntimeFacts(
        api_version=cri.api.version,
        runtime_name=version.runtime_name,
        runtime_version=version.runtime_version,
        local_socket=Path(socket) if socket and Path(socket).is_socket() else None,
        sandbox_image=config.get("sandboxImage"),
        status_info=info,
        handler_features=handlers,
        apparmor=this_host().system.apparmor,
        systemd_cgroup=_systemd_cgroup(cri, config, handler),
    )
