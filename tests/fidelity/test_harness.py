"""The fidelity harness itself, without the app: the reader on hand-made FHIR, the parser and
the comparison on hand-written pages that follow the markup contract (right, then wrong in
one way at a time, each wrong page named by the mismatch it must produce)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.fidelity import harness, reader, report
from tests.fidelity.compare import LIST_SECTIONS, Fetched, FullList, compare, number_ok
from tests.fidelity.pages import numbers_in, read_list, read_summary

TODAY = [date(2026, 11, 21)]
LOINC = reader.LOINC
UCUM = reader.UCUM
V2 = reader.V2_0203
SSN = "999-12-3456"


def coded(system: str, code: str, display: str | None = None, text: str | None = None) -> Any:
    coding: dict[str, str] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], **({"text": text} if text else {})}


def qty(value: float, code: str) -> dict[str, Any]:
    return {"value": value, "unit": code, "system": UCUM, "code": code}


def vital(oid: str, code: str, when: str, **body: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [coded(reader.OBS_CATEGORY, "vital-signs")],
        "code": coded(LOINC, code, code),
        "subject": {"reference": "urn:uuid:p1"},
        "effectiveDateTime": when,
        **body,
    }


def lab(oid: str, code: str, name: str, when: str, **body: Any) -> dict[str, Any]:
    return {
        **vital(oid, code, when, **body),
        "category": [coded(reader.OBS_CATEGORY, "laboratory")],
        "code": coded(LOINC, code, name),
    }


def bundle() -> dict[str, Any]:
    """A transaction Bundle shaped like Synthea's: `urn:uuid:` references, a deceased
    patient with an SSN, a 55284-4 blood pressure, as-needed dosing without text."""
    subject = {"reference": "urn:uuid:p1"}
    resources: list[dict[str, Any]] = [
        {
            "resourceType": "Patient",
            "id": "p1",
            "name": [
                {"use": "maiden", "family": "Old"},
                {"use": "official", "family": "Mejía", "given": ["Gustavo"], "prefix": ["Mr."]},
            ],
            "birthDate": "1950-06-15",
            "deceasedDateTime": "2020-06-14T10:00:00+00:00",
            "gender": "male",
            "identifier": [
                {"type": coded(V2, "MR"), "value": "MRN-1"},
                {"type": coded(V2, "SS"), "value": SSN},
            ],
        },
        {
            "resourceType": "Condition",
            "id": "c1",
            "clinicalStatus": coded("x", "active"),
            "code": coded("http://snomed.info/sct", "38341003", "Hypertension"),
            "subject": subject,
            "onsetDateTime": "2001-03-09T05:19:57+00:00",
        },
        {
            "resourceType": "Condition",
            "id": "c2",
            "clinicalStatus": coded("x", "resolved"),
            "code": coded("http://snomed.info/sct", "10509002", "Acute bronchitis"),
            "subject": subject,
        },
        {
            "resourceType": "MedicationRequest",
            "id": "m1",
            "status": "active",
            "medicationCodeableConcept": coded(reader.RXNORM, "314076", "lisinopril 10 MG"),
            "subject": subject,
            "dosageInstruction": [{"asNeededBoolean": True}],
        },
        {
            "resourceType": "MedicationStatement",
            "id": "m2",
            "status": "active",
            "medicationCodeableConcept": coded(reader.RXNORM, "314076", "Lisinopril"),
            "subject": subject,
        },
        {
            "resourceType": "MedicationRequest",
            "id": "m3",
            "status": "stopped",
            "medicationCodeableConcept": coded(reader.RXNORM, "1", "stopped drug"),
            "subject": subject,
        },
        {
            "resourceType": "Immunization",
            "id": "i1",
            "status": "completed",
            "vaccineCode": coded("http://hl7.org/fhir/sid/cvx", "140", "Influenza"),
            "patient": subject,
            "occurrenceDateTime": "2019-05",
        },
        vital(
            "bp1",
            "55284-4",
            "2020-01-01T00:00:00+00:00",
            component=[
                {"code": coded(LOINC, "8480-6"), "valueQuantity": qty(188.72546355, "mm[Hg]")},
                {"code": coded(LOINC, "8462-4"), "valueQuantity": qty(101.7069729, "mm[Hg]")},
            ],
        ),
        vital("w0", "29463-7", "2019-01-01T00:00:00+00:00", valueQuantity=qty(60.0, "kg")),
        vital("w1", "29463-7", "2020-01-01T00:00:00+00:00", valueQuantity=qty(71.66195, "kg")),
        lab(
            "g1",
            "2345-7",
            "Glucose",
            "2020-01-02T00:00:00+00:00",
            valueQuantity=qty(131, "mg/dL"),
            referenceRange=[{"low": qty(70, "mg/dL"), "high": qty(99, "mg/dL")}],
        ),
        lab("g0", "2345-7", "Glucose", "2019-01-02T00:00:00+00:00", valueQuantity=qty(80, "mg/dL")),
        lab(
            "u1",
            "5778-6",
            "Color of Urine",
            "2020-01-02",
            valueCodeableConcept=coded("http://snomed.info/sct", "371244009", "Yellow color"),
        ),
        {"resourceType": "Encounter", "id": "e1", "status": "finished", "subject": subject},
        {"resourceType": "Claim", "id": "cl1", "patient": subject},
    ]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }


def expected() -> reader.Expected:
    resources = reader.resolve_bundle(bundle())
    return reader.expected_summary(reader.records_for(resources, "p1"), "p1", TODAY)


SUMMARY = """<!doctype html><html><body>
<section class="card" id="demographics" data-section="demographics">
  <span class="visually-hidden" data-status="ok">ok</span>
  <dl><dt>Name</dt><dd data-field="name">Mr.  Gustavo Mej&iacute;a</dd>
  <dt>Born</dt><dd data-field="born">1950-06-15</dd>
  <dt>Age</dt><dd data-field="age">69 years at death</dd>
  <dt>Sex</dt><dd data-field="sex">Male</dd>
  <dt>Deceased</dt><dd data-field="deceased">Deceased 2020-06-14</dd>
  <dt>MRN</dt><dd data-field="mrn">MRN-1</dd></dl>
</section>
<section class="card" id="problems" data-section="problems"><p data-status="ok"></p>
  <table><tr data-item><td data-field="name">Hypertension</td>
  <td data-field="onset">2001-03-09</td></tr></table>
</section>
<section class="card" id="medications" data-section="medications"><p data-status="ok"></p>
  <table><tr data-item><td data-field="name">lisinopril 10 MG</td>
  <td data-field="instructions">As needed</td><td data-field="source">order, patient-reported</td>
  </tr></table>
</section>
<section class="card" id="allergies" data-section="allergies"><p data-status="empty">None</p>
</section>
<section class="card" id="immunizations" data-section="immunizations"><p data-status="ok"></p>
  <table><tr data-item><td data-field="name">Influenza</td><td data-field="date">2019-05</td></tr>
  </table>
</section>
<section class="card" id="vitals" data-section="vitals"><p data-status="ok"></p><table>
  <tr data-item data-vital="blood-pressure"><th>Blood pressure</th>
    <td data-field="value">189/102 <span data-ucum="mm[Hg]">mmHg</span></td>
    <td data-field="flag">H</td>
    <td data-field="date">2020-01-01 <span data-field="age">6 years ago</span></td></tr>
  <tr data-item data-vital="weight"><th>Weight</th>
    <td data-field="value">71.7 <span data-ucum="kg">kg</span></td><td data-field="flag"></td>
    <td data-field="date">2020-01-01</td></tr>
</table></section>
<section class="card" id="labs" data-section="labs"><p data-status="ok"></p><table>
  <tr data-item data-code="http://loinc.org|2345-7"><td data-field="name">Glucose</td>
    <td data-field="value">131 <span data-ucum="mg/dL">mg/dL</span></td>
    <td data-field="range">70-99 mg/dL</td><td data-field="flag"><strong>H</strong></td>
    <td data-field="date">2020-01-02</td></tr>
</table>
<p class="count" data-shown="1" data-total="2">Showing 1 of 2.
  <a data-full-list href="/l/h/list/labs">See all</a></p>
</section>
<section class="card" id="encounters" data-section="encounters"><p data-status="ok"></p><table>
  <tr data-item><td data-field="name">Visit</td><td data-field="class">ambulatory</td>
  <td data-field="date">2020-01-01</td></tr></table>
</section>
</body></html>"""

LABS_PAGE_1 = """<table>
  <tr data-item data-code="http://loinc.org|2345-7"><td data-field="name">Glucose</td>
    <td data-field="value">131 <span data-ucum="mg/dL">mg/dL</span></td>
    <td data-field="range">70&ndash;99</td><td data-field="flag">H</td>
    <td data-field="date">2020-01-02</td></tr>
</table><nav><a rel="prev" href="?page=1">Newer</a><a rel="next" href="?page=2">Older</a></nav>"""

LABS_PAGE_2 = """<table>
  <tr data-item data-code="http://loinc.org|5778-6"><td data-field="name">Color of Urine</td>
    <td data-field="value">Yellow color</td><td data-field="range"></td>
    <td data-field="flag"></td><td data-field="date">2020-01-02</td></tr>
</table>"""


def fetched(summary: str = SUMMARY, labs: tuple[str, ...] = (LABS_PAGE_1, LABS_PAGE_2)) -> Fetched:
    return Fetched(
        read_summary(summary), {"labs": FullList("/l/h/list/labs", [read_list(p) for p in labs])}
    )


def mismatches(summary: str = SUMMARY, **kwargs: Any) -> list[str]:
    return compare("sample", expected(), fetched(summary, **kwargs)).mismatches()


def test_the_reader_follows_the_rules() -> None:
    exp = expected()
    demo = exp.demographics
    assert demo is not None
    assert demo.name == "Mr. Gustavo Mejía"  # official, not the first
    assert demo.ages == (69,)  # at death: 2020-06-14 is a day before the 70th birthday
    assert demo.deceased_date == "2020-06-14"
    assert demo.mrns == ("MRN-1",)
    assert demo.hidden == (("SSN", SSN),)
    assert [str(p.label) for p in exp.problems] == ["Hypertension"]
    (med,) = exp.medications
    assert med.sources == {"order", "patient-reported"}
    assert med.label.options == ("lisinopril 10 MG",)  # the order's label wins
    assert med.dosages[0].as_needed
    bp = exp.vitals["blood-pressure"].readings[0]
    assert bp.numbers == (Decimal("188.72546355"), Decimal("101.7069729"))
    assert bp.unit == reader.Unit("mm[Hg]", "mmHg")
    assert exp.vitals["weight"].readings[0].numbers == (Decimal("71.66195"),)
    assert {str(x.label): x.readings[0].date for x in exp.labs} == {
        "Glucose": "2020-01-02",
        "Color of Urine": "2020-01-02",
    }
    assert exp.labs[0].abnormal == (True,)  # 131 is above 99
    assert exp.immunizations[0].date == "2019-05"
    assert exp.encounters == 1


def test_a_page_that_follows_the_contract_has_no_mismatches() -> None:
    assert mismatches() == []


def test_the_parser_reads_the_contract() -> None:
    page = read_summary(SUMMARY)
    assert set(page.cards) == set(LIST_SECTIONS) | {"demographics", "vitals"}
    labs = page.cards["labs"]
    assert labs.count is not None
    assert (labs.count.shown, labs.count.total) == (1, 2)
    assert labs.count.full_list == "/l/h/list/labs"
    bp = page.cards["vitals"].rows[0]
    assert bp.attrs["data-vital"] == "blood-pressure"
    assert bp.fields["date"].text == "2020-01-01"  # the nested age field is another field
    assert bp.fields["value"].units == (("mm[Hg]", "mmHg"),)
    assert bp.fields["value"].numbers() == [(Decimal(189), 0), (Decimal(102), 0)]
    assert page.cards["demographics"].fields["name"].text == "Mr. Gustavo Mejía"
    assert read_list(LABS_PAGE_1).next == "?page=2"
    assert numbers_in("70-99 mg/dL") == [(Decimal(70), 0), (Decimal(99), 0)]
    assert numbers_in("\u22122.5") == [(Decimal("-2.5"), 1)]


def test_half_a_unit_in_the_last_shown_place() -> None:
    source = Decimal("71.66195")
    assert number_ok(Decimal("71.7"), 1, source)
    assert not number_ok(Decimal("71.6"), 1, source)
    assert number_ok(Decimal("72"), 0, source)
    assert not number_ok(Decimal("71"), 0, source)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            '<tr data-item data-vital="blood-pressure">',
            '<tr data-item data-vital="pressure">',
            "vitals: blood-pressure missing",
        ),
        ("71.7 <span", "71.6 <span", "vitals: weight shows '71.6', source 71.66195"),
        (
            '<span data-ucum="kg">kg</span>',
            '<span data-ucum="kg">kilograms</span>',
            "vitals: weight unit shown 'kilograms', expected 'kg'",
        ),
        (
            '<span data-ucum="mm[Hg]">',
            '<span data-ucum="mmHg">',
            "vitals: blood-pressure data-ucum='mmHg', source 'mm[Hg]'",
        ),
        (
            '<td data-field="instructions">As needed</td>',
            '<td data-field="instructions">No instructions recorded</td>',
            "medications: lisinopril 10 MG instructions empty, the dosage has content",
        ),
        (
            '<td data-field="instructions">As needed</td>',
            '<td data-field="instructions">Take daily</td>',
            "medications: lisinopril 10 MG instructions lack 'as needed'",
        ),
        (
            "order, patient-reported",
            "order",
            "medications: lisinopril 10 MG source shown 'order', "
            "source has order and patient-reported",
        ),
        (
            '<td data-field="onset">2001-03-09</td>',
            '<td data-field="onset">2001-03-09T05:19</td>',
            "problems: Hypertension onset date shown '2001-03-09T05:19', source 2001-03-09",
        ),
        (
            '<td data-field="date">2019-05</td>',
            '<td data-field="date">2019-05-01</td>',
            "immunizations: Influenza date shown '2019-05-01', source 2019-05",
        ),
        (
            "Hypertension</td>",
            "Hypertension</td></tr><tr data-item><td data-field='name'>Acute bronchitis</td>",
            "problems: 'Acute bronchitis' shown, not in the source (or shown twice)",
        ),
        (
            '<p class="count" data-shown="1" data-total="2">',
            '<p class="count" data-shown="1" data-total="1">',
            "labs: count says data-total=1, source has 2",
        ),
        ("69 years", "70 years", "demographics: age shown '70 years at death', source 69"),
        (
            "Deceased 2020-06-14",
            "Deceased",
            "demographics: deceased shown 'Deceased', source 2020-06-14",
        ),
        (
            "MRN-1</dd>",
            f"MRN-1, {SSN}</dd>",
            "demographics: SSN number appears on the summary page",
        ),
        ("MRN-1</dd>", "MRN-10</dd>", "demographics: MRN MRN-1 not in the mrn field"),
        (
            "Deceased 2020-06-14",
            "Deceased 2020-06-14T10:00:00+00:00",
            "demographics: deceased shown",
        ),
        (
            'data-status="empty"',
            'data-status="unavailable"',
            "allergies: status unavailable, source has none",
        ),
    ],
)
def test_each_kind_of_mistake_is_named(old: str, new: str, message: str) -> None:
    assert old in SUMMARY
    found = mismatches(SUMMARY.replace(old, new))
    assert any(m.startswith(message) for m in found), found


def test_items_neither_shown_nor_counted() -> None:
    without_count = SUMMARY.split('<p class="count"')[0] + "</section></body></html>"
    assert (
        "labs: 1 of 2 neither shown nor counted: 'Color of Urine'"
        in compare("sample", expected(), Fetched(read_summary(without_count))).mismatches()
    )
    assert "labs: 1 of 2 missing from the full list: 'Color of Urine'" in mismatches(
        labs=(LABS_PAGE_1.replace('rel="next"', 'rel="other"'),)
    )


def test_labels_with_markup_must_arrive_escaped() -> None:
    exp = expected()
    exp.problems[0] = reader.Item(reader.Label(("<b>bold</b>",)))
    page = SUMMARY.replace(">Hypertension<", "><b>bold</b><")
    found = compare("sample", exp, fetched(page)).mismatches()
    assert "problems: '<b>bold</b>' appears unescaped on the summary page" in found
    escaped = SUMMARY.replace(">Hypertension<", ">&lt;b&gt;bold&lt;/b&gt;<")
    assert compare("sample", exp, fetched(escaped)).mismatches() == []


def test_code_only_labels_may_name_their_system() -> None:
    label = reader.concept_label({"coding": [{"system": "urn:oid:1.2", "code": "LOCAL-K"}]})
    assert label is not None
    assert label.accepts("LOCAL-K")
    assert label.accepts("LOCAL-K (urn:oid:1.2)")
    assert not label.accepts("LOCAL")


def test_the_table(tmp_path: Path) -> None:
    result = compare("sample", expected(), fetched(SUMMARY.replace("71.7 <span", "71.6 <span")))
    text = report.table([result])
    assert "sample" in text
    assert "2/2 x" in text  # vitals: both kinds shown, one with a mismatch
    assert "vitals: weight shows" in text
    assert report.write([result], tmp_path / "f.txt").read_text() == text


def test_the_vendored_bundles_are_found_and_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vendored bundles are the published files byte for byte (checked against the
    workspace's copy of the published set when it is there)."""
    monkeypatch.delenv(harness.ENV, raising=False)
    names = {path.name for path in harness.bundle_files()}
    assert {
        "Gustavo_Mejia_59a8543c-e24f-4a01-b28b-47ccde6bc11d.json",
        "Bernardo_Ordonez_ee5ce8e4-160e-4265-88ea-a2ebf4e2dfa9.json",
        "Trey_Berge_99153850-84f1-4de6-9e19-3e0d6eeedeb2.json",
    } <= names
    published = harness.REPO.parent / "shared" / "fixtures" / "synthea-r4"
    for path in harness.bundle_files():
        assert json.loads(path.read_bytes())["resourceType"] == "Bundle"
        if (published / path.name).is_file():
            assert path.read_bytes() == (published / path.name).read_bytes(), path.name
    monkeypatch.setenv(harness.ENV, "/no/such/folder")
    with pytest.raises(FileNotFoundError):
        harness.bundle_folder()


def test_the_checking_side_never_imports_the_app() -> None:
    """The reader, the parser and the comparison see neither the app's mapping (`smartapp`,
    `portal`) nor the sandbox: a mistake there cannot hide by being repeated here."""
    import ast

    for name in ("reader", "pages", "compare", "report"):
        tree = ast.parse((Path(__file__).parent / f"{name}.py").read_text())
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {m for m in imported if m.split(".")[0] in ("smartapp", "portal", "sandbox")}, (
            name
        )


def _value_cell(html: str) -> Any:
    (row,) = read_list(f"<table><tr data-item><td data-field='value'>{html}</td></tr></table>").rows
    return row.fields["value"]


def test_results_as_the_contract_lists_them() -> None:
    """Contract v2: a string, a coded value, an integer, a boolean, or "No value: <reason>";
    amended, corrected and preliminary said beside the value."""
    from tests.fidelity.compare import value_problems

    def reading(**body: Any) -> reader.Reading:
        found = reader.lab_reading(lab("x", "1-1", "X", "2020-01-01", **body))
        assert found is not None
        return found

    absent = reading(dataAbsentReason=coded("x", "error", "Error"))
    assert value_problems(_value_cell("No value: Error"), absent, "K") == []
    assert value_problems(_value_cell("Error"), absent, "K") == [
        "K shows 'Error', source 'No value: Error'"
    ]
    assert value_problems(_value_cell("Yes"), reading(valueBoolean=True), "B") == []
    assert value_problems(_value_cell("7"), reading(valueInteger=7), "I") == []
    culture = reading(status="preliminary", valueString="No growth")
    assert value_problems(_value_cell("No growth <span>(preliminary)</span>"), culture, "C") == []
    assert value_problems(_value_cell("No growth"), culture, "C") == [
        "C does not say it is preliminary"
    ]
    marked = "38.1 <span data-ucum='%'>%</span> <span data-field='status'>corrected</span>"
    assert (
        value_problems(
            _value_cell(marked), reading(status="corrected", valueQuantity=qty(38.1, "%")), "H"
        )
        == []
    )
    assert (
        reader.lab_reading(
            lab("p", "1-2", "Panel", "2020", hasMember=[{"reference": "Observation/x"}])
        )
        is None
    )
