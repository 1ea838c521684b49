"""How the two CI dashboards read our JUnit, for the tests in test_junit_dashboards.py.

Jenkins' xUnit plugin validates each file against its JUnit schema and rejects a file that does
not conform: `schema_errors` validates against our own statement of that schema
(schemas/jenkins-xunit-junit.xsd).

GitLab's JUnit parser turns every <testcase>, at any depth under <testsuites> or <testsuite>,
into one row: its classname (shown as the "Suite"), name, file, time, a status from the first of
failure, error or skipped it holds (success otherwise), that element's message, the test's
output, and the first `[[ATTACHMENT|path]]` in its system-out (or system-err). Rows with the same
classname and name after the first are dropped: `gitlab_rows` reads a file that way, keeping
the dropped ones aside so a test can see what a dashboard would lose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lxml import etree

SCHEMA = Path(__file__).parent / "schemas" / "jenkins-xunit-junit.xsd"
ATTACHMENT = re.compile(r"\[\[ATTACHMENT\|(?P<path>.+?)\]\]", re.I)


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def schema_errors(document: Path | bytes) -> list[str]:
    """Why Jenkins' xUnit plugin would reject `document` (a file or its bytes); empty if not."""
    tree = etree.parse(str(document)) if isinstance(document, Path) else \
        etree.fromstring(document).getroottree()
    schema = _schema()
    return [] if schema.validate(tree) else [str(e) for e in schema.error_log]


@dataclass(frozen=True)
class Row:
    suite: str  # the enclosing <testsuite name>
    classname: str
    name: str
    file: str | None
    time: float
    status: str  # success | failed | error | skipped
    message: str
    output: str
    attachment: str | None


@dataclass
class Rows:
    rows: list[Row] = field(default_factory=list)
    dropped: list[Row] = field(default_factory=list)  # same classname and name as a row before


def gitlab_rows(document: Path | bytes) -> Rows:
    root = etree.parse(str(document)).getroot() if isinstance(document, Path) else \
        etree.fromstring(document)
    found, seen = Rows(), set()
    for case in root.iter("testcase"):
        row = _row(case)
        key = (row.classname, row.name)
        (found.dropped if key in seen else found.rows).append(row)
        seen.add(key)
    return found


def _row(case) -> Row:
    status, message, output = "success", "", ""
    for kind, name in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
        result = case.find(kind)
        if result is not None:
            status, message, output = name, result.get("message") or "", result.text or ""
            break
    logs = [case.findtext(tag) or "" for tag in ("system-out", "system-err")]
    attachment = next((m.group("path") for log in logs if (m := ATTACHMENT.search(log))), None)
    return Row(case.getparent().get("name", ""), case.get("classname", ""), case.get("name", ""),
               case.get("file"), float(case.get("time") or 0), status, message,
               "\n".join(filter(None, [output, *logs])), attachment)
