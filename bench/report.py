"""The benchmark's tables, from bench/results.json's shape: issue 18's goals first (each figure
measured in this run, its goal and whether it was met), then the details behind them."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Goal:
    figure: str
    measured: str
    goal: str
    met: bool


_TESTS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
}


def _goal(figure: str, value: float, goal: str, unit: str = "", note: str = "") -> Goal:
    """`goal` is a comparison and a threshold ("<= 1.15"), in the figure's `unit`."""
    sign, threshold = goal.split()
    met = _TESTS[sign](value, float(threshold))
    return Goal(figure, f"{value}{unit}{note}", f"{goal}{unit}", met)


def _server(figures: dict[str, Any], key: str) -> str:
    """The same requests' server-side figure (gunicorn's access log), when it was logged."""
    server = figures.get("server", {})
    return f" (server {server[key]} ms)" if key in server else ""


def goal_rows(results: dict[str, Any]) -> list[Goal]:
    cold, slow, storm = results["cold_summary"], results["slow_ehr"], results["refresh_storm"]
    c1, c8 = results["warm_summary"]["c1"], results["warm_summary"]["c8"]
    storm_met = storm["token_endpoint_refreshes"] == 1 and not storm["failures"]
    first_byte = slow["first_byte_median_ms"]
    return [
        _goal("cold summary / ideal (one round trip at 200 ms per FHIR call)",
              cold["parallel_over_ideal"], "<= 1.15"),
        _goal("cold summary / sequential (the app, one query at a time)",
              cold["parallel_over_sequential"], "<= 0.15"),
        _goal("cold summary / client-py (the same reads, one at a time)",
              cold["parallel_over_client_py"], "<= 0.15"),
        _goal("warm summary, 1 client: p50", c1["summary"]["p50_ms"], "<= 4", " ms",
              _server(c1["summary"], "p50_ms")),
        _goal("warm summary, 1 client: share of /healthz throughput",
              c1["summary_over_healthz"], ">= 0.4"),
        _goal("warm summary, 8 clients: p99", c8["summary"]["p99_ms"], "< 40", " ms",
              _server(c8["summary"], "p99_ms")),
        Goal(
            f"refresh storm, {storm['requests']} requests: refreshes / failures / p99",
            f"{storm['token_endpoint_refreshes']} / {storm['failures']} / {storm['p99_ms']} ms"
            + _server(storm, "p99_ms"),
            "1 / 0 / < 1500 ms",
            storm_met and storm["p99_ms"] < 1500,
        ),
        _goal("first byte of the summary with 2 s FHIR latency (median)", first_byte, "< 50",
              " ms"),
    ]  # fmt: skip


def goals(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [asdict(goal) for goal in goal_rows(report["results"])]


def _load(figures: dict[str, Any]) -> str:
    server = figures["server"]
    text = "{rps} rps, p50 {p50_ms} ms, p99 {p99_ms} ms".format(**figures)
    if server.get("requests"):
        text += "; server p50 {p50_ms} ms, p99 {p99_ms} ms".format(**server)
    return text


def _pair(figures: dict[str, Any]) -> str:
    """Client p50 / p99 and, when the access log had the phase, the server's."""
    text = "{p50_ms} / {p99_ms} ms".format(**figures)
    if figures["server"].get("requests"):
        text += "; {p50_ms} / {p99_ms} ms".format(**figures["server"])
    return text


def _pair_server(server: dict[str, Any]) -> str:
    return "{p50_ms} / {p99_ms} ms".format(**server) if server.get("requests") else "-"


def _cold_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    cold, slow = r["cold_summary"], r["slow_ehr"]
    calls = cold["fhir_calls"]
    return [
        (
            "cold summary, first byte (median / p95; ideal 0)",
            "{first_byte_median_ms} / {first_byte_p95_ms} ms".format(**cold),
        ),
        (
            f"cold summary, last section (median / p95; ideal {cold['ideal_ms']} ms)",
            "{parallel_median_ms} / {parallel_p95_ms} ms".format(**cold),
        ),
        (
            "cold summary, sequential (median / p95)",
            "{sequential_median_ms} / {sequential_p95_ms} ms".format(**cold),
        ),
        (
            "cold summary, client-py (median / p95)",
            "{client_py_median_ms} / {client_py_p95_ms} ms".format(**cold),
        ),
        (
            "  FHIR calls: the app's page / client-py's reads",
            f"{calls.get('app')} / {calls.get('client_py')}",
        ),
        ("  server-side time of those pages (p50 / p99)", _pair_server(cold["server_side"])),
        (
            "cold summary at 2 s per FHIR call: first byte max; last byte",
            "{first_byte_max_ms} ms; {last_byte_median_ms} ms".format(**slow),
        ),
    ]


def _warm_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for level, figures in r["warm_summary"].items():
        rows += [
            (f"warm summary {level}", _load(figures["summary"])),
            (
                f"  /healthz {level}; summary/healthz",
                f"{_load(figures['healthz'])}; {figures['summary_over_healthz']}",
            ),
            (
                f"  API summary (JSON) {level}; api/html rps",
                f"{_load(figures['api_summary'])}; {figures['api_over_html']}",
            ),
        ]
    return rows


def _other_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    storm, launch, mem, cost = (
        r["refresh_storm"],
        r["launch_upstream_calls"],
        r["memory"],
        r["observability_overhead"],
    )
    last = mem[max((k for k in mem if k.startswith("after_")), key=lambda k: int(k[6:]))]
    return [
        ("refresh storm: p50 / p99; server p50 / p99", _pair(storm)),
        (
            "launch: discovery/token/fhir calls, 1st",
            "{discovery}/{token}/{fhir}".format(**launch["first"]),
        ),
        (
            "launch: discovery/token/fhir calls, 2nd",
            "{discovery}/{token}/{fhir}".format(**launch["second"]),
        ),
        (
            f"memory: RSS per worker after {last['requests']} summary requests",
            ", ".join(f"{v} MiB" for v in last["rss_per_worker_mib"].values()),
        ),
        ("  RSS growth between checkpoints (goal < 10 %)", str(mem["growth_ratio"])),
        (
            "observability on vs off, warm c8 (rps; p50)",
            "{on[rps]} vs {off[rps]} rps; {on[p50_ms]} vs {off[p50_ms]} ms".format(**cost),
        ),
        (
            "  overhead (goal < 10%); audit rows; trace exports",
            "{overhead_pct} %; {audit_records_written}; {trace_exports}".format(**cost),
        ),
    ]


def _scale_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    sweep = r["scale"]
    rows = []
    for key, figures in sweep.items():
        if not key.startswith("workers_"):
            continue
        rps = ", ".join(
            f"{name} {figures[name]['rps']}" for name in figures if name != "rss_per_worker_mib"
        )
        rows.append((f"scale, {key[8:]} worker(s): rps", rps))
    rows.append(
        (
            "  grows until (workers): summary; /healthz",
            "{summary_grows_until_workers}; {healthz_grows_until_workers}".format(**sweep),
        )
    )
    return rows


def _print(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def print_table(report: dict[str, Any]) -> None:
    r, s = report["results"], report["settings"]
    where = "{database}, redis={redis}, {cpu_count} CPUs, pinned={pinned}".format(**s)
    print(
        f"\nbench ({where}, {s['load_generator']}, commit {report['commit']}, "
        f"{report['seconds']} s{', SMOKE counts' if report['smoke'] else ''})\n"
    )
    _print(
        [(g.figure, g.measured, g.goal, "met" if g.met else "MISSED") for g in goal_rows(r)],
        ("figure", "measured", "goal", "met?"),
    )
    print()
    _print(_cold_rows(r) + _warm_rows(r) + _other_rows(r) + _scale_rows(r), ("detail", "result"))
