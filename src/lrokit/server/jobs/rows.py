"""What both job stores share of the ``jobs`` table: the columns a :class:`Job` is read from,
and how a row of them becomes one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from lrokit.server.jobs.job import Job, JobState

COLUMNS = (
    "id, seq, report_type, parameters, state, progress, created_at, started_at, finished_at,"
    " expected_finish_at, cancel_requested, attempts, error, expires_at, owner"
)


def job_from_row(row: Sequence[Any]) -> Job:
    """The job of a row of :data:`COLUMNS` (JSON columns as text or bytes)."""
    return Job(
        id=row[0],
        seq=row[1],
        report_type=row[2],
        parameters=orjson.loads(row[3]),
        state=JobState(row[4]),
        progress=row[5],
        created_at=row[6],
        started_at=row[7],
        finished_at=row[8],
        expected_finish_at=row[9],
        cancel_requested=bool(row[10]),
        attempts=row[11],
        error=orjson.loads(row[12]) if row[12] is not None else None,
        expires_at=row[13],
        owner=row[14],
    )
