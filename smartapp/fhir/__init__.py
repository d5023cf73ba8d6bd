"""Talking to an EHR's FHIR API.

- `session.SmartSession`: one per launch; what pages and services use (`read`, `search`,
  `search_all`), owning the token and the "401 -> refresh once -> retry once" rule;
- `search`: search-type interactions with paging and `_include`, within caps;
- `resources`: the R4 model check every resource passes before it is trusted;
- `transport`: one GET with retries, back-off, `Retry-After` and the error mapping;
- `breaker`: the per-EHR circuit breaker.
"""
