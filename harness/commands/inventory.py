"""`harness inventory`: validate an inventory file."""

from harness.errors import InputError


def register(sub):
    return sub.add_parser("inventory", help="validate an inventory file", description="Validate an inventory file.")


def run(args) -> int:
    raise InputError("not implemented yet in this version", hint="see the README for what works")
