"""The inventory: which nodes to work on, how to reach them, and the cluster they belong to.

Two shapes are read so that one file can serve both the harness and the playbooks:

* harness-native: top-level `cluster:`, `defaults:` and a `nodes:` list (examples/inventory.yaml),
  validated against a JSON Schema (native.py);
* Ansible's own inventory (examples/inventory-ansible.yaml; YAML or INI), resolved by ansible-core
  itself (ansible_shape.py), so the harness and the playbooks reach the same machines.

Both become the same typed records (records.py); a bad value is one line naming the file, the
field and the remedy (an InputError, exit 2)."""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import InputError
from harness.inventory import ansible_shape, native
from harness.inventory.records import Cluster, Inventory, InventoryError, Node

__all__ = ["Cluster", "Inventory", "InventoryError", "Node", "load_inventory",
           "load_inventory_or_none"]


def load_inventory(path: str | Path) -> Inventory:
    """Read and validate an inventory in either shape; raise InventoryError at the first fault."""
    source = Path(path)
    doc, yaml_error = native.parse_yaml(source)
    if doc is None and yaml_error is None:
        raise InventoryError(source, None, "", "the file is empty",
                             hint="see examples/inventory.yaml for the expected shape")
    if isinstance(doc, dict) and any(key in doc for key in native.TOP_FIELDS):
        return native.load(doc, source)
    return ansible_shape.load(source, yaml_error)


def load_inventory_or_none(path: str | Path | None) -> Inventory | None:
    """The inventory named on the command line or in $HARNESS_INVENTORY; None means "no
    inventory given": callers then use the local lab's nodes."""
    if path:
        return load_inventory(path)
    if not (path := os.environ.get("HARNESS_INVENTORY")):
        return None
    try:
        return load_inventory(path)
    except InputError as err:  # say where the file came from: no flag named it
        raise InputError(f"$HARNESS_INVENTORY: {err.message}", hint=err.hint) from None
