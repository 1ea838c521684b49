"""Which CRI endpoint to talk to, found the way crictl finds it.

Order: an explicit endpoint, then CONTAINER_RUNTIME_ENDPOINT, then runtime-endpoint in
/etc/crictl.yaml, then the known sockets in crictl's order (containerd, CRI-O, cri-dockerd),
taking the first that answers a CRI Version call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness import files
from harness.errors import HarnessError, InputError, UnreachableError

CRICTL_CONFIG = Path("/etc/crictl.yaml")
KNOWN_SOCKETS = (
    "unix:///run/containerd/containerd.sock",
    "unix:///run/crio/crio.sock",
    "unix:///var/run/cri-dockerd.sock",
)
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class Endpoints:
    runtime: str
    image: str | None  # None: the runtime endpoint serves images too
    timeout: float
    source: str  # where the runtime endpoint came from, for messages and reports


def normalize(endpoint: str) -> str:
    """crictl accepts bare socket paths; gRPC wants unix:///path."""
    return endpoint if "://" in endpoint else f"unix://{endpoint}"


def read_crictl_config(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(files.read_text(path, "crictl config")) or {}
    except yaml.YAMLError as err:
        raise InputError(f"{path}: not readable as YAML ({err})", hint="fix or remove it") from err
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping of crictl settings", hint="fix or remove it")
    return data


def _socket_answers(endpoint: str) -> bool:
    from harness.cri.client import negotiate

    path = endpoint.removeprefix("unix://")
    if not Path(path).exists():
        return False
    try:
        negotiate(endpoint, None, timeout=2.0)
    except HarnessError:
        return False
    return True


def discover(
    explicit: str | None = None,
    image_explicit: str | None = None,
    env: Mapping[str, str] | None = None,
    config_path: Path = CRICTL_CONFIG,
    known: tuple[str, ...] = KNOWN_SOCKETS,
) -> Endpoints:
    env = os.environ if env is None else env
    config = read_crictl_config(config_path)
    timeout = float(config.get("timeout") or DEFAULT_TIMEOUT)
    image = image_explicit or env.get("IMAGE_SERVICE_ENDPOINT") or config.get("image-endpoint")
    image = normalize(image) if image else None
    if explicit:
        return Endpoints(normalize(explicit), image, timeout, "--cri-endpoint")
    if env.get("CONTAINER_RUNTIME_ENDPOINT"):
        runtime = normalize(env["CONTAINER_RUNTIME_ENDPOINT"])
        return Endpoints(runtime, image, timeout, "CONTAINER_RUNTIME_ENDPOINT")
    if config.get("runtime-endpoint"):
        runtime = normalize(str(config["runtime-endpoint"]))
        return Endpoints(runtime, image, timeout, str(config_path))
    for candidate in known:
        if _socket_answers(candidate):
            return Endpoints(candidate, image, timeout, "known socket")
    raise UnreachableError(
        "no CRI endpoint found",
        hint=f"tried --cri-endpoint, CONTAINER_RUNTIME_ENDPOINT, {config_path} and "
        f"{', '.join(known)}; pass --cri-endpoint unix:///path/to/socket",
    )
