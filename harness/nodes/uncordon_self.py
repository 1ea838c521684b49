"""Run on a node, by its kubelet watchdog (harness.nodes.kubelet_watchdog): uncordon the node
through the API server with the kubelet's own credentials, `python3 uncordon_self.py KUBECONFIG
NODE`. Standard library only, since it is copied to the node alone and runs after the harness
may have died.

The kubelet may patch its own Node (Node authorizer), and NodeRestriction lets it change
spec.unschedulable; it may not touch its taints, and need not: the node lifecycle controller
removes the unschedulable taint once the field is false."""

from __future__ import annotations

import base64
import json
import os
import re
import ssl
import sys
import tempfile
import urllib.request

FIELDS = ("server", "certificate-authority", "certificate-authority-data", "client-certificate",
          "client-certificate-data", "client-key", "client-key-data")


def kubeconfig_fields(text: str) -> dict[str, str]:
    """A kubelet's kubeconfig has one cluster and one user, so each field is there once, as a
    plain `key: value` line (kubeadm's and the harness's both): no YAML parser is needed."""
    found: dict[str, str] = {}
    for key, value in re.findall(r"^[\s-]*([a-z-]+):\s*(\S+)\s*$", text, re.MULTILINE):
        if key in FIELDS:
            found.setdefault(key, value.strip("'\""))
    return found


def pem_file(fields: dict[str, str], name: str, private: str) -> str:
    """A path holding the field's PEM: its own file, or its embedded data written into the
    private directory (ssl loads a client pair from files only)."""
    if f"{name}-data" not in fields:
        return fields[name]
    path = os.path.join(private, f"{name}.pem")
    with open(path, "wb") as handle:
        handle.write(base64.b64decode(fields[f"{name}-data"]))
    return path


def uncordon(kubeconfig: str, node: str) -> None:
    with open(kubeconfig) as handle:
        fields = kubeconfig_fields(handle.read())
    with tempfile.TemporaryDirectory() as private:  # mode 0700, removed with the key in it
        context = ssl.create_default_context(
            cafile=pem_file(fields, "certificate-authority", private))
        context.load_cert_chain(pem_file(fields, "client-certificate", private),
                                pem_file(fields, "client-key", private))
    request = urllib.request.Request(
        f"{fields['server'].rstrip('/')}/api/v1/nodes/{node}", method="PATCH",
        data=json.dumps({"spec": {"unschedulable": False}}).encode(),
        headers={"Content-Type": "application/merge-patch+json"})
    with urllib.request.urlopen(request, context=context, timeout=30):
        pass


if __name__ == "__main__":
    uncordon(sys.argv[1], sys.argv[2])
