"""The launch state machine: a small table of states and the events that move between them.

    started --redirected--> authorizing --code_received--> exchanging --tokens_accepted--> active
    authorizing --denied--> cancelled          active --signed_out--> signed_out
    authorizing --auth_error--> failed         active --grant_lost--> reauth_required
    exchanging --exchange_failed--> failed     started|authorizing|exchanging|active
                                                   --timed_out--> expired

`advance` is pure: it returns the next state or raises IllegalTransition. The service layer
persists the result under a row lock, so two callbacks racing for one launch cannot both move
it. docs/launch-state-machine.md draws the same table.
"""

from __future__ import annotations

from enum import StrEnum


class LaunchState(StrEnum):
    STARTED = "started"
    AUTHORIZING = "authorizing"
    EXCHANGING = "exchanging"
    ACTIVE = "active"
    CANCELLED = "cancelled"
    FAILED = "failed"
    EXPIRED = "expired"
    SIGNED_OUT = "signed_out"
    REAUTH_REQUIRED = "reauth_required"


class LaunchEvent(StrEnum):
    REDIRECTED = "redirected"
    CODE_RECEIVED = "code_received"
    TOKENS_ACCEPTED = "tokens_accepted"
    DENIED = "denied"
    AUTH_ERROR = "auth_error"
    EXCHANGE_FAILED = "exchange_failed"
    TIMED_OUT = "timed_out"
    SIGNED_OUT = "signed_out"
    GRANT_LOST = "grant_lost"


S, E = LaunchState, LaunchEvent
TRANSITIONS: dict[tuple[LaunchState, LaunchEvent], LaunchState] = {
    (S.STARTED, E.REDIRECTED): S.AUTHORIZING,
    (S.STARTED, E.TIMED_OUT): S.EXPIRED,
    (S.AUTHORIZING, E.CODE_RECEIVED): S.EXCHANGING,
    (S.AUTHORIZING, E.DENIED): S.CANCELLED,
    (S.AUTHORIZING, E.AUTH_ERROR): S.FAILED,
    (S.AUTHORIZING, E.TIMED_OUT): S.EXPIRED,
    (S.EXCHANGING, E.TOKENS_ACCEPTED): S.ACTIVE,
    (S.EXCHANGING, E.EXCHANGE_FAILED): S.FAILED,
    # A process that died mid-exchange leaves the launch here; housekeeping reaps it (and
    # its encrypted verifier) once the authorization has expired.
    (S.EXCHANGING, E.TIMED_OUT): S.EXPIRED,
    (S.ACTIVE, E.SIGNED_OUT): S.SIGNED_OUT,
    (S.ACTIVE, E.TIMED_OUT): S.EXPIRED,
    (S.ACTIVE, E.GRANT_LOST): S.REAUTH_REQUIRED,
}
TERMINAL = frozenset(S) - {state for state, _ in TRANSITIONS}


class IllegalTransition(Exception):
    def __init__(self, state: LaunchState, event: LaunchEvent) -> None:
        super().__init__(f"a launch in state {state} cannot take event {event}")
        self.state, self.event = state, event


def advance(state: LaunchState, event: LaunchEvent) -> LaunchState:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(state, event) from None
