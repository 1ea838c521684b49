"""The shape `harness kube build` and `harness containerd build` share: one `build` action with
a pinned --version and --rebuild; progress on stderr, the verified binaries' directory on
stdout."""

from __future__ import annotations

from collections.abc import Callable, Sequence


def register(sub, name: str, label: str, help_text: str, summary: str,
             releases: Sequence[str], options: Callable | None = None, **build_parser: object):
    """`harness NAME build`; `build_parser` goes to the build action's parser (its own
    description, an epilog), which `options` may give flags of its own."""
    parser = sub.add_parser(name, help=help_text, description=summary)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    b = actions.add_parser("build", help="build (or verify the cached) binaries", **build_parser)
    b.add_argument("--version", required=True,
                   help=f"{label} version: {', '.join(releases)}")
    b.add_argument("--rebuild", action="store_true", help="ignore the cached binaries")
    if options:
        options(b)
    return parser


def run(build: Callable, args) -> int:
    print(build(args.version, rebuild=args.rebuild).bin_dir)
    return 0
