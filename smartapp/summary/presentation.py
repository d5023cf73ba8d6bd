"""How values are shown: human units, precision per measure, dates at their own precision,
the age of old readings, and the app's own adult vital-sign ranges (pure: no Django, no I/O).

Every rule here is written down in docs/summary-contract.md ("Presentation rules"). None of
them changes what a value means: the value and unit as sent are kept beside the shown ones
(`source_value`, `source_unit`) and the drill-down pages show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# The multiplication sign (U+00D7) is meant: it is how a count "x 10^3 per microlitre" is
# printed. RUF001 is about look-alike letters in code, not in clinical text.
# UCUM codes (https://ucum.org/ucum, the codes US Core's vital-sign and lab profiles bind to)
# and how a clinician writes them. Anything not listed is shown as sent.
UCUM_HUMAN: dict[str, str] = {
    "mm[Hg]": "mmHg",
    "Cel": "°C",
    "[degF]": "°F",
    "/min": "/min",
    "{beats}/min": "/min",
    "{breaths}/min": "/min",
    "kg/m2": "kg/m²",
    "10*3/uL": "×10³/µL",  # noqa: RUF001
    "10*6/uL": "×10⁶/µL",  # noqa: RUF001
    "10*9/L": "×10⁹/L",  # noqa: RUF001
    "10*12/L": "×10¹²/L",  # noqa: RUF001
    "ug/L": "µg/L",
    "ug/dL": "µg/dL",
    "ug/mL": "µg/mL",
    "umol/L": "µmol/L",
    "uL": "µL",
    "[lb_av]": "lb",
    "[in_i]": "in",
    "mL/min/{1.73_m2}": "mL/min/1.73 m²",
    "m[IU]/L": "mIU/L",
    "[IU]/L": "IU/L",
    "meq/L": "mEq/L",
    "[oz_av]": "oz",
}

# Decimals shown per vital sign (clinical convention: whole numbers for pressures, rates and
# saturation; one decimal for temperature, weight, height and BMI).
VITAL_DECIMALS: dict[str, int] = {
    "blood-pressure": 0,
    "heart-rate": 0,
    "respiratory-rate": 0,
    "oxygen-saturation": 0,
    "temperature": 1,
    "weight": 1,
    "height": 1,
    "bmi": 1,
}
LAB_SIGNIFICANT_DIGITS = 4  # the cap on a lab value's digits (the source's, when fewer)


def human_unit(unit: str | None) -> str | None:
    """The unit as a clinician writes it (`mm[Hg]` -> `mmHg`); unknown units as sent."""
    if not unit:
        return None
    return UCUM_HUMAN.get(unit, unit)


def _decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _source_decimals(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def fixed(text: str, decimals: int) -> str:
    """`text` rounded to `decimals` places (half to even), or as sent if it is no number."""
    number = _decimal(text)
    if number is None:
        return text
    shown = number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
    return f"{shown:f}"


def vital_value(kind: str, text: str) -> str:
    """A vital sign's value at its measure's precision (`71.6619566789248` -> `71.7` kg)."""
    return fixed(text, VITAL_DECIMALS.get(kind, 1))


def lab_value(text: str) -> str:
    """A lab value with the source's digits, capped at LAB_SIGNIFICANT_DIGITS significant
    digits (never rounding the integer part): `7.10` stays `7.10`, `5.337817` is `5.338`."""
    number = _decimal(text)
    if number is None:
        return text
    decimals = _source_decimals(number)
    magnitude = abs(number)
    if magnitude >= 1:
        whole_digits = len(str(int(magnitude)))
        cap = max(0, LAB_SIGNIFICANT_DIGITS - whole_digits)
    elif magnitude == 0:
        cap = decimals
    else:  # 0.00123456: the zeros after the point are not significant
        leading_zeros = -magnitude.adjusted() - 1
        cap = leading_zeros + LAB_SIGNIFICANT_DIGITS
    return fixed(text, min(decimals, cap))


# --- dates ----------------------------------------------------------------------------------

PRECISIONS = {4: "year", 7: "month", 10: "day"}


@dataclass(frozen=True)
class ShownDate:
    """A FHIR date/dateTime as shown: its own precision, at most the day (`2020`, `2020-05`,
    `2020-05-01`), in the time zone it was recorded in; `sort` orders mixed precisions."""

    text: str
    precision: str  # year, month or day
    sort: str  # an instant in UTC for ordering (the start of the period the date names)


def shown_date(raw: str | None) -> ShownDate | None:
    """FHIR R4 2.24.0.1 date/dateTime: YYYY, YYYY-MM, YYYY-MM-DD or a full instant."""
    if not isinstance(raw, str) or len(raw) < 4 or not raw[:4].isdigit():
        return None
    day = raw[:10]
    precision = PRECISIONS.get(len(day))
    if precision is None:
        return None
    try:  # a partial date stands for the first day of its period
        sort = date.fromisoformat((day + "-01-01")[:10]).isoformat()
    except ValueError:
        return None
    if len(raw) > 10:
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        sort = moment.isoformat()
    return ShownDate(day, precision, sort)


def date_text(raw: str | None) -> str | None:
    shown = shown_date(raw)
    return shown.text if shown else None


def sort_key(raw: str | None) -> str:
    """Orders dates of any precision (and none, first)."""
    shown = shown_date(raw)
    return shown.sort if shown else ""


def age_in_years(born: str | None, on: date) -> int | None:
    """Whole years from a birth date of any precision (a year-only date counts from 1 Jan,
    a year-month from its first day: the age is then at most one year or month too high)."""
    shown = shown_date(born)
    if shown is None:
        return None
    start = date.fromisoformat(shown.sort[:10])
    if start > on:
        return None
    return on.year - start.year - ((on.month, on.day) < (start.month, start.day))


def how_long_ago(shown: str | None, today: date) -> str | None:
    """The age of a reading in plain words ("3 weeks ago", "22 months ago", "4 years ago");
    None for a reading from the last 7 days (its date says enough)."""
    parsed = shown_date(shown)
    if parsed is None:
        return None
    then = date.fromisoformat(parsed.sort[:10])
    days = (today - then).days
    if days < 7:
        return None
    if days < 60:
        weeks = days // 7
        return f"{weeks} week{'s' if weeks != 1 else ''} ago"
    months = (today.year - then.year) * 12 + today.month - then.month - (today.day < then.day)
    if months < 24:
        return f"{months} months ago"
    return f"{months // 12} years ago"


# --- the app's own adult ranges for vital signs ---------------------------------------------

# (low, high) in the unit named; a reading below low is "L", above high is "H". Sources: the
# adult normal ranges most clinical references give (heart rate 60-100 /min, respiratory rate
# 12-20 /min, temperature 36.0-38.0 °C, SpO2 >= 95 %, BMI 18.5-30 kg/m²) and the blood
# pressure thresholds of the 2017 ACC/AHA guideline (stage 2 hypertension from 140/90;
# hypotension below 90/60). They apply to adults (18 and over) only, and only when the EHR
# sent no interpretation of its own (the source's interpretation always wins).
ADULT_RANGES: dict[str, tuple[str, Decimal, Decimal]] = {
    "heart-rate": ("/min", Decimal(60), Decimal(100)),
    "respiratory-rate": ("/min", Decimal(12), Decimal(20)),
    "temperature": ("Cel", Decimal("36.0"), Decimal("38.0")),
    "oxygen-saturation": ("%", Decimal(95), Decimal(100)),
    "bmi": ("kg/m2", Decimal("18.5"), Decimal(30)),
}
SYSTOLIC_RANGE = (Decimal(90), Decimal(139))
DIASTOLIC_RANGE = (Decimal(60), Decimal(89))
ADULT_AGE = 18
UNIT_ALIASES = {"{beats}/min": "/min", "{breaths}/min": "/min"}


def _outside(value: Decimal, low: Decimal, high: Decimal) -> str | None:
    if value < low:
        return "L"
    if value > high:
        return "H"
    return None


def adult_vital_flag(
    kind: str, values: tuple[str, ...], unit: str | None, age: int | None
) -> str | None:
    """The app's own flag for a vital sign (H or L), or None: within range, a child, the age
    unknown, a unit the range is not written in, or a measure with no range (weight, height)."""
    if age is None or age < ADULT_AGE:
        return None
    numbers = [_decimal(v) for v in values]
    if any(n is None for n in numbers) or not numbers:
        return None
    checked = [n for n in numbers if n is not None]
    if kind == "blood-pressure":
        if unit not in ("mm[Hg]", "mmHg") or len(checked) != 2:
            return None
        systolic = _outside(checked[0], *SYSTOLIC_RANGE)
        diastolic = _outside(checked[1], *DIASTOLIC_RANGE)
        if "H" in (systolic, diastolic):
            return "H"
        return "L" if "L" in (systolic, diastolic) else None
    if kind not in ADULT_RANGES:
        return None
    wanted, low, high = ADULT_RANGES[kind]
    value = checked[0]
    if unit == "[degF]" and kind == "temperature":
        value = (value - 32) * 5 / 9
        unit = "Cel"
    if UNIT_ALIASES.get(unit or "", unit) != wanted and unit != wanted:
        return None
    return _outside(value, low, high)
