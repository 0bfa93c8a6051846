"""A client for the asynchronous request-reply pattern, sync (:class:`Client`) and async
(:class:`AsyncClient`), on httpx.

``submit`` POSTs a JSON body and expects ``202 Accepted`` with a ``Location`` naming the status
monitor (RFC 9110 §15.3.3, §10.2.2), resolved against the request URL (RFC 3986 §5). ``wait``
polls the monitor until its status is terminal, never sooner than the server asks: each poll
waits the ``Retry-After`` of the previous answer (RFC 9110 §10.2.3, delay-seconds or
HTTP-date), and only when the server advises nothing does it back off exponentially with full
jitter. A total deadline bounds the wait (:class:`OperationTimeout`, carrying the last status),
and so does a number of polls. A failed operation raises :class:`OperationFailed` with the
RFC 9457 problem from the status document's ``error`` member or from a problem+json answer.

``via="wait"`` asks the monitor to hold each read until the status changes (``Prefer:
wait=N``, RFC 7240 §4.3, N at most :attr:`Policy.hold` and the time left): after an answer
that says it was held (``Preference-Applied: wait``) the next read goes at once, since the
server already waited; a server that does not hold is polled as above, by its Retry-After.
``via="stream"`` reads the monitor's Server-Sent Events instead (``Accept: text/event-stream``),
one status document per event; a server without a stream, or a stream that ends before the
operation does, is polled.

The two clients share everything but their I/O: the decisions live in plain functions here.
The canonical contract's states and field names are the default :class:`Dialect`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urljoin

import httpx
from httpx_sse import aconnect_sse, connect_sse

from lrokit.model.headers import http_date, retry_after_delay

#: How a wait learns of changes: by polling, by reads the server holds (``Prefer: wait``), or
#: from the monitor's stream of Server-Sent Events.
Via = Literal["poll", "wait", "stream"]
EVENT_STREAM = "text/event-stream"
#: Seconds a status stream may stay silent (a server's keep-alive comments count) before the
#: client gives it up and polls.
STREAM_SILENCE = 60.0
#: Seconds a held read may take beyond the hold it asked for, before the client gives up on it.
HOLD_GRACE = 10.0
#: Answers to a poll that mean "not now, try again later" (RFC 9110 §15.5.20, RFC 6585 §4).
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Dialect:
    """Where a status document keeps its state, progress, error and links, and which states
    end an operation. The default is this repository's contract (openapi.yaml)."""

    status_field: str = "status"
    progress_field: str = "progress"
    error_field: str = "error"
    succeeded: frozenset[str] = frozenset({"DONE"})
    failed: frozenset[str] = frozenset({"ERROR"})
    cancelled: frozenset[str] = frozenset({"CANCELLED"})
    result_link: tuple[str, ...] = ("links", "download", "href")
    cancel_link: tuple[str, ...] = ("links", "cancel", "href")

    @property
    def terminal(self) -> frozenset[str]:
        return self.succeeded | self.failed | self.cancelled


CANONICAL = Dialect()


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, used only when the server advises no
    ``Retry-After``: the n-th consecutive unadvised wait is uniform in
    ``[0, min(cap, base * 2**n)]``."""

    base: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0.0, min(self.cap, self.base * 2 ** min(attempt, 62)))


@dataclass(frozen=True)
class Problem:
    """RFC 9457 problem details: the five members of §3.1 and any extension members (§3.2)."""

    type: str = "about:blank"
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    extensions: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: object) -> Problem:
        """The problem in ``data``; members of the wrong type are ignored (RFC 9457 §3.1)."""
        if not isinstance(data, dict):
            return cls(detail=None if data is None else str(data))

        def text(name: str) -> str | None:
            value = data.get(name)
            return value if isinstance(value, str) else None

        status = data.get("status")
        known = {"type", "title", "status", "detail", "instance"}
        return cls(
            type=text("type") or "about:blank",
            title=text("title"),
            status=status if isinstance(status, int) and not isinstance(status, bool) else None,
            detail=text("detail"),
            instance=text("instance"),
            extensions={k: v for k, v in data.items() if k not in known},
        )

    def __str__(self) -> str:
        head = " ".join(str(part) for part in (self.status, self.title or self.type) if part)
        return f"{head}: {self.detail}" if self.detail else head


class LroError(Exception):
    """Anything this client raises on purpose."""


class SubmitFailed(LroError):
    """The POST was not accepted: ``status_code`` and, for a problem+json answer, ``problem``."""

    def __init__(self, message: str, status_code: int | None, problem: Problem | None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.problem = problem


class OperationFailed(LroError):
    """The operation ended in a failed or cancelled state, or its monitor answered with a
    problem: ``problem`` holds the RFC 9457 details, ``status`` the last status document."""

    def __init__(self, problem: Problem | None, status: Mapping[str, Any], monitor: str) -> None:
        super().__init__(str(problem) if problem else f"operation ended: {dict(status)}")
        self.problem = problem
        self.status = status
        self.monitor = monitor


class OperationCancelled(OperationFailed):
    """The operation ended in a cancelled state."""


class OperationTimeout(LroError, TimeoutError):
    """The deadline (or the poll limit) came before a terminal state; ``status`` is the last
    status document seen."""

    def __init__(self, message: str, status: Mapping[str, Any] | None, monitor: str) -> None:
        super().__init__(message)
        self.status = status
        self.monitor = monitor


class WaitCancelled(LroError):
    """The caller stopped the wait (``stop`` was set); the operation itself goes on."""


@dataclass(frozen=True)
class Operation:
    """An accepted operation: its monitor's absolute URL and the last status document."""

    monitor: str
    status: Mapping[str, Any]
    dialect: Dialect = CANONICAL
    polls: int = 0
    advised: float | None = None  # seconds the last answer asked to wait (Retry-After)

    @property
    def state(self) -> str | None:
        value = self.status.get(self.dialect.status_field)
        return value if isinstance(value, str) else None

    @property
    def progress(self) -> float | None:
        value = self.status.get(self.dialect.progress_field)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value)

    @property
    def terminal(self) -> bool:
        return self.state is not None and self.state in self.dialect.terminal

    @property
    def result_url(self) -> str | None:
        """The result link, resolved against the monitor URL (RFC 3986 §5)."""
        return self._link(self.dialect.result_link)

    @property
    def cancel_url(self) -> str:
        """Where to cancel: the document's cancel link, else the monitor itself."""
        return self._link(self.dialect.cancel_link) or self.monitor

    def _link(self, path: tuple[str, ...]) -> str | None:
        """The link at ``path``, in either form a link takes: the URI-reference as a string,
        or an object with it in ``href`` (``links.download`` or ``links.download.href``)."""
        node: Any = self.status
        for key in path[:-1] if path[-1:] == ("href",) else path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node = node.get("href")
        return urljoin(self.monitor, node) if isinstance(node, str) else None


@dataclass(frozen=True)
class Result(Operation):
    """A succeeded operation; :meth:`download` fetches its result (sync client)."""

    http: httpx.Client | None = field(default=None, repr=False, compare=False)

    def download(self, accept: str | None = None) -> httpx.Response:
        """GET the result link; raises :class:`LroError` when there is none or it fails."""
        assert self.http is not None, "a Result made by Client.wait carries its client"
        response = self.http.get(_require_result(self), headers=_accept(accept))
        return _checked_download(response)


@dataclass(frozen=True)
class AsyncResult(Operation):
    """A succeeded operation; :meth:`download` fetches its result (async client)."""

    http: httpx.AsyncClient | None = field(default=None, repr=False, compare=False)

    async def download(self, accept: str | None = None) -> httpx.Response:
        """GET the result link; raises :class:`LroError` when there is none or it fails."""
        assert self.http is not None, "an AsyncResult made by AsyncClient.wait carries its client"
        response = await self.http.get(_require_result(self), headers=_accept(accept))
        return _checked_download(response)


@dataclass
class Policy:
    """How to wait: the deadline (seconds, total), the poll limit, the fallback backoff, and
    the injectable clock (monotonic seconds), wall clock and random source (tests)."""

    deadline: float = 300.0
    max_polls: int = 1000
    hold: int = 20  # seconds each read asks the server to hold it, with via="wait"
    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], datetime] = field(default=lambda: _utcnow())
    rng: random.Random = field(default_factory=random.Random)


ProgressCallback = Callable[[Operation], object]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _accept(accept: str | None) -> dict[str, str]:
    return {"Accept": accept} if accept else {}


def _require_result(operation: Operation) -> str:
    if operation.result_url is None:
        raise LroError(f"the status document of {operation.monitor} has no result link")
    return operation.result_url


def _checked_download(response: httpx.Response) -> httpx.Response:
    if response.is_success:
        return response
    raise LroError(f"download answered {response.status_code}: {_problem(response) or ''}")


def _is_problem(response: httpx.Response) -> bool:
    media_type: str = response.headers.get("content-type", "").split(";")[0]
    return media_type.strip().lower() == PROBLEM_JSON


def _problem(response: httpx.Response) -> Problem | None:
    """The RFC 9457 problem of a problem+json answer (RFC 9457 §3), else None."""
    if not _is_problem(response):
        return None
    try:
        return Problem.from_json(response.json())
    except ValueError:
        return None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError as exc:
        raise LroError(f"{response.request.url} answered a body that is not JSON") from exc
    if not isinstance(data, dict):
        raise LroError(f"{response.request.url} answered JSON that is not an object")
    return data


def _submit_request(
    idempotency_key: str | None, headers: Mapping[str, str] | None
) -> dict[str, str]:
    """Request headers for a submission. An Idempotency-Key is sent as a Structured Field
    string (draft-ietf-httpapi-idempotency-key-header §2), quoted unless it already is."""
    out = {"Accept": "application/json", "Prefer": "respond-async"}
    if idempotency_key is not None:
        quoted = idempotency_key.startswith('"') and idempotency_key.endswith('"')
        out["Idempotency-Key"] = idempotency_key if quoted else f'"{idempotency_key}"'
    out.update(headers or {})
    return out


def _accepted(response: httpx.Response, dialect: Dialect, wall: datetime) -> Operation:
    """The operation a submission started: a 2xx with ``Location`` (RFC 9110 §10.2.2),
    resolved against the request URL (RFC 3986 §5.2); anything else raises SubmitFailed."""
    if not response.is_success:
        problem = _problem(response)
        reason = str(problem) if problem else response.reason_phrase
        raise SubmitFailed(
            f"submit answered {response.status_code}: {reason}", response.status_code, problem
        )
    location = response.headers.get("location")
    if not location:
        raise SubmitFailed(
            f"submit answered {response.status_code} without Location", response.status_code, None
        )
    try:
        status: Mapping[str, Any] = _json(response)
    except LroError:
        status = {}
    monitor = urljoin(str(response.request.url), location)
    return Operation(monitor, status, dialect, advised=_advised(response, wall))


def _event_status(event: Any) -> Mapping[str, Any]:
    """The status document a ``status`` event carries as its data."""
    try:
        status = json.loads(event.data)
    except ValueError as exc:
        raise LroError(f"a status event's data is not JSON: {event.data[:80]!r}") from exc
    if not isinstance(status, dict):
        raise LroError("a status event's data is not a JSON object")
    return status


def _close_when(
    response: httpx.Response, done: threading.Event, stop: threading.Event | None, left: float
) -> None:
    """On a watchdog thread: close ``response`` after ``left`` seconds or once ``stop`` is
    set, unless ``done`` comes first. Checks ten times a second (bounded by ``left``)."""
    for _ in range(max(1, int(left / 0.1) + 1)):
        if done.wait(0.1):
            return
        if stop is not None and stop.is_set():
            break
    response.close()


def _was_held(response: httpx.Response) -> bool:
    """Whether the server says it applied a ``wait`` preference (RFC 7240 §3)."""
    applied = response.headers.get("preference-applied", "")
    return any(p.split("=", 1)[0].strip().lower() == "wait" for p in applied.split(","))


def _held_read(seconds: int) -> dict[str, Any]:
    """The arguments of a monitor read that asks to be held ``seconds`` (none when 0): the
    preference, and a read timeout that outlasts the hold."""
    if seconds < 1:
        return {}
    return {"headers": {"Prefer": f"wait={seconds}"}, "timeout": seconds + HOLD_GRACE}


def _advised(response: httpx.Response, wall: datetime) -> float | None:
    """Seconds the server asks to wait (RFC 9110 §10.2.3): delay-seconds, or an HTTP-date
    measured from the response's ``Date`` (else ``wall``); a date in the past is 0. An absent
    or malformed field is None."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    sent = http_date(response.headers.get("date", ""))
    delay = retry_after_delay(value, now=sent or wall)
    return None if delay is None else max(0.0, delay)


@dataclass
class _Waiting:
    """The sans-I/O state of one wait: what the last answer means and when to poll next."""

    operation: Operation
    policy: Policy
    on_progress: ProgressCallback | None
    via: Via = "poll"
    started: float = 0.0
    unadvised: int = 0

    def __post_init__(self) -> None:
        self.started = self.policy.clock()

    def first_delay(self) -> float:
        """Before the first poll: the submission's Retry-After, else a backoff step."""
        if self.operation.advised is not None:
            return self.operation.advised
        self.unadvised = 1
        return self.first_step()

    def first_step(self) -> float:
        """The first step of the fallback backoff: before the first poll when the server
        advised nothing, and before polling after a stream that ended early."""
        return self.policy.backoff.delay(0, self.policy.rng)

    def hold(self) -> int:
        """Seconds the next read asks the server to hold it: 0 when polling, else the
        policy's hold within the time left."""
        if self.via != "wait":
            return 0
        return max(0, int(min(self.policy.hold, self.left())))

    def observe(self, response: httpx.Response) -> float | None:
        """Take a poll's answer; return seconds until the next poll, or None when terminal.
        Raises OperationFailed / OperationCancelled / LroError for final answers; a 429 or a
        502-504 is waited out like a non-terminal status (RFC 9110 §10.2.3, §15.6.4)."""
        op = self.operation
        if response.status_code in RETRYABLE_STATUSES:
            return self._delay(response)
        if not response.is_success:
            problem = _problem(response) or Problem(
                title=response.reason_phrase, status=response.status_code
            )
            raise OperationFailed(problem, op.status, op.monitor)
        if self.take(_json(response)):
            return None
        delay = 0.0 if self.via == "wait" and _was_held(response) else self._delay(response)
        self.operation = replace(self.operation, advised=delay)
        return delay

    def take(self, status: Mapping[str, Any]) -> bool:
        """Take a status document (a poll's, or a streamed event's); whether the operation
        succeeded. Raises OperationFailed / OperationCancelled when it ended otherwise."""
        op = self.operation
        self.operation = op = Operation(op.monitor, status, op.dialect, op.polls + 1)
        if self.on_progress is not None:
            self.on_progress(op)
        if op.state in op.dialect.succeeded:
            return True
        if op.state in op.dialect.failed | op.dialect.cancelled:
            raw = status.get(op.dialect.error_field)
            error = None if raw is None else Problem.from_json(raw)
            kind = OperationCancelled if op.state in op.dialect.cancelled else OperationFailed
            raise kind(error, status, op.monitor)
        return False

    def streamed(self, response: httpx.Response) -> float | None:
        """After the answer to a stream request: None when it is an event stream (to be read
        event by event), else seconds until the next poll. A server without a stream answers
        406 (polling goes on at once) or the plain status, taken as a poll's answer."""
        if response.headers.get("content-type", "").startswith(EVENT_STREAM):
            return None
        if response.status_code == 406:
            return 0.0
        response.read()
        return self.observe(response)

    def left(self) -> float:
        """Seconds until the deadline."""
        return self.policy.deadline - (self.policy.clock() - self.started)

    def _delay(self, response: httpx.Response) -> float:
        advised = _advised(response, self.policy.wall())
        if advised is not None:
            self.unadvised = 0
            return advised
        self.unadvised += 1
        return self.policy.backoff.delay(self.unadvised - 1, self.policy.rng)

    def check_budget(self, delay: float) -> None:
        """Raise OperationTimeout when polling after ``delay`` would pass the deadline or
        the poll limit: the client never polls sooner than asked, so it gives up instead."""
        op = self.operation
        if op.polls >= self.policy.max_polls:
            raise OperationTimeout(f"not terminal after {op.polls} polls", op.status, op.monitor)
        if self.policy.clock() + delay - self.started > self.policy.deadline:
            raise OperationTimeout(
                f"not terminal within {self.policy.deadline:g} s (last status {op.state})",
                op.status,
                op.monitor,
            )


class Client:
    """The synchronous client: ``Client(base_url)`` or ``Client(http=httpx.Client(...))``.

    ``sleep`` is injectable (tests); by default a wait wakes at once when ``stop`` is set.
    """

    def __init__(
        self,
        base_url: str = "",
        *,
        http: httpx.Client | None = None,
        dialect: Dialect = CANONICAL,
        policy: Policy | None = None,
        sleep: Callable[[float], None] | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout)
        self._owns_http = http is None
        self.dialect = dialect
        self.policy = policy or Policy()
        self._sleep = sleep

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def submit(
        self,
        url: str,
        body: object,
        *,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Operation:
        """POST ``body`` as JSON; the accepted operation, or SubmitFailed."""
        response = self.http.post(url, json=body, headers=_submit_request(idempotency_key, headers))
        return _accepted(response, self.dialect, self.policy.wall())

    def wait(
        self,
        operation: Operation,
        *,
        on_progress: ProgressCallback | None = None,
        stop: threading.Event | None = None,
        via: Via = "poll",
    ) -> Result:
        """Poll until terminal (see the module docstring); ``on_progress`` gets each status."""
        waiting = _Waiting(operation, self.policy, on_progress, via)
        first = waiting.first_delay()
        delay: float | None = first
        if via == "stream":
            waiting.check_budget(first)
            self._pause(first, stop)
            delay = self._stream(waiting, stop)
        while delay is not None:
            waiting.check_budget(delay)
            self._pause(delay, stop)
            read = _held_read(waiting.hold())
            delay = waiting.observe(self.http.get(operation.monitor, **read))
        op = waiting.operation
        return Result(op.monitor, op.status, op.dialect, op.polls, http=self.http)

    def _stream(self, waiting: _Waiting, stop: threading.Event | None) -> float | None:
        """Read the monitor's status stream: None once the operation succeeded, else the
        seconds until polling takes over. A watchdog thread closes the stream at the deadline
        or when ``stop`` is set, since a server's keep-alive comments yield no event to look
        at the time between."""
        with connect_sse(
            self.http, "GET", waiting.operation.monitor, timeout=STREAM_SILENCE
        ) as source:
            delay = waiting.streamed(source.response)
            if delay is not None:
                return delay
            done = threading.Event()
            watchdog = threading.Thread(
                target=_close_when,
                args=(source.response, done, stop, waiting.left()),
                daemon=True,
            )
            watchdog.start()
            try:
                for event in source.iter_sse():
                    if event.event == "status" and waiting.take(_event_status(event)):
                        return None
            except (httpx.HTTPError, httpx.StreamError):
                pass  # closed by the watchdog, or cut: decided below
            finally:
                done.set()
                watchdog.join()
        if stop is not None and stop.is_set():
            raise WaitCancelled("the wait was stopped")
        waiting.check_budget(0.0)
        return waiting.first_step()  # ended early: poll

    def run(
        self,
        url: str,
        body: object,
        *,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        on_progress: ProgressCallback | None = None,
        stop: threading.Event | None = None,
        via: Via = "poll",
    ) -> Result:
        """Submit and wait."""
        operation = self.submit(url, body, idempotency_key=idempotency_key, headers=headers)
        return self.wait(operation, on_progress=on_progress, stop=stop, via=via)

    def cancel(self, operation: Operation) -> Operation:
        """DELETE the cancel link (else the monitor); the answer's status document."""
        response = self.http.delete(operation.cancel_url, headers={"Accept": "application/json"})
        return _cancelled(operation, response)

    def _pause(self, seconds: float, stop: threading.Event | None) -> None:
        if stop is not None and stop.is_set():
            raise WaitCancelled("the wait was stopped")
        if self._sleep is not None:
            self._sleep(seconds)
        elif stop is not None:
            stop.wait(seconds)
        elif seconds > 0:
            time.sleep(seconds)
        if stop is not None and stop.is_set():
            raise WaitCancelled("the wait was stopped")


def _cancelled(operation: Operation, response: httpx.Response) -> Operation:
    """The operation after a cancel request: its status document when the answer carries one;
    a refusal (e.g. 409 for a finished operation) raises OperationFailed with the problem."""
    if not response.is_success:
        problem = _problem(response) or Problem(
            title=response.reason_phrase, status=response.status_code
        )
        raise OperationFailed(problem, operation.status, operation.monitor)
    try:
        status: Mapping[str, Any] = _json(response)
    except LroError:
        status = operation.status
    return Operation(operation.monitor, status, operation.dialect, operation.polls)


class AsyncClient:
    """The asynchronous client; the same operations as :class:`Client`, awaited. Besides
    ``stop``, cancelling the awaiting task stops the wait (standard asyncio cancellation)."""

    def __init__(
        self,
        base_url: str = "",
        *,
        http: httpx.AsyncClient | None = None,
        dialect: Dialect = CANONICAL,
        policy: Policy | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.http = http or httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._owns_http = http is None
        self.dialect = dialect
        self.policy = policy or Policy()
        self._sleep = sleep

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def submit(
        self,
        url: str,
        body: object,
        *,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Operation:
        """POST ``body`` as JSON; the accepted operation, or SubmitFailed."""
        response = await self.http.post(
            url, json=body, headers=_submit_request(idempotency_key, headers)
        )
        return _accepted(response, self.dialect, self.policy.wall())

    async def wait(
        self,
        operation: Operation,
        *,
        on_progress: ProgressCallback | None = None,
        stop: asyncio.Event | None = None,
        via: Via = "poll",
    ) -> AsyncResult:
        """Poll until terminal (see the module docstring); ``on_progress`` gets each status."""
        waiting = _Waiting(operation, self.policy, on_progress, via)
        first = waiting.first_delay()
        delay: float | None = first
        if via == "stream":
            waiting.check_budget(first)
            await self._pause(first, stop)
            delay = await self._stream(waiting, stop)
        while delay is not None:
            waiting.check_budget(delay)
            await self._pause(delay, stop)
            read = _held_read(waiting.hold())
            delay = waiting.observe(await self.http.get(operation.monitor, **read))
        op = waiting.operation
        return AsyncResult(op.monitor, op.status, op.dialect, op.polls, http=self.http)

    async def _stream(self, waiting: _Waiting, stop: asyncio.Event | None) -> float | None:
        """Read the monitor's status stream: None once the operation succeeded, else the
        seconds until polling takes over; bounded by the deadline, ended by ``stop``."""

        async def read() -> float | None:
            async with aconnect_sse(
                self.http, "GET", waiting.operation.monitor, timeout=STREAM_SILENCE
            ) as source:
                delay = waiting.streamed(source.response)
                if delay is not None:
                    return delay
                async for event in source.aiter_sse():
                    if event.event == "status" and waiting.take(_event_status(event)):
                        return None
            return waiting.first_step()  # ended early: poll

        reading = asyncio.ensure_future(read())
        stopping = asyncio.ensure_future(stop.wait()) if stop is not None else None
        try:
            async with asyncio.timeout(max(waiting.left(), 0.0)):
                await asyncio.wait(
                    {reading, *([stopping] if stopping else [])},
                    return_when=asyncio.FIRST_COMPLETED,
                )
        except TimeoutError:
            pass
        finally:
            for task in (reading, stopping):
                if task is not None and not task.done():
                    task.cancel()
            await asyncio.gather(reading, *([stopping] if stopping else []), return_exceptions=True)
        if stop is not None and stop.is_set():
            raise WaitCancelled("the wait was stopped")
        if reading.cancelled():
            waiting.check_budget(0.0)  # the deadline passed: OperationTimeout
            return 0.0
        try:
            return reading.result()
        except (httpx.HTTPError, httpx.StreamError):
            waiting.check_budget(0.0)
            return waiting.first_step()  # cut: poll

    async def run(
        self,
        url: str,
        body: object,
        *,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        on_progress: ProgressCallback | None = None,
        stop: asyncio.Event | None = None,
        via: Via = "poll",
    ) -> AsyncResult:
        """Submit and wait."""
        operation = await self.submit(url, body, idempotency_key=idempotency_key, headers=headers)
        return await self.wait(operation, on_progress=on_progress, stop=stop, via=via)

    async def cancel(self, operation: Operation) -> Operation:
        """DELETE the cancel link (else the monitor); the answer's status document."""
        response = await self.http.delete(
            operation.cancel_url, headers={"Accept": "application/json"}
        )
        return _cancelled(operation, response)

    async def _pause(self, seconds: float, stop: asyncio.Event | None) -> None:
        if stop is not None and stop.is_set():
            raise WaitCancelled("the wait was stopped")
        if self._sleep is not None:
            await self._sleep(seconds)
        elif stop is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), seconds)
        else:
            await asyncio.sleep(seconds)
        if stop is not None and stop.is_set():
            raise WaitCancelled("the wait was stopped")
