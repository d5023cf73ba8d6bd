"""The extraction job's state machine (smartapp.extraction.states): the table, checked whole."""

from __future__ import annotations

import itertools

import pytest

from smartapp.extraction.states import (
    TERMINAL,
    TRANSITIONS,
    IllegalJobTransition,
    JobEvent,
    JobState,
    advance,
)

S, E = JobState, JobEvent

# The diagram in the module docstring, written out by hand: the table must say exactly this.
EXPECTED = {
    (S.QUEUED, E.KICKED_OFF): S.KICKED_OFF,
    (S.QUEUED, E.SEARCHING): S.DOWNLOADING,
    (S.KICKED_OFF, E.POLLED): S.POLLING,
    (S.POLLING, E.POLLED): S.POLLING,
    (S.KICKED_OFF, E.MANIFEST): S.DOWNLOADING,
    (S.POLLING, E.MANIFEST): S.DOWNLOADING,
    (S.DOWNLOADING, E.FILES_DONE): S.LOADING,
    (S.LOADING, E.FINISHED): S.DONE,
    **{
        (state, event): outcome
        for state in (S.QUEUED, S.KICKED_OFF, S.POLLING, S.DOWNLOADING, S.LOADING)
        for event, outcome in ((E.FAILED, S.FAILED), (E.CANCELLED, S.CANCELLED))
    },
}
NON_TERMINAL = [state for state in S if state not in TERMINAL]


def test_the_table_is_the_diagram() -> None:
    assert TRANSITIONS == EXPECTED


@pytest.mark.parametrize(("state", "event"), sorted(EXPECTED))
def test_every_legal_transition_advances(state: JobState, event: JobEvent) -> None:
    assert advance(state, event) is EXPECTED[(state, event)]


ILLEGAL = sorted(set(itertools.product(S, E)) - set(EXPECTED))


@pytest.mark.parametrize(("state", "event"), ILLEGAL)
def test_every_other_pair_is_an_illegal_transition(state: JobState, event: JobEvent) -> None:
    with pytest.raises(IllegalJobTransition) as raised:
        advance(state, event)
    assert (raised.value.state, raised.value.event) == (state, event)
    assert str(state) in str(raised.value)
    assert str(event) in str(raised.value)


def test_illegal_pairs_are_most_of_the_space() -> None:
    # Guards the parametrisation above against an empty list (a test that cannot fail).
    assert len(ILLEGAL) == len(S) * len(E) - len(EXPECTED) > 0
    assert (S.QUEUED, E.MANIFEST) in ILLEGAL  # no manifest before a kick-off
    assert (S.DOWNLOADING, E.FINISHED) in ILLEGAL  # no skipping the load step
    assert (S.LOADING, E.POLLED) in ILLEGAL  # no going back


def test_the_terminal_states_are_done_failed_and_cancelled() -> None:
    assert frozenset({S.DONE, S.FAILED, S.CANCELLED}) == TERMINAL


@pytest.mark.parametrize("state", sorted(TERMINAL))
@pytest.mark.parametrize("event", list(E))
def test_a_terminal_state_has_no_exit(state: JobState, event: JobEvent) -> None:
    with pytest.raises(IllegalJobTransition):
        advance(state, event)


@pytest.mark.parametrize("state", NON_TERMINAL)
def test_every_non_terminal_state_can_fail_and_be_cancelled(state: JobState) -> None:
    assert advance(state, E.FAILED) is S.FAILED
    assert advance(state, E.CANCELLED) is S.CANCELLED


def test_every_state_is_reachable_from_queued() -> None:
    seen, frontier = {S.QUEUED}, [S.QUEUED]
    while frontier:
        state = frontier.pop()
        for event in E:
            try:
                nxt = advance(state, event)
            except IllegalJobTransition:
                continue
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(S)


def test_every_non_terminal_state_can_still_reach_done() -> None:
    # No dead ends short of a terminal state: a job can always finish normally.
    for start in NON_TERMINAL:
        seen, frontier = {start}, [start]
        while frontier:
            state = frontier.pop()
            for (src, _event), dst in TRANSITIONS.items():
                if src is state and dst not in seen:
                    seen.add(dst)
                    frontier.append(dst)
        assert S.DONE in seen, start


@pytest.mark.parametrize(
    "path",
    [
        [E.KICKED_OFF, E.MANIFEST, E.FILES_DONE, E.FINISHED],
        [E.KICKED_OFF, E.POLLED, E.POLLED, E.POLLED, E.MANIFEST, E.FILES_DONE, E.FINISHED],
        [E.SEARCHING, E.FILES_DONE, E.FINISHED],
    ],
    ids=["manifest-at-once", "polled", "search-fallback"],
)
def test_the_happy_paths_end_in_done(path: list[JobEvent]) -> None:
    state = S.QUEUED
    for event in path:
        state = advance(state, event)
    assert state is S.DONE
