"""`Fetch`: what a section builder may ask of the EHR, for the launch's patient.

Builders (smartapp/summary/builders.py) ask only through its methods: `read`, `search`
(always for the launch's patient, every page within the caps) and `may_read`. The calls go
through the launch's `SmartSession`, which owns the token and the "401 -> refresh once ->
retry once" rule, so parallel sections share one refresh. A `read` is asked of the EHR
once per build however many sections need it (demographics and the vital-sign ranges both
read the Patient): parallel callers of the same read wait for the first.
"""

from __future__ import annotations

import threading

from smart.scopes import GrantedScopes
from smartapp.fhir.search import SearchResult
from smartapp.fhir.session import SmartSession
from smartapp.summary.contract import Json


class Fetch:
    concurrent = True  # independent queries go to the EHR side by side

    def __init__(self, session: SmartSession) -> None:
        self.session = session
        self.patient = session.launch.patient_id
        self.granted = GrantedScopes.parse(session.launch.granted_scope)
        self._reads: dict[tuple[str, str], Json] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def read(self, resource_type: str, resource_id: str) -> Json:
        key = (resource_type, resource_id)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._reads:
                self._reads[key] = self.session.read(resource_type, resource_id)
            return self._reads[key]

    def search(self, rtype: str, **params: str) -> SearchResult:
        return self.session.search_all(rtype, {"patient": self.patient, **params})

    def may_read(self, rtype: str) -> bool:
        return self.granted.can_read(rtype)
