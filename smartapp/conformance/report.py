"""A conformance `Report` written for people (a table), for scripts (JSON) and for CI (JUnit).

JUnit XML as CI servers read it: one `testsuite`, one `testcase` per finding; a fail is a
`<failure>`, a skip is `<skipped>`, a warn passes with its words in `<system-out>`. The
counts on `testsuite` are computed from the same findings, so they always agree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

from smart.conformance import Finding, Report, Status

FORMATS = ("table", "json", "junit")


def _ms(finding: Finding) -> str:
    return f"{finding.duration_ms:.0f} ms" if finding.duration_ms is not None else ""


def _summary(report: Report) -> str:
    return ", ".join(f"{count} {status}" for status, count in report.counts.items())


def render_table(report: Report) -> str:
    width = max((len(f.check_id) for f in report.findings), default=10)
    lines = [
        f"SMART check of {report.iss} (connection: {report.connection or 'none'})",
        f"{'STATUS':6}  {'CHECK':{width}}  {'TIME':>8}  MESSAGE",
    ]
    for finding in report.findings:
        lines.append(
            f"{finding.status.upper():6}  {finding.check_id:{width}}  {_ms(finding):>8}  "
            f"{finding.message}"
        )
        if finding.status in (Status.WARN, Status.FAIL):
            lines.append(f"{'':6}  {'':{width}}  {'':>8}  fix: {finding.fix}")
            lines.append(f"{'':6}  {'':{width}}  {'':>8}  ref: {finding.reference}")
    verdict = "FAILED" if report.failed else "OK"
    lines.append(f"{verdict}: {_summary(report)}")
    return "\n".join(lines) + "\n"


def as_json(report: Report) -> dict[str, Any]:
    return {
        "iss": report.iss,
        "connection": report.connection,
        "failed": report.failed,
        "counts": {str(status): count for status, count in report.counts.items()},
        "findings": [
            {
                "check_id": f.check_id,
                "title": f.title,
                "status": str(f.status),
                "reference": f.reference,
                "message": f.message,
                "fix": f.fix,
                "duration_ms": f.duration_ms,
            }
            for f in report.findings
        ],
    }


def render_json(report: Report) -> str:
    return json.dumps(as_json(report), indent=2) + "\n"


def _testcase(suite: ElementTree.Element, finding: Finding) -> None:
    case = ElementTree.SubElement(
        suite,
        "testcase",
        classname=f"smart_check.{finding.check_id.split('.', 1)[0]}",
        name=finding.check_id,
        time=f"{(finding.duration_ms or 0) / 1000:.3f}",
    )
    detail = f"{finding.message}\nfix: {finding.fix}\nreference: {finding.reference}"
    if finding.status is Status.FAIL:
        failure = ElementTree.SubElement(case, "failure", message=finding.message, type="fail")
        failure.text = detail
    elif finding.status is Status.SKIP:
        ElementTree.SubElement(case, "skipped", message=finding.message)
    elif finding.status is Status.WARN:
        ElementTree.SubElement(case, "system-out").text = f"WARN: {detail}"
    else:
        ElementTree.SubElement(
            case, "system-out"
        ).text = f"PASS: {finding.message}\nreference: {finding.reference}"


def render_junit(report: Report) -> str:
    counts = report.counts
    seconds = sum(f.duration_ms or 0 for f in report.findings) / 1000
    suite = ElementTree.Element(
        "testsuite",
        name=f"smart_check {report.iss}",
        tests=str(len(report.findings)),
        failures=str(counts[Status.FAIL]),
        errors="0",
        skipped=str(counts[Status.SKIP]),
        time=f"{seconds:.3f}",
    )
    properties = ElementTree.SubElement(suite, "properties")
    for name, value in (("iss", report.iss), ("connection", report.connection or "")):
        ElementTree.SubElement(properties, "property", name=name, value=value)
    for finding in report.findings:
        _testcase(suite, finding)
    ElementTree.indent(suite)
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


_RENDERERS: dict[str, Callable[[Report], str]] = {
    "table": render_table,
    "json": render_json,
    "junit": render_junit,
}


def render(report: Report, fmt: str) -> str:
    """`fmt` is one of FORMATS; anything else is a ValueError."""
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"format: one of {', '.join(FORMATS)}") from None
    return renderer(report)
