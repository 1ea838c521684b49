"""`lab up` and `lab down`: create a lab's nodes from the cached image, or remove every trace of
them. An `up` finding a healthy lab of the requested size leaves it alone; finding anything else
(an interrupted run, a host reboot, another size) it removes what is there and recreates it."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from harness.daemons.process import tcp_port_answers
from harness.errors import HarnessTimeout, InputError, StepFailed
from harness.facts import gather
from harness.images import BuiltImage
from harness.inventory import Inventory, Node, load_inventory
from harness.lab import access, cgroups, docker_node, machine, network, state
from harness.lab.image import NodeImage, ensure_image
from harness.lab.paths import state_root
from harness.lab.recipe import DEFAULT_DEBIAN, ImageRecipe
from harness.lab.state import LabRecord, NodeRecord
from harness.nodes.health import check_node
from harness.progress import progress
from harness.transport import open_transport

BOOT_TIMEOUT = 120.0


def node_name(lab: str, index: int) -> str:
    return f"{lab}-node{index}"


def inventory_path(name: str) -> Path:
    return state.lab_dir(name) / "inventory.yaml"


@contextmanager
def _lab_lock(name: str):
    """One `lab up` or `lab down` per lab at a time."""
    state_root().mkdir(parents=True, exist_ok=True)
    with open(state_root() / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def up(name: str, count: int, debian: str = DEFAULT_DEBIAN) -> Inventory:
    """Bring lab `name` to `count` running nodes on Debian `debian` with Docker answering on
    each; a lab of another release is made again."""
    _need_root()
    state.check_name(name)
    if not 1 <= count <= state.MAX_NODES:
        raise InputError(f"--nodes: {count} is not between 1 and {state.MAX_NODES}")
    image = ensure_image(ImageRecipe.for_debian(debian))
    _raise_inotify_instances(name)
    with _lab_lock(name):
        with state.registry_lock():
            record = state.claim(name)
        if record.image == image.digest and len(record.nodes) == count and healthy(record):
            progress(name, f"{count} node(s) already up, nothing to do")
            return load_inventory(inventory_path(name))
        if record.nodes or state.lab_dir(name).joinpath("nodes").exists():
            progress(name, "removing the previous, incomplete or different lab first")
            _teardown(record)
        return _create(record, image, count)


# inotify instances are counted per user, and every node's systemd, Docker, containerd and
# kubelet run as the host's root: Debian's default of 128 ran out with three 2-node labs (a
# 1.24 kubelet failed with "inotify_init: too many open files").
INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
MIN_INOTIFY_INSTANCES = 1024


def _raise_inotify_instances(lab: str) -> None:
    if int(INOTIFY_INSTANCES.read_text()) < MIN_INOTIFY_INSTANCES:
        INOTIFY_INSTANCES.write_text(f"{MIN_INOTIFY_INSTANCES}\n")
        progress(lab, f"raised fs.inotify.max_user_instances to {MIN_INOTIFY_INSTANCES} "
                 "(until reboot)")


def down(name: str) -> bool:
    """Remove lab `name` entirely (the cached image stays); False if there was none."""
    _need_root()
    state.check_name(name)
    with _lab_lock(name):
        record = state.load(name)
        if record is None:
            return False
        _teardown(record)
        shutil.rmtree(record.dir)
    return True


def _need_root() -> None:
    if os.geteuid() != 0:
        raise InputError("harness lab needs root (network namespaces, bridges, mounts, "
                         "systemd-nspawn)", hint="run it as root, e.g. with sudo")


def healthy(record: LabRecord) -> bool:
    """Every machine runs, and answers SSH and Docker through the lab's inventory."""
    if not inventory_path(record.name).exists():
        return False
    nodes = load_inventory(inventory_path(record.name)).nodes
    return len(nodes) == len(record.nodes) and all(
        machine.running(n.machine_pid, _spec(record, n).root) for n in record.nodes
    ) and all(check_node(n) == (True, True) for n in nodes)


def _spec(record: LabRecord, node: NodeRecord) -> machine.MachineSpec:
    host_name = record.network.netns(node.index)  # hl-<lab>-<index>
    return machine.MachineSpec(node.name, host_name, record.node_dir(node.name), host_name,
                               [Path(c) for c in node.cgroups])


def _create(record: LabRecord, image: NodeImage, count: int) -> Inventory:
    net = record.network
    record.image = image.digest
    record.nodes = [
        NodeRecord(i, node_name(record.name, i), net.node_address(i),
                   [str(d) for d in cgroups.node_cgroups(f"hl-{record.name}-{i}")])
        for i in range(1, count + 1)
    ]
    record.save()  # before anything exists on the host: down and repair find it all from here
    progress(record.name, f"bridge {net.bridge} {net.gateway}/{net.subnet.prefixlen}")
    network.create_bridge(net)
    pubkey = access.ensure_user_key(record.dir).with_suffix(".pub").read_text()
    hosts = {n.name: n.address for n in record.nodes}
    with ThreadPoolExecutor(count) as pool:
        host_keys = dict(pool.map(lambda n: _boot_node(record, image, n, hosts, pubkey),
                                  record.nodes))
    record.save()
    access.write_ssh_files(record.dir, hosts, host_keys)
    inventory = load_inventory(access.write_inventory(record.dir, record.name, hosts))
    fixtures = docker_node.fixture_images()
    with ThreadPoolExecutor(count) as pool:
        list(pool.map(lambda pair: _make_docker_node(record, *pair, fixtures),
                      zip(record.nodes, inventory.nodes, strict=True)))
    progress(record.name, f"{count} node(s) up; inventory {inventory.source}")
    return inventory


def _boot_node(record: LabRecord, image: NodeImage, node: NodeRecord, hosts: dict[str, str],
               pubkey: str) -> tuple[str, str]:
    spec = _spec(record, node)
    progress(node.name, f"network namespace {spec.netns}, address {node.address}")
    network.create_node_link(record.network, node.index)
    progress(node.name, "root filesystem (overlay on the cached image)")
    machine.mount_root(spec, image.rootfs)
    host_key = machine.write_identity(spec, hosts, pubkey)
    progress(node.name, "booting systemd")
    node.machine_pid = machine.boot(spec)
    return node.name, host_key


def _make_docker_node(record: LabRecord, node: NodeRecord, inv_node: Node,
                      fixtures: list[BuiltImage]) -> None:
    spec = _spec(record, node)
    _wait_for_sshd(spec, node)
    with open_transport(inv_node) as t:
        result = t.run("systemctl is-system-running --wait", timeout=BOOT_TIMEOUT)
        system = result.stdout.strip()
        if system == "degraded":
            failed = t.run("systemctl --failed --no-legend --plain").stdout.split("\n")
            units = "; ".join(f.split()[0] for f in failed if f.strip())
            progress(node.name, f"systemd degraded: {units}")
        elif system != "running":
            raise StepFailed(f"node {node.name}: systemd is {system!r} after boot",
                             hint=f"machine log: {spec.log}")
        facts = gather(t)
        progress(node.name, f"systemd {system}; {facts.describe()}")
        docker_node.configure(t, facts, record.network)
        progress(node.name, "docker configured; loading fixture images")
        docker_node.load_fixtures(t, fixtures)
    progress(node.name, f"ready (docker with {', '.join(r for i in fixtures for r in i.refs)})")


def _wait_for_sshd(spec: machine.MachineSpec, node: NodeRecord) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT
    while not tcp_port_answers(node.address, 22):
        if not machine.running(node.machine_pid, spec.root):
            raise StepFailed(f"node {node.name}: the machine exited while booting",
                             hint=f"machine log: {spec.log}: {_tail(spec.log)}")
        if time.monotonic() > deadline:
            raise HarnessTimeout(f"node {node.name}: sshd did not answer on {node.address}:22 "
                                 f"within {BOOT_TIMEOUT:.0f}s", hint=f"machine log: {spec.log}")
        time.sleep(0.1)


def _tail(path: Path) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-3:])
    except OSError:
        return "(no log)"


def _teardown(record: LabRecord) -> None:
    """Remove every host object of the lab, whatever state an earlier run left it in."""
    for node in record.nodes:
        progress(node.name, "stopping the machine")
        machine.stop(_spec(record, node))
    _kill_strays(record.dir / "nodes")
    nodes_dir = record.dir / "nodes"
    if nodes_dir.is_dir():
        for node_dir in nodes_dir.iterdir():
            machine.unmount_root(node_dir)
    progress(record.name, f"removing bridge {record.network.bridge}, veths, namespaces and rules")
    network.delete_network(record.network)
    shutil.rmtree(nodes_dir, ignore_errors=True)
    record.nodes = []
    record.save()


def _kill_strays(nodes_dir: Path) -> None:
    """Machines that never reached their cgroup (killed mid-start) still name their root."""
    marker = str(nodes_dir).encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker in (proc / "cmdline").read_bytes():
                os.kill(int(proc.name), signal.SIGKILL)
        except OSError:
            pass
