"""A job as the contract's ``ReportStatus`` document: the monitor answers it, the status
stream sends it, and a webhook delivers it, all rendered here the same way."""

from __future__ import annotations

import math
from typing import Any

from lrokit.server.jobs.job import Job, JobState, isoformat

JSON = "application/json"
#: What a DONE report's download link offers, in the server's order of preference.
DOWNLOAD_TYPES = ("application/json", "text/csv")


def status_document(job: Job, root: str, now: float, *, callback: bool = True) -> dict[str, Any]:
    """The contract's ``ReportStatus`` for ``job`` at ``now``, its links under ``root``.

    ``callback``: whether to include the webhook's delivery (``callback``). A webhook's own
    body leaves it out: it changes with every attempt, and the body must not (Standard
    Webhooks: a redelivery carries the same message)."""
    href = f"{root}/reports/{job.id}"
    doc: dict[str, Any] = {
        "id": job.id,
        "status": str(job.state),
        "reportType": job.report_type,
        "parameters": job.parameters,
        "progress": job.progress,
        "createdAt": isoformat(job.created_at),
    }
    if job.started_at is not None:
        doc["startedAt"] = isoformat(job.started_at)
    if job.finished_at is not None:
        doc["finishedAt"] = isoformat(job.finished_at)
    if job.state is JobState.PROCESSING and job.expected_finish_at is not None:
        doc["estimatedTimeRemaining"] = max(0, math.ceil(job.expected_finish_at - now))
    if job.cancel_requested and not job.state.terminal:
        doc["cancelRequested"] = True
    if job.error is not None:
        doc["error"] = job.error
    if callback and job.callback is not None:
        delivery: dict[str, Any] = {
            "url": job.callback.url,
            "events": str(job.callback.events),
            "state": str(job.callback.state),
            "attempts": job.callback.attempts,
        }
        if job.callback.last_error is not None:
            delivery["lastError"] = job.callback.last_error
        doc["callback"] = delivery
    links: dict[str, Any] = {"self": {"href": href, "type": JSON}}
    if job.state is JobState.DONE:
        links["download"] = {"href": f"{href}/download", "type": ", ".join(DOWNLOAD_TYPES)}
    if not job.state.terminal:
        links["cancel"] = {"href": href}
    doc["links"] = links
    return doc
