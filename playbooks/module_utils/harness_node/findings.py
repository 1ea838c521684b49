"""A preflight finding: what node_runtime_facts finds on the node and the harness adds from the
API and the drain, in one typed shape that preflight's table, preflight.json and the report read.

Node-side (see harness_node): standard library only."""

from __future__ import annotations

from dataclasses import asdict, dataclass

SEVERITIES = ("error", "warning", "info")  # an error blocks the node's move


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str  # one of SEVERITIES
    message: str

    @property
    def blocking(self) -> bool:
        return self.severity == "error"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict) -> Finding:
        return cls(str(raw.get("id", "?")), str(raw.get("severity", "info")),
                   str(raw.get("message", "")))


def ordered(found: list[Finding]) -> list[Finding]:
    """The blocking first, then warnings, then the rest; otherwise as found."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(found, key=lambda f: rank.get(f.severity, len(SEVERITIES)))
