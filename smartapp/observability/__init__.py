"""Observability: Prometheus metrics (`metrics`, served by `endpoint`), OpenTelemetry traces
(`tracing`, cleaned by `span_redaction`) and the tenant label they share (`tenant`).
The PHI access trail is `smartapp.audit`. docs/observability.md is the operator's guide."""
