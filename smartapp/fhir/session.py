"""A launch's session with its EHR's FHIR API: one object per launch, as client-js's Client.

`SmartSession(launch)` knows the FHIR base, the launch patient and the EHR profile, and owns
the access token: it asks the vault for a usable one, and when the EHR answers 401 it
refreshes once (single-flight across threads of this session and, through the vault's lock,
across processes) and retries once; a second 401 ends the grant (SMART App Launch 2.x: a
refused refreshed token means the user must launch again). Callers say what they want:

    session = SmartSession(launch)
    patient = session.read("Patient", launch.patient_id)
    labs = session.search_all("Observation", {"patient": ..., "category": "laboratory"})

Nobody else passes tokens around or wraps calls in lambdas.

A page that must answer within a budget gives the session a `Deadline`: every FHIR call of
the session then stops when it passes (`transport.EhrTooSlow`), retries included, so work a
page has given up on does not keep a thread busy until the read timeout.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import TypeVar

from smart.errors import GrantLost
from smart.profiles import profile_for
from smartapp import audit
from smartapp.diagnostics import recorder
from smartapp.fhir import resources, search
from smartapp.fhir.search import SearchResult
from smartapp.fhir.transport import Content, Deadline, FhirUnauthorized, Json, get_content
from smartapp.models import Launch, TokenGrant
from smartapp.observability import tenant
from smartapp.vault import store, tokens

log = logging.getLogger(__name__)
T = TypeVar("T")


class SmartSession:
    def __init__(self, launch: Launch, *, deadline: Deadline | None = None) -> None:
        self.launch = launch
        self.deadline = deadline
        self.base = launch.connection.iss
        self.profile = profile_for(launch.connection.profile)
        self._token: str | None = None
        self._grant: TokenGrant | None = None  # proved alive, not decrypted yet
        self._version = -1
        self._refreshed_once = False  # at most one refresh per session (SMART: a refused
        self._lock = threading.Lock()  # refreshed token means the user must launch again)

    def ensure_token(self) -> None:
        """Make sure the grant is alive now (refreshing an expiring token), before PHI shows.
        The token is decrypted by the first FHIR call, if any."""
        with self._lock:
            if self._token is None and self._grant is None:
                self._grant = tokens.live_grant(self.launch)

    def read(self, resource_type: str, resource_id: str) -> Json:
        audit.note_read(resource_type)
        return self._call(
            lambda token: resources.read(
                self.base, token, resource_type, resource_id, deadline=self.deadline
            )
        )

    def read_patient(self, patient_id: str) -> Json:
        """`Patient/{id}`, checked to be that patient (SMART: the context is an input to check)."""
        audit.note_read("Patient")
        return self._call(
            lambda token: resources.read_patient(
                self.base, token, patient_id, deadline=self.deadline
            )
        )

    def read_content(self, url: str, *, max_bytes: int) -> Content:
        """A document's content at `url`, which must be within the FHIR base (ForeignUrl, and
        nothing sent, otherwise): the token goes nowhere else."""
        audit.note_read("Binary")
        return self._call(
            lambda token: get_content(
                self.base, url, token, max_bytes=max_bytes, deadline=self.deadline
            )
        )

    def search(self, resource_type: str, params: Mapping[str, str]) -> SearchResult:
        """The first page of a search (for pickers that show one page)."""
        return self._search(resource_type, params, max_pages=1)

    def search_all(
        self, resource_type: str, params: Mapping[str, str], *, max_pages: int | None = None
    ) -> SearchResult:
        """Every page, following `next` links within the configured caps."""
        return self._search(resource_type, params, max_pages=max_pages)

    def _search(
        self, resource_type: str, params: Mapping[str, str], *, max_pages: int | None
    ) -> SearchResult:
        adjusted = self.profile.search_params(resource_type, params)
        audit.note_read(resource_type)  # the PHI access record names what was read
        return self._call(
            lambda token: search.search(
                self.base,
                token,
                resource_type,
                adjusted,
                max_pages=max_pages,
                deadline=self.deadline,
            )
        )

    # --- the token and the 401 rule ------------------------------------------------------------

    def _current(self) -> tuple[str, int]:
        with self._lock:
            if self._token is None:
                grant = self._grant or tokens.live_grant(self.launch)
                self._grant = None
                self._token, self._version = store.access_token(grant), grant.version
            return self._token, self._version

    def _refreshed(self, seen_version: int) -> str:
        """After a 401 on the token of `seen_version`: a new token, refreshed at most once."""
        with self._lock:
            if self._token is not None and self._version != seen_version:
                return self._token  # another thread of this session refreshed already
            if self._refreshed_once:  # the refreshed token itself was refused: no second try
                raise tokens.end_grant(self.launch, GrantLost("FHIR refused a refreshed token"))
            self._refreshed_once = True
            log.info(
                "FHIR refused the access token; refreshing once",
                extra={"launch": self.launch.handle[:6]},
            )
            token = tokens.refresh(self.launch, seen_version=seen_version, refused=True)
            self._token, self._version = token, store.grant_of(self.launch).version
            return token

    def _call(self, request: Callable[[str], T]) -> T:
        with tenant.working_for(self.launch.connection.slug), recorder.about(self.launch.pk):
            return self._call_with_refresh(request)

    def _call_with_refresh(self, request: Callable[[str], T]) -> T:
        token, version = self._current()
        try:
            return request(token)
        except FhirUnauthorized:
            pass
        try:
            return request(self._refreshed(version))
        except FhirUnauthorized as exc:
            raise tokens.end_grant(
                self.launch, GrantLost("FHIR refused the refreshed token")
            ) from exc
