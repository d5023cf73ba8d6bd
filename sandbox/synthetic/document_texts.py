"""The words of the synthetic clinical documents: notes and reports as clinicians write them.
Plain constants (and one function for the hostile note), no randomness.
"""

from __future__ import annotations

from sandbox.synthetic.document_ids import (
    BINARY_NOTE_MARKER,
    CHEST_XRAY_MARKER,
    DISCHARGE_DIAGNOSIS_LINE,
    DRAFT_MARKER,
    HOSTILE_NOTE_MARKUP,
    LATIN1_PHRASE,
    PROGRESS_MARKER,
    SURVIVING_SENTENCE,
)

DISCHARGE_SUMMARY = f"""\
DISCHARGE SUMMARY

Admission date: 2026-09-12
Discharge date: 2026-09-16
Attending: Chinedu Okafor, MD (Internal Medicine)

{DISCHARGE_DIAGNOSIS_LINE}
Secondary diagnoses: Hypertension; type 2 diabetes mellitus, well controlled.

Reason for admission:
Three days of productive cough, fever to 38.9 C and shortness of breath on exertion.
Right lower lobe consolidation on chest radiograph; SpO2 91% on room air in the
emergency department.

Hospital course:
Started on intravenous ceftriaxone and oral azithromycin. Fever settled within 48 hours
and oxygen was weaned to room air on day 3. Blood cultures showed no growth at 48 hours.
Cardiology reviewed a new ECG finding of sinus tachycardia, attributed to fever; no
further cardiac work-up needed. Switched to oral antibiotics on day 4.

Discharge medications:
- Amoxicillin-clavulanate 875/125 mg by mouth twice daily for 5 more days
- Lisinopril 10 mg by mouth once daily (unchanged)
- Metformin 500 mg by mouth twice daily (unchanged)
- Paracetamol 1 g by mouth every 6 hours as needed for fever or pain

Condition at discharge: stable, ambulating independently, SpO2 96% on room air.

Follow-up:
Primary care in 7 days. Repeat chest radiograph in 6 weeks to confirm resolution.
Return sooner for fever, worsening breathlessness or chest pain.
"""

DISCHARGE_DRAFT_TEXT = f"""\
{DRAFT_MARKER} (not signed)

Admission date: 2026-09-12
Discharge date: pending

Working diagnosis: lower respiratory tract infection.
Hospital course: to be completed.
Discharge medications: to be reconciled with pharmacy.
"""

PROGRESS_HTML = f"""\
<h2>{PROGRESS_MARKER}</h2>
<p>Hospital day 3. <b>Afebrile</b> for 24 hours; cough <i>less productive</i>.</p>
<ul>
  <li>Oxygen weaned to room air overnight</li>
  <li>Tolerating diet, mobilising on the ward</li>
  <li>Plan: switch to oral antibiotics tomorrow if stable</li>
</ul>
<table>
  <thead><tr><th>Vital sign</th><th>Value</th></tr></thead>
  <tbody>
    <tr><td>Temperature</td><td>37.1 C</td></tr>
    <tr><td>SpO2</td><td>95% on room air</td></tr>
    <tr><td>Heart rate</td><td>88 /min</td></tr>
  </tbody>
</table>
"""

SUPERSEDED_TEXT = "Progress note, hospital day 2 (superseded by a corrected version).\n"
ENTERED_IN_ERROR_TEXT = "Progress note written on the wrong patient's chart; entered in error.\n"
CONSULT_LINES = [
    "Cardiology consultation",
    "Reason: sinus tachycardia during pneumonia admission",
    "ECG: sinus tachycardia 112/min, normal axis, no ischaemic change",
    "Impression: rate explained by fever; no structural heart disease suspected",
    "Recommendation: no further cardiac work-up; recheck ECG at follow-up",
]

CHEST_XRAY_HTML = f"""\
<h3>XR Chest 2 Views</h3>
<p><b>Indication:</b> cough and fever.</p>
<p><b>Findings:</b> Resolving right lower lobe opacity. Heart size normal.
No pleural effusion or pneumothorax.</p>
<p><b>Impression:</b> {CHEST_XRAY_MARKER}; improving right lower lobe pneumonia.</p>
"""


def hostile_note_html() -> str:
    """The `xss` patient's note: one sentence that must survive, wrapped in hostile markup."""
    return "\n".join(
        (
            "<h2>Nursing note</h2>",
            f"<p>{SURVIVING_SENTENCE}</p>",
            *HOSTILE_NOTE_MARKUP,
            "<p>End of note.</p>",
        )
    )


XSS_RTF_TEXT = "Patient letter (RTF). Nothing hostile inside; the file name is the attack."

US_CORE_HP_NOTE = """\
Reason for visit: annual history and physical.

# History of Present Illness
Patient is a 63 year-old with hypertension and prediabetes presenting for a check up.
No new complaints. Walks 30 minutes most days.

# Social History
Never smoker. Drinks alcohol rarely. Lives with spouse.

# Allergies
Allergy to peanuts.

# Medications
amlodipine 5 MG Oral Tablet; lisinopril 10 MG Oral Tablet

# Assessment and Plan
Hypertension, controlled. Continue current medications.
Prediabetes: lifestyle advice given; recheck HbA1c in 6 months.
"""

US_CORE_REPORT_NOTE = """\
Cardiology follow-up.

# Assessment and Plan
Blood pressure above target on two readings. Increase amlodipine to 10 MG daily.
Echocardiogram ordered. Return in 3 months.
"""

HASH_MISMATCH_TEXT = "Telephone encounter: patient asked for a repeat prescription.\n"
HASH_MISMATCH_HASHED = "Telephone encounter: patient asked for a different prescription.\n"
LATIN1_TEXT = f"Dietitian note: {LATIN1_PHRASE}. Advice on salt intake given.\n"
BINARY_NOTE_TEXT = f"{BINARY_NOTE_MARKER}: the attachment has a url, not inline data.\n"
