"""Drill-downs from the summary: one vital sign's history, one lab test's history, each with
the patient line, a time-scaled chart of its numbers (with the normal or reference band when
one is known) and the table of every reading. Each page's FHIR calls end with
DRILLDOWN_BUDGET_S (`service.drilldown_session`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.charts import Band, Chart, Reading, time_chart
from portal.common import launch_for, page_of, patient_demographics
from smartapp import audit
from smartapp.summary import observations
from smartapp.summary import service as summary_service
from smartapp.summary.codes import FhirModel, amount, concept, first_date
from smartapp.summary.contract import LabResult, VitalSign
from smartapp.summary.observations import SHOWN_OBSERVATION, VITAL_KINDS
from smartapp.summary.presentation import (
    ADULT_AGE,
    ADULT_RANGES,
    DIASTOLIC_RANGE,
    SYSTOLIC_RANGE,
    UNIT_ALIASES,
    human_unit,
    lab_value,
    sort_key,
)

BLOOD_PRESSURE_SERIES = (gettext_lazy("systolic"), gettext_lazy("diastolic"))
COMPARATORS = ("<", ">", "≤", "≥")  # a value with a comparator is not the number alone
MMHG = ("mm[Hg]", "mmHg")


def _range_label(low: Decimal | None, high: Decimal | None, unit: str | None) -> str:
    """ "60-100 /min", ">= 60 mL/min", "<= 5 mg/L": a band's bounds as the tables show them."""
    if low is not None and high is not None:
        text = f"{lab_value(str(low))}-{lab_value(str(high))}"
    elif low is not None:
        text = f">= {lab_value(str(low))}"
    else:
        text = f"<= {lab_value(str(high))}"
    return f"{text} {unit or ''}".strip()


def _adult_band(kind: str, unit: str | None, low: Decimal, high: Decimal, name: str) -> Band:
    label = gettext("the app's adult range for %(name)s, %(range)s") % {
        "name": name,
        "range": _range_label(low, high, human_unit(unit)),
    }
    return Band(low, high, label)


def vital_bands(kind: str, unit: str | None, age: int | None) -> tuple[Band, ...]:
    """The app's adult ranges (`ADULT_RANGES`, the blood pressure thresholds) as bands, in the
    unit the chart is drawn in; none for a child, an unknown age or a unit the range is not
    written in (a temperature in °F gets its range converted, as the adult flag does)."""
    if age is None or age < ADULT_AGE:
        return ()
    if kind == "blood-pressure":
        if unit not in MMHG:
            return ()
        names = [str(name) for name in BLOOD_PRESSURE_SERIES]
        return (
            _adult_band(kind, unit, *SYSTOLIC_RANGE, names[0]),
            _adult_band(kind, unit, *DIASTOLIC_RANGE, names[1]),
        )
    if kind not in ADULT_RANGES:
        return ()
    wanted, low, high = ADULT_RANGES[kind]
    label = str(VITAL_KINDS[kind][0]).lower()
    if kind == "temperature" and unit == "[degF]":
        return (_adult_band(kind, unit, low * 9 / 5 + 32, high * 9 / 5 + 32, label),)
    if UNIT_ALIASES.get(unit or "", unit) != wanted:
        return ()
    return (_adult_band(kind, unit, low, high, label),)


def _plottable(shown: str, sent: str | None) -> str | None:
    """The number as sent, unless the value as shown carries a comparator (`<5`)."""
    return None if shown.startswith(COMPARATORS) else sent


def vital_chart(readings: Sequence[VitalSign], kind: str, age: int | None) -> Chart | None:
    """The chart of a vital sign's readings (newest first, as the table lists them), in the
    newest reading's unit: a reading in another unit is left out of the chart."""
    unit = readings[0].source_unit if readings else None
    plotted = []
    for reading in reversed(readings):
        same_unit = reading.source_unit == unit
        if kind == "blood-pressure":
            sent, shown = reading.source_value.split("/"), reading.value.split("/")
            numbers = tuple(n if same_unit else None for n in sent)
            plotted.append(Reading(reading.date, numbers, tuple(shown)))
        else:
            number = _plottable(reading.value, reading.source_value) if same_unit else None
            plotted.append(Reading(reading.date, (number,), (reading.value,)))
    names = BLOOD_PRESSURE_SERIES if kind == "blood-pressure" else (VITAL_KINDS[kind][0],)
    return time_chart(
        plotted,
        [str(name) for name in names],
        human_unit(unit),
        vital_bands(kind, unit, age),
        paired=kind == "blood-pressure",
    )


def _matches(observation: FhirModel, system: str, code: str) -> bool:
    codings = concept(observation.code).codings
    return any(c.system == system and c.code == code for c in codings)


def lab_band(
    found: Iterable[FhirModel], system: str, code: str, unit: str | None
) -> tuple[Band, ...]:
    """The reference range of the newest result of this test that has a numeric one in the
    chart's unit, as a band (one open end is allowed: `>= 60`)."""
    dated = [
        (sort_key(first_date(o, "effectiveDateTime", "effectivePeriod.start", "issued")), o)
        for o in found
        if o.status in SHOWN_OBSERVATION and _matches(o, system, code)
    ]
    for _, observation in sorted(dated, key=lambda pair: pair[0], reverse=True):
        for item in observation.referenceRange or []:
            low, high = amount(item.low), amount(item.high)
            bounds = [b for b in (low, high) if b is not None]
            if bounds and all(b.code == unit for b in bounds):
                low_number = Decimal(low.text) if low else None
                high_number = Decimal(high.text) if high else None
                label = gettext("the reference range, %(range)s") % {
                    "range": _range_label(low_number, high_number, bounds[0].human)
                }
                return (Band(low_number, high_number, label),)
    return ()


def lab_chart(
    results: Sequence[LabResult], found: Iterable[FhirModel], system: str, code: str
) -> Chart | None:
    """The chart of a test's numeric results (newest first, as the table lists them) in the
    newest result's unit; text, coded and below-the-limit (`<5`) results are table-only."""
    unit = results[0].source_unit if results else None
    plotted = [
        Reading(
            r.date,
            (_plottable(r.value, r.source_value) if r.source_unit == unit else None,),
            (r.value,),
        )
        for r in reversed(results)
    ]
    label = results[0].concept.label if results else code
    return time_chart(plotted, [label], human_unit(unit), lab_band(found, system, code, unit))


@never_cache
@require_GET
def vital_history(request: HttpRequest, handle: str, kind: str) -> HttpResponse:
    launch = launch_for(request, handle)
    if kind not in VITAL_KINDS:
        raise Http404
    label, codes = VITAL_KINDS[kind]
    with audit.accessed(request, launch, f"vital-history:{kind}"):
        found = summary_service.fetch_observations(
            launch,
            code=",".join(f"http://loinc.org|{c}" for c in codes),
            _sort="-date",
            _count="100",
        )
        patient = patient_demographics(launch)
    age = patient.age if patient else None
    readings = observations.vital_history(found.models, kind, age)
    return render(
        request,
        "portal/vital_history.html",
        {
            "launch": launch,
            "patient": patient,
            "label": label,
            "page": page_of(request, readings),
            "chart": vital_chart(readings, kind, age),
            "truncated": found.truncated,
            "partial": found.partial,
        },
    )


@never_cache
@require_GET
def lab_history(request: HttpRequest, handle: str) -> HttpResponse:
    launch = launch_for(request, handle)
    system, _, code = request.GET.get("code", "").partition("|")
    if not system or not code:
        raise Http404
    with audit.accessed(request, launch, "lab-history"):
        found = summary_service.fetch_observations(
            launch, code=f"{system}|{code}", _sort="-date", _count="100"
        )
        patient = patient_demographics(launch)
    results = observations.lab_history(found.models, system, code)
    label = results[0].concept.label if results else code
    return render(
        request,
        "portal/lab_history.html",
        {
            "launch": launch,
            "patient": patient,
            "label": label,
            "page": page_of(request, results),
            "chart": lab_chart(results, found.models, system, code),
            "code": {"system": system, "code": code},
            "truncated": found.truncated,
            "partial": found.partial,
        },
    )
