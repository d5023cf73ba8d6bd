"""The benchmark's table, printed from bench/results.json's shape."""

from __future__ import annotations

from typing import Any


def print_table(report: dict[str, Any]) -> None:
    r = report["results"]
    cold, storm, launch, mem = (
        r["cold_summary"],
        r["refresh_storm"],
        r["launch_upstream_calls"],
        r["memory_rss_mib"],
    )
    rows = [
        (
            "cold summary, first byte (median / p95; ideal 0)",
            f"{cold['first_byte_median_ms']} / {cold['first_byte_p95_ms']} ms",
        ),
        (
            f"cold summary, last section (median / p95; ideal {cold['ideal_ms']} ms)",
            f"{cold['parallel_median_ms']} / {cold['parallel_p95_ms']} ms",
        ),
        (
            "cold summary, sequential (median / p95)",
            f"{cold['sequential_median_ms']} / {cold['sequential_p95_ms']} ms",
        ),
        ("  parallel/sequential (goal <= 0.2)", str(cold["parallel_over_sequential"])),
        ("  parallel/ideal (goal <= 1.5)", str(cold["parallel_over_ideal"])),
    ]
    for level, figures in r["warm_summary"].items():
        rows.append(
            (
                f"warm summary {level}: rps, p50, p99",
                "{rps} rps, {p50_ms} ms, {p99_ms} ms".format(**figures["summary"]),
            )
        )
        rows.append(
            (
                f"  /healthz {level} rps; summary/healthz",
                f"{figures['healthz']['rps']}; {figures['summary_over_healthz_rps']}",
            )
        )
        rows.append(
            (
                f"  API summary (JSON) {level}: rps, p50, p99; api/html rps",
                "{rps} rps, {p50_ms} ms, {p99_ms} ms".format(**figures["api_summary"])
                + f"; {figures['api_over_html_rps']}",
            )
        )
    rows += [
        (
            "refresh storm: refreshes / failures / p99",
            "{token_endpoint_refreshes} / {failures} / {p99_ms} ms ({requests} requests)".format(
                **storm
            ),
        ),
        (
            "launch: discovery/token/fhir calls, 1st",
            "{discovery}/{token}/{fhir}".format(**launch["first"]),
        ),
        (
            "launch: discovery/token/fhir calls, 2nd",
            "{discovery}/{token}/{fhir}".format(**launch["second"]),
        ),
        ("memory growth between checkpoints", str(mem["growth"])),
    ]
    cost = r["observability_overhead"]
    rows += [
        (
            "observability on vs off, warm c8 (rps; p50)",
            "{on[rps]} vs {off[rps]} rps; {on[p50_ms]} vs {off[p50_ms]} ms".format(**cost),
        ),
        (
            "  overhead (goal < 10%); audit rows; trace exports",
            "{overhead_pct} %; {audit_records_written}; {trace_exports}".format(**cost),
        ),
    ]
    width = max(len(name) for name, _ in rows)
    where = "{database}, redis={redis}".format(**report["settings"])
    print(f"\nbench ({where}, commit {report['commit']}, {report['seconds']} s)")
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}")
