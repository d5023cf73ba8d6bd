"""The summary's sections: one `SectionSpec` each, in `SECTIONS`, in the order they are
built and shown. Everything else about a section derives from its spec: the section names,
the FHIR types whose read grant makes it shared, the cache time-to-live, the builder, the
keys dropped at sign-out and the card on the summary page.

Adding a section: one spec here, one builder (smartapp/summary/builders.py, asking the EHR
only through `Fetch`) and one card template (portal/templates/portal/sections/<name>.html).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_noop

from smartapp.summary import builders
from smartapp.summary.contract import Section


@dataclass(frozen=True)
class SectionSpec:
    name: str
    title: str  # the card's heading (English, marked for translation: gettext at render)
    resource_types: tuple[str, ...]  # shared when read access to any of these was granted
    ttl_s: int  # how long the section is cached (SUMMARY_CACHE_TTL_S overrides)
    builder: Callable[[builders.Fetch], Section]
    template: str  # the portal card that renders it
    # Other types the builder reads when it may (asked for in the scopes, but not what makes
    # the section shared): `_include` targets and references read one by one.
    also_reads: tuple[str, ...] = ()
    card_limit: int | None = 10  # rows on the summary card; the rest on the full list
    # The full list's filters: (query parameter, item attribute holding a text or a tuple of
    # texts); the choices are the values the section's items hold.
    filters: tuple[tuple[str, str], ...] = ()


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        "demographics",
        gettext_noop("Patient details"),
        ("Patient",),
        15 * 60,
        builders.demographics_section,
        "portal/sections/demographics.html",
        card_limit=None,
    ),
    SectionSpec(
        "problems",
        gettext_noop("Active problems"),
        ("Condition",),
        5 * 60,
        builders.problems_section,
        "portal/sections/problems.html",
    ),
    SectionSpec(
        "medications",
        gettext_noop("Active medications"),
        ("MedicationRequest", "MedicationStatement"),
        2 * 60,
        builders.medications_section,
        "portal/sections/medications.html",
        also_reads=("Medication",),
    ),
    SectionSpec(
        "allergies",
        gettext_noop("Allergies and intolerances"),
        ("AllergyIntolerance",),
        5 * 60,
        builders.allergies_section,
        "portal/sections/allergies.html",
    ),
    SectionSpec(
        "immunizations",
        gettext_noop("Immunizations"),
        ("Immunization",),
        5 * 60,
        builders.immunizations_section,
        "portal/sections/immunizations.html",
    ),
    SectionSpec(
        "vitals",
        gettext_noop("Latest vital signs"),
        ("Observation",),
        60,
        builders.vitals_section,
        "portal/sections/vitals.html",
        also_reads=("Patient",),  # the age, for the adult vital-sign ranges
        card_limit=None,
    ),
    SectionSpec(
        "labs",
        gettext_noop("Recent lab results"),
        ("Observation",),
        60,
        builders.labs_section,
        "portal/sections/labs.html",
        card_limit=20,
    ),
    SectionSpec(
        "encounters",
        gettext_noop("Recent encounters"),
        ("Encounter",),
        5 * 60,
        builders.encounters_section,
        "portal/sections/encounters.html",
    ),
    SectionSpec(
        "documents",
        gettext_noop("Recent notes and documents"),
        ("DocumentReference", "DiagnosticReport"),
        5 * 60,
        builders.documents_section,
        "portal/sections/documents.html",
        # Many EHRs keep a note's content in a Binary the token must be allowed to read.
        also_reads=("Binary",),
        filters=(("category", "categories"), ("type", "type_label")),
    ),
)

# Derived from SECTIONS when asked (never copied at import), so the registry is the only list.


def section_names() -> tuple[str, ...]:
    return tuple(spec.name for spec in SECTIONS)


def spec_for(name: str) -> SectionSpec:
    """The spec of the section called `name` (KeyError when there is none)."""
    for spec in SECTIONS:
        if spec.name == name:
            return spec
    raise KeyError(name)


def section_types() -> dict[str, tuple[str, ...]]:
    """Section name -> the FHIR types whose read grant makes it shared."""
    return {spec.name: spec.resource_types for spec in SECTIONS}


def default_ttl_s() -> dict[str, int]:
    """Section name -> cache time-to-live in seconds (the setting SUMMARY_CACHE_TTL_S wins)."""
    return {spec.name: spec.ttl_s for spec in SECTIONS}


def builders_by_name() -> dict[str, Callable[[builders.Fetch], Section]]:
    return {spec.name: spec.builder for spec in SECTIONS}


def summary_resource_types() -> tuple[str, ...]:
    """Every FHIR type the summary reads, in the specs' order, each once: what the default
    scopes ask for (smart.scopes.SUMMARY_TYPES, which a test keeps equal to this). Includes
    the types read only by `_include` or by reference (Medication): a server that enforces
    scopes drops an `_include` of a type the token cannot read."""
    return tuple(
        dict.fromkeys(
            rtype for spec in SECTIONS for rtype in (*spec.resource_types, *spec.also_reads)
        )
    )


def listed_sections() -> tuple[str, ...]:
    """Sections with a full list page (those whose card shows a limited number of rows)."""
    return tuple(spec.name for spec in SECTIONS if spec.card_limit is not None)
