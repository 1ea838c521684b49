"""Secrets planted where a run could pick them up, and the search for them under its out dir:
a report holding one of these values, in any byte of any file, leaks it."""

from __future__ import annotations

from pathlib import Path

# The operator's shell or CI job. The last one's name says nothing of a secret, so redaction
# cannot catch it: only handing the playbooks an allow-list of the environment keeps it out.
ENVIRONMENT = {"AWS_SECRET_ACCESS_KEY": "planted-aws-secret-9f3c1e",
               "HARNESS_SSH_KEY_PASSPHRASE": "planted-ssh-passphrase-4b7d20",
               "GITHUB_TOKEN": "ghp_plantedGithubToken7e81a5",
               "DEPLOY_BLOB": "planted-unnamed-credential-c05e9a"}


def hits(directory: Path, values) -> list[str]:
    """`path: value` for each file under `directory` that holds one of `values`."""
    found = []
    for path in sorted(Path(directory).rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{path}: {value}" for value in values if value.encode() in data]
    return found
