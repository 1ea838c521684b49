"""The wheel carries the top-level playbooks/, suites/ and fixtures/ inside the package
(harness/<name>), where harness.paths.shipped finds them when there is no checkout. Everything
else about the build is in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

# harness.paths.SHIPPED, written again: the build cannot import the package it builds (an
# editable install's build has no path to it)
SHIPPED = ("playbooks", "suites", "fixtures")


class BuildWithShippedFiles(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install runs from the checkout
            return
        for name in SHIPPED:
            target = Path(self.build_lib) / "harness" / name
            shutil.rmtree(target, ignore_errors=True)
            # symlinks are copied as the files they point at: a wheel holds no links; what
            # tools leave beside the files (bytecode, ansible-lint's .ansible/) stays out
            shutil.copytree(name, target, ignore=shutil.ignore_patterns(
                "__pycache__", "*.pyc", ".ansible"))


setup(cmdclass={"build_py": BuildWithShippedFiles})
