"""Reading report.html back as a reader's browser would find it: the matrix cells and every
element's attributes (stdlib parser: the page is the harness's own, not arbitrary HTML)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path


@dataclass
class Page:
    cells: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # status, link
    columns: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    tags: list[tuple[str, dict[str, str]]] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__()
        self.page = Page()
        self.cell: tuple[str, str] | None = None
        self.in_matrix_head = False

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        self.page.tags.append((tag, attributes))
        if "id" in attributes:
            self.page.ids.add(attributes["id"])
        if tag == "table" and "matrix" in attributes.get("class", ""):
            self.in_matrix_head = True
        if tag == "tbody":
            self.in_matrix_head = False
        if tag == "td" and "data-node" in attributes:
            self.cell = (attributes["data-node"], attributes["data-phase"])
            self.page.cells[self.cell] = {"status": attributes["data-status"], "link": "",
                                          "title": attributes.get("title", "")}
        if tag == "a" and self.cell is not None:
            self.page.cells[self.cell]["link"] = attributes.get("href", "")

    def handle_endtag(self, tag):
        if tag == "td":
            self.cell = None

    def handle_data(self, data):
        last = self.page.tags[-1] if self.page.tags else None
        if self.in_matrix_head and last and last[0] == "th" and last[1].get("scope") == "col" \
                and data.strip() and data.strip() != "node":
            self.page.columns.append(data.strip())


def read_page(path: Path) -> Page:
    reader = _Reader()
    reader.feed(Path(path).read_text(encoding="utf-8"))
    return reader.page
