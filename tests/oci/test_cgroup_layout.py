"""harness.node.cgroups reads the three host layouts from mountinfo: cgroup v1, hybrid (v1 plus
a v2 mount, as here) and pure v2. The samples are mountinfo lines in the kernel's format;
the last test reads this host's real files."""

import os

from harness.facts import Host
from harness.node.cgroups import parse, proc_cgroups, v2_weight_from_shares

V1_LINES = [
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct",
    "33 31 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
    "34 31 0:31 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
]
UNIFIED_LINE = "40 31 0:35 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw"
V2_LINE = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate"


def layout(lines):
    return parse("\n".join(lines) + "\n")


def test_v1_maps_each_controller_to_its_hierarchy():
    host = layout(V1_LINES)
    assert host.version == 1
    assert str(host.v1["cpuacct"]) == "/sys/fs/cgroup/cpu,cpuacct"
    assert host.has("memory") and not host.has("hugetlb")


def test_hybrid_is_v1_for_resource_control():
    host = layout([*V1_LINES, UNIFIED_LINE])
    assert host.version == 1
    assert str(host.unified) == "/sys/fs/cgroup/unified"


def test_pure_v2_has_no_v1_hierarchies():
    host = layout([V2_LINE])
    assert host.version == 2 and host.v1 == {}


def test_this_host_places_this_process():
    host = Host().cgroups
    paths = proc_cgroups(os.getpid())
    if host.version == 1:
        assert host.directory(os.getpid(), "pids").is_dir()
    else:
        assert "" in paths and host.directory(os.getpid(), "").is_dir()


def test_shares_to_weight_conversion_bounds():
    """runc/crun map cpu.shares 2..262144 onto cpu.weight 1..10000."""
    assert (v2_weight_from_shares(2), v2_weight_from_shares(262144)) == (1, 10000)
