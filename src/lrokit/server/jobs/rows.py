"""What both job stores share: the columns a :class:`Job` is read from and how a row of them
becomes one; what a change of state puts into the webhook outbox; the outbox's columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from lrokit.server.jobs.document import status_document
from lrokit.server.jobs.job import (
    Callback,
    CallbackEvents,
    CallbackState,
    Delivery,
    Job,
    JobState,
    webhook_id,
)

COLUMNS = (
    "id, seq, report_type, parameters, state, progress, created_at, started_at, finished_at,"
    " expected_finish_at, cancel_requested, attempts, error, expires_at, owner,"
    " callback_url, callback_events, callback_root, callback_state, callback_attempts,"
    " callback_error"
)
#: The columns a :class:`Delivery` is read from.
DELIVERY_COLUMNS = "seq, id, job_id, url, body, created_at, attempts"


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
        callback=Callback(
            url=row[15],
            events=CallbackEvents(row[16]),
            root=row[17],
            state=CallbackState(row[18]),
            attempts=row[19],
            last_error=row[20],
        )
        if row[15] is not None
        else None,
    )


def delivery_from_row(row: Sequence[Any]) -> Delivery:
    """The delivery of a row of :data:`DELIVERY_COLUMNS`."""
    return Delivery(
        seq=row[0],
        id=row[1],
        job_id=row[2],
        url=row[3],
        body=bytes(row[4]),
        created_at=row[5],
        attempts=row[6],
    )


def event_of(job: Job, now: float) -> tuple[str, str, str, bytes] | None:
    """The outbox row (webhook id, job id, URL, body) that ``job``'s new state calls for, or
    None. Written in the transaction that writes the state, so the event is never lost: a
    crash before the commit loses both, one after it keeps both (the transactional outbox)."""
    if job.callback is None or not job.callback.wants(job.state):
        return None
    body = orjson.dumps(status_document(job, job.callback.root, now, callback=False))
    return webhook_id(job.id, job.state), job.id, job.callback.url, body
