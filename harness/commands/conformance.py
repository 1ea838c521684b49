"""`harness conformance`: run the CRI and OCI conformance suites against nodes."""

from harness.errors import InputError


def register(sub):
    return sub.add_parser("conformance", help="run the CRI and OCI conformance suites against nodes", description="Run the CRI and OCI conformance suites against nodes.")


def run(args) -> int:
    raise InputError("not implemented yet in this version", hint="see the README for what works")
