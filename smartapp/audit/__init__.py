"""The PHI access audit trail (issue 15): one append-only, hash-chained row per access to
patient data, with verification, FHIR AuditEvent export (IHE BALP) and retention.

- `trail`: what views call (`accessed`, `open_access`, `recording`, `note_read`).
- `chain`: the canonical form and hash of a row, appending under a lock, verifying.
- `records`: the tables; `auditevent`: the FHIR R4 AuditEvent of a row; `retention`:
  archive-then-delete of rows past AUDIT_RETENTION_DAYS.

docs/audit.md describes the guarantees on each database and the grants production needs.
"""

from smartapp.audit.trail import Access, accessed, note_read, open_access, recording

__all__ = ["Access", "accessed", "note_read", "open_access", "recording"]
