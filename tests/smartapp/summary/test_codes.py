"""smartapp.summary.codes and the contract's labels: how codes are shown."""

from __future__ import annotations

from smartapp.summary.codes import concept
from smartapp.summary.contract import Coding


def test_coding_labels() -> None:
    assert Coding("http://snomed.info/sct", "38341003", None).label == "38341003 (SNOMED CT)"
    assert Coding("urn:oid:1.2.3", "X", None).label == "X (urn:oid:1.2.3)"
    assert Coding(None, "X", None).label == "X (no system)"
    assert (
        concept({"text": "Told by patient", "coding": [{"code": "1"}]}).label == "Told by patient"
    )
