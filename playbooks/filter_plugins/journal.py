"""Filter for the migration playbooks: why a service failed, in its own words (its journal)."""

from __future__ import annotations

import re

# What a service says when it fails: klog's error and fatal lines (the kubelet), containerd's
# level=error/fatal entries, and cobra's "Error: ..." (command-line errors).
ERROR_LINE = re.compile(r"^[EF]\d{4} |level=(error|fatal)|^Error: ")
# The part of a line that differs between two crashes of a crash-looping service: klog's
# date, time and pid, containerd's timestamp.
VARYING = re.compile(r'^[EF]\d{4} [\d:.]+\s+\d+ [\w.-]+:\d+\] |time="[^"]*" ')


def journal_errors(results: list[dict], keep: int = 3) -> list[str]:
    """The last `keep` distinct error lines of each unit's journal, as `unit: line`, from the
    results of a `journalctl --unit UNIT --output cat` task looped over the units (each result
    has the unit as `item` and the journal as `stdout`)."""
    found = []
    for result in results:
        errors = [VARYING.sub("", line.strip()) for line in
                  (result.get("stdout") or "").splitlines() if ERROR_LINE.search(line.strip())]
        latest = list(dict.fromkeys(reversed(errors)))[:keep][::-1]
        found += [f"{result['item']}: {line}" for line in latest]
    return found


class FilterModule:
    def filters(self):
        return {"journal_errors": journal_errors}
