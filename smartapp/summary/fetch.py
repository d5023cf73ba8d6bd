"""`Fetch`: what a section builder may ask of the EHR, for the launch's patient.

Builders (smartapp/summary/builders.py) ask only through its methods: `read`, `search`
(always for the launch's patient, every page within the caps) and `may_read`. The calls go
through the launch's `SmartSession`, which owns the token and the "401 -> refresh once ->
retry once" rule, so parallel sections share one refresh.
"""

from __future__ import annotations

from smart.scopes import GrantedScopes
from smartapp.fhir.search import SearchResult
from smartapp.fhir.session import SmartSession
from smartapp.summary.contract import Json


class Fetch:
    def __init__(self, session: SmartSession) -> None:
        self.session = session
        self.patient = session.launch.patient_id
        self.granted = GrantedScopes.parse(session.launch.granted_scope)

    def read(self, resource_type: str, resource_id: str) -> Json:
        return self.session.read(resource_type, resource_id)

    def search(self, rtype: str, **params: str) -> SearchResult:
        return self.session.search_all(rtype, {"patient": self.patient, **params})

    def may_read(self, rtype: str) -> bool:
        return self.granted.can_read(rtype)
