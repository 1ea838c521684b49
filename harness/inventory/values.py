"""Checks of single inventory values that both shapes share: what may reach SSH, Ansible and
the nodes' shells (host, user), key files, endpoints, versions, the refused password settings."""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import shlex
import stat
from pathlib import Path
from typing import Any

from harness.inventory.records import At

# Password-style settings are refused: the harness authenticates with keys only, and a secret in
# an inventory would end up in logs and artifacts.
SECRET_VARS = ("ansible_password", "ansible_ssh_password", "ansible_ssh_pass",
               "ansible_become_password", "ansible_become_pass", "ansible_sudo_password",
               "ansible_sudo_pass", "ansible_ssh_private_key_passphrase")
SECRET_HINT = "use key authentication and passwordless sudo"
# Ansible's connection variables (and their older ansible_ssh_* spellings) -> Node field.
CONNECTION_VARS = {
    "ansible_host": "host",
    "ansible_ssh_host": "host",
    "ansible_port": "port",
    "ansible_ssh_port": "port",
    "ansible_user": "user",
    "ansible_ssh_user": "user",
    "ansible_ssh_private_key_file": "ssh_key",
    "ansible_private_key_file": "ssh_key",
    "ansible_become": "become",
    "ansible_connection": "connection",
}

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# RFC 1123 labels (underscores tolerated, as resolvers do): nothing a shell or ssh would read as
# an option or a metacharacter, no leading '-'.
LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
HOSTNAME_RE = re.compile(rf"^(?=.{{1,253}}$){LABEL}(?:\.{LABEL})*\.?$")
USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?$")
# Extra ssh arguments Ansible adds to its ssh command line. Those that choose the machine, port,
# user or key would make Ansible reach another machine than the harness's own SSH client does.
SSH_ARG_VARS = ("ansible_ssh_common_args", "ansible_ssh_extra_args", "ansible_ssh_args")
SSH_REACH_FLAGS = {"-p": "ansible_port", "-l": "ansible_user", "-i": "ansible_ssh_private_key_file",
                   "-F": "no ssh_config of its own"}
SSH_REACH_OPTIONS = {"hostname": "ansible_host", "port": "ansible_port", "user": "ansible_user",
                     "identityfile": "ansible_ssh_private_key_file"}
VERSION_RE = re.compile(r"^v?\d+\.\d+(\.\d+)?([-+][0-9A-Za-z.-]+)?$")
# Sockets only: the playbooks, ctr and the staged suites reach a runtime through its socket on
# the node, so a tcp:// endpoint would pass here and fail mid-migration.
ENDPOINT_RE = re.compile(r"^unix:///.+|^/.+")


def did_you_mean(word: Any, choices, cutoff: float = 0.75) -> str | None:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=cutoff)
    return f"did you mean {close[0]!r}?" if close else None


def kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{type(value).__name__} {value!r}"


def node_name(value: Any, at: At) -> str:
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise at.error(f"expected a node name of letters, digits, '.', '_' or '-', got "
                       f"{kind(value)}")
    return value


def host(value: Any, at: At, node: str) -> str:
    """A hostname or an IP address, nothing else: the value goes to ssh's and Ansible's
    command lines, where `-oProxyCommand=...` would be an option and `a;b` a second command."""
    if isinstance(value, str):
        try:
            ipaddress.ip_address(value)
            return value
        except ValueError:
            if HOSTNAME_RE.match(value):
                return value
    raise at.error(f"node {node!r}: expected a hostname or an IP address, got {kind(value)}",
                   hint="write the node's DNS name or address (no spaces, options or quotes)")


def user(value: Any, at: At, node: str) -> str:
    if not isinstance(value, str) or not USER_RE.match(value):
        raise at.error(f"node {node!r}: expected a login name of letters, digits, '_', '.' or "
                       f"'-', got {kind(value)}")
    return value


def ssh_args(value: Any, at: At) -> str:
    """Extra ssh arguments may tune ssh (known hosts, timeouts) but not choose where it goes."""
    if not isinstance(value, str):
        raise at.error(f"expected ssh arguments as one string, got {kind(value)}")
    try:
        words = shlex.split(value)
    except ValueError as err:
        raise at.error(f"cannot be split into ssh arguments: {err}") from None
    for index, word in enumerate(words):
        if word.startswith("-o"):  # -oName=value, -o Name=value, -o 'Name value'
            setting = word[2:] or " ".join(words[index + 1:index + 2])
            name = setting.replace("=", " ").split()[0].lower() if setting.strip() else ""
            use, shown = SSH_REACH_OPTIONS.get(name), f"-o {setting}"
        else:
            use, shown = SSH_REACH_FLAGS.get(word[:2]), word
        if use:
            raise at.error(f"{shown!r} chooses where ssh goes, which the harness's own SSH "
                           "client would not follow", hint=f"use {use}"
                           if use.startswith("ansible_") else "leave it out")
    return value


def port(value: Any, at: At) -> int:
    # Ansible turns a string of digits (INI, or a quoted YAML value) into the number.
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise at.error(f"expected a port number 1-65535, got {kind(value)}")
    return value


def endpoint(value: Any, at: At) -> str:
    if not isinstance(value, str) or not ENDPOINT_RE.match(value):
        raise at.error(f"expected a socket on the node, unix:///path/to.sock or /path/to.sock, "
                       f"got {kind(value)}", hint="tcp:// endpoints are not supported")
    return value


def version(value: Any, at: At) -> str:
    if isinstance(value, float):
        raise at.error(f"expected a version string, got the number {value!r}",
                       hint=f'quote it: "{value}" (YAML reads 1.20 as 1.2)')
    if not isinstance(value, str) or not VERSION_RE.match(value):
        raise at.error(f"expected a Kubernetes version such as 1.24.17, got {kind(value)}")
    return value


def private_key(path: Path, at: At) -> Path:
    """The key must exist and be private to its owner, as OpenSSH itself demands."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise at.error(f"SSH key {path} does not exist",
                       hint="fix the path or create the key with ssh-keygen") from None
    except OSError as err:
        raise at.error(f"SSH key {path} cannot be read: {err.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise at.error(f"SSH key {path} is not a regular file")
    if st.st_mode & 0o077:
        raise at.error(f"SSH key {path} is readable by group or others "
                       f"(mode {stat.S_IMODE(st.st_mode):04o})", hint=f"run: chmod 600 {path}")
    if not os.access(path, os.R_OK):
        raise at.error(f"SSH key {path} is not readable by this user")
    return path
