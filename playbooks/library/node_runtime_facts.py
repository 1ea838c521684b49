#!/usr/bin/python
"""Ansible module: what a node's kubelet, Docker and containerd are, read on the node itself.

Read-only. Preflight turns its findings into a gate; migrate, verify and rollback read its facts
instead of assuming them (the cgroup driver, the sandbox image and the CNI directories are what
the kubelet is configured with, never inferred)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: node_runtime_facts
short_description: Read the kubelet's, Docker's and containerd's configuration on a node
description:
  - Parses kubeadm-flags.env, /etc/default/kubelet, the KubeletConfiguration, daemon.json,
    docker.service drop-ins and containerd's config.toml; asks Docker's API for its state.
  - Returns C(facts) and C(findings) (id, severity, message); changes nothing.
options:
  docker_host: {type: str, default: unix:///run/docker.sock}
  containerd_root: {type: path, default: /var/lib/containerd}
  state_dir: {type: path, default: /var/lib/harness/migration}
  endpoint: {type: str, default: "unix:///run/containerd/containerd.sock"}
  kubernetes_target:
    type: str
    default: ""
    description: the Kubernetes version the node is to be upgraded to; a kubelet that still
      uses dockershim is then a blocking finding from 1.24 on
  node_name: {type: str, default: "", description: the node's name in messages (its hostname)}
  containerd_config_version:
    type: int
    default: 2
    description: the config version the migration writes (2 for containerd 1.x, 3 for 2.x); the
      node's own config.toml of that version has its settings kept beneath the migration's
  containerd_config:
    type: dict
    required: true
    description: /etc/containerd/config.toml, parsed on the controller by the action plugin of
      the same name (playbooks/action_plugins), which sets it; {} when there is none. Nodes
      run Python 3.8+, which has no TOML parser of its own (tomllib is 3.11+)
  containerd_config_error: {type: str, description: why config.toml could not be parsed}
  containerd_version:
    type: str
    default: ""
    description: the version of the containerd build the migration installs (harness migrate
      --containerd); empty when the node keeps its packaged containerd, whose version is then
      the one checked
"""
EXAMPLES = r"""
- name: Read the node's runtime configuration
  node_runtime_facts:
  register: node
"""
RETURN = r"""
facts: {description: kubelet, docker, containerd, node and migration facts, type: dict}
findings: {description: list of id/severity/message, type: list}
carry_over:
  description: every daemon.json key, docker.service drop-in line and kubelet flag found, and
    what the migration makes of it (source, item, fate carried|translated|kept|dropped, detail)
  type: list
settings: {description: what the migration writes for containerd and the kubelet, type: dict}
"""

import json
import os
import re
import shlex
import shutil
import subprocess

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.harness_node import image_space
from ansible.module_utils.harness_node.docker import DockerAPI, DockerUnavailable, from_info
from ansible.module_utils.harness_node.findings import Finding
from ansible.module_utils.harness_node.kubelet_runtime import (
    DOCKERSHIM_FLAGS,
    INSTANCE_CONFIG,
    KUBELET_DIR,
)
from ansible.module_utils.harness_node.oom import probe as oom_probe

KUBEADM_FLAGS = f"{KUBELET_DIR}/kubeadm-flags.env"
KUBELET_DEFAULTS = "/etc/default/kubelet"
KUBELET_CONFIG = f"{KUBELET_DIR}/config.yaml"
DAEMON_JSON = "/etc/docker/daemon.json"
CRI_DOCKERD_UNITS = ("cri-docker.socket", "cri-docker.service")
UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")
DOCKER_DROPINS = "/etc/systemd/system/docker.service.d"
DOCKER_CERTS = "/etc/docker/certs.d"  # per registry: CA *.crt, client *.cert + *.key
CONTAINERD_CERTS = "/etc/containerd/certs.d"
CONTAINERD_CONFIG = "/etc/containerd/config.toml"
BASE_RUNTIME_SPEC = "/etc/containerd/base-runtime-spec.json"
# The ulimits Docker knows (`docker run --ulimit`), each an OCI RLIMIT_<NAME>; -1 is unlimited.
ULIMITS = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
           "nproc", "rss", "rtprio", "rttime", "sigpending", "stack")
UNLIMITED = 2**64 - 1
CRI_PLUGIN_IDS = ("cri", "io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime",
                  "io.containerd.cri.v1.images")
# daemon.json keys the migration carries over, and where to (reference: migration-anchor §3.5).
CARRIED = {
    "registry-mirrors": "containerd hosts.toml for docker.io (config_path)",
    "insecure-registries": "containerd hosts.toml per registry (config_path)",
    "log-driver": "kubelet writes CRI logs under /var/log/pods",
    "log-opts": "kubelet containerLogMaxSize / containerLogMaxFiles",
    "exec-opts": "containerd SystemdCgroup, from the kubelet's cgroupDriver",
    "live-restore": "not needed: containerd's shims outlive a containerd restart",
    "storage-driver": "containerd's overlayfs snapshotter",
    "default-ulimits": f"process.rlimits of containerd's base runtime spec ({BASE_RUNTIME_SPEC}), "
                       "for every runtime handler",
}
# Keys with findings of their own, one per runtime (runtime_handlers).
RUNTIME_KEYS = ("runtimes", "default-runtime")
RUNC_SHIM = "io.containerd.runc.v2"
DOCKER_RUNTIME = "runc"  # Docker's own runtime, the default when daemon.json names none
DOCKERSHIM_HANDLER = "docker"  # the one RuntimeClass handler dockershim accepted besides ""
# runc's global flags that daemon.json runtimeArgs may give, and the runc shim option each is.
RUNC_ARGS = {"--root": "Root", "--criu": "CriuPath"}
NOT_CARRIED = {
    "data-root": "containerd keeps its own root (/var/lib/containerd); move a dedicated disk "
                 "by hand",
    "bip": "Docker's bridge is not used by pods; nothing to carry",
    "dns": "pods get DNS from the kubelet (clusterDNS); nothing to carry",
}


def read(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


def run(*argv: str) -> str | None:
    """First line of a command's output, or None if it is missing or fails."""
    if not shutil.which(argv[0]) and not os.path.exists(argv[0]):
        return None
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if out.returncode == 0 and text else None


def systemctl(verb: str, unit: str) -> str:
    out = subprocess.run(["systemctl", verb, unit], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def env_file_args(text: str | None, variable: str) -> list[str]:
    if not text:
        return []
    match = re.search(rf'^{variable}=(.*)$', text, re.M)
    return shlex.split(shlex.split(match.group(1))[0]) if match and match.group(1) else []


def flag_map(args: list[str]) -> dict[str, str]:
    flags = {}
    for arg in args:
        name, _, value = arg.partition("=")
        flags[name] = value
    return flags


def top_level_scalars(yaml_text: str | None) -> dict[str, str]:
    """Top-level `key: value` lines of a KubeletConfiguration (no YAML library on nodes)."""
    found = {}
    for line in (yaml_text or "").splitlines():
        match = re.match(r"^([A-Za-z][\w]*):\s*['\"]?([^'\"#]+?)['\"]?\s*$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def imagefs_threshold(flags: dict[str, str], config_text: str | None) -> str:
    """The kubelet's hard eviction threshold for its image filesystem (`imagefs.available`):
    from --eviction-hard, else the config's evictionHard (YAML or JSON), else the default."""
    for item in flags.get("--eviction-hard", "").split(","):
        if item.startswith("imagefs.available<"):
            return item.partition("<")[2]
    try:
        config = json.loads(config_text or "")
        return (config.get("evictionHard") or {}).get("imagefs.available",
                                                      image_space.DEFAULT_THRESHOLD)
    except ValueError:  # YAML, the usual form: the block under a top-level evictionHard key
        pass
    section = re.search(r"^evictionHard:\s*\n((?:[ \t]+.*\n?)*)", config_text or "", re.M)
    value = section and re.search(r"^\s+[\"']?imagefs\.available[\"']?\s*:\s*[\"']?([\w.%]+)",
                                  section.group(1), re.M)
    return value.group(1) if value else image_space.DEFAULT_THRESHOLD


def kubelet_facts() -> dict:
    flags_text = read(KUBEADM_FLAGS)
    args = env_file_args(flags_text, "KUBELET_KUBEADM_ARGS")
    extra = env_file_args(read(KUBELET_DEFAULTS), "KUBELET_EXTRA_ARGS")
    flags = flag_map(args + extra)
    config_text = read(KUBELET_CONFIG)
    config = top_level_scalars(config_text)
    endpoint = flags.get("--container-runtime-endpoint") or config.get("containerRuntimeEndpoint")
    version = re.sub("^Kubernetes ", "", run("kubelet", "--version") or "").lstrip("v")
    instance_text = read(f"{KUBELET_DIR}/{INSTANCE_CONFIG}")  # None: no such file
    proxy = re.sub("^Kubernetes ", "", run("kube-proxy", "--version") or "").lstrip("v")
    return {
        "version": version or None,
        "kube_proxy_version": proxy or None,
        "flags_file": KUBEADM_FLAGS if flags_text is not None else None,
        "args": args,
        "extra_args": extra,
        "runtime": classify_runtime(flags.get("--container-runtime"), endpoint),
        "endpoint": endpoint,
        "cgroup_driver": config.get("cgroupDriver", "cgroupfs"),  # v1beta1's default
        "static_pod_path": config.get("staticPodPath"),
        "imagefs_available": imagefs_threshold(flags, config_text),
        "pod_infra_image": flags.get("--pod-infra-container-image"),
        "cni_bin_dir": flags.get("--cni-bin-dir"),
        "cni_conf_dir": flags.get("--cni-conf-dir"),
        "dockershim_flags": sorted(f for f in flags if f in DOCKERSHIM_FLAGS),
        "kubeadm_version": (run("kubeadm", "version", "-o", "short") or "").lstrip("v") or None,
        # kubeadm's own record of the node's socket since NodeLocalCRISocket (1.32+)
        "instance_config": None if instance_text is None else top_level_scalars(instance_text),
        "active": systemctl("is-active", "kubelet"),
    }


def static_pod_facts(directory: str | None) -> dict:
    """The kubelet's static pods: on a kubeadm control-plane node the API server, controller-
    manager, scheduler and etcd, which the kubelet starts from local files, not from the API."""
    manifests = []
    if directory and os.path.isdir(directory):
        manifests = sorted(f for f in os.listdir(directory)
                           if f.endswith((".yaml", ".yml", ".json")))
    etcd = read(os.path.join(directory, "etcd.yaml")) if "etcd.yaml" in manifests else None
    data_dir = re.search(r"--data-dir=(\S+)", etcd or "")
    return {"dir": directory, "manifests": manifests,
            "control_plane": "kube-apiserver.yaml" in manifests,
            "etcd_data_dir": data_dir.group(1).strip("'\"") if data_dir else None}


def classify_runtime(runtime_flag: str | None, endpoint: str | None) -> str:
    """dockershim, cri-dockerd, containerd, or other (kubernetes find-out-runtime-you-use)."""
    if endpoint and "cri-dockerd" in endpoint:
        return "cri-dockerd"
    if endpoint and "containerd" in endpoint:
        return "containerd"
    if runtime_flag in (None, "", "docker") and not endpoint:
        return "dockershim"
    return "other"


def cri_dockerd_facts() -> dict:
    """cri-dockerd's units (Mirantis' packaging): which are installed, which enabled."""
    units = [u for u in CRI_DOCKERD_UNITS if any(os.path.exists(os.path.join(d, u))
                                                 for d in UNIT_DIRS)]
    return {"units": units, "enabled": [u for u in units
                                        if systemctl("is-enabled", u) == "enabled"]}


def docker_facts(api: DockerAPI) -> dict:
    daemon_json_text = read(DAEMON_JSON)
    try:
        daemon_json = json.loads(daemon_json_text) if daemon_json_text else {}
    except ValueError as err:
        daemon_json = {"__invalid__": str(err)}
    facts = {"installed": bool(shutil.which("dockerd")), "active": systemctl("is-active", "docker"),
             "enabled": systemctl("is-enabled", "docker"), "daemon_json": daemon_json,
             "proxy_env": docker_proxy_env(), "certs_d": docker_certs()}
    try:
        info = api.get_json("/info")
        images = api.get_json("/images/json")
        layer_bytes = image_space.unique_bytes(api, [i["Id"] for i in images])
    except DockerUnavailable:
        return {**facts, "answers": False}
    return {**facts, **from_info(info), "answers": True, "root_dir": info.get("DockerRootDir"),
            "image_count": len(images), "image_bytes": sum(i.get("Size", 0) for i in images),
            "layer_bytes": layer_bytes,
            "containers_running": info.get("ContainersRunning", 0)}


def dropin_lines() -> list[tuple[str, str]]:
    """(file, line) of every setting in docker.service's drop-ins, in file order."""
    names = sorted(os.listdir(DOCKER_DROPINS)) if os.path.isdir(DOCKER_DROPINS) else []
    return [(name, line.strip()) for name in names
            for line in (read(os.path.join(DOCKER_DROPINS, name)) or "").splitlines()
            if line.strip() and not line.strip().startswith(("#", ";", "["))]


def proxy_vars(line: str) -> dict:
    """HTTP(S)_PROXY / NO_PROXY that a drop-in's line sets (an Environment= line)."""
    if not line.startswith("Environment="):
        return {}
    pairs = (item.partition("=") for item in shlex.split(re.sub("^Environment=", "", line)))
    return {key.upper(): value for key, _, value in pairs
            if key.upper() in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")}


def docker_proxy_env() -> dict:
    """HTTP(S)_PROXY / NO_PROXY from docker.service drop-ins (Environment= lines)."""
    env = {}
    for _, line in dropin_lines():
        env.update(proxy_vars(line))
    return env


def containerd_facts(config: dict, error: str | None) -> dict:
    """`config`: config.toml as the action plugin parsed it on the controller ({} when the file
    is missing or invalid, `error` then saying why)."""
    disabled = [p for p in config.get("disabled_plugins", []) if p in CRI_PLUGIN_IDS]
    version = run("containerd", "--version")
    return {"version": version.split()[2].lstrip("v") if version else None,
            "active": systemctl("is-active", "containerd"),
            "config": config, "config_version": config.get("version", 1), "config_error": error,
            "cri_disabled": disabled}


def log_size(docker_size: str) -> str:
    """Docker's max-size (10m) as a kubelet quantity (10Mi)."""
    units = {"k": "Ki", "m": "Mi", "g": "Gi"}
    number, unit = docker_size[:-1], docker_size[-1:].lower()
    return f"{number}{units[unit]}" if unit in units else docker_size


def docker_certs(root: str = DOCKER_CERTS) -> dict:
    """Docker's per-registry TLS files: registry -> {"ca": [...], "client": [[cert, key]]},
    named as Docker reads them (a CA is *.crt; a client pair is NAME.cert with NAME.key)."""
    found = {}
    for registry in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        files = set(os.listdir(os.path.join(root, registry)))
        ca = sorted(f for f in files if f.endswith(".crt"))
        client = [[f, f[:-len(".cert")] + ".key"] for f in sorted(files)
                  if f.endswith(".cert") and f[:-len(".cert")] + ".key" in files]
        if ca or client:
            found[registry] = {"ca": ca, "client": client}
    return found


def registry_files(certs_d: dict) -> list[dict]:
    """Docker's TLS files, copied beside the hosts.toml that names them."""
    return [{"src": f"{DOCKER_CERTS}/{registry}/{name}",
             "dest": f"{CONTAINERD_CERTS}/{registry}/{name}",
             "mode": "0600" if name.endswith(".key") else "0644"}
            for registry, files in certs_d.items()
            for name in [*files["ca"], *(f for pair in files["client"] for f in pair)]]


def registry_hosts(daemon_json: dict, certs_d: dict | None = None) -> list[dict]:
    """containerd hosts.toml files (containerd docs/hosts.md) for Docker's registry settings:
    mirrors apply to Docker Hub only, as in Docker; an insecure registry is reached over plain
    HTTP, and over HTTPS without certificate checks; a registry with files in Docker's certs.d
    over HTTPS trusting its CA (and presenting its client certificate), which containerd
    would otherwise refuse after the switch."""
    hosts = []
    mirrors = daemon_json.get("registry-mirrors") or []
    if mirrors:
        hosts.append({"registry": "docker.io", "server": "https://registry-1.docker.io",
                      "hosts": [{"url": m.rstrip("/"), "capabilities": ["pull", "resolve"],
                                 "skip_verify": False} for m in mirrors]})
    for registry in daemon_json.get("insecure-registries") or []:
        if "/" in registry:  # a CIDR: containerd has no per-network setting
            continue
        hosts.append({"registry": registry, "server": f"http://{registry}",
                      "hosts": [{"url": f"http://{registry}",
                                 "capabilities": ["pull", "resolve", "push"],
                                 "skip_verify": True}]})
    insecure = {h["registry"] for h in hosts}
    for registry, files in (certs_d or {}).items():
        if registry in insecure:  # Docker skips verification there too
            continue
        where = f"{CONTAINERD_CERTS}/{registry}"
        hosts.append({"registry": registry, "server": f"https://{registry}",
                      "hosts": [{"url": f"https://{registry}",
                                 "capabilities": ["pull", "resolve", "push"],
                                 "skip_verify": False,
                                 "ca": [f"{where}/{name}" for name in files["ca"]],
                                 "client": [[f"{where}/{c}", f"{where}/{k}"]
                                            for c, k in files["client"]]}]})
    return hosts


def rlimits(daemon_json: dict) -> tuple[list[dict], str]:
    """daemon.json default-ulimits as OCI process.rlimits, or why they cannot be. Docker's
    containers get exactly these (the rest inherited from dockerd); containerd's CRI gives its
    containers a base spec's rlimits when one is configured, else inherits its own."""
    out = []
    for name, limit in sorted((daemon_json.get("default-ulimits") or {}).items()):
        values = [limit.get(k) if isinstance(limit, dict) else None for k in ("Soft", "Hard")]
        if name not in ULIMITS or not all(isinstance(v, int) and v >= -1 for v in values):
            return [], (f"default-ulimits {name}: {limit!r} is not a ulimit with integer Soft and "
                        f"Hard (names: {', '.join(ULIMITS)})")
        soft, hard = (UNLIMITED if v == -1 else v for v in values)
        out.append({"type": f"RLIMIT_{name.upper()}", "hard": hard, "soft": soft})
    return out, ""


def other_keys(daemon_json: dict) -> list[tuple[str, str, str]]:
    """Each daemon.json key but the runtimes' as (key, carried | refused | not-carried, where to
    or why): what preflight's findings and the carry-over both say of it."""
    valid = {} if "__invalid__" in daemon_json else daemon_json
    _, ulimits_refused = rlimits(valid)
    out = []
    for key in sorted(k for k in valid if k not in RUNTIME_KEYS):
        if key == "default-ulimits" and ulimits_refused:
            out.append((key, "refused", ulimits_refused))
        elif key in CARRIED:
            out.append((key, "carried", CARRIED[key]))
        else:
            out.append((key, "not-carried",
                        NOT_CARRIED.get(key, "no containerd equivalent is applied")))
    return out


def runtime_handler(name: str, spec: object, systemd_cgroup: bool) -> tuple[dict | None, str]:
    """One daemon.json runtime as a containerd CRI runtime handler of the same name, or None and
    why it cannot be carried. Docker runs `path` with `runtimeArgs` before runc's own command,
    where containerd's runc shim takes options instead; Docker 23+ also names a shim
    (`runtimeType`, `options`) as containerd does."""
    if not isinstance(spec, dict):
        return None, f"{spec!r} is not an object"
    if "runtimeType" in spec and set(spec) <= {"runtimeType", "options"}:
        options = dict(spec.get("options") or {})
        binary = options.pop("BinaryName", "runc") if spec["runtimeType"] == RUNC_SHIM else None
        if spec["runtimeType"] == RUNC_SHIM and options.pop("SystemdCgroup",
                                                             systemd_cgroup) != systemd_cgroup:
            return None, "options.SystemdCgroup differs from the kubelet's cgroupDriver"
        return {"name": name, "runtime_type": spec["runtimeType"], "binary": binary,
                "options": options}, ""
    if not spec.get("path") or not set(spec) <= {"path", "runtimeArgs"}:
        return None, (f"keys {sorted(spec)}: neither path (and runtimeArgs) nor runtimeType "
                      "(and options)")
    options, args = {}, list(spec.get("runtimeArgs") or [])
    while args:
        flag, eq, value = args.pop(0).partition("=")
        if flag in RUNC_ARGS and (eq or args):
            options[RUNC_ARGS[flag]] = value if eq else args.pop(0)
        elif flag == "--systemd-cgroup" and value in ("", "true"):
            if not systemd_cgroup:
                return None, ("runtimeArgs --systemd-cgroup but the kubelet's cgroupDriver is "
                              "cgroupfs: align them")
        else:
            return None, (f"runtimeArgs {flag}{eq}{value}: containerd's runc shim has no such "
                          f"option (it takes {', '.join(RUNC_ARGS)} and --systemd-cgroup)")
    return {"name": name, "runtime_type": RUNC_SHIM, "binary": spec["path"],
            "options": options}, ""


def runtime_handlers(daemon_json: dict, systemd_cgroup: bool) -> tuple[list[dict], str, dict]:
    """Every runtime Docker offers as a containerd CRI runtime handler of the same name: runc,
    each daemon.json `runtimes` entry, and `docker` (the handler RuntimeClasses made for
    dockershim name) as the default runtime under that name; the default runtime's name; and
    why each runtime that cannot be carried is not (a GPU or sandbox runtime dropped silently
    would take the node's GPUs or isolation with it)."""
    handlers = {DOCKER_RUNTIME: {"name": DOCKER_RUNTIME, "runtime_type": RUNC_SHIM,
                                 "binary": "runc", "options": {}}}
    refused = {}
    for name, spec in sorted((daemon_json.get("runtimes") or {}).items()):
        handler, why = runtime_handler(name, spec, systemd_cgroup)
        if handler:
            handlers[name] = handler
        else:
            refused[name] = why
    default = daemon_json.get("default-runtime") or DOCKER_RUNTIME
    if default not in handlers and default not in refused:
        refused[default] = "default-runtime names no runtime in daemon.json"
    handlers.setdefault(DOCKERSHIM_HANDLER, {**handlers.get(default, handlers[DOCKER_RUNTIME]),
                                             "name": DOCKERSHIM_HANDLER})
    return list(handlers.values()), default, refused


def settings(facts: dict, endpoint: str, config_version: int = 2) -> dict:
    """What the migration writes, derived once from the facts: containerd's CRI settings (over
    the node's own config when it is of the version written), its registry hosts and proxy,
    and the kubelet's runtime and log settings."""
    kubelet, docker, containerd = facts["kubelet"], facts["docker"], facts["containerd"]
    own = containerd["config"]
    log_opts = docker["daemon_json"].get("log-opts") or {}
    handlers, default, _ = runtime_handlers(docker["daemon_json"],
                                            kubelet["cgroup_driver"] == "systemd")
    limits, _ = rlimits(docker["daemon_json"])
    return {
        "endpoint": endpoint,
        "runtimes": handlers,
        "default_runtime": default,
        "rlimits": limits,
        "base_runtime_spec": BASE_RUNTIME_SPEC if limits else None,
        "containerd_config_version": config_version,
        "kept_config": own if own and containerd["config_version"] == config_version else {},
        "disabled_plugins": [p for p in own.get("disabled_plugins", [])
                             if p not in CRI_PLUGIN_IDS],
        "sandbox_image": kubelet["pod_infra_image"] or "k8s.gcr.io/pause:3.6",
        "systemd_cgroup": kubelet["cgroup_driver"] == "systemd",
        "cni_bin_dir": kubelet["cni_bin_dir"] or "/opt/cni/bin",
        "cni_conf_dir": kubelet["cni_conf_dir"] or "/etc/cni/net.d",
        "restrict_oom_score_adj": facts["node"]["negative_oom_score_adj_refused"],
        "registry_hosts": registry_hosts(docker["daemon_json"], docker.get("certs_d")),
        "registry_files": registry_files(docker.get("certs_d") or {}),
        "proxy_env": docker["proxy_env"],
        "container_log_max_size": log_size(log_opts["max-size"]) if "max-size" in log_opts
        else None,
        "container_log_max_files": int(log_opts["max-file"]) if "max-file" in log_opts
        else None,
    }


def cni_facts(kubelet: dict) -> dict:
    """The CNI plugins and configs containerd will use (the kubelet's directories): which CNI
    protocol versions the loopback plugin speaks, and each config's cniVersion."""
    bin_dir = kubelet["cni_bin_dir"] or "/opt/cni/bin"
    conf_dir = kubelet["cni_conf_dir"] or "/etc/cni/net.d"
    loopback = os.path.join(bin_dir, "loopback")
    configs = {}
    for name in sorted(os.listdir(conf_dir)) if os.path.isdir(conf_dir) else []:
        try:
            configs[name] = json.loads(read(os.path.join(conf_dir, name)) or "{}").get(
                "cniVersion")
        except ValueError:
            configs[name] = None
    return {"bin_dir": bin_dir, "conf_dir": conf_dir, "loopback": os.path.exists(loopback),
            "protocols": cni_protocols(loopback), "configs": configs}


def cni_protocols(plugin: str) -> list[str]:
    """The CNI versions `plugin` speaks, by the spec's VERSION command (every plugin release
    answers it; the "protocol versions supported" line of its bare run came only with 1.0);
    [] when it is missing or does not answer."""
    try:
        answer = subprocess.run([plugin], input="{}", env={"CNI_COMMAND": "VERSION"},
                                capture_output=True, text=True, timeout=20)
        return list(json.loads(answer.stdout).get("supportedVersions") or [])
    except (OSError, ValueError, AttributeError, subprocess.TimeoutExpired):
        return []


def cni_plugins_problem(cni: dict) -> str | None:
    """Why the CNI plugins in the kubelet's directory would fail containerd's pods, if they
    would."""
    where = cni["bin_dir"]
    if not cni["loopback"]:
        return (f"no loopback plugin in {where}, the kubelet's CNI plugin directory: every pod "
                "sandbox needs it; install the CNI plugins there")
    if not cni["protocols"]:
        return (f"{where}/loopback does not answer CNI's VERSION command (not executable, or "
                "not a CNI plugin): reinstall the CNI plugins")
    if "1.0.0" not in cni["protocols"]:
        return (f"the CNI plugins in {where} do not speak CNI 1.0.0, which containerd 1.6 and "
                "later need: install plugins 1.0 or later there")
    return None


def version_tuple(text: str | None) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", text or "")[:3])


def image_copy_space(docker: dict, containerd_root: str, threshold: str) -> list[dict]:
    """Each filesystem copying every Docker image writes to, with what it needs there."""
    if not docker.get("layer_bytes"):
        return []
    return [fs.to_json() for fs in image_space.filesystems(
        docker["layer_bytes"], containerd_root, docker.get("root_dir"), threshold)]


def migration_state(state_dir: str) -> dict:
    text = read(os.path.join(state_dir, "state.json"))
    return json.loads(text) if text else {}


def findings(facts: dict, target: str = "", config_version: int = 2,
             containerd_build: str = "") -> list[dict]:
    """What preflight reports: errors block the node, warnings are listed in the report.
    `target`: the Kubernetes version the node is to be upgraded to, if any; `config_version`:
    the containerd config version the migration writes; `containerd_build`: the version of the
    containerd the migration installs, if it does not keep the node's package."""
    out = []

    def add(fid: str, severity: str, message: str) -> None:
        out.append(Finding(fid, severity, message).to_json())

    kubelet, docker, containerd = facts["kubelet"], facts["docker"], facts["containerd"]
    if target and version_tuple(target)[:2] >= (1, 24) and kubelet["runtime"] == "dockershim":
        add("dockershim-removed", "error", f"dockershim is gone in 1.24: migrate "
            f"{facts['hostname']} to containerd first (harness migrate)")
    if kubelet["flags_file"] is None and not kubelet["version"]:
        add("kubelet-missing", "error", "no kubelet found (kubelet --version, "
            f"{KUBEADM_FLAGS})")
    if kubelet["runtime"] == "cri-dockerd":
        add("origin-cri-dockerd", "info", f"the kubelet reaches Docker through cri-dockerd "
            f"({kubelet['endpoint']}); migrate stops and disables "
            f"{' and '.join(facts['cri_dockerd']['units']) or 'its units'}")
    static = facts["static_pods"]
    if static["control_plane"] and kubelet["runtime"] != "containerd":
        add("control-plane", "info", f"static pods {', '.join(static['manifests'])} in "
            f"{static['dir']}: their images are copied before the switch, the API server is "
            "down while the node switches"
            + (f", etcd's {static['etcd_data_dir']} is backed up first and checked after"
               if static["etcd_data_dir"] else ""))
    if kubelet["runtime"] == "containerd":
        add("already-containerd", "info", "the kubelet already uses containerd "
            f"({kubelet['endpoint']}); migrate leaves this node as it is")
    elif kubelet["runtime"] == "other":
        add("unknown-runtime", "error", f"the kubelet uses {kubelet['endpoint']!r}, neither "
            "Docker nor containerd")
    elif not docker["installed"]:
        add("docker-missing", "error", "the kubelet is set for Docker but dockerd is not "
            "installed")
    elif not docker.get("answers"):
        add("docker-down", "error", "Docker does not answer on its socket; start it so its "
            "images can be copied")
    if not containerd["version"] and not containerd_build:
        add("containerd-missing", "error", "containerd is not installed (apt-get install "
            "containerd)")
    if containerd["version"] or containerd_build:
        add("versions", "info", f"kubelet {kubelet['version']}, Docker {docker.get('version')},"
            f" containerd {containerd['version'] or 'none'}"
            + (f" (replaced by the migration's build {containerd_build})" if containerd_build
               else "")
            + f", runc {facts['runc']}, CNI protocols "
            f"{', '.join(facts['cni']['protocols']) or 'unknown'}")
    if not containerd_build and containerd["version"] and \
            version_tuple(containerd["version"]) < (1, 6, 4):
        add("containerd-version", "error", f"containerd {containerd['version']}: the kubelet "
            "needs CRI v1 (1.5+) and 1.6.0-1.6.3 fail pod networking with older CNI plugins; "
            "install 1.6.4 or later, or migrate to a containerd 2.x build (harness migrate "
            "--containerd VERSION)")
    # The kubelet's CNI directories are those containerd will take over; a node already on
    # containerd keeps its own (in config.toml), which migrate leaves alone.
    moving = kubelet["runtime"] != "containerd"
    plugins = cni_plugins_problem(facts["cni"]) if moving else None
    if plugins:
        add("cni-plugins", "error", plugins)
    for name, version in facts["cni"]["configs"].items():
        if not version:
            add("cni-config-version", "error", f"{facts['cni']['conf_dir']}/{name} declares no "
                "cniVersion; containerd 1.6 refuses it")
    if containerd["config_error"]:
        add("containerd-config-invalid", "error", f"{CONTAINERD_CONFIG}: "
            f"{containerd['config_error']}")
    if containerd["cri_disabled"]:
        add("cri-disabled", "warning", f"{CONTAINERD_CONFIG} disables "
            f"{', '.join(containerd['cri_disabled'])}; migrate renders a config with CRI on")
    if moving and containerd["config"] and containerd["config_version"] == config_version:
        add("containerd-config-kept", "info", f"{CONTAINERD_CONFIG} (version {config_version}):"
            " its own settings are kept beneath the migration's; each one changed is a "
            "containerd-config-changed finding")
    elif moving and containerd["config"]:
        add("containerd-config-replaced", "warning", f"{CONTAINERD_CONFIG} is version "
            f"{containerd['config_version']}, the migration writes version {config_version}: "
            f"its settings ({', '.join(sorted(containerd['config']))}) are replaced, not "
            "carried; the file is backed up and restored by a rollback")
    if docker.get("answers") and docker.get("cgroup_driver") != kubelet["cgroup_driver"]:
        add("cgroup-driver-mismatch", "error", f"kubelet cgroupDriver {kubelet['cgroup_driver']}"
            f" but Docker uses {docker.get('cgroup_driver')}; align them before migrating")
    if kubelet["runtime"] == "dockershim" and not kubelet["pod_infra_image"]:
        add("sandbox-image-unknown", "warning", "no --pod-infra-container-image: containerd "
            "will use its own default pause image, which must be present offline")
    for space in facts["node"]["image_copy_space"]:
        filesystem = image_space.Filesystem.from_json(space)
        if not filesystem.fits:
            add("disk-space", "error", filesystem.shortfall())
    daemon_json = docker["daemon_json"]
    if "__invalid__" in daemon_json:
        add("daemon-json-invalid", "error", f"{DAEMON_JSON}: {daemon_json['__invalid__']}")
    handlers, default, refused = runtime_handlers(
        {} if "__invalid__" in daemon_json else daemon_json, kubelet["cgroup_driver"] == "systemd")
    named = daemon_json.get("runtimes") or {}
    for handler in handlers:
        source = (f"{DAEMON_JSON} runtime {handler['name']}" if handler["name"] in named
                  else "dockershim's RuntimeClass handler docker"
                  if handler["name"] == DOCKERSHIM_HANDLER else "Docker's own runtime runc")
        add(f"runtime:{handler['name']}", "info", f"{source} -> containerd runtime handler "
            f"{handler['name']} ({handler['runtime_type']}"
            + (f", binary {handler['binary']}" if handler["binary"] else "")
            + "".join(f", {k} {v}" for k, v in sorted(handler["options"].items())) + ")"
            + (", the default" if handler["name"] == default else ""))
    for name, why in refused.items():
        add(f"runtime:{name}", "error", f"{DAEMON_JSON} runtime {name} cannot be carried to "
            f"containerd: {why}; pods that use it would stop. Fix it in {DAEMON_JSON} or remove "
            "it if no pod uses it")
    for key, fate, detail in other_keys(daemon_json):
        if fate == "refused":
            add(f"daemon-json:{key}", "error", f"{DAEMON_JSON} {detail}: fix it, or remove "
                f"{key} if no workload needs them")
        elif fate == "carried":
            add(f"daemon-json:{key}", "info", f"{DAEMON_JSON} {key} -> {detail}")
        else:
            add(f"daemon-json:{key}", "warning", f"{DAEMON_JSON} {key} is not carried over: "
                f"{detail}")
    if docker["proxy_env"]:
        add("docker-proxy", "info", "docker.service proxy environment -> containerd.service "
            "drop-in http-proxy.conf")
    if facts["node"]["negative_oom_score_adj_refused"]:
        add("oom-score-adj", "info", "the node refuses negative oom_score_adj: containerd gets "
            "restrict_oom_score_adj = true")
    return out


RUNTIME_FLAGS = ("--container-runtime", "--container-runtime-endpoint")


def carry_over(facts: dict) -> list[dict]:
    """Every setting the migration finds on a Docker node and what becomes of it, one row each:
    the runbook an operator keeps. Fates: carried (the same setting, elsewhere), translated
    (into another form), kept (left as it is), dropped (with the reason)."""
    rows = []

    def row(source: str, item: str, fate: str, detail: str) -> None:
        rows.append({"source": source, "item": item, "fate": fate, "detail": detail})

    kubelet, docker = facts["kubelet"], facts["docker"]
    daemon_json = docker["daemon_json"]
    if "__invalid__" not in daemon_json:
        handlers, default, refused = runtime_handlers(daemon_json,
                                                      kubelet["cgroup_driver"] == "systemd")
        named = {h["name"]: h for h in handlers}
        for name in sorted(daemon_json.get("runtimes") or {}):
            row(DAEMON_JSON, f"runtimes.{name}", "dropped" if name in refused else "translated",
                refused.get(name) or f"containerd runtime handler {name} "
                f"({named[name]['runtime_type']})")
        if "default-runtime" in daemon_json:
            row(DAEMON_JSON, "default-runtime", "dropped" if default in refused else "translated",
                refused.get(default) or f"containerd default_runtime_name {default}")
    for key, fate, detail in other_keys(daemon_json):
        row(DAEMON_JSON, key, "translated" if fate == "carried" else "dropped", detail)
    for name, line in dropin_lines():
        proxy = bool(proxy_vars(line))
        row(f"{DOCKER_DROPINS}/{name}", line, "carried" if proxy else "dropped",
            "containerd.service drop-in http-proxy.conf" if proxy else
            "docker.service is stopped and disabled after the move: apply it to "
            "containerd.service by hand if containerd needs it")
    for flag in sorted(flag_map(kubelet["args"] + kubelet["extra_args"])):
        if flag in DOCKERSHIM_FLAGS:
            row("kubelet", flag, "dropped", "dockershim's own flag: the kubelet refuses it on "
                "a remote runtime; containerd's CRI takes the CNI directories")
        elif flag in RUNTIME_FLAGS:
            row("kubelet", flag, "translated", "containerd's endpoint, where this kubelet "
                "version reads it (flag or KubeletConfiguration)")
        else:
            row("kubelet", flag, "kept", "unchanged")
    return rows


def main() -> None:
    module = AnsibleModule(argument_spec={
        "docker_host": {"type": "str", "default": "unix:///run/docker.sock"},
        "containerd_root": {"type": "path", "default": "/var/lib/containerd"},
        "state_dir": {"type": "path", "default": "/var/lib/harness/migration"},
        "endpoint": {"type": "str", "default": "unix:///run/containerd/containerd.sock"},
        "kubernetes_target": {"type": "str", "default": ""},
        "node_name": {"type": "str", "default": ""},
        "containerd_config_version": {"type": "int", "default": 2},
        "containerd_version": {"type": "str", "default": ""},
        "containerd_config": {"type": "dict", "required": True},
        "containerd_config_error": {"type": "str", "default": None},
    }, supports_check_mode=True)
    kubelet = kubelet_facts()
    docker = docker_facts(DockerAPI(module.params["docker_host"]))
    facts = {
        "kubelet": kubelet,
        "docker": docker,
        "containerd": containerd_facts(module.params["containerd_config"],
                                       module.params["containerd_config_error"]),
        "runc": (run("runc", "--version") or "").split()[-1] or None,
        "cni": cni_facts(kubelet),
        "crictl": shutil.which("crictl"),
        "cri_dockerd": cri_dockerd_facts(),
        "static_pods": static_pod_facts(kubelet["static_pod_path"]),
        "node": {"negative_oom_score_adj_refused": oom_probe()["negative_refusal"] is not None,
                 "image_copy_space": image_copy_space(docker, module.params["containerd_root"],
                                                      kubelet["imagefs_available"]),
                 "cgroup2": os.path.exists("/sys/fs/cgroup/cgroup.controllers")},
        "migration": migration_state(module.params["state_dir"]),
    }
    facts["hostname"] = module.params["node_name"] or os.uname().nodename
    version = module.params["containerd_config_version"]
    module.exit_json(changed=False, facts=facts, carry_over=carry_over(facts),
                     findings=findings(facts, module.params["kubernetes_target"], version,
                                       module.params["containerd_version"]),
                     settings=settings(facts, module.params["endpoint"], version))


if __name__ == "__main__":
    main()
