"""`harness report`: merge JUnit results and render the HTML report."""

from harness.errors import InputError


def register(sub):
    return sub.add_parser("report", help="merge JUnit results and render the HTML report", description="Merge JUnit results and render the HTML report.")


def run(args) -> int:
    raise InputError("not implemented yet in this version", hint="see the README for what works")
