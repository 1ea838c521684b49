"""`harness report`: merge the per-node JUnit files of a run into one, print a summary per node
and suite, and exit with the run's code (0 passed, 1 failures or errors, 3 unreachable/timeout)."""

from pathlib import Path

from harness import junit
from harness.errors import InputError


def register(sub):
    parser = sub.add_parser(
        "report", help="merge JUnit results, summarize, exit with the run's code",
        description="Merge every *.xml in --junit-dir into --out, print a table per node and "
        "suite, and exit 0 (all passed), 1 (failures or errors) or 3 (a node was unreachable "
        "or timed out).")
    parser.add_argument("--junit-dir", required=True, type=Path, metavar="DIR",
                        help="directory of per-node JUnit files (junit-<node>-<suite>.xml)")
    parser.add_argument("--out", required=True, type=Path, metavar="FILE",
                        help="merged JUnit file to write")
    parser.add_argument("--max-skipped", type=int, default=None, metavar="N",
                        help="exit 1 when more than N tests were skipped (default: no limit; a "
                        "suite that skipped every test always fails)")
    return parser


def run(args) -> int:
    if args.max_skipped is not None and args.max_skipped < 0:
        raise InputError(f"--max-skipped {args.max_skipped}: must be 0 or more")
    files = junit.junit_files(args.junit_dir, exclude=args.out)
    merged = junit.merge(files, args.out)
    summary = junit.verify(merged)
    print(junit.format_summary(summary, args.max_skipped))
    failing = junit.format_failures(merged)
    if failing:
        print(failing)
    print(f"merged {len(files)} file(s) into {args.out}")
    # The HTML report (a later issue) renders from `merged` and `summary` here.
    return summary.exit_code(args.max_skipped)
