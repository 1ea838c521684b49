"""Fixture images built locally from Debian's static binaries, the same bytes every time.

from harness import images
img = images.build("busybox")          # cached under ~/.cache/harness/images
images.recipes()                        # ["busybox", "pause", ...]
from harness.images import load
load.into_containerd(address, img)      # also into_docker, into_registry
"""

from harness.images.build import build
from harness.images.image import BuiltImage
from harness.images.recipe import names as recipes

__all__ = ["BuiltImage", "build", "recipes"]
