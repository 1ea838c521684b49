#!/usr/bin/python
"""Ansible module (node side): the migration's record on the node — which steps are done, and
byte-for-byte backups of every file the migration changes, so that a rerun resumes and a
rollback restores exactly what was there (including "this file did not exist")."""

from __future__ import annotations

DOCUMENTATION = r"""
module: migration_state
short_description: Record migration progress and back up or restore files on a node
options:
  state_dir: {type: path, default: /var/lib/harness/migration}
  action:
    type: str
    choices: [backup, step, restore, finish, clear, discard]
    required: true
    description:
      - C(backup) copies each of I(paths) once (a later run never overwrites the first backup)
        and stores I(record) values (e.g. the Node's cri-socket annotation) the same way.
      - C(step) marks I(step) done; C(finish) marks the migration complete.
      - C(restore) puts every backed-up file back byte for byte (removing files that did not
        exist before) and returns the recorded values; C(clear) ends the record after a rollback.
      - C(discard) removes the record and its backups, for a migration stopped before it changed
        anything (no step done), so that the node reads as never migrated; refused otherwise.
  paths: {type: list, elements: path, default: []}
  record: {type: dict, default: {}}
  step: {type: str}
"""
EXAMPLES = r"""
- name: Back up what the migration will change
  migration_state:
    action: backup
    paths: [/var/lib/kubelet/kubeadm-flags.env, /etc/containerd/config.toml]
"""
RETURN = r"""
state: {description: the record (steps done, completed, recorded values), type: dict}
restored: {description: files written back or removed by C(restore), type: list}
"""

import hashlib
import json
import os
import shutil
import time

from ansible.module_utils.basic import AnsibleModule


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Record:
    def __init__(self, state_dir: str):
        self.dir = state_dir
        self.path = os.path.join(state_dir, "state.json")
        try:
            with open(self.path) as handle:
                self.data = json.load(handle)
        except FileNotFoundError:
            self.data = {}
        self.before = json.dumps(self.data, sort_keys=True)

    def backup_path(self, path: str) -> str:
        return os.path.join(self.dir, "backup", path.lstrip("/"))

    @property
    def changed(self) -> bool:
        return json.dumps(self.data, sort_keys=True) != self.before

    def discard(self, check: bool) -> bool:
        """Drop what backup() started. True when that leaves no record: the file is removed
        with the backups; an earlier rolled-back migration's record stays (and the lock beside
        them stays either way)."""
        for key in ("files", "values", "started", "steps", "completed"):
            self.data.pop(key, None)
        if self.data or not os.path.exists(self.path):
            return False
        if not check:
            shutil.rmtree(os.path.join(self.dir, "backup"), ignore_errors=True)
            os.unlink(self.path)
        return True

    def save(self) -> None:
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(self.data, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)


def backup(rec: Record, paths: list[str], values: dict, check: bool) -> None:
    files = rec.data.setdefault("files", {})
    for path in paths:
        if path in files:
            continue  # the first backup is the one a rollback needs
        if not os.path.exists(path):
            files[path] = {"absent": True}
            continue
        if os.path.isdir(path):
            files[path] = {"directory": True}  # there before: kept as it is
            continue
        if not check:
            dest = rec.backup_path(path)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy2(path, dest)
            st = os.stat(path)
            os.chown(dest, st.st_uid, st.st_gid)
        files[path] = {"sha256": sha256(path), "mode": os.stat(path).st_mode & 0o7777}
    recorded = rec.data.setdefault("values", {})
    for key, value in values.items():
        recorded.setdefault(key, value)
    rec.data.setdefault("started", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


def restore(rec: Record, check: bool) -> list[str]:
    restored = []
    # Deepest first, so a directory the migration created is empty when its turn comes.
    for path, entry in sorted(rec.data.get("files", {}).items(), reverse=True):
        if entry.get("directory"):
            continue
        if entry.get("absent"):
            if os.path.lexists(path):
                restored.append(f"removed {path}")
                if not check:
                    remove(path)
            continue
        if os.path.exists(path) and sha256(path) == entry["sha256"]:
            continue
        restored.append(f"restored {path}")
        if not check:
            source = rec.backup_path(path)
            tmp = path + ".harness-restore"
            os.makedirs(os.path.dirname(path), exist_ok=True)
            shutil.copy2(source, tmp)
            st = os.stat(source)
            os.chown(tmp, st.st_uid, st.st_gid)
            os.replace(tmp, path)
            if sha256(path) != entry["sha256"]:
                raise OSError(f"{path}: restored bytes differ from the backup")
    return restored


def remove(path: str) -> None:
    """A file, or a directory the migration created (refused if something else is in it)."""
    if os.path.isdir(path) and not os.path.islink(path):
        os.rmdir(path)
    else:
        os.unlink(path)


def main() -> None:
    module = AnsibleModule(argument_spec={
        "state_dir": {"type": "path", "default": "/var/lib/harness/migration"},
        "action": {"type": "str", "required": True,
                   "choices": ["backup", "step", "restore", "finish", "clear", "discard"]},
        "paths": {"type": "list", "elements": "path", "default": []},
        "record": {"type": "dict", "default": {}},
        "step": {"type": "str"},
    }, required_if=[("action", "step", ("step",))], supports_check_mode=True)
    p = module.params
    rec = Record(p["state_dir"])
    restored: list[str] = []
    removed = False
    action = p["action"]
    if action == "backup":
        backup(rec, p["paths"], p["record"], module.check_mode)
    elif action == "step":
        steps = rec.data.setdefault("steps", [])
        if p["step"] not in steps:
            steps.append(p["step"])
    elif action == "finish":
        rec.data["completed"] = True
    elif action == "restore":
        try:
            restored = restore(rec, module.check_mode)
        except OSError as err:
            module.fail_json(msg=f"restoring backups from {rec.dir}: {err}")
    elif action == "clear" and rec.data:
        rec.data = {"rolled_back": True, "previous": rec.data}
    elif action == "discard":
        if rec.data.get("steps") or rec.data.get("completed"):
            module.fail_json(msg=f"{rec.path}: steps are done ({rec.data.get('steps')}); "
                             "roll the node back instead of discarding its record")
        removed = rec.discard(module.check_mode)
    changed = rec.changed or bool(restored) or removed
    if rec.changed and not removed and not module.check_mode:
        rec.save()
    module.exit_json(changed=changed, state=rec.data, restored=restored)


if __name__ == "__main__":
    main()
