"""`harness verify`: is each node really on containerd? (playbooks/verify.yml)"""

from harness.migration.phase import command

register, run = command("verify", "check that nodes run on containerd: the Node's runtime, "
                        "Ready, pods Running, every copied image in CRI, Docker off")
