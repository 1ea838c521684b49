"""Control groups: config-linux.md#control-groups, #cgroups-path and each resource block,
read back from the host's cgroupfs (cgroup v1 per-controller files or the v2 unified files),
plus `update` (runc/crun CLI) changing them on a live container."""

import secrets
from dataclasses import dataclass

import pytest

from harness.facts import this_host
from harness.node.cgroups import v2_weight_from_shares
from harness.oci.bundle import Device

MiB = 1024 * 1024
DISK = this_host().devices.first_disk or "8:0"
MAJOR, MINOR = (int(n) for n in DISK.split(":"))
REALTIME = {"cpu": {"realtimeRuntime": 10000, "realtimePeriod": 100000}}


@dataclass(frozen=True)
class Case:
    """One resource setting and where each cgroup version shows it: (file, expected)."""

    id: str
    controller: str
    resources: dict
    v1: tuple[str, str] | None
    v2: tuple[str, str] | None


CASES = [
    Case("memory-limit", "memory", {"memory": {"limit": 64 * MiB}},
         ("memory.limit_in_bytes", str(64 * MiB)), ("memory.max", str(64 * MiB))),
    Case("memory-reservation", "memory", {"memory": {"reservation": 32 * MiB}},
         ("memory.soft_limit_in_bytes", str(32 * MiB)), ("memory.low", str(32 * MiB))),
    Case("memory-swap", "memory", {"memory": {"limit": 64 * MiB, "swap": 128 * MiB}},
         ("memory.memsw.limit_in_bytes", str(128 * MiB)), ("memory.swap.max", str(64 * MiB))),
    Case("memory-swappiness", "memory", {"memory": {"swappiness": 30}},
         ("memory.swappiness", "30"), None),
    Case("cpu-shares", "cpu", {"cpu": {"shares": 512}},
         ("cpu.shares", "512"), ("cpu.weight", str(v2_weight_from_shares(512)))),
    Case("cpu-quota", "cpu", {"cpu": {"quota": 50000, "period": 100000}},
         ("cpu.cfs_quota_us", "50000"), ("cpu.max", "50000 100000")),
    Case("cpu-period", "cpu", {"cpu": {"quota": 20000, "period": 50000}},
         ("cpu.cfs_period_us", "50000"), ("cpu.max", "20000 50000")),
    Case("cpu-realtime-runtime", "cpu", REALTIME,
         ("cpu.rt_runtime_us", "10000"), None),
    Case("cpu-realtime-period", "cpu", REALTIME,
         ("cpu.rt_period_us", "100000"), None),
    Case("cpuset-cpus", "cpuset", {"cpu": {"cpus": "0"}},
         ("cpuset.cpus", "0"), ("cpuset.cpus", "0")),
    Case("cpuset-mems", "cpuset", {"cpu": {"mems": "0"}},
         ("cpuset.mems", "0"), ("cpuset.mems", "0")),
    Case("pids-limit", "pids", {"pids": {"limit": 1000}},
         ("pids.max", "1000"), ("pids.max", "1000")),
    Case("blkio-weight", "blkio", {"blockIO": {"weight": 500}},
         ("blkio.weight", "500"), ("io.bfq.weight", "default 500")),
    Case("blkio-throttle-read-bps", "blkio",
         {"blockIO": {"throttleReadBpsDevice": [{"major": MAJOR, "minor": MINOR, "rate": MiB}]}},
         ("blkio.throttle.read_bps_device", f"{DISK} {MiB}"),
         ("io.max", f"{DISK} rbps={MiB} wbps=max riops=max wiops=max")),
    Case("blkio-throttle-write-iops", "blkio",
         {"blockIO": {"throttleWriteIOPSDevice": [{"major": MAJOR, "minor": MINOR, "rate": 300}]}},
         ("blkio.throttle.write_iops_device", f"{DISK} 300"),
         ("io.max", f"{DISK} rbps=max wbps=max riops=max wiops=300")),
    Case("network-class-id", "net_cls", {"network": {"classID": 1048577}},
         ("net_cls.classid", "1048577"), None),
    Case("hugetlb-2MB", "hugetlb", {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 * MiB}]},
         ("hugetlb.2MB.limit_in_bytes", str(4 * MiB)), ("hugetlb.2MB.max", str(4 * MiB))),
]  # fmt: skip
V2_CONTROLLER = {"blkio": "io"}


def applicable(host, case: Case) -> tuple[str, str]:
    """The (file, expected) to check on this host, or skip saying why it cannot be checked."""
    cgroups = host.cgroups
    controller = (
        case.controller
        if cgroups.version == 1
        else V2_CONTROLLER.get(case.controller, case.controller)
    )
    if not cgroups.has(controller):
        where = (
            " (this hybrid host has it only in the v2 hierarchy, which a v1 runtime does not use)"
            if controller in cgroups.unified_controllers
            else ""
        )
        pytest.skip(f"cgroup v{cgroups.version}: no {controller} controller here{where}")
    target = case.v1 if cgroups.version == 1 else case.v2
    if target is None:
        pytest.skip(f"{case.id} has no cgroup v{cgroups.version} equivalent")
    root = cgroups.v1[controller] if cgroups.version == 1 else cgroups.unified
    if not (root / target[0]).exists() and not list(root.glob(f"*/{target[0]}")):
        pytest.skip(f"this kernel does not expose {target[0]} (cgroup v{cgroups.version})")
    wanted_rt = case.resources.get("cpu", {}).get("realtimeRuntime", 0)
    budget = host.cgroups.realtime_budget_us
    if wanted_rt and (budget or 0) < wanted_rt:
        pytest.skip(f"the cgroup root here has a realtime budget of {budget} us "
                    f"(cpu.rt_runtime_us), less than the {wanted_rt} us asked: no container can "
                    "be given it (a nested cgroup, e.g. a systemd-nspawn node)")
    return target


def cgroup_spec(containers, resources: dict):
    spec = containers.spec("true")
    spec.linux.cgroups_path = f"/ho-oci-{secrets.token_hex(4)}"
    spec.linux.resources = {**spec.linux.resources, **resources}
    return spec


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_resource_is_applied(containers, host, case):
    """config-linux.md#control-groups: each resource value is written to the container's
    cgroup (checked from the host's cgroupfs)."""
    file, expected = applicable(host, case)
    pid = containers.create(cgroup_spec(containers, case.resources)).state().pid
    controller = case.controller if host.cgroups.version == 1 else ""
    assert (host.cgroups.directory(pid, controller) / file).read_text().strip() == expected


def test_cgroups_path_is_used(containers, host):
    """config-linux.md#cgroups-path: the container is placed in the cgroup at cgroupsPath."""
    spec = cgroup_spec(containers, {})
    pid = containers.create(spec).state().pid
    controller = "pids" if host.cgroups.version == 1 else ""
    assert host.cgroups.directory(pid, controller) == root_of(
        host, controller
    ) / spec.linux.cgroups_path.lstrip("/")


def test_relative_cgroups_path_is_used(containers, host):
    """config-linux.md#cgroups-path: a relative path is relative to a runtime-determined
    location; the container's cgroup ends with it and its limits apply there."""
    spec = cgroup_spec(containers, {"pids": {"limit": 123}})
    spec.linux.cgroups_path = spec.linux.cgroups_path.lstrip("/")
    pid = containers.create(spec).state().pid
    directory = host.cgroups.directory(pid, "pids" if host.cgroups.version == 1 else "")
    assert directory.as_posix().endswith("/" + spec.linux.cgroups_path)
    assert (directory / "pids.max").read_text().strip() == "123"


def root_of(host, controller: str):
    return host.cgroups.v1[controller] if host.cgroups.version == 1 else host.cgroups.unified


def test_delete_removes_the_cgroup(containers, runtime, host):
    """runtime.md#delete: resources created by create (the cgroup) MUST be deleted."""
    spec = cgroup_spec(containers, {"pids": {"limit": 100}})
    container = containers.create(spec)
    controller = "pids" if host.cgroups.version == 1 else ""
    directory = host.cgroups.directory(container.state().pid, controller)
    runtime.kill(container.id, "KILL")
    container.wait("stopped")
    runtime.delete(container.id)
    assert not directory.exists()


def test_delete_keeps_a_cgroup_it_did_not_create(containers, runtime, host):
    """runtime.md#delete: resources not created by create MUST NOT be deleted (a cgroup that
    existed before the container was placed in it)."""
    controller = "pids" if host.cgroups.version == 1 else ""
    spec = cgroup_spec(containers, {})
    existing = root_of(host, controller) / spec.linux.cgroups_path.lstrip("/")
    existing.mkdir()
    try:
        container = containers.create(spec)
        runtime.kill(container.id, "KILL")
        container.wait("stopped")
        runtime.delete(container.id)
        assert existing.is_dir()
    finally:
        if existing.is_dir():
            existing.rmdir()


UPDATES = [c for c in CASES if c.id in ("memory-limit", "pids-limit", "cpu-shares")]
UPDATED = {"memory-limit": {"memory": {"limit": 32 * MiB}}, "pids-limit": {"pids": {"limit": 500}},
           "cpu-shares": {"cpu": {"shares": 256}}}  # fmt: skip


@pytest.mark.parametrize("case", UPDATES, ids=[c.id for c in UPDATES])
def test_update_changes_resource_live(containers, runtime, host, case):
    """runc/crun `update` (runtime-spec leaves updates to the runtime's CLI): a new
    linux.resources value reaches the live container's cgroup."""
    file, _ = applicable(host, case)
    container = containers.create(cgroup_spec(containers, case.resources))
    runtime.update(container.id, UPDATED[case.id])
    controller = case.controller if host.cgroups.version == 1 else ""
    got = (host.cgroups.directory(container.state().pid, controller) / file).read_text().strip()
    fresh = Case(case.id, case.controller, UPDATED[case.id], None, None)
    assert got == expected_after_update(host, fresh, file)


def expected_after_update(host, case: Case, file: str) -> str:
    value = next(iter(next(iter(case.resources.values())).values()))
    if file == "cpu.weight":
        return str(v2_weight_from_shares(value))
    return str(value)


# /dev/kmsg (1:11) is in no runtime's default allow list; opening it write-only needs no
# capability, and nothing is written.
KMSG_NODE = Device("/dev/ho-kmsg", "c", 1, 11, 0o600)
OPEN_KMSG = "(: > /dev/ho-kmsg) 2>/dev/null && echo opened || echo denied"


def test_devices_cgroup_denies_unlisted_device(containers):
    """config-linux.md#allowed-device-list: with the default deny-all rule, a device node
    that no rule allows cannot be opened."""
    spec = containers.spec(OPEN_KMSG)
    spec.linux.devices.append(KMSG_NODE)
    assert containers.run(spec) == "denied\n"


def test_devices_cgroup_allows_listed_device(containers):
    """config-linux.md#allowed-device-list: a later allow rule for the device lets it open."""
    spec = containers.spec(OPEN_KMSG)
    spec.linux.devices.append(KMSG_NODE)
    rule = {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "w"}
    spec.linux.resources["devices"] = [*spec.linux.resources["devices"], rule]
    assert containers.run(spec) == "opened\n"
