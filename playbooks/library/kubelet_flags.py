#!/usr/bin/python
"""Ansible module (node side): set and remove kubelet flags in an environment file such as
kubeadm's /var/lib/kubelet/kubeadm-flags.env, keeping every other flag and its order."""

from __future__ import annotations

DOCUMENTATION = r"""
module: kubelet_flags
short_description: Edit the kubelet flags held in one variable of an environment file
options:
  path: {type: path, default: /var/lib/kubelet/kubeadm-flags.env}
  variable: {type: str, default: KUBELET_KUBEADM_ARGS}
  set: {type: dict, default: {}, description: flag (with its dashes) to value}
  remove: {type: list, elements: str, default: [], description: flags to drop (with dashes)}
"""
EXAMPLES = r"""
- name: Point the kubelet at containerd
  kubelet_flags:
    set: {--container-runtime: remote,
          --container-runtime-endpoint: unix:///run/containerd/containerd.sock}
    remove: [--network-plugin, --cni-bin-dir]
"""
RETURN = r"""
flags: {description: the flags after the edit, type: list}
"""

import os
import re
import shlex

from ansible.module_utils.basic import AnsibleModule


def edit(flags: list[str], wanted: dict[str, str], remove: list[str]) -> list[str]:
    out, seen = [], set()
    for flag in flags:
        name = flag.partition("=")[0]
        if name in remove:
            continue
        if name in wanted:
            if name in seen:
                continue
            flag = f"{name}={wanted[name]}"
            seen.add(name)
        out.append(flag)
    out += [f"{name}={value}" for name, value in wanted.items() if name not in seen]
    return out


def main() -> None:
    module = AnsibleModule(argument_spec={
        "path": {"type": "path", "default": "/var/lib/kubelet/kubeadm-flags.env"},
        "variable": {"type": "str", "default": "KUBELET_KUBEADM_ARGS"},
        "set": {"type": "dict", "default": {}},
        "remove": {"type": "list", "elements": "str", "default": []},
    }, supports_check_mode=True)
    p = module.params
    try:
        with open(p["path"]) as handle:
            before = handle.read()
    except FileNotFoundError:
        before = ""
    pattern = re.compile(rf'^{re.escape(p["variable"])}=(.*)$', re.M)
    match = pattern.search(before)
    current = shlex.split(shlex.split(match.group(1))[0]) if match and match.group(1) else []
    flags = edit(current, {k: str(v) for k, v in p["set"].items()}, p["remove"])
    line = f'{p["variable"]}="{" ".join(flags)}"'
    after = pattern.sub(lambda _: line, before) if match else before + line + "\n"
    changed = after != before
    if changed and not module.check_mode:
        tmp = p["path"] + ".tmp"
        with open(tmp, "w") as handle:
            handle.write(after)
        if os.path.exists(p["path"]):
            os.chmod(tmp, os.stat(p["path"]).st_mode & 0o7777)
        os.replace(tmp, p["path"])
    module.exit_json(changed=changed, flags=flags,
                     diff={"before": before, "after": after, "before_header": p["path"],
                           "after_header": p["path"]})


if __name__ == "__main__":
    main()
