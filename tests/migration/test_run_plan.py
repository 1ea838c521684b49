"""A run's plan (harness.migration.run_plan): the nodes, their batches, the gate policy and the
cluster check, built one way by every command that works on nodes (issue 26)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import cli
from harness.errors import InputError
from harness.gate_policy import GatePolicy
from harness.inventory import Cluster, Inventory, Node
from harness.migration import run_plan


def inventory(*names: str) -> Inventory:
    return Inventory([Node(name=n, host=f"10.0.0.{i}") for i, n in enumerate(names, 1)],
                     Cluster(kubeconfig=Path("/kubeconfig")), Path("inv.yaml"))


@pytest.fixture
def checked(monkeypatch):
    """The cluster checks run: (nodes, target, flag) each."""
    calls = []
    monkeypatch.setattr(run_plan.cluster_check, "check",
                        lambda inv, nodes, target, flag: calls.append((nodes, target, flag)))
    return calls


def test_every_node_in_inventory_order_in_one_batch_by_default(checked, tmp_path):
    plan = run_plan.build(inventory("a", "b", "c"), tmp_path)
    assert plan.batches == (("a", "b", "c"),) and plan.limit == ()
    assert [n.host for n in plan.targets()] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert checked == [(["a", "b", "c"], None, "--to")]


def test_chosen_nodes_keep_inventory_order_and_limit_the_playbook(checked, tmp_path):
    plan = run_plan.build(inventory("a", "b", "c"), tmp_path, ["c", "a"], target="1.24.17")
    assert plan.nodes == ["a", "c"] and plan.limit == ("a", "c")
    assert checked == [(["a", "c"], "1.24.17", "--to")]


def test_an_order_makes_the_batches(checked, tmp_path):
    plan = run_plan.build(inventory("a", "b", "c"), tmp_path,
                          order=lambda names: [names[:1], names[1:]])
    assert plan.batches == (("a",), ("b", "c")) and plan.nodes == ["a", "b", "c"]


def test_an_unknown_node_is_refused_before_the_cluster_is_asked(checked, tmp_path):
    with pytest.raises(InputError, match="inv.yaml"):
        run_plan.build(inventory("a"), tmp_path, ["z"])
    assert checked == []


def test_without_the_cluster_check_the_cluster_is_not_asked(checked, tmp_path):
    run_plan.build(inventory("a"), tmp_path, cluster=False)
    assert checked == []


class Built(Exception):
    """Stops a command once it has its plan."""


@pytest.mark.parametrize("argv,target,flag,policy", [
    (["preflight"], None, "--kubernetes-target", GatePolicy()),
    (["preflight", "--kubernetes-target", "1.24.17"], "1.24.17", "--kubernetes-target",
     GatePolicy()),
    (["migrate", "--canary", "0", "--batch-size", "2"], None, "--to", GatePolicy()),
    (["verify"], None, "--to", GatePolicy()),
    (["rollback"], None, "--to", GatePolicy()),
    (["upgrade", "--to", "1.24.17"], "1.24.17", "--to", GatePolicy()),
    (["smoke", "--max-skipped", "3"], None, "--to", GatePolicy(3)),
])
def test_every_node_command_only_parses_its_flags_into_the_plan(monkeypatch, tmp_path, argv,
                                                                 target, flag, policy):
    """Each command hands its flags to run_plan.from_args and works on what comes back."""
    seen = {}
    real = run_plan.from_args

    def from_args(args, **kwargs):
        monkeypatch.setattr(run_plan, "inventory_of", lambda args: inventory("a", "b", "c"))
        monkeypatch.setattr(run_plan.cluster_check, "check", lambda *a: None)
        seen["plan"] = real(args, **kwargs)
        seen.update(kwargs)
        raise Built

    monkeypatch.setattr(run_plan, "from_args", from_args)
    with pytest.raises(Built):
        cli.main([*argv, "--out", str(tmp_path)])
    plan = seen["plan"]
    assert (seen.get("target"), seen.get("flag", "--to")) == (target, flag)
    assert plan.policy == policy and plan.out == tmp_path
    expected = (("a", "b"), ("c",)) if argv[0] == "migrate" else (("a", "b", "c"),)
    assert plan.batches == expected
