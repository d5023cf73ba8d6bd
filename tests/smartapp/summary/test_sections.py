"""smartapp.summary.sections: the registry every other part of the summary derives from."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import cast

from django.conf import settings
from django.core.cache import cache
from django.template.loader import get_template
from django.test import override_settings

from smart.scopes import SUMMARY_TYPES
from smartapp.models import Launch
from smartapp.summary import sections
from smartapp.summary.builders import Fetch
from smartapp.summary.contract import EncounterItem, Section, SectionStatus, now_iso
from smartapp.summary.sections import SECTIONS, SectionSpec


def test_names_are_unique_and_ordered() -> None:
    names = sections.section_names()
    assert len(set(names)) == len(names) == len(SECTIONS)
    assert names == tuple(spec.name for spec in SECTIONS)
    assert sections.spec_for("labs").name == "labs"


def test_every_card_template_exists() -> None:
    for spec in SECTIONS:
        assert get_template(spec.template) is not None, spec.name


def test_types_ttls_and_builders_come_from_the_specs() -> None:
    assert sections.section_types() == {spec.name: spec.resource_types for spec in SECTIONS}
    assert sections.default_ttl_s() == {spec.name: spec.ttl_s for spec in SECTIONS}
    assert sections.builders_by_name() == {spec.name: spec.builder for spec in SECTIONS}
    assert sections.default_ttl_s()["demographics"] == 15 * 60
    assert sections.default_ttl_s()["labs"] == 60


def test_the_summary_asks_for_exactly_the_scopes_it_needs() -> None:
    assert sections.summary_resource_types() == SUMMARY_TYPES


def _notes(fetch: Fetch) -> Section:
    item = EncounterItem("A note from the registry test", None, "2026-01-01", None, "final")
    return Section("notes", SectionStatus.OK, (item,), now_iso())


def test_one_spec_and_one_template_add_a_card(
    sandbox, connect, browser, monkeypatch, tmp_path: Path
) -> None:
    card = tmp_path / "portal" / "sections" / "notes.html"
    card.parent.mkdir(parents=True)
    card.write_text(
        '{% extends "portal/_card.html" %}{% block card_body %}'
        "<p>{{ section.items.0.type }}</p>{% endblock %}"
    )
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [tmp_path, *cast(list[Path], templates[0]["DIRS"])]
    notes = SectionSpec("notes", "Notes", ("Patient",), 60, _notes, "portal/sections/notes.html")
    monkeypatch.setattr(sections, "SECTIONS", (*SECTIONS, notes))

    with override_settings(TEMPLATES=templates):
        connection = connect()
        browser.launch(browser.start_standalone(connection), user="Patient/pat-01")
        cache.clear()
        launch = Launch.objects.get()
        html = browser.client.get(f"/l/{launch.handle}/").content.decode()
    assert '<h2 id="h-notes">Notes</h2>' in html
    assert "A note from the registry test" in html
    # Streamed: the placeholders are in the specs' order (the sections arrive as they finish
    # and take their placeholders' places; tests/e2e checks that in a browser).
    assert html.index('data-pending-section="encounters"') < html.index(
        'data-pending-section="notes"'
    )
