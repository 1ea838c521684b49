"""Upgrading a cluster's Kubernetes past dockershim: every node checked, then the control plane
(the lab's, restarted by harness.kube.upgrade; anyone else's must already be there), then the
kubelets one node at a time through playbooks/upgrade.yml. A cluster made by kubeadm follows
kubeadm's own procedure instead (harness.migration.kubeadm_upgrade)."""

from __future__ import annotations

from pathlib import Path

from harness.kube import upgrade
from harness.lab import state
from harness.migration import kubeadm_upgrade, phase
from harness.migration.runner import PlaybookRun
from harness.progress import progress


def lab_of(inventory) -> str | None:
    """The lab whose inventory this is (its control plane is the harness's), else None."""
    source = inventory.source
    if source is None:
        return None
    source = Path(source).resolve()
    name = source.parent.name
    if state.NAME_RE.match(name) and source == (state.lab_dir(name) / "inventory.yaml").resolve():
        return name
    return None


def upgrade_cluster(inventory, version: str, out: Path,
                    nodes: tuple[str, ...] = ()) -> PlaybookRun:
    """Every node checked, then the control plane (the lab's) or a check that it is there
    (anyone else's), then the kubelets one node at a time; the playbook's run (JUnit written
    to <out>/junit)."""
    kubeconfig = str(inventory.cluster.kubeconfig)
    made_by_kubeadm = kubeadm_upgrade.cluster_version(kubeconfig)
    if made_by_kubeadm is not None:  # its control plane is kubeadm's, even in a lab
        return kubeadm_upgrade.upgrade_cluster(inventory, version, made_by_kubeadm, out, nodes,
                                               say=lambda m: progress("upgrade", m))
    lab = lab_of(inventory)
    if lab is not None:
        current = upgrade.server_version(kubeconfig)
        upgrade.check_step(current, version)
    else:
        current = upgrade.require_control_plane(inventory, version)
    extravars = upgrade.playbook_vars(version, say=lambda m: progress(lab or "upgrade", m))
    if lab is not None and upgrade.version_tuple(current) < upgrade.version_tuple(version):
        # Every node is checked before the control plane changes: a refused node leaves the
        # whole cluster as it was.
        checked = phase.run_playbook(inventory, "upgrade", out, nodes,
                                     {**extravars, "upgrade_stage": "preflight"})
        if checked.exit_code != 0:
            return checked
    if lab is not None:  # also when it is there already: checks that its daemons still run
        upgrade.upgrade_control_plane(lab, version, say=lambda m: progress(lab, m))
    return phase.run_playbook(inventory, "upgrade", out, nodes, extravars)
