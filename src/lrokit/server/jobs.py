"""The job model: states, the legal transitions between them, and the job record."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class JobState(enum.StrEnum):
    """The lifecycle of a report job.

    A job starts ``PENDING``, becomes ``PROCESSING`` when a worker claims it, and ends in
    exactly one terminal state. Terminal states are absorbing: once written they never change.
    """

    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    DONE = "DONE"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        """Whether the state is final (``DONE``, ``ERROR`` or ``CANCELLED``)."""
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({JobState.DONE, JobState.ERROR, JobState.CANCELLED})

#: The transitions a job may make; anything else is a bug.
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.PENDING: frozenset({JobState.PROCESSING, JobState.CANCELLED}),
    # PROCESSING -> PROCESSING: a worker's lease expired and another worker took the job over.
    JobState.PROCESSING: frozenset(
        {JobState.PROCESSING, JobState.DONE, JobState.ERROR, JobState.CANCELLED}
    ),
    JobState.DONE: frozenset(),
    JobState.ERROR: frozenset(),
    JobState.CANCELLED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Job:
    """One report job as stored. Times are POSIX seconds from the store's clock."""

    id: str
    seq: int
    report_type: str
    parameters: dict[str, Any]
    state: JobState
    progress: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    expected_finish_at: float | None
    cancel_requested: bool
    attempts: int
    error: dict[str, Any] | None
    expires_at: float | None = None  # after it the job is gone (410), never resurrected


@dataclass(frozen=True, slots=True)
class NewJob:
    """What a submission asks the store to create."""

    id: str
    report_type: str
    parameters: dict[str, Any]
    idempotency_key: str | None = None
    fingerprint: str | None = None


def isoformat(ts: float) -> str:
    """RFC 3339 UTC timestamp with millisecond precision, as the contract's ``date-time``."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
