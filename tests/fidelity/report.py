"""The fidelity table: per patient and section, shown/expected, then every mismatch named.

Tests `record` their results; tests/fidelity/conftest.py prints the table at the end of a run
that checked any patient and writes it to var/fidelity.txt.
"""

from __future__ import annotations

from pathlib import Path

from tests.fidelity.compare import SECTIONS, PatientResult

RESULTS: list[PatientResult] = []
OUTPUT = Path(__file__).resolve().parents[2] / "var" / "fidelity.txt"


def record(result: PatientResult) -> None:
    RESULTS[:] = [r for r in RESULTS if r.case != result.case]
    RESULTS.append(result)


def _cell(result: PatientResult, section: str) -> str:
    found = result.sections.get(section)
    if found is None:
        return "-"
    mark = " x" if found.mismatches else ""
    return f"{found.shown}/{found.expected}{mark}"


def table(results: list[PatientResult]) -> str:
    """Shown/expected per section (` x`: this section has mismatches), then the mismatches."""
    header = ["patient", *SECTIONS, "mismatches"]
    rows = [[r.case, *(_cell(r, s) for s in SECTIONS), str(len(r.mismatches()))] for r in results]
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    total = sum(len(r.mismatches()) for r in results)
    clean = sum(1 for r in results if not r.mismatches())
    out = [
        "Fidelity: the rendered summary against raw FHIR (shown/expected; x = mismatches)",
        line(header),
        line(["-" * w for w in widths]),
        *(line(row) for row in rows),
        "",
        f"{len(results)} patients, {clean} without mismatches, {total} mismatches in all",
    ]
    for result in results:
        if result.mismatches():
            out += ["", f"{result.case}:"]
            out += [f"  {message}" for message in result.mismatches()]
    return "\n".join(out) + "\n"


def write(results: list[PatientResult], path: Path = OUTPUT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(table(results), encoding="utf-8")
    return path
