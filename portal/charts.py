"""Server-rendered SVG charts (no scripts, no CDNs): coordinates computed here, drawn by the
template (`portal/_chart.html`) with autoescaping on. Pure: no Django, no I/O.

A chart is a time series: each reading is placed on the x axis by its FHIR date (`2020`,
`2020-05`, `2020-05-01` or a dateTime with an offset; a partial date stands for the start of
the period it names, an instant is taken in UTC), and on the y axis by its number, between
"nice" ticks (1, 2, 2.5 or 5 times a power of ten) that also take in the reference band.
Readings without a usable date or a finite number are left out of the chart (the page's table
still lists them). Coordinates are strings ("12.5"), so the template never localises them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation

from smartapp.summary.presentation import date_text, shown_date

WIDTH, HEIGHT = 480, 240
LEFT, RIGHT, TOP, BOTTOM = 52, 40, 28, 32  # the margins around the plot area
Y_TICKS, X_TICKS = 5, 4  # how many ticks each axis aims at (at most, for dates)
# The calendar steps tried for the date ticks, finest first: (unit, how many of it).
DATE_STEPS = (
    *(("day", n) for n in (1, 2, 7, 14)),
    *(("month", n) for n in (1, 2, 3, 6)),
    *(("year", n) for n in (1, 2, 5, 10, 25, 50, 100)),
)
NICE_FRACTIONS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))


@dataclass(frozen=True)
class Reading:
    """One reading to plot: its FHIR date as sent, and for each series the number as sent
    (None when there is none to plot) and the value as shown (for the marker's title)."""

    when: str | None
    numbers: tuple[str | None, ...]
    shown: tuple[str, ...]


@dataclass(frozen=True)
class Band:
    """A normal or reference range to shade; an open end (None) reaches the plot's edge."""

    low: Decimal | None
    high: Decimal | None
    label: str


@dataclass(frozen=True)
class Marker:
    """One value's point: a circle at (x, y) whose `<title>` says "date: value unit"."""

    x: str
    y: str
    title: str


@dataclass(frozen=True)
class Series:
    name: str
    points: str  # "x1,y1 x2,y2 ..." for <polyline points="...">
    markers: tuple[Marker, ...]


@dataclass(frozen=True)
class Pair:
    """The thin vertical line joining one reading's two values (systolic and diastolic)."""

    x: str
    y1: str
    y2: str


@dataclass(frozen=True)
class Tick:
    at: str  # x for a date tick, y for a value tick
    label: str


@dataclass(frozen=True)
class Shade:
    """A band as drawn: a rectangle across the plot from `y` down `height`."""

    y: str
    height: str
    label: str


@dataclass(frozen=True)
class Chart:
    series: tuple[Series, ...]
    pairs: tuple[Pair, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    bands: tuple[Shade, ...]
    unit: str  # shown at the top of the y axis ("" when the values have none)
    first: str  # the first and last dates drawn, as shown
    last: str
    low: str  # the lowest and highest values drawn, as shown
    high: str
    left_out: int  # readings not drawn: no usable date, or no finite number
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"

    @property
    def plot_width(self) -> int:
        return self.right - self.left

    @property
    def date_label_y(self) -> int:
        """The baseline of the date labels, under the plot."""
        return self.bottom + 20

    @property
    def value_label_x(self) -> int:
        """Where the value labels end, left of the plot."""
        return self.left - 6


def _number(text: str | None) -> Decimal | None:
    """A finite number, or None: NaN cannot be ordered and Infinity cannot be drawn."""
    if text is None:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def instant(raw: str | None) -> datetime | None:
    """Where a FHIR date/dateTime sits in time (naive UTC), or None when it is unusable."""
    shown = shown_date(raw)
    return datetime.fromisoformat(shown.sort) if shown else None


def _svg(number: float) -> str:
    return f"{number:.1f}"


def _decimal_text(value: Decimal, decimals: int) -> str:
    text = format(value.quantize(Decimal(1).scaleb(-decimals)), "f")
    return "0" if text.lstrip("-0.") == "" else text


def nice_ticks(low: Decimal, high: Decimal, count: int = Y_TICKS) -> tuple[Decimal, ...]:
    """Evenly spaced round values covering [low, high]: the step is 1, 2, 2.5 or 5 times a
    power of ten, chosen so that about `count` ticks cover the range."""
    if high < low:
        low, high = high, low
    if high == low:
        pad = abs(low) / 10 or Decimal(1)
        low, high = low - pad, high + pad
    raw = (high - low) / (count - 1)
    exponent = raw.adjusted()
    fraction = raw.scaleb(-exponent)
    step = next(n for n in NICE_FRACTIONS if fraction <= n).scaleb(exponent)
    first = (low / step).to_integral_value(ROUND_FLOOR) * step
    last = (high / step).to_integral_value(ROUND_CEILING) * step
    ticks = [first]
    while ticks[-1] < last:
        ticks.append(ticks[-1] + step)
    return tuple(ticks)


def _calendar(start: datetime, end: datetime, unit: str, step: int) -> Iterator[datetime]:
    """Calendar boundaries from `start` to `end`: every `step` days, or the first day of every
    `step` months or years (aligned to multiples of the step: 2020, 2025...)."""
    if unit == "day":
        day = datetime.combine(start.date(), time())
        current = day if day == start else day + timedelta(days=1)
        while current <= end:
            yield current
            current += timedelta(days=step)
        return
    months = step * 12 if unit == "year" else step
    index = start.year * 12 + start.month - 1
    if datetime(start.year, start.month, 1) < start:
        index += 1
    index += -index % months
    while (current := datetime(index // 12, index % 12 + 1, 1)) <= end:
        yield current
        index += months
        if index // 12 > 9999:
            return


def date_ticks(start: datetime, end: datetime, most: int = X_TICKS) -> list[tuple[datetime, str]]:
    """(instant, label) for the finest calendar step giving at most `most` ticks in
    [start, end]; labels at that step's precision (`2020-05-01`, `2020-05`, `2020`)."""
    widths = {"day": 10, "month": 7, "year": 4}
    for unit, step in DATE_STEPS:
        found: list[datetime] = []
        for moment in _calendar(start, end, unit, step):
            found.append(moment)
            if len(found) > most:
                break
        if len(found) <= most:
            return [(m, m.date().isoformat()[: widths[unit]]) for m in found]
    return []


@dataclass(frozen=True)
class _Scale:
    """Data to plot coordinates: time to x, value to y."""

    start: datetime
    end: datetime
    low: Decimal
    high: Decimal

    def x(self, moment: datetime) -> float:
        span = (self.end - self.start).total_seconds()
        if span <= 0:
            return (LEFT + WIDTH - RIGHT) / 2
        return LEFT + (moment - self.start).total_seconds() / span * (WIDTH - LEFT - RIGHT)

    def y(self, value: Decimal) -> float:
        share = float((value - self.low) / (self.high - self.low))
        return HEIGHT - BOTTOM - share * (HEIGHT - TOP - BOTTOM)


def _plotted(readings: Sequence[Reading]) -> list[tuple[datetime, Reading, list[Decimal | None]]]:
    """The readings that can be drawn (a usable date and at least one finite number), oldest
    first; each with its numbers (None where a series has none)."""
    drawn = []
    for reading in readings:
        moment = instant(reading.when)
        numbers = [_number(n) for n in reading.numbers]
        if moment is not None and any(n is not None for n in numbers):
            drawn.append((moment, reading, numbers))
    return sorted(drawn, key=lambda item: item[0])


def _shown(reading: Reading, index: int) -> str:
    """One value as shown (the number as sent when the caller gave no shown text)."""
    if index < len(reading.shown) and reading.shown[index]:
        return reading.shown[index]
    return reading.numbers[index] or ""


def _title(reading: Reading, index: int, names: Sequence[str], unit: str) -> str:
    """A marker's accessible value: "2025-01-23: 72 /min", or with the series' name when
    the chart has more than one ("2025-01-23: systolic 128 mmHg")."""
    name = f"{names[index]} " if len(names) > 1 else ""
    return f"{date_text(reading.when)}: {name}{_shown(reading, index)}{f' {unit}' if unit else ''}"


def _series(
    drawn: list[tuple[datetime, Reading, list[Decimal | None]]],
    names: Sequence[str],
    unit: str,
    scale: _Scale,
) -> tuple[Series, ...]:
    result = []
    for index, name in enumerate(names):
        markers = []
        for moment, reading, numbers in drawn:
            value = numbers[index] if index < len(numbers) else None
            if value is not None:
                x, y = _svg(scale.x(moment)), _svg(scale.y(value))
                markers.append(Marker(x, y, _title(reading, index, names, unit)))
        points = " ".join(f"{m.x},{m.y}" for m in markers)
        result.append(Series(name, points, tuple(markers)))
    return tuple(result)


def _pairs(
    drawn: list[tuple[datetime, Reading, list[Decimal | None]]], scale: _Scale
) -> tuple[Pair, ...]:
    pairs = []
    for moment, _, numbers in drawn:
        if len(numbers) >= 2 and numbers[0] is not None and numbers[1] is not None:
            x = _svg(scale.x(moment))
            pairs.append(Pair(x, _svg(scale.y(numbers[0])), _svg(scale.y(numbers[1]))))
    return tuple(pairs)


def _shades(bands: Sequence[Band], scale: _Scale) -> tuple[Shade, ...]:
    """Each band clipped to the plot: an open end reaches the plot's edge."""
    shades = []
    for band in bands:
        low = scale.low if band.low is None else max(band.low, scale.low)
        high = scale.high if band.high is None else min(band.high, scale.high)
        if high > low:
            top, bottom = scale.y(high), scale.y(low)
            shades.append(Shade(_svg(top), _svg(bottom - top), band.label))
    return tuple(shades)


def _x_ticks(scale: _Scale, first: Reading) -> tuple[Tick, ...]:
    ticks = date_ticks(scale.start, scale.end)
    if not ticks:  # all on one day: name that day once, under the points
        return (Tick(_svg(scale.x(scale.start)), date_text(first.when) or ""),)
    return tuple(Tick(_svg(scale.x(moment)), label) for moment, label in ticks)


def time_chart(
    readings: Sequence[Reading],
    names: Sequence[str],
    unit: str | None = None,
    bands: Sequence[Band] = (),
    paired: bool = False,
) -> Chart | None:
    """A time-scaled chart of one or more series (`names`, one number per series in each
    reading), with the bands shaded; `paired` joins each reading's first two values with a
    vertical line (blood pressure). None when fewer than two readings can be drawn."""
    drawn = _plotted(readings)
    if len(drawn) < 2:
        return None
    shown = {n: _shown(r, i) for _, r, ns in drawn for i, n in enumerate(ns) if n is not None}
    numbers = list(shown)
    bounds = [b for band in bands for b in (band.low, band.high) if b is not None]
    ticks = nice_ticks(min(numbers + bounds), max(numbers + bounds))
    scale = _Scale(drawn[0][0], drawn[-1][0], ticks[0], ticks[-1])
    step = ticks[1] - ticks[0]
    decimals = max(0, -int(step.normalize().as_tuple().exponent))
    return Chart(
        series=_series(drawn, names, unit or "", scale),
        pairs=_pairs(drawn, scale) if paired else (),
        x_ticks=_x_ticks(scale, drawn[0][1]),
        y_ticks=tuple(Tick(_svg(scale.y(t)), _decimal_text(t, decimals)) for t in ticks),
        bands=_shades(bands, scale),
        unit=unit or "",
        first=date_text(drawn[0][1].when) or "",
        last=date_text(drawn[-1][1].when) or "",
        low=shown[min(numbers)],
        high=shown[max(numbers)],
        left_out=len(readings) - len(drawn),
    )
