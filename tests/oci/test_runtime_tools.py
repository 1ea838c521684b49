"""harness.oci.runtime_tools without building or running anything: its go.mod and its reading
of runtime-tools' irregular TAP (shapes copied from a run on runc 1.1.5)."""

from harness.oci.runtime_tools import REQUIRES, FileResult, go_mod, parse_tap, summary

# linux_seccomp: plain points, no diagnostics.
PLAIN = """TAP version 13
not ok 1 - seccomp action is added correctly
not ok 2 - exit status 1
1..2
"""

# process_rlimits: JSON diagnostic blocks after points, and SKIP points.
WITH_BLOCKS = """TAP version 13
ok 1 - has expected hostname
  ---
  {
    "actual": "mrsdalloway",
    "expected": "mrsdalloway"
  }
  ...
not ok 2 - has expected soft RLIMIT_NOFILE
  ---
  {
    "actual": 3999,
    "expected": 3000
  }
  ...
ok 3 # SKIP linux.mountLabel not set
1..3
"""

# poststop_fail: a report-only file: a YAML error and an empty plan.
REPORT_ONLY = """TAP version 13
  ---
  {
    "error": "if any poststop hook fails, the runtime MUST log a warning\\nRefer to: x"
  }
  ...
1..0
"""

# linux_cgroups_cpus: two documents in one stream.
TWO_DOCUMENTS = "TAP version 13\nok 1 - a\n1..1\nTAP version 13\nok 1 - b\n1..1\n"


def test_go_mod_names_the_module_and_every_pin():
    text = go_mod()
    assert text.startswith("module github.com/opencontainers/runtime-tools\n")
    for path, version in REQUIRES.items():
        assert f"\t{path} {version}\n" in text


def test_plain_points_are_read():
    points, planned = parse_tap(PLAIN)
    assert [p.ok for p in points] == [False, False] and planned
    assert points[0].description == "seccomp action is added correctly"


def test_diagnostic_blocks_attach_to_their_point():
    points, _ = parse_tap(WITH_BLOCKS)
    assert [p.ok for p in points] == [True, False, True]
    assert '"actual": 3999' in points[1].diagnostic
    assert points[2].skip and not points[1].skip


def test_error_block_without_points_is_report_only():
    points, planned = parse_tap(REPORT_ONLY)
    assert planned and len(points) == 1 and points[0].ok is None
    assert points[0].description.startswith("if any poststop hook fails")


def test_every_document_of_a_stream_is_read():
    points, _ = parse_tap(TWO_DOCUMENTS)
    assert [p.description for p in points] == ["a", "b"]


def test_verdicts():
    def verdict(text, code=0):
        points, planned = parse_tap(text)
        return FileResult("t", code, 0.1, points, planned).verdict

    assert verdict(PLAIN) == "not ok"
    assert verdict(REPORT_ONLY) == "not ok"
    assert verdict(TWO_DOCUMENTS) == "ok"
    assert verdict("", code=1) == "error"  # util.Fatal: stderr, exit 1, no plan
    assert verdict("TAP version 13\n1..0\n") == "no tests"
    assert verdict("") == "no tests"  # process_rlimits_fail: create refused, nothing printed


def test_summary_counts_points():
    points, planned = parse_tap(WITH_BLOCKS)
    text = summary([FileResult("process_rlimits", 0, 1.0, points, planned)])
    assert text.splitlines()[-1] == "1 ok, 1 not ok, 1 skip, 0 report-only errors in 1.0 s"
