"""containerd's config.toml for the kubelet's CRI, one layout per config version, rendered from
one set of typed settings, and the check that containerd took every setting; and the hosts.toml
of each registry (`hosts_toml`), the one writer of both for the playbooks and the harness.

    version 2: containerd 1.6 and 1.7 (Debian 12 packages 1.6.20). Every CRI setting lives
               in one plugin, io.containerd.grpc.v1.cri.
    version 3: containerd 2.x. The CRI is split in three plugins: io.containerd.cri.v1.images
               (snapshotter, the sandbox image as pinned_images.sandbox, registry),
               io.containerd.cri.v1.runtime (runtimes, CNI with a list of bin_dirs, OOM and
               SELinux settings) and io.containerd.grpc.v1.cri (the streaming server only).
    version 4: containerd 2.x releases whose own version is 4 (2.4.2 here): version 3 with
               the gRPC and TTRPC listeners moved to plugins io.containerd.server.v1.grpc and
               .ttrpc. These releases still read version 3, migrating it in memory with a
               warning at every start, so one version 3 file serves every 2.x release.

A layout is the list of (setting, TOML key path, value) the version needs; the file is that
list nested into tables, and the check walks the same paths in `containerd config dump`.
containerd drops keys it does not know without an error, so a misspelt or misplaced key shows
up as a path missing from the dump, or as the dump's default value at that path.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field

import tomli_w

from harness.errors import InputError

KeyPath = tuple[str, ...]  # a TOML key, one element per table


RUNC_SHIM = "io.containerd.runc.v2"


@dataclass(frozen=True)
class Runtime:
    """A CRI runtime handler: its name, shim type, OCI runtime binary (runc's shim only) and
    further shim options (sorted (key, value) pairs: runc's Root, CriuPath; another shim's own)."""

    name: str
    binary: str | None = "runc"
    runtime_type: str = RUNC_SHIM
    options: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class Settings:
    """What the kubelet's node needs from containerd, independent of the config version."""

    sandbox_image: str  # the kubelet's --pod-infra-container-image
    root: str = "/var/lib/containerd"
    state: str = "/run/containerd"
    address: str = "/run/containerd/containerd.sock"
    ttrpc_address: str | None = None  # None: containerd's own default beside `address`
    opt_path: str | None = None  # io.containerd.internal.v1.opt; None: containerd's default
    disabled_plugins: tuple[str, ...] = ()
    restrict_oom_score_adj: bool = False  # True where the kernel refuses negative values
    systemd_cgroup: bool = False  # must equal the kubelet's cgroupDriver
    cni_bin_dirs: tuple[str, ...] = ("/opt/cni/bin",)  # version 2 takes exactly one
    cni_conf_dir: str = "/etc/cni/net.d"
    cni_max_conf_num: int = 1
    snapshotter: str = "overlayfs"
    default_runtime: str = "runc"
    runtimes: tuple[Runtime, ...] = (Runtime("runc"),)
    base_runtime_spec: str | None = None  # an OCI spec file every handler starts from
    registry_config_path: str = "/etc/containerd/certs.d"  # hosts.toml per registry
    # host -> (user, password); deprecated by containerd 2.x but still read, no replacement.
    registry_auths: dict[str, tuple[str, str]] = field(default_factory=dict)
    stream_server_address: str = "127.0.0.1"
    stream_server_port: str = "0"  # "0": the kernel picks, the CRI returns it in stream URLs
    enable_selinux: bool = False
    tolerate_missing_hugetlb_controller: bool = True
    netns_mounts_under_state_dir: bool = False
    # The node's own config.toml, when it is of the version rendered: its settings are kept
    # wherever the layout sets nothing (see `tree` and `conflicts`).
    kept: dict = field(default_factory=dict)


Entry = tuple[str, KeyPath, object]  # (setting, key path, value)


def _top(s: Settings, version: int) -> list[Entry]:
    """Top-level keys every version spells alike."""
    entries: list[Entry] = [
        ("version", ("version",), version),
        ("root", ("root",), s.root),
        ("state", ("state",), s.state),
        ("disabled_plugins", ("disabled_plugins",), list(s.disabled_plugins)),
    ]
    if s.opt_path is not None:
        entries.append(("opt_path", ("plugins", "io.containerd.internal.v1.opt", "path"),
                        s.opt_path))
    return entries


def _listeners(s: Settings, grpc: KeyPath, ttrpc: KeyPath) -> list[Entry]:
    entries: list[Entry] = [("address", (*grpc, "address"), s.address)]
    if s.ttrpc_address is not None:
        entries.append(("ttrpc_address", (*ttrpc, "address"), s.ttrpc_address))
    return entries


def _runtimes(s: Settings, runtimes: KeyPath) -> list[Entry]:
    entries = []
    for rt in s.runtimes:
        options = (*runtimes, rt.name, "options")
        entries.append((f"runtimes.{rt.name}.runtime_type", (*runtimes, rt.name, "runtime_type"),
                        rt.runtime_type))
        if rt.runtime_type == RUNC_SHIM:  # the cgroup driver and binary are runc's options
            entries += [
                (f"runtimes.{rt.name}.binary", (*options, "BinaryName"), rt.binary or "runc"),
                (f"runtimes.{rt.name}.systemd_cgroup", (*options, "SystemdCgroup"),
                 s.systemd_cgroup),
            ]
        entries += [(f"runtimes.{rt.name}.{key}", (*options, key), value)
                    for key, value in rt.options]
        if s.base_runtime_spec:
            entries.append((f"runtimes.{rt.name}.base_runtime_spec",
                            (*runtimes, rt.name, "base_runtime_spec"), s.base_runtime_spec))
    return entries


def _auths(s: Settings, registry: KeyPath) -> list[Entry]:
    entries = []
    for host, (user, password) in s.registry_auths.items():
        auth = (*registry, "configs", host, "auth")
        entries += [(f"registry_auths.{host}.user", (*auth, "username"), user),
                    (f"registry_auths.{host}.password", (*auth, "password"), password)]
    return entries


def layout_v2(s: Settings) -> list[Entry]:
    """containerd 1.6 / 1.7: everything under io.containerd.grpc.v1.cri."""
    if len(s.cni_bin_dirs) != 1:
        raise InputError(f"CNI bin dirs {list(s.cni_bin_dirs)}: config version 2 "
                         "(containerd 1.x) takes exactly one", hint="name one directory")
    cri = ("plugins", "io.containerd.grpc.v1.cri")
    return [
        *_top(s, 2),
        *_listeners(s, ("grpc",), ("ttrpc",)),
        ("sandbox_image", (*cri, "sandbox_image"), s.sandbox_image),
        ("restrict_oom_score_adj", (*cri, "restrict_oom_score_adj"), s.restrict_oom_score_adj),
        ("enable_selinux", (*cri, "enable_selinux"), s.enable_selinux),
        ("tolerate_missing_hugetlb_controller", (*cri, "tolerate_missing_hugetlb_controller"),
         s.tolerate_missing_hugetlb_controller),
        ("netns_mounts_under_state_dir", (*cri, "netns_mounts_under_state_dir"),
         s.netns_mounts_under_state_dir),
        ("stream_server_address", (*cri, "stream_server_address"), s.stream_server_address),
        ("stream_server_port", (*cri, "stream_server_port"), s.stream_server_port),
        ("cni_bin_dirs", (*cri, "cni", "bin_dir"), s.cni_bin_dirs[0]),
        ("cni_conf_dir", (*cri, "cni", "conf_dir"), s.cni_conf_dir),
        ("cni_max_conf_num", (*cri, "cni", "max_conf_num"), s.cni_max_conf_num),
        ("snapshotter", (*cri, "containerd", "snapshotter"), s.snapshotter),
        ("default_runtime", (*cri, "containerd", "default_runtime_name"), s.default_runtime),
        *_runtimes(s, (*cri, "containerd", "runtimes")),
        ("registry_config_path", (*cri, "registry", "config_path"), s.registry_config_path),
        *_auths(s, (*cri, "registry")),
    ]


def layout_v3(s: Settings) -> list[Entry]:
    """containerd 2.x: the listeners at the top, the CRI split in three plugins."""
    return [*_top(s, 3), *_listeners(s, ("grpc",), ("ttrpc",)), *_split_cri(s)]


def layout_v4(s: Settings) -> list[Entry]:
    """containerd 2.x with config version 4 (2.4.2 here): version 3 with the listeners moved
    to their server plugins."""
    return [*_top(s, 4),
            *_listeners(s, ("plugins", "io.containerd.server.v1.grpc"),
                        ("plugins", "io.containerd.server.v1.ttrpc")),
            *_split_cri(s)]


def _split_cri(s: Settings) -> list[Entry]:
    """The CRI of config versions 3 and 4: images, runtime and the streaming server."""
    images = ("plugins", "io.containerd.cri.v1.images")
    runtime = ("plugins", "io.containerd.cri.v1.runtime")
    server = ("plugins", "io.containerd.grpc.v1.cri")
    return [
        ("sandbox_image", (*images, "pinned_images", "sandbox"), s.sandbox_image),
        ("snapshotter", (*images, "snapshotter"), s.snapshotter),
        ("registry_config_path", (*images, "registry", "config_path"), s.registry_config_path),
        *_auths(s, (*images, "registry")),
        ("restrict_oom_score_adj", (*runtime, "restrict_oom_score_adj"),
         s.restrict_oom_score_adj),
        ("enable_selinux", (*runtime, "enable_selinux"), s.enable_selinux),
        ("tolerate_missing_hugetlb_controller", (*runtime, "tolerate_missing_hugetlb_controller"),
         s.tolerate_missing_hugetlb_controller),
        ("netns_mounts_under_state_dir", (*runtime, "netns_mounts_under_state_dir"),
         s.netns_mounts_under_state_dir),
        ("cni_bin_dirs", (*runtime, "cni", "bin_dirs"), list(s.cni_bin_dirs)),
        ("cni_conf_dir", (*runtime, "cni", "conf_dir"), s.cni_conf_dir),
        ("cni_max_conf_num", (*runtime, "cni", "max_conf_num"), s.cni_max_conf_num),
        ("default_runtime", (*runtime, "containerd", "default_runtime_name"), s.default_runtime),
        *_runtimes(s, (*runtime, "containerd", "runtimes")),
        ("stream_server_address", (*server, "stream_server_address"), s.stream_server_address),
        ("stream_server_port", (*server, "stream_server_port"), s.stream_server_port),
    ]


LAYOUTS: dict[int, Callable[[Settings], list[Entry]]] = {2: layout_v2, 3: layout_v3,
                                                         4: layout_v4}


def layout(s: Settings, version: int) -> list[Entry]:
    if version not in LAYOUTS:
        raise InputError(f"containerd config version {version!r}: not one this harness renders",
                         hint=f"use one of {', '.join(map(str, LAYOUTS))}")
    return LAYOUTS[version](s)


def _refused_mirrors(entries: list[Entry]) -> KeyPath:
    """The kept config's registry `mirrors` table, which containerd refuses beside the
    `registry.config_path` every layout sets: found beside that key in this version's layout."""
    config_path = next(path for setting, path, _ in entries if setting == "registry_config_path")
    return (*config_path[:-1], "mirrors")


def tree(s: Settings, version: int) -> dict:
    """The config as nested tables: the kept config, less what containerd would refuse beside
    the layout, with every layout entry set over it."""
    entries = layout(s, version)
    out = copy.deepcopy(s.kept)
    *registry, mirrors = _refused_mirrors(entries)
    table = _lookup(out, tuple(registry))
    if isinstance(table, dict):
        table.pop(mirrors, None)
    for _, path, value in entries:
        table = out
        for key in path[:-1]:
            if not isinstance(table.get(key), dict):
                table[key] = {}
            table = table[key]
        table[path[-1]] = value
    return out


def conflicts(s: Settings, version: int) -> list[str]:
    """Each setting of the kept config that the rendered one changes or leaves out, one line
    each: what an operator reads before the migration replaces it."""
    entries = layout(s, version)
    out = [f"{dotted(path)}: {found!r} becomes {value!r}" for _, path, value in entries
           if (found := _lookup(s.kept, path)) is not _ABSENT and found != value]
    mirrors = _refused_mirrors(entries)
    if _lookup(s.kept, mirrors) is not _ABSENT:
        out.append(f"{dotted(mirrors)}: left out, containerd refuses it beside config_path "
                   "(write a hosts.toml per registry instead)")
    return out


def render(s: Settings, version: int, comment: str = "") -> str:
    """The config.toml text of `version` for these settings, `comment` lines first."""
    header = "".join(f"# {line}\n" for line in comment.splitlines())
    return header + tomli_w.dumps(tree(s, version))


HOST_KEYS = ("capabilities", "skip_verify", "ca", "client")  # hosts.toml's, in its order


def hosts_toml(server: str, hosts: list[dict], comment: str = "") -> str:
    """containerd's hosts.toml for one registry (config_path/<registry>/hosts.toml): `server`,
    then each of `hosts` (url and the HOST_KEYS it sets; a false or empty one is left out) in
    the order containerd tries them, `comment` lines first."""
    header = "".join(f"# {line}\n" for line in comment.splitlines())
    tables = {h["url"]: {k: h[k] for k in HOST_KEYS if h.get(k)} for h in hosts}
    return header + tomli_w.dumps({"server": server, "host": tables})


def from_node(settings: dict) -> Settings:
    """Settings from what node_runtime_facts derives on a node (its `settings`)."""
    return Settings(
        sandbox_image=settings["sandbox_image"],
        address=settings["endpoint"].removeprefix("unix://"),
        # The kubelet's images stay under containerd's root, as Debian's package has it.
        opt_path="/var/lib/containerd/opt",
        disabled_plugins=tuple(settings["disabled_plugins"]),
        restrict_oom_score_adj=bool(settings["restrict_oom_score_adj"]),
        systemd_cgroup=bool(settings["systemd_cgroup"]),
        cni_bin_dirs=(settings["cni_bin_dir"],),
        cni_conf_dir=settings["cni_conf_dir"],
        default_runtime=settings["default_runtime"],
        base_runtime_spec=settings["base_runtime_spec"],
        runtimes=tuple(Runtime(r["name"], r["binary"], r["runtime_type"],
                               tuple(sorted(r["options"].items())))
                       for r in settings["runtimes"]),
        kept=settings["kept_config"],
    )


def dropped(dump: str, s: Settings) -> list[str]:
    """Every setting `containerd config dump` (its TOML text) does not show as intended, one
    line each; empty when containerd took them all. The paths are those of the version the
    dump is in: containerd migrates an older file in memory and dumps its own version."""
    tree = tomllib.loads(dump)
    missing = []
    for setting, path, value in layout(s, tree.get("version", 1)):
        found = _lookup(tree, path)
        if found != value:
            shown = "nothing" if found is _ABSENT else repr(found)
            missing.append(f"{setting}: {dotted(path)} = {value!r} intended, the dump has "
                           f"{shown}")
    return missing


_ABSENT = object()


def _lookup(tree: dict, path: KeyPath) -> object:
    node: object = tree
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return _ABSENT
        node = node[key]
    return node


def dotted(path: KeyPath) -> str:
    """A TOML dotted key: segments with dots or other specials quoted."""
    return ".".join(k if k.replace("_", "").replace("-", "").isalnum() else f'"{k}"'
                    for k in path)
