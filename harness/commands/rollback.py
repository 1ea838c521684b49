"""`harness rollback`: return migrated nodes to Docker."""

from harness.errors import InputError


def register(sub):
    return sub.add_parser("rollback", help="return migrated nodes to Docker", description="Return migrated nodes to Docker.")


def run(args) -> int:
    raise InputError("not implemented yet in this version", hint="see the README for what works")
