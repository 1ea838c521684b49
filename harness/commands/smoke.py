"""`harness smoke`: run workload smoke tests against nodes."""

from harness.errors import InputError


def register(sub):
    return sub.add_parser("smoke", help="run workload smoke tests against nodes", description="Run workload smoke tests against nodes.")


def run(args) -> int:
    raise InputError("not implemented yet in this version", hint="see the README for what works")
