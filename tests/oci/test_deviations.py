"""suites/oci/deviations.yaml stays true to the suite: every entry names a test function that
exists, and (for a parameter case) a case id the test has."""

import ast
from pathlib import Path

import pytest
import yaml

SUITE = Path(__file__).resolve().parents[2] / "suites" / "oci"


def suite_functions() -> dict[str, str]:
    """test function name -> the source of its module."""
    found = {}
    for path in SUITE.glob("test_*.py"):
        source = path.read_text()
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found[node.name] = source
    return found


ENTRIES = yaml.safe_load((SUITE / "deviations.yaml").read_text())


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e['runtime']}:{e['test']}" for e in ENTRIES])
def test_deviation_names_an_existing_test(entry):
    functions = suite_functions()
    name, _, case = entry["test"].partition("[")
    assert name in functions, f"deviations.yaml: no test {name} in suites/oci"
    if case:
        assert f'"{case.rstrip("]")}"' in functions[name], f"no case {case} for {name}"
    assert entry["spec"] and entry["cites"] and entry["reason"] and "min" in entry["versions"]
