"""`harness images`: build the fixture images and load them into Docker, containerd or a registry."""

from harness.errors import InputError


def register(sub):
    return sub.add_parser("images", help="build the fixture images and load them into Docker, containerd or a registry", description="Build the fixture images and load them into Docker, containerd or a registry.")


def run(args) -> int:
    raise InputError("not implemented yet in this version", hint="see the README for what works")
