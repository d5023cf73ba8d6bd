"""Server-rendered SVG charts (no scripts, no CDNs): coordinates computed here, drawn by the
template with autoescaping on. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

WIDTH, HEIGHT, PAD = 640, 220, 32


@dataclass(frozen=True)
class Series:
    name: str
    points: str  # "x1,y1 x2,y2 ..." for <polyline points="...">


@dataclass(frozen=True)
class Chart:
    series: tuple[Series, ...]
    low: str
    high: str
    first: str  # date labels for the axis ends
    last: str
    width: int = WIDTH
    height: int = HEIGHT


def _number(text: str) -> Decimal | None:
    """A finite number, or None: NaN cannot be ordered and Infinity cannot be drawn."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def line_chart(dates: Sequence[str], series: Mapping[str, Sequence[str]]) -> Chart | None:
    """Oldest to newest left to right; None when fewer than two numeric points exist."""
    columns = {name: [_number(v) for v in values] for name, values in series.items()}
    numbers = [n for values in columns.values() for n in values if n is not None]
    if len(dates) < 2 or len(numbers) < 2:
        return None
    low, high = min(numbers), max(numbers)
    span = (high - low) or Decimal(1)
    step = (WIDTH - 2 * PAD) / (len(dates) - 1)
    drawn = []
    for name, values in columns.items():
        coords = []
        for index, value in enumerate(values):
            if value is not None:
                x = PAD + index * step
                y = HEIGHT - PAD - float((value - low) / span) * (HEIGHT - 2 * PAD)
                coords.append(f"{x:.1f},{y:.1f}")
        drawn.append(Series(name, " ".join(coords)))
    return Chart(tuple(drawn), str(low), str(high), dates[0][:10], dates[-1][:10])
