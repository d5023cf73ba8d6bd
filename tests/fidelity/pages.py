"""The summary pages as the markup contract describes them, read with `html.parser` only.

The contract (agreed with the portal's templates):
- a card is `<section class="card" id="{name}" data-section="{name}">` holding an element
  with `data-status` (ok, empty, partial, not_shared, unavailable);
- a card showing fewer items than its section holds has
  `<p class="count" data-shown="N" data-total="M">` with `<a data-full-list href=...>`;
- full lists (`/l/<handle>/list/<name>`) page 20 at a time; `<a rel="next" href="?page=N">`;
- item rows are `<tr data-item ...>` (vitals add `data-vital`, labs `data-code`), cells
  `<td|th data-field="...">`; a quantity cell holds `<span data-ucum="{code}">{unit}</span>`;
- demographics are `<dd data-field="name|born|age|sex|mrn|deceased">`.

Text is read as a browser shows it: entities decoded (`convert_charrefs`), whitespace
collapsed. The raw HTML is kept too, for the checks on what must never appear in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser

VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)
# Elements whose start closes an open one of the same kind (HTML's optional end tags).
SELF_CLOSING_SIBLINGS = frozenset({"p", "li", "tr", "td", "th", "dd", "dt", "option"})


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)
    parent: Element | None = None

    def has(self, name: str) -> bool:
        return name in self.attrs

    def get(self, name: str, default: str = "") -> str:
        return self.attrs.get(name, default)

    @property
    def classes(self) -> set[str]:
        return set(self.get("class").split())

    def iter(self) -> Iterator[Element]:
        """Every descendant element, document order (self excluded)."""
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.iter()

    def find_all(self, match: Callable[[Element], bool]) -> list[Element]:
        return [element for element in self.iter() if match(element)]

    def find(self, match: Callable[[Element], bool]) -> Element | None:
        return next((element for element in self.iter() if match(element)), None)

    def raw_text(self, skip: Callable[[Element], bool] | None = None) -> str:
        parts: list[str] = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif skip is None or not skip(child):
                parts.append(" " if child.tag in ("br",) else "")
                parts.append(child.raw_text(skip))
        return "".join(parts)

    def text(self, skip: Callable[[Element], bool] | None = None) -> str:
        return " ".join(self.raw_text(skip).split())


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SELF_CLOSING_SIBLINGS and self.stack[-1].tag == tag:
            self.stack.pop()
        element = Element(tag, {k: v or "" for k, v in attrs}, parent=self.stack[-1])
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, parent=self.stack[-1])
        self.stack[-1].children.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return
        # A stray end tag: ignored, as a browser does.

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


# ---------------------------------------------------------------------------------------------
# Cells, rows, cards
# ---------------------------------------------------------------------------------------------

MINUS = "\u2212"
# A number not glued to a word or another number; a sign only where no digit precedes it
# (`70-99` is two numbers, `-2.5` one).
_NUMBER = re.compile(r"(?<![\w.])[-\u2212]?\d+(?:\.\d+)?(?![\w.])")


def numbers_in(text: str) -> list[tuple[Decimal, int]]:
    """Every number in `text`, with its count of shown decimals."""
    out = []
    for match in _NUMBER.finditer(text):
        token = match.group(0).replace(MINUS, "-")
        decimals = len(token.split(".", 1)[1]) if "." in token else 0
        out.append((Decimal(token), decimals))
    return out


def _is_unit(element: Element) -> bool:
    return element.has("data-ucum")


def _is_field(element: Element) -> bool:
    return element.has("data-field")


def _is_unit_or_field(element: Element) -> bool:
    return _is_unit(element) or _is_field(element)


@dataclass(frozen=True)
class Cell:
    """One `data-field` cell: its own text (a `data-field` nested in it, such as a date's
    "5 years ago" `data-field="age"`, is another field and not part of it); its units
    (`data-ucum` code, shown text); and its own text without the unit spans (where the
    numbers are read)."""

    text: str
    units: tuple[tuple[str, str], ...]
    bare: str
    full: str  # everything in the cell, nested fields included

    @classmethod
    def of(cls, element: Element) -> Cell:
        units = tuple((e.get("data-ucum"), e.text()) for e in element.find_all(_is_unit))
        return cls(
            element.text(skip=_is_field),
            units,
            element.text(skip=_is_unit_or_field),
            element.text(),
        )

    def numbers(self) -> list[tuple[Decimal, int]]:
        """Every number shown outside the unit spans, with its count of decimals."""
        return numbers_in(self.bare)


@dataclass(frozen=True)
class Row:
    attrs: dict[str, str]
    fields: dict[str, Cell]

    def field(self, name: str) -> Cell | None:
        return self.fields.get(name)

    def text(self, name: str) -> str:
        cell = self.fields.get(name)
        return cell.text if cell else ""


def rows_in(element: Element) -> list[Row]:
    """Every `<tr data-item>` under `element`, with its `data-field` cells (nested rows'
    cells belong to the nested row)."""
    rows = []
    for tr in element.find_all(lambda e: e.tag == "tr" and e.has("data-item")):
        fields: dict[str, Cell] = {}
        for cell in tr.find_all(lambda e: e.tag in ("td", "th") and e.has("data-field")):
            owner = cell.parent
            while owner is not None and not (owner.tag == "tr" and owner.has("data-item")):
                owner = owner.parent
            if owner is tr:
                fields.setdefault(cell.get("data-field"), Cell.of(cell))
        rows.append(Row(dict(tr.attrs), fields))
    return rows


@dataclass(frozen=True)
class Count:
    shown: int | None
    total: int | None
    full_list: str | None  # the href of `a[data-full-list]`


@dataclass(frozen=True)
class Card:
    name: str
    status: str | None
    rows: list[Row]
    count: Count | None
    fields: dict[str, Cell]  # demographics' `dd[data-field]`
    has_data_section: bool


def _int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def read_card(section: Element, name: str) -> Card:
    status_el = section.find(lambda e: e.has("data-status"))
    count_el = section.find(lambda e: e.tag == "p" and "count" in e.classes)
    count = None
    if count_el is not None:
        link = count_el.find(lambda e: e.tag == "a" and e.has("data-full-list"))
        count = Count(
            _int(count_el.get("data-shown")),
            _int(count_el.get("data-total")),
            link.get("href") if link is not None else None,
        )
    fields: dict[str, Cell] = {}
    for dd in section.find_all(lambda e: e.tag == "dd" and e.has("data-field")):
        fields.setdefault(dd.get("data-field"), Cell.of(dd))
    return Card(
        name=name,
        status=status_el.get("data-status") if status_el is not None else None,
        rows=rows_in(section),
        count=count,
        fields=fields,
        has_data_section=section.has("data-section"),
    )


@dataclass(frozen=True)
class SummaryPage:
    html: str
    text: str
    cards: dict[str, Card]


def read_summary(html: str) -> SummaryPage:
    """The cards of a summary page by name: `section[data-section]`, else (reported as a
    markup mismatch by the comparison) `section.card[id]`."""
    root = parse(html)
    cards: dict[str, Card] = {}
    for section in root.find_all(lambda e: e.tag == "section" and e.has("data-section")):
        cards.setdefault(
            section.get("data-section"), read_card(section, section.get("data-section"))
        )
    for section in root.find_all(
        lambda e: e.tag == "section" and "card" in e.classes and e.has("id")
    ):
        if section.get("id") not in cards:
            cards[section.get("id")] = read_card(section, section.get("id"))
    return SummaryPage(html, root.text(), cards)


@dataclass(frozen=True)
class ListPage:
    html: str
    text: str
    rows: list[Row]
    next: str | None


def read_list(html: str) -> ListPage:
    """A full-list page: its item rows and the pager's `a[rel~=next]`."""
    root = parse(html)
    following = root.find(lambda e: e.tag == "a" and "next" in e.get("rel").split())
    return ListPage(html, root.text(), rows_in(root), following.get("href") if following else None)
