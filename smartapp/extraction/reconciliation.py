"""Which types a full run may reconcile (mark what it did not see as deleted at source).

A full export that loaded every resource of a type says, by omission, which of the store's
rows of that type the EHR no longer has. If anything of that type did not load, the
omission proves nothing: the resource may be the one that did not arrive. So a type is left
out of reconciliation when the server listed error files, when a line of it was skipped
(malformed, over-long, refused), or when a file held fewer resources than the manifest's
`count`; and a Group-level export, which covers its members only, reconciles nothing. The
reasons are kept on the job (`unreconciled`) and shown by `extract_status`.
"""

from __future__ import annotations

from smart import bulk
from smartapp.extraction.records import ExtractionJob


def unreconciled(job: ExtractionJob) -> dict[str, str]:
    """Types a full run must not reconcile: a resource it did not load may still be at the
    source (the server listed error files, a line was skipped, a file came up short of the
    manifest's count), and marking it deleted would be wrong. A Group export covers only
    its members."""
    if job.level == bulk.ExportLevel.GROUP:
        return dict.fromkeys(job.types, "a Group export covers its members only")
    if job.server_error_files:
        return dict.fromkeys(job.types, "the server listed error files")
    why: dict[str, str] = {}
    for file in job.files.all():
        short = file.expected is not None and file.resources_loaded < file.expected
        if file.malformed or file.refused:
            why[file.resource_type] = "lines were skipped"
        elif short:
            why[file.resource_type] = "a file held fewer resources than the manifest said"
    return why
