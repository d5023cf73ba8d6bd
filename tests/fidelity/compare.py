"""The rendered pages against the reader's expectations: per section, what was shown of what
the source holds, and every mismatch named.

The comparison rules (each function's docstring says which it implements):
- labels match exactly after whitespace normalisation, entities decoded (`Label.accepts`);
- a shown number is right when |shown - source| <= half a unit in its last shown decimal
  place (`71.66195` shown `71.7` is right, `71.6` is wrong);
- a shown unit equals the reader's own UCUM table (else the unit as sent), and `data-ucum`
  equals the source's code;
- a shown date equals the source date trimmed to min(its precision, the day);
- a section shows every item, or says how many it holds (`data-total`) and links a full
  list that shows the rest; anything neither shown nor counted is named.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Generic, TypeVar

from tests.fidelity.pages import Card, Cell, ListPage, Row, SummaryPage, numbers_in
from tests.fidelity.reader import (
    Demographics,
    Expected,
    Item,
    Lab,
    Label,
    Reading,
    Vital,
    normalise,
)

SECTIONS = (
    "demographics",
    "problems",
    "medications",
    "allergies",
    "immunizations",
    "vitals",
    "labs",
    "encounters",
)
LIST_SECTIONS = ("problems", "medications", "allergies", "immunizations", "labs", "encounters")
STATUSES = frozenset({"ok", "empty", "partial", "not_shared", "unavailable"})

T = TypeVar("T")


@dataclass
class FullList:
    """A full list as read by following its pager; `error` when a page did not answer 200."""

    url: str
    pages: list[ListPage] = field(default_factory=list)
    error: str | None = None

    @property
    def rows(self) -> list[Row]:
        return [row for page in self.pages for row in page.rows]


@dataclass
class Fetched:
    """Every page read for one patient: the summary and the full lists its cards link to."""

    summary: SummaryPage
    lists: dict[str, FullList] = field(default_factory=dict)

    def documents(self) -> list[tuple[str, str, str]]:
        """(where, raw HTML, decoded text) of every page read."""
        out = [("the summary page", self.summary.html, self.summary.text)]
        for name, full in self.lists.items():
            for number, page in enumerate(full.pages, 1):
                out.append((f"the {name} list (page {number})", page.html, page.text))
        return out


@dataclass
class SectionResult:
    name: str
    shown: int = 0
    expected: int = 0
    mismatches: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        if message not in self.mismatches:
            self.mismatches.append(message)


@dataclass
class PatientResult:
    case: str
    sections: dict[str, SectionResult]

    def mismatches(self) -> list[str]:
        return [f"{s.name}: {m}" for s in self.sections.values() for m in s.mismatches]


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------


def number_ok(shown: Decimal, decimals: int, source: Decimal) -> bool:
    """Rule: |shown - source| <= half a unit in the last shown decimal place."""
    return abs(shown - source) <= Decimal(5) * Decimal(10) ** -(decimals + 1)


def _plain(number: Decimal) -> str:
    text = format(number, "f")
    return text if len(text) <= 12 else format(round(number, 6), "f")


def value_problems(cell: Cell | None, reading: Reading, what: str) -> list[str]:
    """Rules: a text result is its label exactly; a quantity's number(s) within half a unit
    of the last shown decimal; its unit span carrying the source code in `data-ucum` and this
    reader's human unit as text."""
    if cell is None:
        return [f"{what} has no value cell"]
    problems = []
    text = cell.text
    if reading.status != "final":
        # Contract v2: amended, corrected and preliminary are said beside the value.
        if reading.status not in cell.full.casefold():
            problems.append(f"{what} does not say it is {reading.status}")
        text = re.sub(rf"\s*\(\s*{reading.status}\s*\)\s*$", "", text, flags=re.IGNORECASE)
    if reading.text is not None:
        if not reading.text.accepts(text):
            problems.append(f"{what} shows {cell.text!r}, source {str(reading.text)!r}")
        return problems
    shown = cell.numbers()
    source = "/".join(_plain(n) for n in reading.numbers)
    if len(shown) != len(reading.numbers) or not all(
        number_ok(number, decimals, wanted)
        for (number, decimals), wanted in zip(shown, reading.numbers, strict=False)
    ):
        problems.append(f"{what} shows {cell.bare!r}, source {source}")
    if reading.unit is not None:
        if not cell.units:
            problems.append(f"{what} has no data-ucum unit (source {reading.unit.ucum!r})")
        else:
            code, human = cell.units[0]
            if code != reading.unit.ucum:
                problems.append(f"{what} data-ucum={code!r}, source {reading.unit.ucum!r}")
            if normalise(human) != reading.unit.human:
                problems.append(f"{what} unit shown {human!r}, expected {reading.unit.human!r}")
    return problems


def date_problems(cell: Cell | None, wanted: str | None, what: str) -> list[str]:
    """Rule: the shown date is the source's, trimmed to min(its precision, the day)."""
    if wanted is None:
        return []
    if cell is None:
        return [f"{what} has no date cell (source {wanted})"]
    if cell.text != wanted:
        return [f"{what} date shown {cell.text!r}, source {wanted}"]
    return []


def reading_problems(row: Row, readings: Sequence[Reading], what: str) -> list[str]:
    """The value and date of a row against the newest reading(s); with ties any one reading
    that matches in full is right, otherwise the closest one's problems are reported."""
    best: list[str] | None = None
    for reading in readings:
        found = value_problems(row.field("value"), reading, what)
        found += date_problems(row.field("date"), reading.date, what)
        if not found:
            return []
        if best is None or len(found) < len(best):
            best = found
    return best or []


def _names(labels: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(repr(label) for label in labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def _label_problems(label: Label, cell: Cell | None, what: str) -> list[str]:
    if cell is None:
        return [f"{what} has no name cell"]
    if not label.accepts(cell.text):
        return [f"{what} name shown {cell.text!r}, source {str(label)!r}"]
    return []


# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------


def _status(result: SectionResult, card: Card, expected: int) -> None:
    """Rule: a section with items is `ok` (or `partial`, which the contract allows when caps
    stopped the reading); one with none is `empty` (or `ok` showing no rows)."""
    if not card.has_data_section:
        result.add("card has no data-section attribute")
    if card.status is None:
        result.add("card has no data-status")
    elif card.status not in STATUSES:
        result.add(f"unknown data-status {card.status!r}")
    elif expected and card.status not in ("ok", "partial"):
        result.add(f"status {card.status}, source has {expected}")
    elif not expected and card.status not in ("empty", "ok"):
        result.add(f"status {card.status}, source has none")
    elif not expected and card.status == "ok" and card.rows:
        result.add("status ok with rows, source has none")


def _pair(
    items: Sequence[T],
    rows: Sequence[Row],
    matches: Callable[[T, Row], bool],
    problems: Callable[[T, Row], list[str]],
) -> tuple[list[tuple[T, Row]], list[T], list[Row]]:
    """Each expected item with one row that matches it; the items no row matches; the rows
    no item matched. Rows that match an item in full are paired first, so that of two
    items with one label (a vaccine given twice) each meets the row with its own date, and a
    card showing some of them pairs them rightly; the rest pair by label, fewest problems
    first."""
    free = list(range(len(rows)))
    paired: dict[int, int] = {}  # item index -> row index
    for index, item in enumerate(items):
        exact = next(
            (i for i in free if matches(item, rows[i]) and not problems(item, rows[i])), None
        )
        if exact is not None:
            free.remove(exact)
            paired[index] = exact
    for index, item in enumerate(items):
        if index in paired:
            continue
        candidates = [i for i in free if matches(item, rows[i])]
        if candidates:
            best = min(candidates, key=lambda i: len(problems(item, rows[i])))
            free.remove(best)
            paired[index] = best
    pairs = [(item, rows[paired[i]]) for i, item in enumerate(items) if i in paired]
    missing = [item for i, item in enumerate(items) if i not in paired]
    return pairs, missing, [rows[i] for i in free]


@dataclass(frozen=True)
class ListRules(Generic[T]):
    """How one list section's items meet its rows."""

    matches: Callable[[T, Row], bool]
    problems: Callable[[T, Row], list[str]]
    label: Callable[[T], str]
    row_label: Callable[[Row], str]


def check_list(
    name: str,
    items: Sequence[T],
    card: Card | None,
    full: FullList | None,
    rules: ListRules[T],
) -> SectionResult:
    """Rules: every item is shown, on the card or on the full list its count links to; the
    count's `data-shown` is the card's row count and `data-total` the source's item count;
    no row shows something the source does not hold; each row's fields are right."""
    result = SectionResult(name, expected=len(items))
    if card is None:
        result.add("card missing")
        return result
    _status(result, card, len(items))
    count = card.count
    if count is not None:
        if count.shown != len(card.rows):
            result.add(f"count says data-shown={count.shown}, the card has {len(card.rows)} rows")
        if count.total != len(items):
            result.add(f"count says data-total={count.total}, source has {len(items)}")
        if not count.full_list:
            result.add("count without a data-full-list link")
    pairs, missing, extra = _pair(items, card.rows, rules.matches, rules.problems)
    for item, row in pairs:
        for problem in rules.problems(item, row):
            result.add(problem)
    for row in extra:
        result.add(f"{rules.row_label(row)!r} shown, not in the source (or shown twice)")
    result.shown = len(pairs)
    if full is not None:
        if full.error:
            result.add(full.error)
        pairs, missing, extra = _pair(items, full.rows, rules.matches, rules.problems)
        for item, row in pairs:
            for problem in rules.problems(item, row):
                result.add(problem)
        for row in extra:
            result.add(f"{rules.row_label(row)!r} on the full list, not in the source (or twice)")
        result.shown = len(pairs)
    if missing:
        labels = [rules.label(item) for item in missing]
        if full is not None:
            where = "missing from the full list"
        elif count is not None and count.total is not None and count.total >= len(items):
            where = "counted but not shown"
        else:
            where = "neither shown nor counted"
        result.add(f"{len(missing)} of {len(items)} {where}: {_names(labels)}")
    return result


def _fold(text: str) -> str:
    return normalise(text).casefold().replace("-", " ")


def problem_rules() -> ListRules[Item]:
    """Problems: label; onset date."""

    def problems(item: Item, row: Row) -> list[str]:
        return _label_problems(item.label, row.field("name"), str(item.label)) + date_problems(
            row.field("onset"), item.date, f"{item.label} onset"
        )

    return _by_name(problems)


def allergy_rules() -> ListRules[Item]:
    """Allergies: label; criticality as the source's code (case and hyphens aside)."""

    def problems(item: Item, row: Row) -> list[str]:
        found = _label_problems(item.label, row.field("name"), str(item.label))
        if item.criticality and _fold(row.text("criticality")) != _fold(item.criticality):
            found.append(
                f"{item.label} criticality shown {row.text('criticality')!r}, "
                f"source {item.criticality!r}"
            )
        return found

    return _by_name(problems)


def immunization_rules() -> ListRules[Item]:
    """Immunizations: label; occurrence date."""

    def problems(item: Item, row: Row) -> list[str]:
        return _label_problems(item.label, row.field("name"), str(item.label)) + date_problems(
            row.field("date"), item.date, str(item.label)
        )

    return _by_name(problems)


# What a page may write in an empty instructions cell; it counts as no instructions.
PLACEHOLDER = re.compile(
    r"^\W*(none|not recorded|unknown|no (instructions|dosage|directions)"
    r"( (recorded|given|available))?)?\W*$",
    re.IGNORECASE,
)


def medication_rules() -> ListRules[Item]:
    """Medications: label; instructions non-empty when the dosage says anything, holding
    "as needed" (and the reason's label) for as-needed dosing; sources `order` and
    `patient-reported` exactly as the source holds them."""

    def instructions(item: Item, row: Row) -> list[str]:
        text = row.text("instructions")
        if PLACEHOLDER.match(text):
            text = ""  # "No instructions recorded" is a note about their absence
        folded = text.casefold()
        best: list[str] | None = None
        for dosage in item.dosages or ():
            found = []
            if dosage.needs_text and not text:
                found.append(f"{item.label} instructions empty, the dosage has content")
            if dosage.as_needed and "as needed" not in folded:
                found.append(f"{item.label} instructions lack 'as needed'")
            reason = dosage.as_needed_for
            if reason is not None and not any(o.casefold() in folded for o in reason.options):
                found.append(f"{item.label} instructions lack the as-needed reason {str(reason)!r}")
            if not found:
                return []
            if best is None or len(found) < len(best):
                best = found
        return best or []

    def problems(item: Item, row: Row) -> list[str]:
        found = _label_problems(item.label, row.field("name"), str(item.label))
        found += instructions(item, row)
        source = _fold(row.text("source"))
        for kind, word in (("order", "order"), ("patient-reported", "patient reported")):
            if (kind in item.sources) != (word in source):
                found.append(
                    f"{item.label} source shown {row.text('source')!r}, "
                    f"source has {' and '.join(sorted(item.sources))}"
                )
                break
        return found

    return _by_name(problems)


def lab_rules() -> ListRules[Lab]:
    """Labs: matched by `data-code` (one of the test's `system|code`, else by name); label;
    newest value, unit and date; reference range numbers (or text); abnormal flag by the
    contract's rule (interpretation, else range)."""

    def matches(lab: Lab, row: Row) -> bool:
        code = row.attrs.get("data-code")
        if code:
            return code in lab.key
        return lab.label.accepts(row.text("name"))

    def problems(lab: Lab, row: Row) -> list[str]:
        what = str(lab.label)
        found = _label_problems(lab.label, row.field("name"), what)
        if not row.attrs.get("data-code"):
            found.append(f"{what} row has no data-code")
        best: list[str] | None = None
        for reading, (low, high, text), abnormal in zip(
            lab.readings, lab.ranges, lab.abnormal, strict=True
        ):
            extra = value_problems(row.field("value"), reading, what)
            extra += date_problems(row.field("date"), reading.date, what)
            shown_range = row.text("range")
            numbers = numbers_in(shown_range)
            for bound in (low, high):
                if bound is not None and not any(number_ok(n, d, bound) for n, d in numbers):
                    extra.append(f"{what} range shown {shown_range!r}, source bound {bound}")
                    break
            if low is None and high is None and text and normalise(text) not in shown_range:
                extra.append(f"{what} range shown {shown_range!r}, source {text!r}")
            flag = _fold(row.text("flag"))
            if abnormal is True and flag in ("", "n", "normal"):
                extra.append(f"{what} not flagged, source is abnormal")
            if abnormal is False and flag not in ("", "n", "normal"):
                extra.append(f"{what} flagged {row.text('flag')!r}, source is not abnormal")
            if not extra:
                best = []
                break
            if best is None or len(extra) < len(best):
                best = extra
        return found + (best or [])

    return ListRules(matches, problems, lambda lab: str(lab.label), lambda row: row.text("name"))


def check_vitals(vitals: dict[str, Vital], card: Card | None) -> SectionResult:
    """Rules: one row per kind the source has (`data-vital`), showing its newest value (and
    unit and date); no row for a kind the source does not have."""
    result = SectionResult("vitals", expected=len(vitals))
    if card is None:
        result.add("card missing")
        return result
    _status(result, card, len(vitals))
    rows: dict[str, Row] = {}
    for row in card.rows:
        kind = row.attrs.get("data-vital", "")
        if not kind:
            result.add(f"row {row.text('value')!r} has no data-vital")
        elif kind in rows:
            result.add(f"{kind} shown twice")
        else:
            rows[kind] = row
    for kind, vital in vitals.items():
        row_or_none = rows.get(kind)
        if row_or_none is None:
            result.add(f"{kind} missing (source {vital.readings[0].describe()})")
            continue
        result.shown += 1
        for problem in reading_problems(row_or_none, vital.readings, kind):
            result.add(problem)
    for kind in rows:
        if kind not in vitals:
            result.add(f"{kind} shown, the source has none")
    return result


_AGE = re.compile(r"\s*(\d+)")
_DATE_TOKEN = re.compile(r"\d{4}(?:-\d{2}){0,2}(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)?")


def date_tokens(text: str) -> list[str]:
    """The dates written in a text, each whole (`2020-05` is not found in `2020-05-01`)."""
    return _DATE_TOKEN.findall(text)


def check_demographics(
    demo: Demographics | None, card: Card | None, fetched: Fetched
) -> SectionResult:
    """Rules: name (official, else first; text, else prefix given family suffix); born
    (birthDate); age starting with the whole years (at death for the deceased); sex
    (gender, case aside); every MRN; `deceased` present only for the deceased, holding the
    death date at its precision; SSN, driver's licence and passport numbers on no page."""
    result = SectionResult("demographics", expected=1 if demo else 0)
    if demo is None:
        return result
    if card is None:
        result.add("card missing")
    else:
        result.shown = 1
        _status(result, card, 1)
        fields = card.fields
        name = fields.get("name")
        if name is None or normalise(name.text) != demo.name:
            result.add(f"name shown {name.text if name else None!r}, source {demo.name!r}")
        born = fields.get("born")
        if demo.birth_date and (born is None or born.text != demo.birth_date):
            result.add(f"born shown {born.text if born else None!r}, source {demo.birth_date}")
        age = fields.get("age")
        if demo.ages:
            match = _AGE.match(age.text) if age else None
            if match is None or int(match.group(1)) not in demo.ages:
                ages = " or ".join(str(a) for a in demo.ages)
                result.add(f"age shown {age.text if age else None!r}, source {ages}")
        sex = fields.get("sex")
        if demo.gender and (sex is None or sex.text.casefold() != demo.gender.casefold()):
            result.add(f"sex shown {sex.text if sex else None!r}, source {demo.gender!r}")
        mrn = fields.get("mrn")
        for value in demo.mrns:
            if mrn is None or value not in re.split(r"[,;\s]+", mrn.text):
                result.add(f"MRN {value} not in the mrn field")
        deceased = fields.get("deceased")
        if demo.deceased and deceased is None:
            result.add(f"deceased field missing (died {demo.deceased_date or 'date unknown'})")
        elif not demo.deceased and deceased is not None:
            result.add(f"deceased field {deceased.text!r} on a living patient")
        elif (
            deceased and demo.deceased_date and demo.deceased_date not in date_tokens(deceased.text)
        ):
            result.add(f"deceased shown {deceased.text!r}, source {demo.deceased_date}")
    for kind, value in demo.hidden:
        for where, html, text in fetched.documents():
            if value in html or value in text:
                result.add(f"{kind} number appears on {where}")
    return result


def check_encounters(expected: int, card: Card | None) -> SectionResult:
    """Rule (count only): the card shows every encounter or counts them all in
    `data-total`."""
    result = SectionResult("encounters", expected=expected)
    if card is None:
        result.add("card missing")
        return result
    _status(result, card, expected)
    count = card.count
    if count is not None and count.shown != len(card.rows):
        result.add(f"count says data-shown={count.shown}, the card has {len(card.rows)} rows")
    total = count.total if count is not None and count.total is not None else len(card.rows)
    result.shown = min(total, expected)
    if total < expected:
        result.add(f"{expected - total} of {expected} neither shown nor counted")
    elif total > expected:
        result.add(f"shows {total}, source has {expected}")
    return result


def check_escaping(result: SectionResult, labels: Sequence[str], fetched: Fetched) -> None:
    """A label holding markup must reach the page escaped: never verbatim in the raw HTML."""
    for label in labels:
        if "<" not in label:
            continue
        for where, html, _ in fetched.documents():
            if label in html:
                result.add(f"{label!r} appears unescaped on {where}")


def compare(case: str, expected: Expected, fetched: Fetched) -> PatientResult:
    """Every section of one patient's pages against the reader's expectations."""
    cards = fetched.summary.cards
    lists = fetched.lists
    sections = {
        "demographics": check_demographics(
            expected.demographics, cards.get("demographics"), fetched
        ),
        "problems": check_list(
            "problems",
            expected.problems,
            cards.get("problems"),
            lists.get("problems"),
            problem_rules(),
        ),
        "medications": check_list(
            "medications",
            expected.medications,
            cards.get("medications"),
            lists.get("medications"),
            medication_rules(),
        ),
        "allergies": check_list(
            "allergies",
            expected.allergies,
            cards.get("allergies"),
            lists.get("allergies"),
            allergy_rules(),
        ),
        "immunizations": check_list(
            "immunizations",
            expected.immunizations,
            cards.get("immunizations"),
            lists.get("immunizations"),
            immunization_rules(),
        ),
        "vitals": check_vitals(expected.vitals, cards.get("vitals")),
        "labs": check_list(
            "labs", expected.labs, cards.get("labs"), lists.get("labs"), lab_rules()
        ),
        "encounters": check_encounters(expected.encounters, cards.get("encounters")),
    }
    if expected.demographics:
        check_escaping(sections["demographics"], [expected.demographics.name], fetched)
    for name, items in (
        ("problems", expected.problems),
        ("medications", expected.medications),
        ("allergies", expected.allergies),
        ("immunizations", expected.immunizations),
    ):
        texts = [o for item in items for o in item.label.options]
        texts += [t for item in items for d in item.dosages for t in d.texts]
        check_escaping(sections[name], texts, fetched)
    check_escaping(
        sections["labs"],
        [o for lab in expected.labs for o in lab.label.options]
        + [r.text.options[0] for lab in expected.labs for r in lab.readings if r.text],
        fetched,
    )
    return PatientResult(case, sections)


def _by_name(problems: Callable[[Item, Row], list[str]]) -> ListRules[Item]:
    """Rules for a list whose rows are matched to the source's items by their label."""
    return ListRules(
        lambda item, row: item.label.accepts(row.text("name")),
        problems,
        lambda item: str(item.label),
        lambda row: row.text("name"),
    )
