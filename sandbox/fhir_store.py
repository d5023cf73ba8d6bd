"""The sandbox's FHIR R4 data: resources by type and id, indexed by patient.

Resources live in memory, built once per process from the deterministic generator
(`sandbox.synthetic`) plus any bundles loaded with `manage.py sandbox_load` (kept as files in
SANDBOX_BUNDLE_DIR so every sandbox process sees them). What a search means (parameters,
matching, sorting) is `sandbox.fhir_search`; HTTP, paging links and access control live in
`sandbox.fhir_api`.

Every stored resource but Binary carries `meta.versionId` and `meta.lastUpdated` (FHIR R4
resource.html "Meta"): `put` fills missing ones with version "1" at a fixed instant
(deterministic), and `update` stores a changed copy as the next version, last updated now,
which is how tests make the changes an incremental export (`_since`, `_lastUpdated`) must
find. Groups are not stored:
`sandbox.synthetic.groups` synthesizes them on read from the Patients the store holds.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox import synthetic
from sandbox.fhir_search import (
    CONTROL_PARAMS,
    INCLUDES,
    READ_ONLY_TYPES,
    RESOURCE_TYPES,
    Resource,
    SearchError,
    get_path,
    matches,
    patient_of,
    sort_resources,
    supported,
)
from sandbox.synthetic.groups import (
    FIXED_LAST_UPDATED,
    GROUP_IDS,
    group_members,
    group_resource,
)


def now_instant() -> str:
    """Now as a FHIR instant: UTC, millisecond precision, `Z`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _with_meta(resource: Resource) -> Resource:
    meta = resource.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    if resource["resourceType"] == "Binary" or ("versionId" in meta and "lastUpdated" in meta):
        return resource
    filled = {"versionId": "1", "lastUpdated": FIXED_LAST_UPDATED, **meta}
    return {**resource, "meta": filled}


class FhirStore:
    """Resources by type and id, with a per-patient index for compartment searches."""

    def __init__(self, resources: Iterable[Resource] = ()) -> None:
        self._lock = threading.Lock()
        self._by_type: dict[str, dict[str, Resource]] = {rtype: {} for rtype in RESOURCE_TYPES}
        self._by_patient: dict[tuple[str, str], dict[str, Resource]] = {}
        for resource in resources:
            self.put(resource)

    def put(self, resource: Resource) -> None:
        """Store (or replace) a resource; a missing `meta.versionId` becomes "1" and a missing
        `meta.lastUpdated` the fixed instant FIXED_LAST_UPDATED, on a copy (the caller's
        dict is left as it was). Binary keeps exactly its own fields: its FHIR JSON form is
        what the client asked to be sent (`sandbox.fhir_binary`), and it is never searched."""
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if rtype not in self._by_type or not isinstance(rid, str):
            raise ValueError(f"cannot store {rtype}/{rid}")
        resource = _with_meta(resource)
        with self._lock:
            self._by_type[rtype][rid] = resource
            patient = patient_of(resource)
            if patient and rtype != "Patient":
                self._by_patient.setdefault((rtype, patient), {})[rid] = resource

    def remove(self, rtype: str, rid: str) -> None:
        """Take a resource out (tests that add one take it out again); absent is fine."""
        with self._lock:
            resource = self._by_type.get(rtype, {}).pop(rid, None)
            patient = patient_of(resource) if resource is not None else None
            if patient:
                self._by_patient.get((rtype, patient), {}).pop(rid, None)

    delete = remove

    def update(self, resource: Resource) -> Resource:
        """Store a changed copy of `resource` as its next version: `meta.versionId` one more
        than the stored (or given) one, `meta.lastUpdated` now (UTC, milliseconds, `Z`)."""
        changed = copy.deepcopy(resource)
        current = self.get(str(changed.get("resourceType")), str(changed.get("id")))
        meta = changed["meta"] = dict(changed.get("meta") or {})
        version = (current or changed).get("meta", {}).get("versionId", "0")
        meta["versionId"] = str(int(version) + 1 if str(version).isdigit() else 2)
        meta["lastUpdated"] = now_instant()
        self.put(changed)
        return changed

    def get(self, rtype: str, rid: str) -> Resource | None:
        if rtype == "Group" and rid not in self._by_type["Group"]:
            members = group_members(rid, self.patient_ids())
            return None if members is None else group_resource(rid, members)
        return self._by_type.get(rtype, {}).get(rid)

    def patient_ids(self) -> list[str]:
        return list(self._by_type["Patient"])

    def all_of(self, rtype: str) -> list[Resource]:
        """Every resource of a type (synthesized Groups included), by id."""
        found = list(self._candidates(rtype, []))
        return sorted(found, key=lambda r: str(r["id"]))

    def count(self, rtype: str) -> int:
        return len(self._by_type.get(rtype, {}))

    def search(
        self,
        rtype: str,
        params: Sequence[tuple[str, str]],
    ) -> list[Resource]:
        """All matches of `params` (AND across entries), sorted as asked."""
        if rtype not in self._by_type:
            raise SearchError(f"unknown resource type {rtype!r}")
        if rtype in READ_ONLY_TYPES:
            raise SearchError(f"{rtype} is read only here: read {rtype}/{{id}}, no search")
        criteria = [(name, value) for name, value in params if name not in CONTROL_PARAMS]
        for name, _ in criteria:
            if not supported(rtype, name):
                raise SearchError(f"{rtype} does not support the search parameter {name!r}")
        candidates = self._candidates(rtype, criteria)
        found = [r for r in candidates if all(matches(r, n, v) for n, v in criteria)]
        sort = [value for name, value in params if name == "_sort"]
        for spec in (value for name, value in params if name == "_include"):
            if not spec.startswith(f"{rtype}:") or spec not in INCLUDES:
                raise SearchError(f"unsupported _include {spec!r}")
        return sort_resources(found, sort[-1] if sort else "_id")

    def _candidates(self, rtype: str, criteria: list[tuple[str, str]]) -> Iterable[Resource]:
        # Narrow to one patient's records when the search names a single patient.
        for name, value in criteria:
            if name in ("patient", "subject") and "," not in value and rtype != "Patient":
                patient = value.removeprefix("Patient/")
                return list(self._by_patient.get((rtype, patient), {}).values())
        if rtype == "Group":
            stored = self._by_type["Group"]
            ids = set(stored) | set(GROUP_IDS)
            return [group for gid in sorted(ids) if (group := self.get("Group", gid))]
        return list(self._by_type[rtype].values())

    def includes(self, found: Sequence[Resource], wanted: Sequence[str]) -> list[Resource]:
        """The resources that `_include` specs (already validated by search) point at."""
        included: dict[str, Resource] = {}
        for spec in wanted:
            for resource in found:
                reference = get_path(resource, f"{INCLUDES[spec]}.reference")
                if isinstance(reference, str) and "/" in reference:
                    target_type, target_id = reference.split("/", 1)
                    target = self.get(target_type, target_id)
                    if target is not None:
                        included[reference] = target
        return list(included.values())


_store: FhirStore | None = None
_store_lock = threading.Lock()


def bundle_resources(bundle: Mapping[str, Any]) -> list[Resource]:
    """The resources of a Bundle (or a single resource) that the sandbox can serve.

    Transaction bundles (Synthea's output) refer to their entries by `urn:uuid:` fullUrls;
    those references are rewritten to `Type/id` so searches by patient find them.
    """
    if bundle.get("resourceType") != "Bundle":
        return [dict(bundle)] if bundle.get("resourceType") in RESOURCE_TYPES else []
    entries = [entry for entry in bundle.get("entry", []) if isinstance(entry, Mapping)]
    aliases = {
        str(entry["fullUrl"]): f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
        for entry in entries
        if entry.get("fullUrl")
        and isinstance(entry.get("resource"), Mapping)
        and "id" in entry["resource"]
    }
    out = []
    for entry in entries:
        resource = entry.get("resource")
        if isinstance(resource, Mapping) and resource.get("resourceType") in RESOURCE_TYPES:
            out.append(_rewrite_references(dict(resource), aliases))
    return out


def _rewrite_references(value: Any, aliases: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            key: aliases.get(item, item)
            if key == "reference" and isinstance(item, str)
            else _rewrite_references(item, aliases)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rewrite_references(item, aliases) for item in value]
    return value


def bundle_dir() -> Path:
    from django.conf import settings

    default = Path(settings.BASE_DIR) / "var" / "sandbox" / "bundles"
    return Path(getattr(settings, "SANDBOX_BUNDLE_DIR", default))


def build_store() -> FhirStore:
    """Synthetic data, then the generated population (`pop-<n>` patients, when one is
    configured: `settings.SANDBOX_POPULATION`, else `population.json` beside the bundle folder,
    as `sandbox_seed --patients` writes it), then every bundle in the bundle folder, in
    file-name order."""
    from django.conf import settings

    from sandbox.synthetic import population

    store = FhirStore(synthetic.generate())
    folder = bundle_dir()
    setting = getattr(settings, "SANDBOX_POPULATION", None)
    for resource in population.generate(population.configured_size(folder.parent, setting)):
        store.put(resource)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        for resource in bundle_resources(json.loads(path.read_text())):
            store.put(resource)
    return store


def get_store() -> FhirStore:
    """The process-wide store, built on first use."""
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                _store = build_store()
    return _store
