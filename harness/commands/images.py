"""`harness images`: build the fixture images and load them into Docker, containerd or a registry.

    harness images list
    harness images build [NAME ...] [--set size=1048576]
    harness images load --to containerd --address /run/containerd/containerd.sock [NAME ...]
    harness images load --to docker --address unix:///var/run/docker.sock [NAME ...]
    harness images load --to registry --address https://127.0.0.1:5000 --user U --ca ca.crt [NAME]

Progress goes to stderr; stdout gets one line per image: its ref(s) and manifest digest (and
for registry loads, the pushed refs).
"""

from __future__ import annotations

import os
import time

from harness import files
from harness.errors import InputError
from harness.progress import progress

DEFAULT_ADDRESS = {
    "containerd": "/run/containerd/containerd.sock",
    "docker": "unix:///var/run/docker.sock",
}
PASSWORD_ENV = "HARNESS_REGISTRY_PASSWORD"


def register(sub):
    parser = sub.add_parser(
        "images",
        help="build the fixture images and load them into Docker, containerd or a registry",
        description="Build the fixture images (recipes in fixtures/images/) and load them into "
        "Docker, containerd (k8s.io namespace) or a registry.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    actions.add_parser("list", help="list the recipes")
    build = actions.add_parser("build", help="build images (all when no NAME is given)")
    load = actions.add_parser("load", help="build, then load images (all when no NAME is given)")
    for p in (build, load):
        p.add_argument("names", nargs="*", metavar="NAME", help="recipe names")
        p.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="recipe parameter, e.g. --set size=1048576 (large) or layers=50",
        )
    load.add_argument("--to", required=True, choices=("containerd", "docker", "registry"))
    load.add_argument(
        "--address",
        help="containerd socket, DOCKER_HOST (unix://...) or registry "
        "URL (http[s]://host:port); default: the node's standard containerd or "
        "Docker socket",
    )
    load.add_argument("--namespace", default="k8s.io", help="containerd namespace (k8s.io)")
    load.add_argument(
        "--pinned",
        action="store_true",
        help="containerd: label io.cri-containerd.pinned=pinned (no image GC)",
    )
    load.add_argument("--user", help=f"registry user; the password is read from ${PASSWORD_ENV}")
    load.add_argument("--ca", help="registry: CA certificate file to trust")
    return parser


def _params(pairs: list[str]) -> dict:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--set {pair!r}: expected KEY=VALUE", hint="e.g. --set size=1048576")
        params[key] = int(value) if value.isdigit() else value
    return params


def _names(given: list[str]) -> list[str]:
    from harness import images

    known = images.recipes()
    unknown = [n for n in given if n not in known]
    if unknown:
        raise InputError(
            f"unknown image recipe(s) {', '.join(unknown)}", hint=f"known: {', '.join(known)}"
        )
    return given or known


def _build_all(names: list[str], params: dict) -> list:
    from harness import images

    built = []
    for name in names:
        start = time.monotonic()
        progress("images", f"building {name} ...")
        image = images.build(name, **params) if params else images.build(name)
        progress("images", f"built {name}: {image.digest} ({time.monotonic() - start:.1f}s)")
        built.append(image)
    return built


def _loader(args):
    from harness.images import load

    address = args.address or DEFAULT_ADDRESS.get(args.to)
    if not address:
        raise InputError("--to registry needs --address URL", hint="e.g. http://127.0.0.1:5000")
    if args.to == "containerd":
        return address, lambda img: load.into_containerd(address, img, args.namespace, args.pinned)
    if args.to == "docker":
        host = address if "://" in address else f"unix://{address}"
        return address, lambda img: load.into_docker(host, img)
    if "://" not in address:
        raise InputError(
            f"--address {address!r}: a registry needs a URL", hint=f"e.g. http://{address}"
        )
    if args.ca:
        files.read_bytes(args.ca, "--ca")
    auth = None
    if args.user:
        password = os.environ.get(PASSWORD_ENV)
        if password is None:
            raise InputError(f"--user {args.user}: no password", hint=f"set ${PASSWORD_ENV}")
        auth = (args.user, password)
    return address, lambda img: load.into_registry(address, img, auth=auth, ca=args.ca)


def run(args) -> int:
    from harness import images

    if args.action == "list":
        for name in images.recipes():
            print(name)
        return 0
    names, params = _names(args.names), _params(args.set)
    loader = _loader(args) if args.action == "load" else None
    built = _build_all(names, params)
    for image in built:
        line = f"{' '.join(image.refs)} {image.digest}"
        if loader:
            address, into = loader
            start = time.monotonic()
            progress("images", f"loading {image.ref} into {args.to} at {address} ...")
            pushed = into(image)
            progress("images", f"loaded {image.ref} ({time.monotonic() - start:.1f}s)")
            if pushed:
                line = f"{' '.join(pushed)} {image.digest}"
        print(line)
    return 0
