"""`harness migrate`: switch nodes from Docker to containerd."""

from harness.errors import InputError


def register(sub):
    return sub.add_parser("migrate", help="switch nodes from Docker to containerd", description="Switch nodes from Docker to containerd.")


def run(args) -> int:
    raise InputError("not implemented yet in this version", hint="see the README for what works")
