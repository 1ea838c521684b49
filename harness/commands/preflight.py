"""`harness preflight`: check that nodes are ready to migrate."""

from harness.errors import InputError


def register(sub):
    return sub.add_parser("preflight", help="check that nodes are ready to migrate", description="Check that nodes are ready to migrate.")


def run(args) -> int:
    raise InputError("not implemented yet in this version", hint="see the README for what works")
