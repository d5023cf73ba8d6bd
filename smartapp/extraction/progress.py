"""What `manage.py extract --wait` shows while a job runs: pure arithmetic over counts.

The command reads the counts from the job's rows (`smartapp.management.commands.extract`);
here they become a rate, an estimate of the time left and one line of text. The estimate
uses the manifest's per-file `count` when the server gave one for every file (Bulk Data
manifests may: it is optional), else the share of files finished, else none at all.
"""

from __future__ import annotations

from dataclasses import dataclass

REDRAW_S = 5.0  # one line per this many seconds when stdout is not a terminal


def duration(seconds: float | None) -> str:
    """`75` -> `1m15s`; `3700` -> `1h01m`; unknown -> `?`."""
    if seconds is None:
        return "?"
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def redraw_due(last_drawn: float | None, now: float, tty: bool) -> bool:
    """A terminal line is redrawn in place at every change; a log gets one every REDRAW_S."""
    return tty or last_drawn is None or now - last_drawn >= REDRAW_S


@dataclass(frozen=True)
class Progress:
    """A job's counts at one moment. `expected_total` is None when the manifest did not
    give a count for every file (or there is no manifest yet)."""

    state: str
    files_done: int
    files_total: int
    resources: int
    expected_total: int | None
    elapsed_s: float
    malformed: int = 0
    refused: int = 0

    @property
    def rate(self) -> float:
        """Resources per second since the job started."""
        return self.resources / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the rate so far; None when there is nothing to go on."""
        if self.files_total and self.files_done >= self.files_total:
            return 0.0
        if self.expected_total and self.rate > 0:
            return max(0, self.expected_total - self.resources) / self.rate
        if self.files_total and self.files_done and self.elapsed_s > 0:
            per_file = self.elapsed_s / self.files_done
            return per_file * (self.files_total - self.files_done)
        return None

    def line(self) -> str:
        """One line: `downloading  files 3/12  resources 4,210  350.8/s  ETA 1m02s  ...`."""
        files = f"{self.files_done}/{self.files_total}" if self.files_total else "-"
        expected = f" of ~{self.expected_total:,}" if self.expected_total else ""
        return (
            f"{self.state:<11}  files {files}  resources {self.resources:,}{expected}  "
            f"{self.rate:,.1f}/s  ETA {duration(self.eta_s)}  "
            f"malformed {self.malformed}  refused {self.refused}"
        )

    def summary(self, deleted_at_source: int) -> str:
        """The closing line of a finished job."""
        took = f"{self.elapsed_s:.1f} s"
        if self.elapsed_s >= 60:
            took += f" = {duration(self.elapsed_s)}"
        return (
            f"{self.resources:,} resources from {self.files_total} files in {took} "
            f"({self.rate:,.1f}/s); "
            f"malformed {self.malformed}, refused {self.refused}, "
            f"deleted at source {deleted_at_source}"
        )
