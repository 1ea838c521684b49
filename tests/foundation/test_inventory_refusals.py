"""What no inventory may carry, in either shape: passwords (wherever Ansible would find them:
host vars, group vars, all.vars, group_vars/ files, INI, the native `vars`), and host or user
values that are not a hostname, an IP address or a login name, which would reach ssh's and
Ansible's command lines. Each is one line naming the file, the node and the field, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InputError
from harness.inventory import load_inventory

SECRET = "hf-s3cret-value"

# name -> (inventory file, its text, other files beside it, expected message after the file name)
PASSWORDS = {
    "Ansible host var": ("inv.yaml", f"all:\n  hosts:\n    w1:\n      ansible_ssh_pass: {SECRET}\n",
                         {}, ": host w1: ansible_ssh_pass: passwords are not accepted"),
    "Ansible group var": ("inv.yaml", "all:\n  children:\n    workers:\n      vars:\n"
                         f"        ansible_become_pass: {SECRET}\n      hosts: {{w1: }}\n",
                         {}, ": host w1: ansible_become_pass: passwords are not accepted"),
    "all.vars": ("inv.yaml", f"all:\n  vars: {{ansible_become_password: {SECRET}}}\n"
                 "  hosts: {w1: }\n", {},
                 ": host w1: ansible_become_password: passwords are not accepted"),
    "group_vars file": ("inv.yaml", "all:\n  children:\n    workers:\n      hosts: {w1: }\n",
                        {"group_vars/workers.yml": f"ansible_password: {SECRET}\n"},
                        ": host w1: ansible_password: passwords are not accepted"),
    "INI": ("hosts.ini", f"[workers]\nw1\n\n[workers:vars]\nansible_password={SECRET}\n", {},
            ": host w1: ansible_password: passwords are not accepted"),
    "native vars": ("inv.yaml", "nodes:\n  - name: a\n    host: 10.0.0.1\n    vars:\n"
                    f"      ansible_password: {SECRET}\n", {},
                    ":5: nodes[0].vars.ansible_password: passwords are not accepted"),
    "native defaults vars": ("inv.yaml", "defaults:\n  vars:\n"
                             f"    ansible_become_pass: {SECRET}\nnodes: [{{name: a, host: h}}]\n",
                             {}, ":3: defaults.vars.ansible_become_pass: passwords are not "
                             "accepted"),
}

BAD_HOSTS = ["-oProxyCommand=touch /tmp/hf-pwned", "10.0.0.1; reboot", "node one", "$(id)",
             "`id`", "a|b", "-host", "", "host'"]


def write(base: Path, name: str, text: str, extra: dict) -> Path:
    for relative, content in extra.items():
        (base / relative).parent.mkdir(parents=True, exist_ok=True)
        (base / relative).write_text(content)
    (base / name).write_text(text)
    return base / name


@pytest.mark.parametrize("case", PASSWORDS)
def test_passwords_are_refused_in_every_shape(tmp_path, case):
    name, text, extra, expected = PASSWORDS[case]
    path = write(tmp_path, name, text, extra)
    with pytest.raises(InputError) as refused:
        load_inventory(path)
    assert str(refused.value).startswith(f"{path}{expected}: use key authentication")
    assert SECRET not in str(refused.value)


def test_a_password_is_refused_by_the_cli_without_echoing_it(harness_error, tmp_path):
    path = write(tmp_path, "inv.yaml", *PASSWORDS["group_vars file"][1:3])
    line = harness_error("inventory", "check", path)
    assert f"{path}: host w1: ansible_password: passwords are not accepted" in line
    assert SECRET not in line


@pytest.mark.parametrize("value", BAD_HOSTS)
def test_a_host_that_is_no_hostname_or_address_is_refused(tmp_path, value):
    quoted = value.replace("'", "''")
    native = write(tmp_path, "native.yaml", f"nodes:\n  - name: n1\n    host: '{quoted}'\n", {})
    ansible = write(tmp_path, "ansible.yaml", "all:\n  children:\n    g:\n      vars:\n"
                    f"        ansible_host: '{quoted}'\n      hosts: {{n1: }}\n", {})
    for path, where in ((native, ":3: nodes[0].host"), (ansible, ": host n1: ansible_host")):
        with pytest.raises(InputError) as refused:
            load_inventory(path)
        assert str(refused.value) == (
            f"{path}{where}: node 'n1': expected a hostname or an IP address, got str "
            f"{value!r}: write the node's DNS name or address (no spaces, options or quotes)")


@pytest.mark.parametrize("value", ["192.0.2.7", "2001:db8::7", "node-1.example.com", "w_1"])
def test_hostnames_and_addresses_pass(tmp_path, value):
    path = write(tmp_path, "ansible.yaml", f"all:\n  hosts:\n    n1: {{ansible_host: '{value}'}}\n",
                 {})
    assert load_inventory(path).nodes[0].host == value


def test_an_inventory_hostname_that_is_an_option_is_refused(harness_error, tmp_path):
    path = write(tmp_path, "inv.ini", "-oProxyCommand=id\n", {})
    line = harness_error("inventory", "check", path)
    assert f"{path}: host -oProxyCommand=id: expected a node name" in line


def test_a_user_that_is_an_option_is_refused(harness_error, tmp_path):
    path = write(tmp_path, "inv.yaml", "all:\n  hosts:\n    n1:\n      ansible_host: 10.0.0.1\n"
                 "      ansible_user: -oProxyCommand=id\n", {})
    line = harness_error("inventory", "check", path)
    assert f"{path}: host n1: ansible_user: node 'n1': expected a login name" in line


def test_two_spellings_of_one_setting_must_agree(tmp_path):
    path = write(tmp_path, "inv.yaml", "all:\n  hosts:\n    n1: {ansible_host: 10.0.0.1, "
                 "ansible_ssh_host: 10.0.0.2}\n", {})
    with pytest.raises(InputError, match=r"host n1: ansible_host: set twice, differently "
                       r"\(ansible_host: '10.0.0.1', ansible_ssh_host: '10.0.0.2'\)"):
        load_inventory(path)


def test_native_vars_cannot_override_the_connection(tmp_path):
    """`vars` reach Ansible beside the node's own fields; there they would win over them."""
    path = write(tmp_path, "inv.yaml", "nodes:\n  - name: a\n    host: 10.0.0.1\n    vars:\n"
                 "      ansible_host: 10.9.9.9\n", {})
    with pytest.raises(InputError, match=r":5: nodes\[0\].vars.ansible_host: is a connection "
                       "setting"):
        load_inventory(path)


def test_a_cluster_setting_must_be_the_same_for_every_host(tmp_path):
    path = write(tmp_path, "inv.yaml", "all:\n  hosts:\n    n1: {kubernetes_version: '1.23.17'}\n"
                 "    n2: {kubernetes_version: '1.24.17'}\n", {})
    with pytest.raises(InputError, match="kubernetes_version: is a cluster setting, but hosts "
                       "differ"):
        load_inventory(path)


@pytest.mark.parametrize("args", ["-o Port=2200", "-oHostName=10.9.9.9", "-o 'User admin'",
                                  "-p 2200", "-i /root/.ssh/other", "-F /etc/other_config"])
def test_ssh_arguments_that_choose_where_ssh_goes_are_refused(tmp_path, args):
    """Ansible would follow them, the harness's own SSH client would not: two machines."""
    path = write(tmp_path, "inv.yaml", "all:\n  hosts:\n    n1:\n      ansible_host: 10.0.0.1\n"
                 f"      ansible_ssh_common_args: \"-o ConnectTimeout=5 {args}\"\n", {})
    with pytest.raises(InputError, match=r"host n1: ansible_ssh_common_args: '.*' chooses where "
                       "ssh goes"):
        load_inventory(path)


def test_ssh_arguments_that_only_tune_ssh_pass(tmp_path):
    args = "-o UserKnownHostsFile=/k -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
    native = write(tmp_path, "native.yaml", "nodes:\n  - name: n1\n    host: 10.0.0.1\n"
                   f"    vars: {{ansible_ssh_common_args: '{args}'}}\n", {})
    assert load_inventory(native).nodes[0].vars["ansible_ssh_common_args"] == args
    bad = write(tmp_path, "bad.yaml", "nodes:\n  - name: n1\n    host: 10.0.0.1\n"
                "    vars: {ansible_ssh_extra_args: '-o Port=2200'}\n", {})
    with pytest.raises(InputError, match=r"bad.yaml:4: nodes\[0\].vars.ansible_ssh_extra_args: "
                       "'-o Port=2200' chooses where ssh goes"):
        load_inventory(bad)
