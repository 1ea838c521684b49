"""Every bad input is one line on stderr naming the file, field or flag and what to do, exit code
2, no traceback, and nothing changed: one case per class of input (unreadable files through every
reader, symlink loops and directories for every path option, missing parents of outputs,
numbers out of range, `harness run` checking before provisioning, endpoints, JUnit counts).

Each case runs the installed `harness` in a scratch directory holding the bad files and an out
dir with a file in it; the whole directory must be byte for byte as it was afterwards. No case
reaches a node: the inventory's one node is 127.0.0.1 on port 1, and every case must stop before
connecting; the lab cases name lab "hbad" with the lab state redirected into the scratch
directory, which stays empty."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from harness import allowed_skips
from harness.errors import InputError

HARNESS = Path(sys.executable).parent / "harness"
JUNIT = ('<?xml version="1.0"?><testsuites><testsuite name="n1" {counts}><properties>'
         '<property name="suite" value="x"/></properties><testcase classname="n1__x" name="t"/>'
         '</testsuite></testsuites>')


def _scratch(root: Path) -> None:
    """The inputs every case picks from, relative to `root` (the cases' working directory)."""
    (root / "kubeconfig").write_text("apiVersion: v1\nkind: Config\n")
    (root / "inv.yaml").write_text(
        "cluster:\n  kubeconfig: kubeconfig\nnodes:\n  - name: n1\n    host: 127.0.0.1\n"
        "    port: 1\n")
    (root / "nokube.yaml").write_text(
        "cluster:\n  kubeconfig: absent.conf\nnodes:\n  - name: n1\n    host: 127.0.0.1\n"
        "    port: 1\n")
    (root / "tcp.yaml").write_text(
        "nodes:\n  - name: n1\n    host: 127.0.0.1\n    port: 1\n"
        "    cri_endpoint: tcp://127.0.0.1:1\n")
    (root / "loopkey.yaml").write_text(
        "nodes:\n  - name: n1\n    host: 127.0.0.1\n    port: 1\n    ssh_key: loop\n")
    (root / "latin1.yaml").write_bytes(b"nodes:\n  - name: n\xe9\n    host: 127.0.0.1\n")
    (root / "nul.yaml").write_bytes(b"nodes:\n\0")
    (root / "loop").symlink_to("loop")
    (root / "adir").mkdir()
    (root / "afile").write_text("x\n")
    (root / "out").mkdir()
    (root / "out" / "kept.txt").write_text("an earlier run's\n")
    for name, body in (("neg", JUNIT.format(counts='tests="-3" failures="-1"')),
                       ("word", JUNIT.format(counts='tests="1" failures="x"')),
                       ("good", JUNIT.format(counts='tests="1"'))):
        (root / name / "junit").mkdir(parents=True)
        (root / name / "junit" / "junit-n1-x.xml").write_text(body)
    # a failing row whose node has artifacts (the report would attach them), then a bad file
    (root / "mixed" / "junit").mkdir(parents=True)
    (root / "mixed" / "junit" / "junit-n1-migrate.xml").write_text(JUNIT.format(
        counts='tests="1"').replace('value="x"', 'value="migrate"').replace(
        '"t"/>', '"t"><failure message="broken"/></testcase>'))
    (root / "mixed" / "junit" / "junit-n1-x.xml").write_text(JUNIT.format(counts='tests="-1"'))
    (root / "mixed" / "artifacts" / "n1" / "migrate").mkdir(parents=True)
    (root / "mixed" / "artifacts" / "n1" / "migrate" / "journal-kubelet.log").write_text("x\n")
    (root / "latin1" / "junit").mkdir(parents=True)
    (root / "latin1" / "junit" / "a.xml").write_bytes(
        b'<?xml version="1.0"?><testsuites><testsuite name="n\xe9"/></testsuites>')
    (root / "nuljunit" / "junit").mkdir(parents=True)
    (root / "nuljunit" / "junit" / "a.xml").write_bytes(b'<?xml version="1.0"?>\0<testsuites/>')
    (root / "loopjunit" / "junit").mkdir(parents=True)
    (root / "loopjunit" / "junit" / "a.xml").symlink_to("a.xml")
    (root / "dirjunit" / "junit" / "a.xml").mkdir(parents=True)


RANGE = "(see --help)"
CASES = [
    # -- files that are not UTF-8 or hold NUL bytes, through every reader
    ("inventory check latin1.yaml",
     "harness inventory: inventory file latin1.yaml: not UTF-8 (byte 0xe9 at offset 18): save "
     "it as UTF-8"),
    ("inventory check nul.yaml",
     "harness inventory: inventory file nul.yaml: a NUL byte at offset 7, so not a text file: "
     "pass the text file itself"),
    ("HARNESS_INVENTORY=latin1.yaml preflight",
     "harness preflight: $HARNESS_INVENTORY: inventory file latin1.yaml: not UTF-8 (byte 0xe9 "
     "at offset 18): save it as UTF-8"),
    ("migrate -i inv.yaml --kubeconfig latin1.yaml",
     "harness migrate: kubeconfig latin1.yaml: not UTF-8 (byte 0xe9 at offset 18): save it as "
     "UTF-8"),
    ("smoke -i inv.yaml --kubeconfig nul.yaml",
     "harness smoke: kubeconfig nul.yaml: a NUL byte at offset 7, so not a text file: pass the "
     "text file itself"),
    ("report latin1",
     "harness report: JUnit file latin1/junit/a.xml: not UTF-8 (byte 0xe9 at offset 51): save it "
     "as UTF-8"),
    ("report nuljunit",
     "harness report: JUnit file nuljunit/junit/a.xml: a NUL byte at offset 21, so not a text "
     "file: pass the text file itself"),
    # -- symlink loops, directories for files, files for directories: every path option
    ("inventory check loop",
     "harness inventory: inventory file loop: a symlink loop: point the link at a real path"),
    ("inventory check loopkey.yaml",
     "harness inventory: loopkey.yaml:5: nodes[0].ssh_key: SSH key {work}/loop cannot be read: "
     "Too many levels of symbolic links"),
    ("HARNESS_INVENTORY=adir run",
     "harness run: $HARNESS_INVENTORY: inventory file adir: a directory, not a file: pass a "
     "file"),
    ("verify -i inv.yaml --kubeconfig adir",
     "harness verify: kubeconfig adir: a directory, not a file: pass a file"),
    ("rollback -i inv.yaml --kubeconfig loop",
     "harness rollback: kubeconfig loop: a symlink loop: point the link at a real path"),
    ("run -i inv.yaml --kubeconfig loop --out out",
     "harness run: kubeconfig loop: a symlink loop: point the link at a real path"),
    ("run -i inv.yaml --phases cri,oci --kubeconfig adir --out out",
     "harness run: kubeconfig adir: a directory, not a file: pass a file"),
    ("inventory ping inv.yaml --known-hosts loop",
     "harness inventory: --known-hosts loop: a symlink loop: point the link at a real path"),
    ("inventory ping inv.yaml --known-hosts latin1.yaml",
     "harness inventory: --known-hosts latin1.yaml: not UTF-8 (byte 0xe9 at offset 18): save it "
     "as UTF-8"),
    ("images load --to registry --address http://127.0.0.1:1 --ca adir busybox",
     "harness images: --ca adir: a directory, not a file: pass a file"),
    ("run -i inv.yaml --out afile",
     "harness run: --out afile: a file, not a directory: pass a directory, or remove the file"),
    ("preflight -i inv.yaml --out loop",
     "harness preflight: --out loop: a symlink loop: point the link at a real path"),
    ("conformance --junit-dir afile",
     "harness conformance: --junit-dir afile: a file, not a directory: pass a directory, or "
     "remove the file"),
    ("report afile",
     "harness report: run directory afile: a file, not a directory: pass a directory"),
    ("report --junit-dir loop --out out/junit.xml",
     "harness report: --junit-dir loop: a symlink loop: point the link at a real path"),
    ("report good --out adir",
     "harness report: --out adir: a directory, not a file: pass a file name"),
    ("report good --html loop",
     "harness report: --html loop: a symlink loop: point the link at a real path"),
    ("report loopjunit",
     "harness report: JUnit file loopjunit/junit/a.xml: a symlink loop: point the link at a real "
     "path"),
    ("report dirjunit",
     "harness report: JUnit file dirjunit/junit/a.xml: a directory, not a file: pass a file"),
    # -- outputs whose parent does not exist: refused, never made
    ("run -i inv.yaml --out gone/reports",
     "harness run: --out gone/reports: its directory gone does not exist: create it first "
     "(mkdir -p gone) or fix the path"),
    ("smoke -i inv.yaml --out gone/reports",
     "harness smoke: --out gone/reports: its directory gone does not exist: create it first "
     "(mkdir -p gone) or fix the path"),
    ("report good --html gone/report.html",
     "harness report: --html gone/report.html: its directory gone does not exist: create it "
     "first (mkdir -p gone) or fix the path"),
    # -- numbers: words, nan, inf, negative, zero, huge
    ("run -i inv.yaml --suite-timeout nan",
     "harness run: error: argument --suite-timeout: 'nan' is not a number of seconds above 0 and "
     f"at most 86400 {RANGE}"),
    ("smoke -i inv.yaml --timeout inf",
     "harness smoke: error: argument --timeout: 'inf' is not a number of seconds above 0 and at "
     f"most 86400 {RANGE}"),
    ("inventory ping inv.yaml --connect-timeout -1",
     "harness inventory ping: error: argument --connect-timeout: '-1' is not a number of seconds "
     f"above 0 and at most 86400 {RANGE}"),
    ("inventory ping inv.yaml --connect-retries -1",
     f"harness inventory ping: error: argument --connect-retries: '-1' is not from 0 to 100 "
     f"{RANGE}"),
    ("run -i inv.yaml --forks 100000000000000000000000000000",
     "harness run: error: argument --forks: '10000000000000000000...' is not from 1 to 1000 "
     f"{RANGE}"),
    ("run --nodes 0", f"harness run: error: argument --nodes: '0' is not from 1 to 20 {RANGE}"),
    ("lab up --name hbad --nodes two",
     "harness lab up: error: argument --nodes: 'two' is not a whole number from 1 to 20 "
     f"{RANGE}"),
    ("report good --max-skipped 1e3",
     "harness report: error: argument --max-skipped: '1e3' is not a whole number from 0 to "
     f"1000000000 {RANGE}"),
    ("migrate -i inv.yaml --batch-size 0",
     f"harness migrate: error: argument --batch-size: '0' is not from 1 to 1000 {RANGE}"),
    ("migrate -i inv.yaml --max-fail 101",
     f"harness migrate: error: argument --max-fail: '101' is not from 0 to 100 {RANGE}"),
    ("migrate -i inv.yaml --drain-timeout 1.5",
     "harness migrate: error: argument --drain-timeout: '1.5' is not a whole number from 1 to "
     f"86400 {RANGE}"),
    ("conformance --workers 0",
     f"harness conformance: error: argument --workers: '0' is not from 1 to 64 {RANGE}"),
    # -- harness run checks every input before provisioning: exit 2, not a failed pipeline
    ("run -i nokube.yaml --out out",
     "harness run: kubeconfig {work}/absent.conf not found: pass the cluster's admin kubeconfig "
     "with --kubeconfig"),
    ("run --lab hbad --kubernetes 1.24.17 --out out",
     "harness run: --kubernetes 1.24.17: the kubelet has no dockershim since 1.24, and the lab's "
     "nodes run Docker: use 1.23.17 (cri-dockerd, the way to Docker past 1.24, is not built yet)"),
    ("run -i inv.yaml --kubernetes 1.23.17 --out out",
     "harness run: --kubernetes: for the local lab only; the inventory names the nodes and their "
     "cluster: leave it out with -i inv.yaml"),
    ("run --lab HBAD --out out",
     "harness run: error: argument --lab: 'HBAD' is not 1-8 lowercase letters or digits "
     "starting with a letter (see --help)"),
    ("run --lab hbad --phases migrate,bogus --out out",
     "harness run: --phases: unknown phase 'bogus': choose from preflight, "
     "smoke-before, migrate, verify, cri, oci, smoke-after, upgrade, smoke-upgraded, smoke, "
     "suites"),
    ("run -i inv.yaml --phases , --out out",
     "harness run: --phases ',': names no phase: choose from preflight, smoke-before, migrate, "
     "verify, cri, oci, smoke-after, upgrade, smoke-upgraded, smoke, suites"),
    # -- endpoints: what the inventory check accepts works everywhere, else it is refused
    ("inventory check tcp.yaml",
     "harness inventory: tcp.yaml:5: nodes[0].cri_endpoint: expected a socket on the node, "
     "unix:///path/to.sock or /path/to.sock, got str 'tcp://127.0.0.1:1': tcp:// endpoints are "
     "not supported"),
    # -- JUnit with nonsense counts: refused, never counted as passed
    ("report neg",
     "harness report: neg/junit/junit-n1-x.xml: testsuite 'n1' has tests='-3', not a count of 0 "
     "or more: pass files written by pytest --junitxml or the harness"),
    ("report mixed",
     "harness report: mixed/junit/junit-n1-x.xml: testsuite 'n1' has tests='-1', not a count of "
     "0 or more: pass files written by pytest --junitxml or the harness"),
    ("report word",
     "harness report: word/junit/junit-n1-x.xml: testsuite 'n1' has failures='x', not a count of "
     "0 or more: pass files written by pytest --junitxml or the harness"),
]


def _snapshot(root: Path) -> dict[str, object]:
    """Every path under root with its link target or content: what "nothing changed" means."""
    found = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = ("link", os.readlink(path))
        elif path.is_dir():
            found[key] = "dir"
        else:
            found[key] = path.read_bytes()
    return found


@pytest.mark.parametrize(("command", "message"), CASES, ids=[c for c, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(tmp_path, command, message):
    work = tmp_path / "work"
    work.mkdir()
    _scratch(work)
    state = tmp_path / "state"  # a lab case that went ahead would leave its record here
    words = shlex.split(command)
    env = {**os.environ, "CI": "true", "XDG_STATE_HOME": str(state)}
    env.pop("HARNESS_INVENTORY", None)
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    before = _snapshot(work)
    done = subprocess.run([str(HARNESS), *words], cwd=work, env=env, capture_output=True,
                          text=True, timeout=120)
    assert "Traceback" not in done.stderr + done.stdout
    expected = message.replace("{work}", str(work))  # paths the inventory made absolute
    assert (done.returncode, done.stderr.strip().splitlines()) == (2, [expected])
    assert _snapshot(work) == before
    assert not state.exists() or not any(state.rglob("*"))


@pytest.mark.parametrize("content", [b"- test: a\xe9\n", b"- test: a\0\n"],
                         ids=["not-utf8", "nul"])
def test_allowed_skips_list_that_is_no_text_is_an_input_error(tmp_path, content):
    """The suites read their allowed-skips list (`--allowed-skips FILE`) on the node."""
    path = tmp_path / "allowed-skips.yaml"
    path.write_bytes(content)
    with pytest.raises(InputError, match=rf"^allowed-skips list {path}: (not UTF-8|a NUL byte)"):
        allowed_skips.load(path)
