"""`harness report`: merge the per-node JUnit files of a run into one, print a summary per node
and suite, and exit with the run's code (0 passed, 1 failures or errors, 3 unreachable/timeout)."""

from pathlib import Path

from harness import junit


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
    return parser


def run(args) -> int:
    files = junit.junit_files(args.junit_dir, exclude=args.out)
    merged = junit.merge(files, args.out)
    summary = junit.verify(merged)
    print(junit.format_summary(summary))
    failing = junit.format_failures(merged)
    if failing:
        print(failing)
    print(f"merged {len(files)} file(s) into {args.out}")
    # The HTML report (a later issue) renders from `merged` and `summary` here.
    return summary.exit_code()
