"""smart.launch_states: every transition in the table, and illegal moves refused."""

from __future__ import annotations

import itertools

import pytest

from smart.launch_states import (
    TERMINAL,
    TRANSITIONS,
    IllegalTransition,
    LaunchEvent,
    LaunchState,
    advance,
)

S, E = LaunchState, LaunchEvent
EXPECTED = {
    (S.STARTED, E.REDIRECTED): S.AUTHORIZING,
    (S.STARTED, E.TIMED_OUT): S.EXPIRED,
    (S.AUTHORIZING, E.CODE_RECEIVED): S.EXCHANGING,
    (S.AUTHORIZING, E.DENIED): S.CANCELLED,
    (S.AUTHORIZING, E.AUTH_ERROR): S.FAILED,
    (S.AUTHORIZING, E.TIMED_OUT): S.EXPIRED,
    (S.EXCHANGING, E.TOKENS_ACCEPTED): S.ACTIVE,
    (S.EXCHANGING, E.EXCHANGE_FAILED): S.FAILED,
    (S.EXCHANGING, E.TIMED_OUT): S.EXPIRED,  # reaped when a process died mid-exchange
    (S.ACTIVE, E.SIGNED_OUT): S.SIGNED_OUT,
    (S.ACTIVE, E.TIMED_OUT): S.EXPIRED,
    (S.ACTIVE, E.GRANT_LOST): S.REAUTH_REQUIRED,
}


@pytest.mark.parametrize(("move", "target"), list(EXPECTED.items()))
def test_each_transition(move, target) -> None:
    assert advance(*move) is target


def test_the_table_is_exactly_the_documented_one() -> None:
    assert TRANSITIONS == EXPECTED


@pytest.mark.parametrize("move", [m for m in itertools.product(S, E) if m not in EXPECTED])
def test_every_other_move_is_illegal(move) -> None:
    with pytest.raises(IllegalTransition):
        advance(*move)


def test_terminal_states() -> None:
    assert {S.CANCELLED, S.FAILED, S.EXPIRED, S.SIGNED_OUT, S.REAUTH_REQUIRED} == TERMINAL
