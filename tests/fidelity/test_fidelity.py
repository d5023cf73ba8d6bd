"""Fidelity: each patient's rendered summary against the raw FHIR data it came from.

One test per patient (every bundle in FIDELITY_BUNDLES, else tests/fixtures/synthea, plus
every synthetic patient of the sandbox), each an EHR launch over real HTTP to the sandbox,
then the summary and every full list read with `html.parser` and compared with what
`tests.fidelity.reader` (which never imports the app's mapping) expects. Zero mismatches
pass. `make fidelity` runs them alone; the table is printed and written to var/fidelity.txt.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fidelity import harness, reader, report
from tests.fidelity.compare import compare

CASES = harness.cases()


@pytest.mark.fidelity
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_summary_matches_the_source(
    case: harness.Case, fidelity_store: Any, connect: Any, browser: Any
) -> None:
    connection = connect()
    landed = browser.launch(browser.start_ehr(connection, patient=case.patient_id))
    assert landed.status_code == 200, landed.content[:500]
    path = landed.wsgi_request.path
    assert path.startswith("/l/"), path
    handle = path.split("/")[2]

    fetched = harness.read_pages(browser.client, handle)
    harness.dump(case, fetched)
    expected = reader.expected_summary(case.records(), case.patient_id, harness.today_candidates())
    result = compare(case.name, expected, fetched)
    report.record(result)
    assert not result.mismatches(), "\n".join(result.mismatches())
