"""`harness lab`: provision, inspect and tear down the local lab of systemd nodes."""

from harness.errors import InputError


def register(sub):
    return sub.add_parser("lab", help="provision, inspect and tear down the local lab of systemd nodes", description="Provision, inspect and tear down the local lab of systemd nodes.")


def run(args) -> int:
    raise InputError("not implemented yet in this version", hint="see the README for what works")
