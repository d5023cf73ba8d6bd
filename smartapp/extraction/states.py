"""The extraction job's state machine: a table of states and the events that move them.

    queued --kicked_off--> kicked_off --polled--> polling --polled--> polling
    kicked_off|polling --manifest--> downloading     queued --searching--> downloading
    downloading --files_done--> loading --finished--> done
    any state but done, failed, cancelled --failed--> failed | --cancelled--> cancelled

`queued`: the job row exists, the kick-off is not yet accepted (a 429 keeps it here).
`downloading`: output files (or, for servers without `$export`, per-type searches) are being
read and loaded, each file in bounded chunks as it streams. `loading`: every file is
finished; what is left happens once per job (a full run's reconciliation, deleting the job at
the server). Pure: `advance` returns the next state or raises IllegalJobTransition; the
service saves it under a row lock (smartapp.extraction.jobs).
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    QUEUED = "queued"
    KICKED_OFF = "kicked_off"
    POLLING = "polling"
    DOWNLOADING = "downloading"
    LOADING = "loading"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobEvent(StrEnum):
    KICKED_OFF = "kicked_off"
    POLLED = "polled"
    MANIFEST = "manifest"
    SEARCHING = "searching"
    FILES_DONE = "files_done"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


S, E = JobState, JobEvent
TERMINAL = frozenset({S.DONE, S.FAILED, S.CANCELLED})
TRANSITIONS: dict[tuple[JobState, JobEvent], JobState] = {
    (S.QUEUED, E.KICKED_OFF): S.KICKED_OFF,
    (S.QUEUED, E.SEARCHING): S.DOWNLOADING,
    (S.KICKED_OFF, E.POLLED): S.POLLING,
    (S.POLLING, E.POLLED): S.POLLING,
    (S.KICKED_OFF, E.MANIFEST): S.DOWNLOADING,
    (S.POLLING, E.MANIFEST): S.DOWNLOADING,
    (S.DOWNLOADING, E.FILES_DONE): S.LOADING,
    (S.LOADING, E.FINISHED): S.DONE,
    **{(state, E.FAILED): S.FAILED for state in S if state not in TERMINAL},
    **{(state, E.CANCELLED): S.CANCELLED for state in S if state not in TERMINAL},
}


class IllegalJobTransition(Exception):
    def __init__(self, state: JobState, event: JobEvent) -> None:
        super().__init__(f"an extraction job in state {state} cannot take event {event}")
        self.state, self.event = state, event


def advance(state: JobState, event: JobEvent) -> JobState:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalJobTransition(state, event) from None


class FileState(StrEnum):
    PENDING = "pending"
    LOADING = "loading"
    DONE = "done"
    FAILED = "failed"
