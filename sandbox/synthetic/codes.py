"""The codes synthetic records use: code systems, and the clinical catalogue picked from.

Real systems, as a summary must read them: LOINC for vital signs and labs (with UCUM units
and reference ranges), SNOMED CT for problems and allergies, RxNorm for medications, CVX for
immunizations, HL7 terminology for statuses, categories and interpretations.
"""

from __future__ import annotations

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
MRN_SYSTEM = "http://sandbox.example.org/fhir/sid/mrn"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"

CONDITIONS = [
    ("38341003", "Hypertensive disorder, systemic arterial", "active"),
    ("44054006", "Diabetes mellitus type 2", "active"),
    ("195967001", "Asthma", "active"),
    ("55822004", "Hyperlipidemia", "active"),
    ("433144002", "Chronic kidney disease stage 3", "active"),
    ("239873007", "Osteoarthritis of knee", "active"),
    ("235595009", "Gastroesophageal reflux disease", "active"),
    ("35489007", "Depressive disorder", "active"),
    ("10509002", "Acute bronchitis", "resolved"),
    ("44465007", "Sprain of ankle", "resolved"),
]
# (RxNorm code, display, dosage text)
MEDICATIONS = [
    ("314076", "lisinopril 10 MG Oral Tablet", "Take 1 tablet by mouth once daily"),
    ("860975", "metformin hydrochloride 500 MG Extended Release Oral Tablet", "1 tablet daily"),
    ("617310", "atorvastatin 20 MG Oral Tablet", "Take 1 tablet at bedtime"),
    ("745679", "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", "2 puffs every 4 hours as needed"),
    ("197361", "amlodipine 5 MG Oral Tablet", "Take 1 tablet by mouth once daily"),
    ("313782", "acetaminophen 325 MG Oral Tablet", "1-2 tablets every 6 hours as needed"),
]
# (SNOMED code, display, category, criticality)
ALLERGIES = [
    ("91936005", "Allergy to penicillin", "medication", "high"),
    ("91935009", "Allergy to peanuts", "food", "high"),
    ("300916003", "Latex allergy", "environment", "low"),
    ("300913006", "Shellfish allergy", "food", "low"),
]
# (CVX code, display)
VACCINES = [
    ("140", "Influenza, seasonal, injectable, preservative free"),
    ("208", "COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose"),
    ("115", "Tdap"),
    ("133", "Pneumococcal conjugate PCV 13"),
    ("187", "Zoster vaccine recombinant"),
]
# (LOINC, display, UCUM unit, mean, spread, decimals)
VITALS = [
    ("8867-4", "Heart rate", "/min", 74, 9, 0),
    ("9279-1", "Respiratory rate", "/min", 15, 2, 0),
    ("8310-5", "Body temperature", "Cel", 36.9, 0.3, 1),
    ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", 97, 1.5, 0),
    ("29463-7", "Body weight", "kg", 78, 14, 1),
    ("8302-2", "Body height", "cm", 171, 9, 1),
]
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")
BMI = ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2")
# (LOINC, display, UCUM unit, low, high, mean, spread, decimals, panel)
LABS = [
    ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 70, 99, 98, 22, 0, "BMP"),
    (
        "2160-0",
        "Creatinine [Mass/volume] in Serum or Plasma",
        "mg/dL",
        0.6,
        1.3,
        1.0,
        0.3,
        2,
        "BMP",
    ),
    ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 135, 145, 140, 3, 0, "BMP"),
    (
        "2823-3",
        "Potassium [Moles/volume] in Serum or Plasma",
        "mmol/L",
        3.5,
        5.1,
        4.3,
        0.5,
        1,
        "BMP",
    ),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 12.0, 17.5, 14, 1.8, 1, "CBC"),
    (
        "6690-2",
        "Leukocytes [#/volume] in Blood by Automated count",
        "10*3/uL",
        4.5,
        11,
        7.5,
        2.2,
        1,
        "CBC",
    ),
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 4.0, 5.6, 6.0, 1.0, 1, None),
]
PANELS = {
    "BMP": ("51990-0", "Basic metabolic panel - Blood"),
    "CBC": ("58410-2", "CBC panel - Blood by Automated count"),
}
