"""The patient summary: the PatientSummary contract, the clinical mapping from FHIR R4 JSON,
the section registry, the encrypted section cache and the service that builds a summary.

- `contract`: the typed values, `Section`, `SectionStatus` and the cache's JSON form (pure);
- `codes`, `demographics`, `problems`, `medications`, `allergies`, `immunizations`,
  `encounters`, `observations`: the clinical rules, one module per area (pure);
- `sections`: the registry, one `SectionSpec` per section (name, title, FHIR types, cache
  time-to-live, builder, card template); everything else about a section derives from it;
- `builders`: the builders, each asking the EHR only through the `Fetch` methods;
- `fetch`: `Fetch`, the FHIR calls of one launch;
- `cache`: the encrypted per-section cache;
- `service`: `build_summary` (parallel, cached, within a time budget) and the drill-down
  queries.
"""
