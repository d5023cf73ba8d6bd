"""`Fetch`: the FHIR calls of one launch, with one access token.

The section builders (smartapp/summary/builders.py) ask the EHR only through its methods:
`read`, `search` (always for the launch's patient) and `may_read`.
"""

from __future__ import annotations

from smart.scopes import GrantedScopes
from smartapp.fhir.resources import read
from smartapp.fhir.search import SearchResult, search
from smartapp.models import Launch
from smartapp.summary.contract import Json


class Fetch:
    """The FHIR calls for one launch, with one access token (refreshed once on a 401)."""

    def __init__(self, launch: Launch, access_token: str) -> None:
        self.base = launch.connection.iss
        self.patient = launch.patient_id
        self.token = access_token
        self.granted = GrantedScopes.parse(launch.granted_scope)

    def read(self, resource_type: str, resource_id: str) -> Json:
        return read(self.base, self.token, resource_type, resource_id)

    def search(self, rtype: str, **params: str) -> SearchResult:
        return search(self.base, self.token, rtype, {"patient": self.patient, **params})

    def may_read(self, rtype: str) -> bool:
        return self.granted.can_read(rtype)
