"""The progress line's arithmetic (smartapp.extraction.progress): no database, no network."""

from __future__ import annotations

import pytest

from smartapp.extraction.progress import REDRAW_S, Progress, duration, redraw_due


def _progress(**counts: object) -> Progress:
    base: dict[str, object] = {
        "state": "downloading",
        "files_done": 0,
        "files_total": 0,
        "resources": 0,
        "expected_total": None,
        "elapsed_s": 0.0,
    }
    return Progress(**{**base, **counts})  # type: ignore[arg-type]


def test_the_rate_is_resources_per_second_since_the_start() -> None:
    assert _progress(resources=500, elapsed_s=4.0).rate == 125.0


def test_no_time_elapsed_is_a_rate_of_zero_not_a_division_by_zero() -> None:
    assert _progress(resources=500, elapsed_s=0.0).rate == 0.0


def test_the_eta_uses_the_manifests_counts_when_known() -> None:
    progress = _progress(
        files_done=1, files_total=10, resources=1000, expected_total=4000, elapsed_s=10.0
    )
    assert progress.eta_s == pytest.approx(30.0)  # 3000 left at 100/s, not 9 files x 10 s


def test_without_counts_the_eta_comes_from_the_files_done() -> None:
    progress = _progress(files_done=2, files_total=8, resources=10, elapsed_s=20.0)
    assert progress.eta_s == pytest.approx(60.0)


def test_nothing_to_go_on_is_no_eta() -> None:
    assert _progress(state="polling", elapsed_s=5.0).eta_s is None
    assert _progress(files_total=4, resources=0, elapsed_s=5.0).eta_s is None


def test_every_file_done_is_nothing_left() -> None:
    progress = _progress(files_done=3, files_total=3, resources=9, elapsed_s=3.0)
    assert progress.eta_s == 0.0


def test_more_loaded_than_expected_never_gives_a_negative_eta() -> None:
    progress = _progress(files_done=1, files_total=2, resources=50, expected_total=40, elapsed_s=1)
    assert progress.eta_s == 0.0


def test_the_line_names_every_count() -> None:
    line = _progress(
        files_done=3,
        files_total=12,
        resources=4210,
        expected_total=10000,
        elapsed_s=12.0,
        malformed=1,
        refused=2,
    ).line()
    assert line.startswith("downloading")
    assert "files 3/12" in line
    assert "resources 4,210 of ~10,000" in line
    assert "350.8/s" in line
    assert "ETA 17s" in line  # 5,790 left at 350.8/s
    assert "malformed 1" in line
    assert "refused 2" in line


def test_a_job_without_files_yet_shows_a_dash_and_an_unknown_eta() -> None:
    line = _progress(state="polling").line()
    assert "files -" in line
    assert "ETA ?" in line


def test_the_summary_says_resources_files_time_rate_and_deletions() -> None:
    summary = _progress(
        state="done", files_done=2, files_total=2, resources=300, elapsed_s=3.0, malformed=1
    ).summary(deleted_at_source=4)
    assert summary == (
        "300 resources from 2 files in 3.0 s (100.0/s); malformed 1, refused 0, deleted at source 4"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "?"), (0, "0s"), (59.4, "59s"), (75, "1m15s"), (3700, "1h01m"), (-3, "0s")],
)
def test_durations_read_as_hours_minutes_seconds(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_a_terminal_redraws_at_every_step_a_log_every_few_seconds() -> None:
    assert redraw_due(None, 0.0, tty=False)
    assert redraw_due(10.0, 10.1, tty=True)
    assert not redraw_due(10.0, 10.0 + REDRAW_S / 2, tty=False)
    assert redraw_due(10.0, 10.0 + REDRAW_S, tty=False)


def test_progress_is_a_frozen_value() -> None:
    progress = _progress()
    with pytest.raises(AttributeError):
        progress.resources = 1  # type: ignore[misc]


def test_a_long_run_says_its_time_in_minutes_too() -> None:
    summary = _progress(state="done", resources=9000, elapsed_s=90.0).summary(0)
    assert "in 90.0 s = 1m30s (100.0/s)" in summary
