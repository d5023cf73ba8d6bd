"""Enterprise extraction: SMART Backend Services + FHIR Bulk Data into the canonical store
(`smartapp.warehouse`), run as Celery tasks (docs/extraction.md)."""
