"""Fixtures for the fidelity check: the live sandbox serving the fidelity bundles, and the
table printed (and written to var/fidelity.txt) when any patient was checked."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from sandbox import fhir_store
from tests.fidelity import harness, report


@pytest.fixture(scope="session")
def fidelity_bundles(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """The fidelity bundles copied into a bundle folder of their own, and the sandbox's store
    built from it by the sandbox's own code (`build_store`: the synthetic data, then each
    bundle through `bundle_resources`, as `manage.py sandbox_load` + a restart would).
    Built once a session: parsing 10 MB of bundles for each patient would be slow."""
    folder = tmp_path_factory.mktemp("fidelity-bundles")
    for path in harness.bundle_files():
        shutil.copyfile(path, folder / path.name)
    with override_settings(SANDBOX_BUNDLE_DIR=str(folder)):
        store = fhir_store.build_store()
    return folder, store


@pytest.fixture
def fidelity_store(
    fidelity_bundles: tuple[Path, Any], monkeypatch: pytest.MonkeyPatch, settings: Any
) -> Any:
    """The in-process sandbox (its live server runs in this process) serves the fidelity
    store for this test: SANDBOX_BUNDLE_DIR points at the bundle folder and the cached
    process-wide store is swapped; both are restored afterwards, so other tests see the
    normal store."""
    folder, store = fidelity_bundles
    settings.SANDBOX_BUNDLE_DIR = str(folder)
    monkeypatch.setattr(fhir_store, "_store", store)
    return store


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The table, when this run checked any patient; also written to var/fidelity.txt."""
    if not report.RESULTS:
        return
    path = report.write(report.RESULTS)
    terminalreporter.write_sep("=", "fidelity")
    terminalreporter.write(report.table(report.RESULTS))
    terminalreporter.write_line(f"(written to {path})")
