"""`harness report`: merge the per-node JUnit files of a run into one, print a summary per node
and suite, render report.html, and exit with the run's code (0 passed, 1 failures or errors, 3
unreachable/timeout).

`harness report DIR` rebuilds a past run's outputs from its out dir (DIR/junit/*.xml ->
DIR/junit.xml and DIR/report.html, with the artifacts under DIR/artifacts attached to the
failures and linked from the page); --junit-dir and --out name the files one by one."""

from pathlib import Path

from harness import files, gate_policy, junit, pipeline
from harness.errors import InputError
from harness.gate_policy import GatePolicy


def register(sub):
    parser = sub.add_parser(
        "report", help="merge JUnit results, summarize, render report.html, exit with the run's "
        "code",
        description="Merge every *.xml of a run's JUnit directory into one file, print a table "
        "per node and suite, render report.html beside the merged file, and exit 0 (all "
        "passed), 1 (failures or errors) or 3 (a node was unreachable or timed out).")
    parser.add_argument("run_dir", nargs="?", type=Path, metavar="DIR",
                        help="a run's out dir (what `harness run --out` wrote): reads DIR/junit, "
                        "writes DIR/junit.xml and DIR/report.html")
    parser.add_argument("--junit-dir", type=Path, metavar="DIR",
                        help="directory of per-node JUnit files (junit-<node>-<suite>.xml); "
                        "default DIR/junit")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="merged JUnit file to write (default DIR/junit.xml)")
    parser.add_argument("--html", type=Path, metavar="FILE",
                        help="HTML report to write (default: report.html beside --out)")
    gate_policy.add_flags(parser)
    return parser


def _paths(args) -> tuple[Path, Path, Path]:
    """(JUnit directory, merged file, HTML file) from DIR and the flags that override it, each
    checked before anything is written."""
    if args.run_dir is None and (args.junit_dir is None or args.out is None):
        raise InputError("name a run's out dir (harness report DIR), or both --junit-dir and "
                         "--out")
    if args.run_dir is not None:
        files.input_dir(args.run_dir, "run directory")
    junit_dir = args.junit_dir or args.run_dir / "junit"
    if not junit_dir.is_dir() and args.run_dir is not None and any(args.run_dir.glob("*.xml")):
        raise InputError(f"{args.run_dir} holds JUnit files but no junit/ directory",
                         hint=f"pass the run's out dir (the one holding junit/), or --junit-dir "
                         f"{args.run_dir} --out FILE")
    files.input_dir(junit_dir, "--junit-dir" if args.junit_dir else "JUnit directory")
    out = files.output_file(args.out or args.run_dir / "junit.xml", "--out")
    return junit_dir, out, files.output_file(args.html or out.parent / "report.html", "--html")


def run(args) -> int:
    from harness.report import attachments, html

    policy = GatePolicy.from_args(args)
    junit_dir, out, page = _paths(args)
    inputs = junit.junit_files(junit_dir, exclude=out)
    junit.merge(inputs)  # every file read and checked before attachments are written into any
    if args.run_dir is not None:  # a run's artifacts are found from its out dir only
        attachments.attach(junit_dir, args.run_dir, pipeline.PHASES)
    merged = junit.merge(inputs, out)
    code, text = policy.verdict(merged)
    print(text)
    print(f"merged {len(inputs)} file(s) into {out}")
    print(f"report: {html.write(merged, page, str(junit_dir), pipeline.PHASES, policy)}")
    return code
