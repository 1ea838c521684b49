"""`harness rollback`: back to Docker from the node's backups (playbooks/rollback.yml)."""

from harness.migration.phase import command

register, run = command("rollback", "return migrated nodes to Docker, one at a time: files "
                        "restored byte for byte, Docker started, the kubelet switched back")
