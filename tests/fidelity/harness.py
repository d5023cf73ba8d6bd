"""The patients to check, where their data comes from, and reading their pages.

Patients: every bundle in the fidelity folder (`FIDELITY_BUNDLES`, else the vendored
tests/fixtures/synthea) and every patient of the sandbox's own synthetic data. Their records
for the reader come from the raw files (`reader.resolve_bundle`, not the sandbox's loader)
and from `sandbox.synthetic.generate()`; the sandbox serves the same data over HTTP.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from tests.fidelity import reader
from tests.fidelity.compare import LIST_SECTIONS, Fetched, FullList
from tests.fidelity.pages import read_list, read_summary

REPO = Path(__file__).resolve().parents[2]
VENDORED = REPO / "tests" / "fixtures" / "synthea"
ENV = "FIDELITY_BUNDLES"
MAX_LIST_PAGES = 200  # a pager that never ends is a mismatch, not a hang


def bundle_folder() -> Path:
    """`FIDELITY_BUNDLES` (relative to the working directory, else to the repository) when
    set, else the vendored bundles. A folder that is not there is an error, never a skip."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return VENDORED
    folder = Path(value)
    if not folder.is_absolute() and not folder.is_dir():
        folder = REPO / value
    if not folder.is_dir():
        raise FileNotFoundError(f"{ENV}={value!r} is not a folder")
    return folder


def bundle_files() -> list[Path]:
    files = sorted(bundle_folder().glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no *.json bundles in {bundle_folder()}")
    return files


@dataclass(frozen=True)
class Case:
    """One patient to check: `name` for the report, the patient's id in the sandbox, and
    where the reader gets the raw data (a bundle file, or the synthetic generator)."""

    name: str
    patient_id: str
    bundle: Path | None = None

    def records(self) -> list[reader.Json]:
        if self.bundle is not None:
            return reader.records_for(_bundle_resources(self.bundle), self.patient_id)
        return reader.records_for(_synthetic(), self.patient_id)


@functools.cache
def _bundle_resources(path: Path) -> list[dict[str, Any]]:
    return reader.resolve_bundle(json.loads(path.read_text(encoding="utf-8")))


@functools.cache
def _synthetic() -> list[dict[str, Any]]:
    from sandbox import synthetic

    return list(synthetic.generate())


def cases() -> list[Case]:
    """Every bundle's patients (named after the file: `synthea/Trey_Berge`), then every
    synthetic patient (`sandbox/pat-01`), none left out."""
    out = []
    for path in bundle_files():
        stem = path.stem.rsplit("_", 1)[0] if "_" in path.stem else path.stem
        ids = reader.patient_ids(_bundle_resources(path))
        if not ids:
            raise ValueError(f"{path.name}: no Patient")
        for pid in ids:
            suffix = f"#{pid}" if len(ids) > 1 else ""
            out.append(Case(f"{path.parent.name}/{stem}{suffix}", pid, path))
    out += [Case(f"sandbox/{pid}", pid) for pid in reader.patient_ids(_synthetic())]
    return out


def today_candidates() -> list[date]:
    """The days a page may count ages from: local and UTC (around midnight they differ)."""
    return sorted({date.today(), datetime.now(UTC).date()})


def _get(client: Any, url: str) -> tuple[int, str]:
    response = client.get(url)
    return response.status_code, response.content.decode("utf-8", errors="replace")


def read_full_list(client: Any, url: str) -> FullList:
    """Every page of a full list, following `a[rel=next]` (relative to the page it is on)."""
    full = FullList(url)
    seen: set[str] = set()
    current: str | None = url
    while current is not None:
        if current in seen or len(full.pages) >= MAX_LIST_PAGES:
            full.error = f"the pager of {url} loops or never ends (at {current})"
            break
        seen.add(current)
        status, html = _get(client, current)
        if status != 200:
            full.error = f"full list {current} answered {status}"
            break
        page = read_list(html)
        full.pages.append(page)
        current = urljoin(current, page.next) if page.next else None
    return full


def dump(case: Case, fetched: Fetched) -> None:
    """With FIDELITY_DUMP=1, the pages read go to var/fidelity-pages/<case>/ (to look at a
    mismatch in a browser)."""
    if os.environ.get("FIDELITY_DUMP") != "1":
        return
    folder = REPO / "var" / "fidelity-pages" / case.name.replace("/", "_").replace("#", "_")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.html").write_text(fetched.summary.html, encoding="utf-8")
    for name, full in fetched.lists.items():
        for number, page in enumerate(full.pages, 1):
            (folder / f"{name}-{number}.html").write_text(page.html, encoding="utf-8")


def read_pages(client: Any, handle: str) -> Fetched:
    """The summary page, and every full list a card links to (all its pages)."""
    summary_url = f"/l/{handle}/"
    status, html = _get(client, summary_url)
    if status != 200:
        raise AssertionError(f"the summary page answered {status}")
    fetched = Fetched(read_summary(html))
    for name in LIST_SECTIONS:
        card = fetched.summary.cards.get(name)
        if card is not None and card.count is not None and card.count.full_list:
            fetched.lists[name] = read_full_list(client, urljoin(summary_url, card.count.full_list))
    return fetched
