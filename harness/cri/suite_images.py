"""The fixture images the CRI suite runs its containers from and pulls."""

from __future__ import annotations

from harness import images
from harness.images.image import BuiltImage

SUITE_IMAGES = ("busybox", "web", "nonewprivs", "user-uid", "user-name", "user-uid-gid",
                "user-name-group")
# Images the pull tests push to their own registry: small, distinct (one per test, so tests do
# not share pulls), and a many-layered one for the auth and TLS pulls. Built from parameters,
# which a node cannot do (no busybox-static there): staging ships these exact variants.
PULL_IMAGE_KEYS = ("by_tag", "digest", "timeout", "three_a", "three_b", "three_c", "status_forms",
                   "remove_tags", "two_names", "after_pull", "after_remove", "concurrent",
                   "id_apis", "no_tag")
AUTH_IMAGE = ("many-layers", {"layers": 4})
TLS_IMAGE = ("many-layers", {"layers": 5})


def pull_image(key: str) -> tuple[str, dict]:
    """The recipe and parameters of the image pull test `key` pushes."""
    return "large", {"size": 1000 + PULL_IMAGE_KEYS.index(key)}


def shipped_variants() -> list[tuple[str, dict]]:
    """Every parameterised image the suite builds, for staging."""
    return [*(pull_image(key) for key in PULL_IMAGE_KEYS), AUTH_IMAGE, TLS_IMAGE]


def build_all() -> dict[str, BuiltImage]:
    return {name: images.build(name) for name in SUITE_IMAGES}
