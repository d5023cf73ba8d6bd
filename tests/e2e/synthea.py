"""The vendored Synthea patients (tests/fixtures/synthea) in the sandbox, for browser tests.

The same mechanism as the fidelity check (tests/fidelity/conftest.py): the bundles are copied
into a folder of their own, the sandbox's own `build_store` reads them (the synthetic data,
then each bundle through `bundle_resources`, as `manage.py sandbox_load` + a restart would),
and the in-process sandbox's store is swapped for the test. Always the vendored four, whatever
FIDELITY_BUNDLES says: the browser tests and screenshots name them.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox import fhir_store
from sandbox.people import display_name
from tests.fidelity import harness, reader


@dataclass(frozen=True)
class SyntheaPatient:
    key: str  # the file's name without the id: "Trey_Berge"
    id: str  # the Patient's id in the sandbox
    name: str  # as the sandbox shows it


@dataclass(frozen=True)
class SyntheaData:
    folder: Path
    store: fhir_store.FhirStore
    patients: dict[str, SyntheaPatient]


def _patients(store: fhir_store.FhirStore) -> dict[str, SyntheaPatient]:
    out = {}
    for path in sorted(harness.VENDORED.glob("*.json")):
        key = path.stem.rsplit("_", 1)[0]
        ids = reader.patient_ids(reader.resolve_bundle(json.loads(path.read_text("utf-8"))))
        assert len(ids) == 1, f"{path.name}: {ids}"
        patient = store.get("Patient", ids[0])
        assert patient is not None, f"{path.name}: the sandbox did not load Patient/{ids[0]}"
        out[key] = SyntheaPatient(key, ids[0], display_name(patient))
    return out


@pytest.fixture(scope="session")
def synthea_data(tmp_path_factory: pytest.TempPathFactory) -> SyntheaData:
    """Built once a session (parsing the bundles takes seconds)."""
    from django.test import override_settings

    folder = tmp_path_factory.mktemp("synthea-bundles")
    for path in harness.VENDORED.glob("*.json"):
        shutil.copyfile(path, folder / path.name)
    with override_settings(SANDBOX_BUNDLE_DIR=str(folder)):
        store = fhir_store.build_store()
    return SyntheaData(folder, store, _patients(store))


@pytest.fixture
def synthea(
    synthea_data: SyntheaData, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> dict[str, SyntheaPatient]:
    """The sandbox serves the Synthea patients (and its synthetic ones) for this test; the
    normal store is back afterwards. The patients by key ("Trey_Berge")."""
    settings.SANDBOX_BUNDLE_DIR = str(synthea_data.folder)
    monkeypatch.setattr(fhir_store, "_store", synthea_data.store)
    return synthea_data.patients
