"""Action plugin for node_runtime_facts: parse the node's /etc/containerd/config.toml on the
controller, then run the module on the node with the result.

The module runs on the node's Python, which may be as old as 3.8 (Debian 11 has 3.9); TOML is
in Python's standard library only from 3.11 (tomllib). The controller runs the harness's Python,
so the file is fetched (slurp) and parsed here, and the module receives a dict."""

from __future__ import annotations

import base64
import tomllib

from ansible.plugins.action import ActionBase

CONTAINERD_CONFIG = "/etc/containerd/config.toml"


class ActionModule(ActionBase):
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        read = self._execute_module(module_name="ansible.builtin.slurp",
                                    module_args={"src": CONTAINERD_CONFIG}, task_vars=task_vars)
        if read.get("unreachable"):  # the node's row says so, as for any task
            return {**result, **read}
        config, error = parsed(read)
        args = {**self._task.args, "containerd_config": config, "containerd_config_error": error}
        result.update(self._execute_module(module_name="node_runtime_facts", module_args=args,
                                           task_vars=task_vars))
        return result


def parsed(read: dict) -> tuple[dict, str | None]:
    """config.toml from slurp's result: (config, None), or ({}, why) when it could not be read
    or parsed; ({}, None) when there is no file."""
    if read.get("failed"):
        message = read.get("msg", "")
        return {}, (None if "not found" in message else f"cannot be read: {message}")
    try:
        return tomllib.loads(base64.b64decode(read["content"]).decode()), None
    except (KeyError, ValueError, tomllib.TOMLDecodeError) as err:
        return {}, f"cannot be parsed: {err}"
