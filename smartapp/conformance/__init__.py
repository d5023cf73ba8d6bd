"""`smart_check`: a SMART server's conformance, for go-live checks (docs/smart-check.md).

`checks.run_checks(iss, connection) -> Report` probes one server; `report.render(report,
fmt)` writes it as a table, JSON or JUnit XML. The pure judging is `smart.conformance` and
`smart.conformance_rules`; `probe` does the I/O.
"""
