"""Thin HTTP handlers, one per ``operationId`` of ``openapi.yaml``.

Connexion has validated every request against the contract before a handler runs; the
handlers translate between HTTP and the job store and never do report work themselves.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any
from urllib.parse import urlencode

import mimeparse
import orjson
from starlette.datastructures import Headers
from starlette.responses import Response, StreamingResponse

from lrokit.server.egress import Egress, Refused, parse_target
from lrokit.server.http.auth import PRINCIPAL
from lrokit.server.http.context import request_scope
from lrokit.server.http.preferences import parse_prefer
from lrokit.server.http.problems import (
    PAGE_TYPES,
    instance_of,
    problem_response,
    render_html,
    render_index_html,
)
from lrokit.server.jobs.document import DOWNLOAD_TYPES, JSON, status_document
from lrokit.server.jobs.job import (
    Callback,
    CallbackEvents,
    Job,
    JobState,
    NewJob,
    isoformat,
    new_job_id,
)
from lrokit.server.jobs.store import CancelOutcome, IdempotencyKeyReused, JobStore
from lrokit.server.problems import PROBLEM_TYPES, render_markdown
from lrokit.server.settings import Settings
from lrokit.server.work.reports import plan_report, result_to_csv

log = logging.getLogger("lrokit.jobs")

CSV = "text/csv"
#: Status documents change with every poll: no cache may store them (RFC 9111 §5.2.2.5).
NO_STORE = "no-store"
#: Seconds between reads of a held report (``Prefer: wait``) when no change wakes it earlier.
HOLD_RECHECK = 1.0
EVENT_STREAM = "text/event-stream"
#: Seconds a status stream may go without an event before it sends a comment.
STREAM_HEARTBEAT = 15.0
MAX_STREAM_EVENTS = 100_000


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with an explicit media type (Connexion cannot infer it, see #1956)."""
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=headers)


def _headers() -> Headers:
    return Headers(scope=request_scope.get())


def _instance() -> str:
    """The current request's target, for a problem's ``instance``."""
    return instance_of(request_scope.get())


def _principal() -> str | None:
    """Who the request acts for; None on a server open to anyone."""
    principal: str | None = request_scope.get().get(PRINCIPAL)
    return principal


def _root() -> str:
    root: str = request_scope.get().get("root_path", "")
    return root.rstrip("/")


def idempotency_key(raw: str) -> str:
    """The key of an ``Idempotency-Key`` field: a Structured Field String (``"..."``) or,
    leniently, the same characters unquoted (draft-ietf-httpapi-idempotency-key-header §2.1)."""
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1]
    return raw.replace('\\"', '"').replace("\\\\", "\\")


class ReportsAPI:
    """The handlers, bound to one store."""

    def __init__(
        self,
        store: JobStore,
        settings: Settings,
        notify: Callable[[], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.settings = settings
        self.notify = notify
        self.clock = clock
        self.egress = Egress.parse(settings.callback_allow)

    def operations(self) -> dict[str, Callable[..., Any]]:
        """The handler of each ``operationId``."""
        return {
            "createReport": self.create_report,
            "listReports": self.list_reports,
            "getReport": self.get_report,
            "cancelReport": self.cancel_report,
            "downloadReport": self.download_report,
            "getProblemType": self.get_problem_type,
            "listProblemTypes": self.list_problem_types,
        }

    # -- representation -------------------------------------------------------------------

    def retry_after(self, job: Job) -> int | None:
        """Seconds a client should wait before polling again; None once the job is terminal.

        Derived from the worker's estimate of the finish time and clamped to the configured
        bounds; the lower bound while there is no estimate yet (RFC 9110 §10.2.3).
        """
        if job.state.terminal:
            return None
        low, high = self.settings.retry_after_min, self.settings.retry_after_max
        if job.expected_finish_at is None:
            return low
        return max(low, min(high, math.ceil(job.expected_finish_at - self.clock())))

    def status_document(self, job: Job, root: str | None = None) -> dict[str, Any]:
        """The contract's ``ReportStatus`` for ``job``; its links under ``root`` (default:
        the current request's root path)."""
        return status_document(job, _root() if root is None else root, self.clock())

    def status_response(self, job: Job, status: int = 200, **headers: str) -> Response:
        """The status document with ``Retry-After`` while not terminal and no caching."""
        fields = {"Cache-Control": NO_STORE, **headers}
        wait = self.retry_after(job)
        if wait is not None:
            fields["Retry-After"] = str(wait)
        return json_response(self.status_document(job), status, fields)

    # -- operations ------------------------------------------------------------------------

    async def create_report(self, body: dict[str, Any]) -> Response:
        """Accept a report: validate, store durably, answer 202 with Location at once."""
        headers = _headers()
        report_type, parameters = body["reportType"], body["parameters"]
        try:
            plan_report(report_type, parameters)  # semantic validation only; no work here
        except ValueError as exc:
            return problem_response("invalid-report-parameters", str(exc), _instance())
        callback: Callback | None = None
        if "callbackUrl" in body:
            try:
                callback = await self._callback(body["callbackUrl"], body.get("callbackEvents"))
            except Refused as exc:
                return problem_response("callback-refused", str(exc), _instance())
        raw_key = headers.get("idempotency-key")
        key = idempotency_key(raw_key) if raw_key is not None else None
        fingerprint = (
            hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
            if key
            else None
        )
        new = NewJob(
            new_job_id(), report_type, parameters, key, fingerprint, _principal(), callback
        )
        try:
            job, created = await self.store.create(new)
        except IdempotencyKeyReused as exc:
            return problem_response(
                "idempotency-key-reused",
                f"Idempotency-Key {key!r} was used for report {exc.existing.id} with another "
                "request body.",
                _instance(),
            )
        if created:
            if log.isEnabledFor(logging.INFO):
                params = orjson.dumps(parameters).decode()
                by = f" for {new.owner}" if new.owner is not None else ""
                log.info("job %s accepted%s (%s %s)", job.id, by, report_type, params)
            self.notify()
        extra = {"Location": f"{_root()}/reports/{job.id}", "Vary": "Prefer"}
        if "respond-async" in parse_prefer(headers.getlist("prefer")):
            extra["Preference-Applied"] = "respond-async"
        return self.status_response(job, 202, **extra)

    async def _callback(self, url: str, events: str | None) -> Callback:
        """The webhook a submission asks for; :class:`Refused` when the server may not call
        its URL (checked now, by its addresses, and again at every attempt)."""
        if not self.egress:
            raise Refused(
                "this server makes no callbacks: its operator allowed none (--callback-allow)"
            )
        await self.egress.resolve(parse_target(url))
        return Callback(url, CallbackEvents(events or CallbackEvents.TERMINAL), _root())

    async def list_reports(
        self, status: list[str] | None = None, limit: int = 20, cursor: str | None = None
    ) -> Response:
        """One page of reports, newest first, optionally filtered by state."""
        before = int(cursor) if cursor is not None else None
        states = [JobState(s) for s in dict.fromkeys(status or [])]
        page = await self.store.list(states, limit, before, _principal())
        query: list[tuple[str, str | int]] = [("status", str(s)) for s in states]
        query.append(("limit", limit))
        links: dict[str, Any] = {"self": {"href": f"{_root()}/reports?{urlencode(query)}"}}
        if cursor is not None:
            links["self"]["href"] += f"&cursor={cursor}"
        if page.next_after is not None:
            next_query = urlencode([*query, ("cursor", page.next_after)])
            links["next"] = {"href": f"{_root()}/reports?{next_query}"}
        items = [self.status_document(job) for job in page.jobs]
        return json_response({"items": items, "links": links}, headers={"Cache-Control": NO_STORE})

    async def _find(self, report_id: str) -> Job | None:
        """The job, if it exists for the request's principal: another principal's job is
        answered exactly as an unknown id, so its existence is not confirmed (OWASP API1:2023;
        RFC 9110 §15.5.5 lets a server hide a forbidden resource behind 404)."""
        job = await self.store.get(report_id)
        if job is None or job.owner != _principal():
            return None
        return job

    async def get_report(self, report_id: str) -> Response:
        """The status monitor; with ``Prefer: wait=N`` a read of a report that is not terminal
        is held until its state changes, N seconds at most (see :meth:`_held`)."""
        job = await self._find(report_id)
        if job is None:
            return self._not_found(report_id)
        if self._expired(job):
            return self._gone(job)
        if _preferred([JSON, EVENT_STREAM], JSON) == EVENT_STREAM:
            return self._stream(job)
        extra = {"Vary": "Prefer"}
        wait = _wait_preference()
        if wait is not None and not job.state.terminal:
            allowed = min(wait, self.settings.max_prefer_wait)
            if allowed > 0:
                job = await self._held(job, allowed)
                extra["Preference-Applied"] = f"wait={allowed}"
        return self.status_response(job, 200, **extra)

    def _stream(self, job: Job) -> Response:
        """The status as Server-Sent Events (HTML Living Standard §9.2): the status document
        at once and after each change of state or progress, until the terminal one.

        An event's ``id`` names its snapshot (:func:`_snapshot`): a client that reconnects
        with ``Last-Event-ID`` is not sent the snapshot it already has. A comment goes out
        after :data:`STREAM_HEARTBEAT` seconds without an event, so proxies keep the
        connection; the job is read again then, for the changes no notification reaches."""
        last = _headers().get("last-event-id")
        root = _root()  # the events are written after the request's context is gone

        async def events() -> AsyncIterator[bytes]:
            current, sent = job, last
            for _ in range(MAX_STREAM_EVENTS):  # bounded; a day of heartbeats is 5,760
                snapshot = _snapshot(current)
                if snapshot != sent:
                    data = orjson.dumps(self.status_document(current, root)).decode()
                    yield f"id: {snapshot}\nevent: status\ndata: {data}\n\n".encode()
                    sent = snapshot
                if current.state.terminal:
                    return
                fresh, changed = await self._after_change(current, STREAM_HEARTBEAT, progress=True)
                if not changed:
                    yield b": keep-alive\n\n"
                if fresh is None:  # jobs are never deleted
                    return
                current = fresh

        return StreamingResponse(
            events(),
            media_type=EVENT_STREAM,
            headers={"Cache-Control": NO_STORE, "Vary": "Accept"},
        )

    async def _after_change(
        self, job: Job, within: float, *, progress: bool = False
    ) -> tuple[Job | None, bool]:
        """The job read again once its state changes (with ``progress``, or its progress),
        or after ``within`` seconds; and whether a change woke the read."""
        try:
            async with asyncio.timeout(within):
                await self.store.next_change(job.id, progress=progress)
            changed = True
        except TimeoutError:
            changed = False
        return await self.store.get(job.id), changed

    async def _held(self, job: Job, seconds: int) -> Job:
        """The job once its state differs from ``job``'s, or as it is after ``seconds``
        (RFC 7240 §4.3: the client's bound on the time it waits for an answer).

        The store wakes the wait at each change of state it writes or is told of; the job is
        read again at least every :data:`HOLD_RECHECK` seconds besides, for the changes no
        notification reaches (another process writing the same SQLite file)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        for _ in range(math.ceil(seconds / HOLD_RECHECK) + 1):  # bounded: one per recheck
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            fresh, _ = await self._after_change(job, min(remaining, HOLD_RECHECK))
            if fresh is None:  # jobs are never deleted; keep the last read
                break
            if fresh.state is not job.state:
                return fresh
            job = fresh
        return job

    async def cancel_report(self, report_id: str) -> Response:
        """Cancel: at once when PENDING, at the worker's next heartbeat when PROCESSING."""
        job = await self._find(report_id)
        if job is None:
            return self._not_found(report_id)
        if self._expired(job):
            return self._gone(job)
        outcome = await self.store.cancel(report_id)
        if outcome is None:
            return self._not_found(report_id)
        job, what = outcome
        log.info("job %s cancel: %s", job.id, what.value)
        if what is CancelOutcome.CANCELLED and job.callback is not None:
            self.notify()  # its webhook has an event to send
        if what is CancelOutcome.FINISHED:
            return problem_response(
                "report-finished",
                f"Report {job.id} is {job.state} and cannot be cancelled.",
                _instance(),
            )
        if what is CancelOutcome.REQUESTED:
            return self.status_response(job, 202, Location=f"{_root()}/reports/{job.id}")
        return self.status_response(job)

    async def download_report(self, report_id: str) -> Response:
        """The result of a DONE report, as JSON or CSV by ``Accept``."""
        job = await self._find(report_id)
        if job is None:
            return self._not_found(report_id)
        if self._expired(job):
            return self._gone(job)
        instance = _instance()
        if job.state is not JobState.DONE:
            slug, why = {
                JobState.ERROR: ("report-failed", "ended in ERROR; see its status document"),
                JobState.CANCELLED: ("report-cancelled", "was cancelled"),
            }.get(job.state, ("report-not-ready", f"is {job.state}; poll its status monitor"))
            headers = {}
            if (wait := self.retry_after(job)) is not None:
                headers["Retry-After"] = str(wait)
            return problem_response(slug, f"Report {job.id} {why}.", instance, headers)
        result = await self.store.get_result(report_id)
        if result is None:  # DONE without a result cannot happen; never answer an empty 200
            raise RuntimeError(f"report {report_id} is DONE but has no stored result")
        media = _preferred(DOWNLOAD_TYPES, JSON)
        if media == CSV:
            content = result_to_csv(result).encode()
            ctype, ext = "text/csv; charset=utf-8; header=present", "csv"
        else:
            content, ctype, ext = orjson.dumps(result), JSON, "json"
        return Response(
            content,
            media_type=ctype,
            headers={
                "ETag": f'"{hashlib.sha256(content).hexdigest()[:32]}"',
                "Vary": "Accept",
                "Cache-Control": "private, no-cache",
                "Content-Disposition": f'attachment; filename="report-{job.id}.{ext}"',
            },
        )

    async def get_problem_type(self, problem_type: str) -> Response:
        """The documentation page a problem ``type`` URI resolves to: HTML for a browser,
        JSON or Markdown as ``Accept`` asks (406 is the middleware's)."""
        kind = PROBLEM_TYPES.get(problem_type)
        if kind is None:
            return problem_response(
                "not-found",
                f"No problem type {problem_type!r}.",
                _instance(),
            )
        media = _page_type()
        if media == JSON:
            return _page(orjson.dumps(kind.as_json()), media)
        if media == "text/markdown":
            return _page(kind.as_markdown().encode(), media)
        return _page(render_html(kind).encode(), media)

    async def list_problem_types(self) -> Response:
        """``/problems``: every problem type, in the medium ``Accept`` asks."""
        kinds = list(PROBLEM_TYPES.values())
        media = _page_type()
        if media == JSON:
            return _page(orjson.dumps([kind.as_json() for kind in kinds]), media)
        if media == "text/markdown":
            return _page(render_markdown().encode(), media)
        return _page(render_index_html(kinds).encode(), media)

    def _expired(self, job: Job) -> bool:
        return job.expires_at is not None and job.expires_at <= self.clock()

    def _gone(self, job: Job) -> Response:
        """410: the job expired (RFC 9110 §15.5.11: the condition is likely to be permanent)."""
        return problem_response(
            "report-expired",
            f"Report {job.id} finished at {isoformat(job.finished_at or job.created_at)} and "
            f"expired at {isoformat(job.expires_at or 0)}.",
            _instance(),
        )

    def _not_found(self, report_id: str) -> Response:
        return problem_response(
            "report-not-found",
            f"No report has id {report_id!r}.",
            _instance(),
        )


def _snapshot(job: Job) -> str:
    """What a status event carries, as its ``id``: the state, the progress, and whether a
    cancel was asked for (the rest of the document follows from them or never changes)."""
    return f"{job.state}.{job.progress}{'.cancel' if job.cancel_requested else ''}"


def _wait_preference() -> int | None:
    """The seconds of the request's ``Prefer: wait`` (RFC 7240 §4.3: ``wait = 1*DIGIT``);
    None without one or with a value that is not digits (a hint, never an error)."""
    value = parse_prefer(_headers().getlist("prefer")).get("wait")
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > 9:
        return None
    return int(value)


def _preferred(offered: Sequence[str], default: str) -> str:
    """The one of ``offered`` that the request's ``Accept`` prefers; ``default`` without one,
    or with one that does not parse (treated as absent, as the 406 check treats it)."""
    accept = _headers().get("accept")
    if not accept:
        return default
    try:
        # mimeparse prefers the later of equally good matches: the first offered goes last.
        return mimeparse.best_match(offered[::-1], accept) or default
    except (ValueError, IndexError):
        return default


def _page_type() -> str:
    """The medium of a documentation page that ``Accept`` prefers (HTML for ``*/*``)."""
    return _preferred(PAGE_TYPES, PAGE_TYPES[0])


def _page(content: bytes, media: str) -> Response:
    charset = "" if media == JSON else "; charset=utf-8"
    return Response(
        content,
        media_type=media + charset,
        headers={"Vary": "Accept", "Cache-Control": "public, max-age=3600"},
    )
