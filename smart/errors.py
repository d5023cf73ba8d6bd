"""One error hierarchy for everything a launch can meet, mapped to one page at the edge.

Each class carries a stable code (the OAuth/SMART error code where there is one), the HTTP
status, a title and message a clinician or patient can act on, and the safe way forward:
relaunch from the EHR, sign in again, or try again. `smartapp.middleware.SmartErrorMiddleware`
renders them; nothing here ever carries a token, a code or a stack trace to the page.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class NextStep(StrEnum):
    RELAUNCH = "relaunch"  # open the app again from the EHR, or sign in again
    TRY_AGAIN = "try_again"  # the same action may work in a moment
    NONE = "none"


class SmartAppError(Exception):
    code = "app_error"
    status = 400
    title = "Something went wrong"
    message = "The app could not finish what it was doing."
    next_step = NextStep.RELAUNCH

    def __init__(self, detail: str | None = None, *, ehr_name: str | None = None) -> None:
        super().__init__(detail or self.message)
        self.detail = detail  # for the log line, never shown to the user
        self.ehr_name = ehr_name
        self.frame_origins: list[str] = []  # the EHR that may frame the error page, if known
        # A page of this browser's own active session to offer instead of starting again
        # (a replayed callback of a launch that is still live here). Never set for a launch
        # this browser is not bound to.
        self.continue_url: str | None = None
        # A page of the same launch to go back to (a document that cannot be opened: its
        # launch's summary).
        self.back_url: str | None = None
        # What the EHR itself said (an authorization or token error, RFC 6749 4.1.2.1 and
        # 5.2), sanitised by `ehr_words`: shown on the page, as the EHR's words, not ours.
        self.ehr_error: str | None = None
        self.ehr_description: str | None = None
        # The launch this error ended or concerns, for staff's link to its debugger page.
        self.launch_handle: str | None = None

    @property
    def heading(self) -> str:
        return self.title

    def about(self, connection: Any) -> SmartAppError:
        """Name the EHR on the page and let it frame the page (the launch is known)."""
        self.ehr_name = connection.name
        self.frame_origins = list(connection.frame_origins)
        return self

    def of_launch(self, launch: Any) -> SmartAppError:
        """`about` the launch's EHR, and name the launch (staff get a link to its debugger)."""
        self.launch_handle = launch.handle
        return self.about(launch.connection)


# RFC 6749 4.1.2.1 and 5.2: `error` and `error_description` are printable ASCII other than
# '"' and '\\'. Anything else an EHR sends becomes a space before it is shown or stored.
_OAUTH_TEXT = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}
EHR_CODE_LIMIT = 60
EHR_DESCRIPTION_LIMIT = 200


def ehr_words(value: object, limit: int = EHR_DESCRIPTION_LIMIT) -> str | None:
    """An EHR's `error` or `error_description` fit to show: the RFC's characters only,
    whitespace collapsed, at most `limit` characters (an ellipsis marks a cut); None if empty."""
    if not isinstance(value, str):
        return None
    kept = " ".join("".join(c if c in _OAUTH_TEXT else " " for c in value[: limit * 4]).split())
    if len(kept) > limit:
        kept = kept[: limit - 1].rstrip() + "\u2026"
    return kept or None


class BadInput(SmartAppError):
    code = "bad_request"
    title = "That request could not be understood"
    message = "Part of it was not valid text. Go back and start again."


class UnknownIssuer(SmartAppError):
    code = "unknown_iss"
    title = "This EHR is not connected"
    message = (
        "The app was opened by a system it is not registered with, so it did not contact it. "
        "Ask your administrator to connect this EHR."
    )
    next_step = NextStep.NONE


class BadLaunchRequest(SmartAppError):
    code = "invalid_request"
    title = "The launch request was incomplete"
    message = (
        "The EHR opened the app without the details a launch needs. Open it again from the EHR."
    )


class DiscoveryFailed(SmartAppError):
    code = "discovery_failed"
    status = 502
    title = "The EHR did not describe itself"
    message = "The app could not read the EHR's sign-in configuration. Try again in a moment."
    next_step = NextStep.TRY_AGAIN


class StateMissing(SmartAppError):
    code = "invalid_state"
    title = "This sign-in link is not valid"
    message = "The sign-in response did not match a sign-in started here. Start again."


class StateReplayed(StateMissing):
    code = "state_replayed"
    title = "This sign-in was already used"
    message = "A sign-in response can be used once. If you pressed back or reload, start again."


class StateExpired(StateMissing):
    code = "state_expired"
    title = "This sign-in took too long"
    message = "Sign-ins must finish within 10 minutes. Start again."


class SessionMismatch(StateMissing):
    code = "session_mismatch"
    title = "This sign-in belongs to another browser"
    message = "The sign-in was started in a different browser or session. Start again here."


class IssuerMismatch(SmartAppError):
    code = "iss_mismatch"
    title = "The sign-in came back from the wrong place"
    message = "The response did not come from the EHR the app sent you to, so it was discarded."


class AccessDenied(SmartAppError):
    code = "access_denied"
    status = 403
    title = "You chose not to share"
    message = "Nothing was shared with the app. You can try again and choose what to share."


class AuthorizationFailed(SmartAppError):
    code = "authorization_failed"
    title = "The EHR did not allow the sign-in"
    message = "The EHR refused the app's request. Try again, or ask your administrator."


class TokenExchangeFailed(SmartAppError):
    code = "token_exchange_failed"
    status = 502
    title = "The EHR did not complete the sign-in"
    message = "The EHR did not issue access for this sign-in. Start again."


class TokenResponseInvalid(TokenExchangeFailed):
    code = "invalid_token_response"
    title = "The EHR's answer was not usable"
    message = (
        "The EHR answered the sign-in in a way the app cannot use. "
        "Start again, or ask your administrator."
    )
    # The tokens the refused answer nevertheless carried (smart.token_response.IssuedTokens),
    # so the caller can give them back (RFC 7009). Never rendered, logged or in str(error).
    issued: Any = None


class IdTokenInvalid(SmartAppError):
    code = "invalid_id_token"
    title = "The EHR's identity statement did not check out"
    message = "The app could not verify who signed in, so it discarded the sign-in. Start again."


class PatientUnavailable(SmartAppError):
    code = "patient_unavailable"
    status = 403
    title = "This patient's record cannot be opened"
    message = "The EHR did not let the app read the patient it was opened for. Nothing is shown."


class EhrUnavailable(SmartAppError):
    code = "ehr_unavailable"
    status = 503
    title = "The EHR is not answering"
    message = "The EHR did not answer in time. Your session is intact; try again in a moment."
    next_step = NextStep.TRY_AGAIN


class DocumentNotFound(SmartAppError):
    """A document that is not this launch's patient's, or that the list would not show."""

    code = "document_not_found"
    status = 404
    title = "This document cannot be opened"
    message = (
        "It is not in this patient's record, or the EHR no longer offers it. "
        "Go back to the summary and choose it again."
    )
    next_step = NextStep.NONE


class DocumentForbidden(DocumentNotFound):
    code = "document_forbidden"
    status = 403
    message = "The EHR did not allow this sign-in to open it. Go back to the summary."


class LaunchNotFound(SmartAppError):
    code = "launch_not_found"
    status = 404
    title = "This page is not available"
    message = "It belongs to a session that has ended or to another browser. Open the app again."


class GrantLost(SmartAppError):
    code = "session_ended"
    status = 401
    title = "Your session has ended"
    message = (
        "The EHR no longer accepts this session, so nothing more is shown. "
        "Open the app again to continue."
    )

    @property
    def heading(self) -> str:
        return f"Your session with {self.ehr_name} has ended" if self.ehr_name else self.title


class SignedOut(SmartAppError):
    code = "signed_out"
    status = 410
    title = "You have signed out"
    message = "This session is closed and its access was given back to the EHR."


class LaunchEnded(SmartAppError):
    code = "launch_ended"
    status = 410
    title = "This session has ended"
    message = "Open the app again from the EHR, or sign in again."


class TooManyLaunches(SmartAppError):
    code = "too_many_launches"
    status = 429
    title = "Too many sign-ins from here"
    message = "The app was opened too many times in a short while. Wait a minute and try again."
    next_step = NextStep.TRY_AGAIN

    def __init__(self, detail: str | None = None, *, retry_after_s: int = 60) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s  # sent as Retry-After (RFC 9110 10.2.3)
