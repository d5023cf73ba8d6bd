"""axe-core (vendored in tests/e2e/vendor/, see its README) run by Playwright on a page or a
frame, WCAG 2.x level A and AA rules only.

The app's Content-Security-Policy allows scripts only from itself (`script-src 'self'`), so an
injected axe would be refused: the browser contexts used for axe runs are made with
`bypass_csp=True`. That switch is for the test's own script only; the CSP itself is tested
elsewhere (test_journeys, tests/smartapp) with contexts that keep it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Frame, Page

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2 at levels A and AA (axe's tags; "best-practice" rules are left out).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]  # CSS selectors of the failing elements
    summary: str  # axe's "fix any of the following" for the first element

    def __str__(self) -> str:
        shown = ", ".join(self.targets[:5]) + (" …" if len(self.targets) > 5 else "")
        first = self.summary.splitlines()[1].strip() if "\n" in self.summary else self.summary
        return f"{self.rule} ({self.impact}): {self.help} — {shown} — {first}"


def run_axe(target: Page | Frame) -> list[Violation]:
    """axe's violations on what `target` shows now (its own document; a frame is checked in
    its own run, not from its parent). Raises when axe could not run at all."""
    if not target.evaluate("() => typeof window.axe === 'object'"):
        target.add_script_tag(path=str(AXE_JS))
    if not target.evaluate("() => typeof window.axe === 'object'"):
        raise AssertionError("axe did not load: was the browser context made with bypass_csp?")
    options = {
        "runOnly": {"type": "tag", "values": WCAG_TAGS},
        "resultTypes": ["violations"],
        "iframes": False,
    }
    result: dict[str, Any] = target.evaluate("options => axe.run(document, options)", options)
    # A run that checked nothing would report no violations: it must have passed some rules.
    assert result["passes"], f"axe checked nothing on {target.url}"
    return [
        Violation(
            rule=v["id"],
            impact=v.get("impact") or "",
            help=v["help"],
            targets=tuple(" ".join(map(str, node["target"])) for node in v["nodes"]),
            summary=v["nodes"][0].get("failureSummary", "") if v["nodes"] else "",
        )
        for v in result["violations"]
    ]


def report(found: dict[str, list[Violation]]) -> str:
    """A readable failure: each page with violations, then one line per violated rule."""
    lines = []
    for page, violations in found.items():
        if violations:
            lines.append(f"{page}:")
            lines += [f"  {violation}" for violation in violations]
    return "\n".join(lines)
