"""containerd's config per version from one set of settings, each checked by the containerd
that reads it: `containerd config dump` must show every setting with its intended value, and
a key the version does not know (a rename, a key of another version) is reported."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from harness.containerd import config
from harness.containerd.config import Runtime, Settings
from harness.errors import InputError

# Every setting away from containerd's default, so a key containerd drops cannot pass by
# landing on a default that happens to equal the intended value.
NON_DEFAULT = Settings(
    sandbox_image="registry.example:5000/pause:9.9",
    root="/var/lib/hc-ctd",
    state="/run/hc-ctd",
    address="/run/hc-ctd/cd.sock",
    ttrpc_address="/run/hc-ctd/cd.ttrpc.sock",
    opt_path="/var/lib/hc-ctd/opt",
    disabled_plugins=("io.containerd.snapshotter.v1.zfs",),
    restrict_oom_score_adj=True,
    systemd_cgroup=True,
    cni_bin_dirs=("/usr/lib/cni",),
    cni_conf_dir="/etc/hc-cni/net.d",
    cni_max_conf_num=3,
    snapshotter="native",
    default_runtime="crun",
    runtimes=(Runtime("crun", binary="/usr/bin/crun"), Runtime("runc", binary="/usr/sbin/runc")),
    registry_config_path="/etc/hc-ctd/certs.d",
    registry_auths={"registry.example:5000": ("alice", "s3cret")},
    stream_server_address="127.0.0.2",
    stream_server_port="10011",
    enable_selinux=True,
    tolerate_missing_hugetlb_controller=False,
    netns_mounts_under_state_dir=True,
)
TWO_CNI_DIRS = replace(NON_DEFAULT, cni_bin_dirs=("/usr/lib/cni", "/opt/hc-cni/bin"))


def dump(containerd: Path | str, text: str, tmp_path: Path) -> str:
    """`containerd config dump` of `text`: the configuration as that containerd parsed it."""
    path = tmp_path / "config.toml"
    path.write_text(text)
    out = subprocess.run([str(containerd), "--config", str(path), "config", "dump"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def containerd16() -> str:
    """Debian's packaged containerd 1.6, which reads config version 2."""
    binary = shutil.which("containerd")
    if not binary:
        pytest.skip("no packaged containerd (apt-get install containerd)")
    return binary


def test_version_2_takes_one_cni_bin_dir():
    with pytest.raises(InputError, match="takes exactly one"):
        config.render(TWO_CNI_DIRS, 2)


def test_an_unknown_version_is_refused():
    with pytest.raises(InputError, match="config version 5"):
        config.render(NON_DEFAULT, 5)


def test_the_versions_place_the_sandbox_image_apart():
    v2 = config.render(NON_DEFAULT, 2)
    v3 = config.render(NON_DEFAULT, 3)
    assert '[plugins."io.containerd.grpc.v1.cri"]\nsandbox_image = ' in v2
    assert '[plugins."io.containerd.cri.v1.images".pinned_images]\nsandbox = ' in v3
    assert "sandbox_image" not in v3 and "io.containerd.cri.v1" not in v2


@pytest.mark.slow
def test_containerd_16_takes_every_version_2_setting(containerd16, tmp_path):
    out = dump(containerd16, config.render(NON_DEFAULT, 2), tmp_path)
    assert "\nversion = 2\n" in out
    assert config.dropped(out, NON_DEFAULT) == []


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("version", [3, 4])
@pytest.mark.parametrize("settings", [NON_DEFAULT, TWO_CNI_DIRS], ids=["one-cni", "two-cni"])
def test_containerd_2_takes_every_setting(containerd2, tmp_path, version, settings):
    out = dump(containerd2.path("containerd"), config.render(settings, version), tmp_path)
    assert out.startswith("version = 4")  # 2.4.2 dumps its own version, migrating 3
    assert config.dropped(out, settings) == []


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_version_2_key_in_a_version_3_file_is_reported(containerd2, tmp_path):
    text = config.render(NON_DEFAULT, 3)
    sandbox = f'sandbox = "{NON_DEFAULT.sandbox_image}"'
    assert sandbox in text
    # What a 1.x runbook would write: the old key, in the plugin that now owns the image.
    text = text.replace(sandbox, f'sandbox_image = "{NON_DEFAULT.sandbox_image}"')
    out = dump(containerd2.path("containerd"), text, tmp_path)
    problems = config.dropped(out, NON_DEFAULT)
    assert len(problems) == 1, problems
    assert problems[0].startswith(
        "sandbox_image: plugins.\"io.containerd.cri.v1.images\".pinned_images.sandbox = "
        f"'{NON_DEFAULT.sandbox_image}' intended, the dump has ")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_containerd_2_migrates_a_version_2_file(containerd2, tmp_path):
    """The check reads each setting where the dump's own version keeps it: containerd 2.4.2
    moves a version 2 file's settings to their version 4 places."""
    out = dump(containerd2.path("containerd"), config.render(NON_DEFAULT, 2), tmp_path)
    assert out.startswith("version = 4")
    assert config.dropped(out, NON_DEFAULT) == []


@pytest.mark.slow
def test_a_renamed_version_2_key_is_reported(containerd16, tmp_path):
    text = config.render(NON_DEFAULT, 2).replace("SystemdCgroup = true", "systemd_cgroup = true")
    out = dump(containerd16, text, tmp_path)
    assert config.dropped(out, NON_DEFAULT) == [
        f'runtimes.{name}.systemd_cgroup: plugins."io.containerd.grpc.v1.cri".containerd.'
        f"runtimes.{name}.options.SystemdCgroup = True intended, the dump has nothing"
        for name in ("crun", "runc")
    ]


def default_config(containerd: Path | str) -> dict:
    out = subprocess.run([str(containerd), "config", "default"], capture_output=True, text=True,
                         timeout=60, check=True)
    return tomllib.loads(out.stdout)


def paths_missing_from(tree: dict, version: int) -> list[str]:
    """Layout paths of `version` that containerd's own default config does not have; the
    runc runtime and no registry credentials, the map entries a default config holds."""
    settings = Settings(sandbox_image="x", ttrpc_address="/x.ttrpc", opt_path="/x")
    missing = []
    for _, path, _ in config.layout(settings, version):
        node = tree
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            missing.append(config.dotted(path))
    return missing


@pytest.mark.slow
def test_every_version_2_key_is_in_containerd_16s_default_config(containerd16):
    assert paths_missing_from(default_config(containerd16), 2) == []


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_version_4_key_is_in_containerd_2s_default_config(containerd2):
    """`containerd config default` of 2.4.2 is in its own version 4; versions 3 and 4 share
    every CRI key, and the dump tests above cover version 3's listeners."""
    assert paths_missing_from(default_config(containerd2.path("containerd")), 4) == []


# A node's own version 2 config as packages and operators leave it: Debian's CNI directory,
# docker-ce's CRI switched off, a CRI setting and a debug level of its own, registry mirrors
# (which containerd refuses beside config_path) and a registry login.
NODE_OWN_V2 = tomllib.loads('''
version = 2
disabled_plugins = ["cri"]
[debug]
  level = "warn"
[plugins."io.containerd.grpc.v1.cri"]
  max_container_log_line_size = 32768
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
    endpoint = ["https://mirror.example"]
  [plugins."io.containerd.grpc.v1.cri".registry.configs."registry.example:5000".auth]
    username = "bob"
''')
KEEPING = replace(NON_DEFAULT, cni_bin_dirs=("/opt/cni/bin",), registry_auths={},
                  disabled_plugins=(), kept=NODE_OWN_V2)


def test_the_nodes_own_settings_are_kept_where_the_layout_sets_nothing(containerd16, tmp_path):
    """The rendered config keeps the node's debug level, CRI log line size and registry login,
    overrides what the kubelet needs (CNI directory, the CRI on), and leaves the mirrors out;
    containerd 1.6 takes the result with every setting of the layout."""
    rendered = tomllib.loads(config.render(KEEPING, 2))
    cri = rendered["plugins"]["io.containerd.grpc.v1.cri"]
    assert rendered["debug"] == {"level": "warn"}
    assert cri["max_container_log_line_size"] == 32768
    assert cri["registry"]["configs"]["registry.example:5000"]["auth"] == {"username": "bob"}
    assert "mirrors" not in cri["registry"]
    assert cri["cni"]["bin_dir"] == "/opt/cni/bin" and rendered["disabled_plugins"] == []
    out = dump(containerd16, config.render(KEEPING, 2), tmp_path)
    assert config.dropped(out, KEEPING) == []
    taken = tomllib.loads(out)
    assert taken["debug"]["level"] == "warn"
    assert taken["plugins"]["io.containerd.grpc.v1.cri"]["max_container_log_line_size"] == 32768


def test_each_setting_the_migration_changes_or_leaves_out_is_named():
    lines = config.conflicts(KEEPING, 2)
    assert 'plugins."io.containerd.grpc.v1.cri".cni.bin_dir: \'/usr/lib/cni\' becomes ' \
        "'/opt/cni/bin'" in lines
    assert "disabled_plugins: ['cri'] becomes []" in lines
    assert 'plugins."io.containerd.grpc.v1.cri".registry.mirrors: left out, containerd ' \
        "refuses it beside config_path (write a hosts.toml per registry instead)" in lines
    assert not any(line.startswith(("debug", "version")) for line in lines)
    assert config.conflicts(replace(KEEPING, kept={}), 2) == []
