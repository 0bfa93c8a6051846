"""Scenarios: the requests a conformance run sends, recorded for the checks to judge.

The scenarios run concurrently and each is bounded: polls honour Retry-After (scaled by
``time_scale``), stop at the wait budget, and a job is only followed on the target's origin.
Each job has one purpose: the main job is submitted plainly and followed; every probe (an
unknown preference, an unacceptable Accept, a malformed or invalid body, a wrong media type,
an unknown id) goes on requests of its own, so a server that mishandles one cannot hide the
lifecycle. Bodies and body probes go only where the operation takes a body. Where the profile
has held reads (``features.wait``), a job of its own is read asking the monitor to hold each
read (``Prefer: wait``, RFC 7240 §4.3): a hold is the server's time, never scaled, and short.
Where it has a status stream (``features.stream``), a job of its own is streamed to its end
(``Accept: text/event-stream``, within the wait budget and the body cap), then resumed.
Given another principal (``--other-header``), the tenancy scenario
(:mod:`lrokit.runner.tenancy`) asks for jobs of the run's own as that principal, and without
credentials. Asked to (``--callbacks``), where the profile has completion webhooks
(``features.callbacks``), the webhook scenario (:mod:`lrokit.runner.callbacks`) submits jobs
naming URLs of a receiver of the run's own, and records what reaches them. At the end, every
job the run started and did not see finish is cancelled, as the principal that started it
(or, where the profile cannot cancel, left to expire), and the report says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from functools import cached_property
from urllib.parse import urldefrag, urlsplit

import httpx
import orjson
from httpx_sse import EventSource

from lrokit.model.bodies import Body
from lrokit.model.contract import Contract
from lrokit.model.exchange import Exchange, response_date
from lrokit.model.headers import retry_after_delay
from lrokit.model.profile import Profile, replace_segment
from lrokit.model.recording import (
    EVENT_STREAM,
    Event,
    Hold,
    Recording,
    Streams,
    Trace,
    Waits,
    state_of,
)
from lrokit.model.requests import (
    invalid_body,
    parameter_segments,
    request_media_types,
    takes_body,
    unsupported_media_type,
)
from lrokit.rules import RULES
from lrokit.runner.callbacks import observe as observe_webhooks
from lrokit.runner.receiver import Receiver
from lrokit.runner.target import OWN, BudgetExhausted, Principal, Target
from lrokit.runner.tenancy import observe

#: Polls of one job at most, whatever the budget of time.
MAX_POLLS = 200
#: Consecutive unusable monitor answers (not 200, not JSON, no state) before giving up.
MAX_UNUSABLE = 3
#: Wait when the server advises none (or an invalid one), before scaling.
DEFAULT_WAIT = 1.0
#: Re-polls after a terminal state, to see that it stays.
AFTER_TERMINAL = 2
#: Concurrent submissions sharing one Idempotency-Key.
CONCURRENT = 5
UNKNOWN_PREFERENCE = "x-lrokit-unknown-preference=1"
#: Seconds the held reads ask for (Prefer: wait, the server's time, not scaled): those watched
#: for a change, long enough for a job's state to change during one; one brief enough to run its
#: course; one of a job already over. Each is delta-seconds (RFC 7240 §4.3).
HELD_CHANGE, HELD_COURSE, HELD_ENDED = 2, 1, 2
#: Held reads watched for a change of state, at most (one answered early ends the watch).
HELD_MAX = 5
#: Plain reads beside a watched held read, every so many seconds and at most so many: when one
#: sees the state change, the held read is due.
BESIDE_EVERY, BESIDE_MAX = 0.5, 6
#: A body cut short in each media type that has a syntax to break, with its Content-Type:
#: JSON that does not parse; a multipart body whose closing delimiter never comes (RFC 2046
#: §5.1.1). A form (urlencoded) has no malformed shape to send.
MALFORMED = {
    "json": (b'{"lrokit": "malformed', "application/json"),
    "multipart": (
        b'--lrokit-malformed\r\nContent-Disposition: form-data; name="lrokit"\r\n\r\n'
        b"malformed\r\n--lrokit-mal",
        "multipart/form-data; boundary=lrokit-malformed",
    ),
}


def advised_wait(exchange: Exchange) -> float:
    """The Retry-After of ``exchange`` in seconds, or the default when absent or invalid."""
    value = exchange.header("retry-after")
    delay = retry_after_delay(value, response_date(exchange)) if value is not None else None
    return DEFAULT_WAIT if delay is None else max(0.0, delay)


class Scenarios:
    """Runs every scenario against one target with one profile."""

    def __init__(self, target: Target, profile: Profile, contract: Contract | None = None) -> None:
        self.target = target
        self.profile = profile
        self.contract = contract
        self.rec = Recording(time_scale=target.config.time_scale)

    async def run(self) -> Recording:
        """Run all scenarios, then clean up; a budget or transport failure is noted, never
        raised. A webhook receiver that cannot listen stops the run before it sends anything
        (:class:`~lrokit.runner.receiver.ReceiverUnavailable`, a usage error)."""
        features, config = self.profile.features, self.target.config
        listening = contextlib.ExitStack()
        receiver = None
        if config.callbacks and "callbacks" in features:  # listening before anything is sent
            receiver = listening.enter_context(Receiver(config.callback_url, self._clock))
        jobs = [self._main(), self._errors()]
        if "wait" in features:  # next to the main job, so that its state changes early
            jobs.insert(1, self._wait())
        if "stream" in features:
            jobs.insert(1, self._stream())
        if self.profile.failing_body is not None:
            jobs.append(self._failing())
        if "cancel" in features and self.profile.cancel_method:
            jobs.append(self._cancel())
        if "idempotency" in features and self.profile.other_body is not None:
            jobs.append(self._idempotency())
        if "prefer" in features:
            jobs.append(self._prefer())
        if config.other_headers:
            jobs.append(observe(self))
        if receiver is not None:
            jobs.append(observe_webhooks(self, receiver))
        with listening:
            outcomes = await asyncio.gather(*jobs, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BudgetExhausted):
                self.rec.notes.append(f"stopped early: {outcome}")
            elif isinstance(outcome, BaseException):
                raise outcome
        self.rec.exchanges = list(self.target.exchanges)
        await self._clean_up()
        return self.rec

    # -- building blocks -------------------------------------------------------------------

    def _clock(self) -> float:
        """The run's clock, in seconds since it started (every exchange's ``at``)."""
        return self.target.elapsed

    @property
    def submit_url(self) -> str:
        return self.target.url(self.profile.submit_path)

    @cached_property
    def takes_body(self) -> bool:
        """Whether the submission takes a body: the profile gives one, and the contract, where
        there is one, does not describe the operation without a request body."""
        if self.profile.body is None:
            return False
        if self.contract is None:
            return True
        declared = takes_body(self.contract, self.profile.submit_method, self.profile.submit_path)
        return declared is not False

    async def submit(
        self,
        label: str,
        body: Body | None,
        headers: Mapping[str, str] | None = None,
        principal: Principal = OWN,
    ) -> Exchange:
        content, typed = None, {}
        if self.takes_body and body is not None:
            content, media_type = body.encode()
            typed = {"Content-Type": media_type}
        return await self.target.request(
            label,
            self.profile.submit_method,
            self.submit_url,
            content=content,
            headers={**typed, **self.profile.submit_headers, **(headers or {})},
            principal=principal,
        )

    def monitor_of(self, submission: Exchange) -> tuple[str | None, str | None]:
        """The monitor URL of a submission and, if it cannot be followed, why."""
        if submission.status is None:
            return None, f"the submission got no response ({submission.error})"
        if submission.status not in self.profile.initiation_status:
            return None, f"the submission was answered {submission.status}"
        reference = self.profile.pointer(submission, api=self.target.config.base_url)
        if reference is None:
            return None, f"the {submission.status} carries no {self.profile.monitor_header}"
        url = self._followable(reference, submission.url)
        if url is None:
            resolved = urldefrag(self.target.url(reference, base=submission.url)).url
            return None, f"{self.profile.monitor_header} {resolved} is on another origin"
        return url, None

    def _followable(self, reference: str, base: str) -> str | None:
        """``reference`` resolved against ``base``, without its fragment (the client's
        business, RFC 9110 §10.2.2); None when it leaves the target's origin uninvited."""
        url = urldefrag(self.target.url(reference, base=base)).url
        if self.target.same_origin(url) or self.target.config.allow_cross_origin:
            return url
        return None

    async def follow(
        self, submission: Exchange, *, early_result: bool = False, cancelled: bool = False
    ) -> Trace:
        """Poll the submission's monitor to a terminal state within the budgets. After the
        tester's own cancel (``cancelled``), in a dialect where a cancel may remove the job, a
        404 or 410 ends the trace: the job is gone, as cancelling it made it."""
        trace = Trace(submission)
        trace.monitor, trace.unfollowed = self.monitor_of(submission)
        if trace.monitor is None:
            self.rec.notes.append(f"{submission.label}: not followed: {trace.unfollowed}")
            return trace
        deadline = self.target.elapsed + self.target.config.max_wait
        wait, unusable = 0.0, 0  # the first read comes at once (LOCATION-4)
        for _ in range(MAX_POLLS):
            if trace.polls:
                remaining = deadline - self.target.elapsed
                if remaining <= 0:
                    break
                await self.target.wait(wait, limit=remaining)
            poll = await self.target.request("poll", "GET", trace.monitor)
            if cancelled and self.profile.cancel_may_remove and poll.status in (404, 410):
                trace.removed, trace.final_state = poll, self.profile.cancelled
                return trace
            trace.polls.append(poll)
            if "repoint" in self.profile.features:
                trace.monitor = self._newest(poll, trace.monitor)
            state = state_of(self.profile, poll)
            unusable = unusable + 1 if state is None else 0
            if unusable >= MAX_UNUSABLE:
                self.rec.notes.append(
                    f"{submission.label}: {MAX_UNUSABLE} unusable monitor answers"
                )
                trace.unreadable = True
                return trace
            if state in self.profile.terminal:
                trace.final_state = state
                break
            if early_result and self.rec.early_result is None and state is not None:
                await self._early_result(poll, trace.monitor)
            wait = advised_wait(poll) if state is not None else DEFAULT_WAIT
        if trace.final_state is None:
            trace.timed_out = True
            return trace
        for _ in range(AFTER_TERMINAL):
            trace.after_terminal.append(await self.target.request("re-poll", "GET", trace.monitor))
        return trace

    def result_of(self, trace: Trace) -> str | None:
        """Where the result of a job followed to success is: the link or header of its last
        read, else where the dialect says results are; None when nothing says."""
        final = trace.after_terminal[-1] if trace.after_terminal else trace.polls[-1]
        link = self.profile.result_reference(final.json())
        if self.profile.result_header is not None:
            link = final.header(self.profile.result_header)
        if isinstance(link, str):
            return self.target.url(link, base=final.url)
        return self.profile.result_url(trace.monitor or "", self.submit_url)

    @property
    def result_accept(self) -> dict[str, str]:
        """The Accept of a request for a result: the media types the profile allows."""
        return {"Accept": ", ".join(self.profile.result_media_types)}

    def _newest(self, poll: Exchange, monitor: str) -> str:
        """The monitor to read next: the pointer a running 202 carries again, if it carries
        one the tester may follow (OData 4.01 §11.6: the values may change), else the same."""
        lines = poll.header_lines(self.profile.monitor_header)
        if poll.status != 202 or not lines:
            return monitor
        return self._followable(lines[0].strip(), poll.url) or monitor

    async def _early_result(self, poll: Exchange, monitor: str) -> None:
        link = self.profile.result_reference(poll.json())
        if isinstance(link, str):
            url: str | None = self.target.url(link, base=poll.url)
        else:  # no link yet: where the dialect says the result will be, from the monitor as
            # sent (the poll's recorded URL has the configured query, its secrets redacted)
            url = self.profile.result_url(monitor, self.submit_url)
        if url is not None and self.target.same_origin(url):
            self.rec.early_result = await self.target.request("early-result", "GET", url)

    # -- scenarios -------------------------------------------------------------------------

    async def _main(self) -> None:
        submission = await self.submit("submit", self.profile.body)
        trace = self.rec.main = await self.follow(submission, early_result=True)
        if trace.monitor is None:
            return
        self.rec.head = await self.target.head("head", trace.monitor)
        self.rec.head_get = await self.target.request("head-get", "GET", trace.monitor)
        if trace.final_state == self.profile.success:
            url = self.result_of(trace)
            if url is not None and self.target.same_origin(url):
                self.rec.result = await self.target.request(
                    "result", "GET", url, headers=self.result_accept
                )
            elif url is not None:
                self.rec.notes.append(f"result link {url} is on another origin")
        if (
            trace.final_state is not None
            and self.profile.cancel_method
            and "cancel" in self.profile.features
            and self.profile.rule(RULES["CANCEL-3"]) is not None  # a dialect may remove instead
        ):
            self.rec.cancel_finished = await self.target.request(
                "cancel-finished",
                self.profile.cancel_method,
                self.profile.cancel_url(trace.monitor),
            )
            self.rec.after_cancel_finished = await self.target.request(
                "re-poll", "GET", trace.monitor
            )

    async def _prefer(self) -> None:
        """HTTP-4's probe, a job of its own: an unknown preference beside respond-async."""
        self.rec.prefer_probe = await self.submit(
            "prefer-probe", self.profile.body, {"Prefer": f"respond-async, {UNKNOWN_PREFERENCE}"}
        )

    async def _wait(self) -> None:
        """The WAIT rules' probes, a job of its own: a plain read; while the job is not over,
        reads asking to be held ``HELD_CHANGE`` seconds, with plain reads beside each, until
        one is answered early (``HELD_MAX`` at most, ending within the wait budget); after an
        early answer, one asking ``HELD_COURSE``, brief enough to run its course; the job
        followed plainly to its end, and read once more asking to be held ``HELD_ENDED``."""
        submission = await self.submit("submit-for-wait", self.profile.body)
        waits = self.rec.waits = Waits(submission)
        monitor, why = self.monitor_of(submission)
        if monitor is None:
            self.rec.notes.append(f"held reads: not attempted: {why}")
            return
        last = waits.before = await self.target.request("wait-before", "GET", monitor)
        deadline = self.target.elapsed + self.target.config.max_wait
        early = False
        for _ in range(HELD_MAX):
            if not self._running(last) or self.target.elapsed + HELD_CHANGE > deadline:
                break
            hold = await self._held_beside(monitor)
            waits.holds.append(hold)
            last, early = hold.read, hold.early()
            if early:
                break
        if early and self._running(last):  # no hold has run its course yet
            waits.holds.append(await self._held(monitor, HELD_COURSE))
        waits.job = await self.follow(submission)
        if waits.job.final_state is not None and waits.job.monitor is not None:
            waits.ended = await self._held(waits.job.monitor, HELD_ENDED, "wait-ended")

    def _over(self, read: Exchange) -> bool:
        """Whether a read of the monitor reports a terminal state."""
        return state_of(self.profile, read) in self.profile.terminal

    def _running(self, read: Exchange) -> bool:
        """Whether a read of the monitor reports a state that is not terminal."""
        state = state_of(self.profile, read)
        return state is not None and state not in self.profile.terminal

    async def _held(self, monitor: str, seconds: int, label: str = "wait-held") -> Hold:
        """A read of the monitor asking to be held ``seconds`` (``Prefer: wait``)."""
        headers = {"Prefer": f"wait={seconds}"}
        read = await self.target.request(label, "GET", monitor, headers=headers, held=seconds)
        return Hold(read, seconds)

    async def _held_beside(self, monitor: str) -> Hold:
        """A read asking to be held ``HELD_CHANGE`` seconds and, while it is, a plain read of
        the same monitor every ``BESIDE_EVERY`` seconds (``BESIDE_MAX`` at most). Should a
        plain read be refused by the budget, the held one is dropped."""
        held = asyncio.ensure_future(self._held(monitor, HELD_CHANGE))
        beside: list[Exchange] = []
        try:
            for _ in range(BESIDE_MAX):
                done, _ = await asyncio.wait({held}, timeout=BESIDE_EVERY)
                if done:
                    break
                beside.append(await self.target.request("wait-beside", "GET", monitor))
            hold = await held
        finally:
            held.cancel()  # nothing to cancel once it is done
        hold.beside = beside
        return hold

    async def _stream(self) -> None:
        """The STREAM rules' reads, a job of its own: its monitor read asking for
        ``text/event-stream`` as soon as it is accepted, to its end (the wait budget and the
        run's timeout at most); then a plain read of it; then, once the stream ended with an
        ``id``, the stream read again with ``Last-Event-ID`` set to that id (the run's timeout
        at most): the snapshot it names is not to be sent again."""
        submission = await self.submit("submit-for-stream", self.profile.body)
        streams = self.rec.streams = Streams(submission)
        monitor, why = self.monitor_of(submission)
        if monitor is None:
            self.rec.notes.append(f"status stream: not attempted: {why}")
            return
        config = self.target.config
        accept = {"Accept": EVENT_STREAM}
        streams.read, streams.ended = await self.target.stream(
            "stream", monitor, accept, config.max_wait + config.timeout
        )
        streams.events = sse_events(streams.read)
        streams.polled = await self.target.request("stream-poll", "GET", monitor)
        last = streams.events[-1].id if streams.events else None
        if streams.ended and last:
            resumed = {**accept, "Last-Event-ID": last}
            streams.resumed, _ = await self.target.stream(
                "stream-resumed", monitor, resumed, config.timeout
            )
            streams.resumed_events = sse_events(streams.resumed)

    async def _failing(self) -> None:
        submission = await self.submit("submit-failing", self.profile.failing_body)
        self.rec.failing = await self.follow(submission)

    async def _cancel(self) -> None:
        submission = await self.submit("submit-to-cancel", self.profile.body)
        monitor, why = self.monitor_of(submission)
        if monitor is None:
            self.rec.notes.append(f"cancel: not attempted: {why}")
            return
        method = self.profile.cancel_method or "DELETE"
        cancel_url = self.profile.cancel_url(monitor)
        self.rec.cancel = await self.target.request("cancel", method, cancel_url)
        trace = self.rec.cancelled = await self.follow(submission, cancelled=True)
        if trace.final_state is not None:
            self.rec.cancel_again = await self.target.request("cancel-again", method, cancel_url)

    async def _errors(self) -> None:
        errors = self.rec.errors
        submit_url, method = self.submit_url, self.profile.submit_method
        headers = self.profile.submit_headers
        body = self.profile.body
        if self.takes_body and body is not None:
            declared = request_media_types(self.contract, method, self.profile.submit_path)
            malformed = MALFORMED.get(body.encoding)
            if malformed is not None and (declared is None or body.media_type in declared):
                content, media_type = malformed
                errors["malformed"] = await self.target.request(
                    "malformed",
                    method,
                    submit_url,
                    content=content,
                    headers={"Content-Type": media_type, **headers},
                )
            # a media type the operation does not take, whatever it takes
            errors["unsupported-media-type"] = await self.target.request(
                "unsupported-media-type",
                method,
                submit_url,
                content=b"lrokit=unsupported",
                headers={"Content-Type": unsupported_media_type(declared)},
            )
            invalid = (
                invalid_body(self.contract, method, self.profile.submit_path, body.document)
                if self.contract is not None and body.document is not None
                else None
            )
            if invalid is not None:  # well-formed JSON that breaks the request schema
                errors["invalid"] = await self.target.request(
                    "invalid",
                    method,
                    submit_url,
                    content=orjson.dumps(invalid),
                    headers={"Content-Type": "application/json", **headers},
                )
        errors["wrong-method"] = await self.target.request("wrong-method", "PATCH", submit_url)
        # Monitor URLs for ids nobody created: this job's, with its id replaced, and (where the
        # contract makes other segments parameters too) with each of those replaced in turn.
        probe = self.rec.plain = await self.submit("submit-for-unknown", self.profile.body)
        monitor, why = self.monitor_of(probe)
        if monitor is None:
            self.rec.notes.append(f"unknown id: not attempted: {why}")
            return
        errors["unknown-id"] = await self.target.request(
            "unknown-id", "GET", self.profile.with_job_id(monitor, uuid.uuid4().hex)
        )
        path = urlsplit(monitor).path
        segments = parameter_segments(self.contract, path) if self.contract is not None else []
        for segment in sorted(set(segments) - {self.profile.id_segment}):
            unknown = replace_segment(monitor, segment, uuid.uuid4().hex)
            key = f"unknown-id{segment}"
            errors[key] = await self.target.request("unknown-id", "GET", unknown)
        errors["not-acceptable"] = await self.target.request(
            "not-acceptable", "GET", monitor, headers={"Accept": "application/x-lrokit-none"}
        )
        errors["wrong-method-monitor"] = await self.target.request("wrong-method", "PATCH", monitor)

    async def _idempotency(self) -> None:
        key = f'"lrokit-{uuid.uuid4()}"'
        for _ in range(2):
            self.rec.idempotent.append(
                await self.submit("idempotent", self.profile.body, {"Idempotency-Key": key})
            )
        self.rec.idempotent_other = await self.submit(
            "idempotent-other", self.profile.other_body, {"Idempotency-Key": key}
        )
        shared = f'"lrokit-{uuid.uuid4()}"'
        self.rec.concurrent = list(
            await asyncio.gather(
                *(
                    self.submit("concurrent", self.profile.body, {"Idempotency-Key": shared})
                    for _ in range(CONCURRENT)
                )
            )
        )

    async def _clean_up(self) -> None:
        """Cancel every job the run started and did not see end (where the profile cannot
        cancel, they are left to finish or expire); the notes say which. Nothing here is
        judged: these are the tester's own requests."""
        tenancy = self.rec.tenancy
        waits, streams = self.rec.waits, self.rec.streams
        followed = [self.rec.main, self.rec.failing, self.rec.cancelled]
        if tenancy is not None:
            followed += [tenancy.job, tenancy.cancelled]
        if waits is not None:
            followed.append(waits.job)
        hooks = self.rec.webhooks.hooks() if self.rec.webhooks is not None else []
        followed += [hook.job for hook in hooks]
        traces = [t for t in followed if t]
        ended = {t.monitor for t in traces if t.final_state is not None}
        polled = streams.polled if streams is not None else None  # read once the stream ended
        if streams is not None and polled is not None and self._over(polled):
            ended.add(self.monitor_of(streams.submission)[0])
        probes = (self.rec.plain, self.rec.prefer_probe, self.rec.idempotent_other)
        ours = [
            *(t.submission for t in traces),
            *(e for e in (*probes, waits.submission if waits else None) if e),
            *([streams.submission] if streams is not None else []),
            *(hook.submission for hook in hooks),
            *self.rec.idempotent,
            *self.rec.concurrent,
        ]
        started = [(submission, OWN) for submission in ours]
        if tenancy is not None:  # each job is cancelled as whoever started it
            config = self.target.config
            others = ((tenancy.own, config.other()), (tenancy.anonymous_submit, config.anonymous()))
            started += [(submission, who) for submission, who in others if submission is not None]
        # monitor -> what the run submitted the job for, and as whom
        monitors: dict[str, tuple[str, Principal]] = {}
        for submission, principal in started:
            if self.profile.body_state(submission.json()) in self.profile.terminal:
                continue  # over as soon as it was accepted
            monitor, _ = self.monitor_of(submission)
            if monitor is not None and monitor not in ended:
                monitors.setdefault(monitor, (submission.label, principal))
        if not monitors:
            return
        jobs = ", ".join(sorted({label for label, _ in monitors.values()}))
        method = self.profile.cancel_method
        if method is None or "cancel" not in self.profile.features:
            self.rec.notes.append(
                f"clean-up: {len(monitors)} jobs the run started are left to finish ({jobs}; "
                f"profile {self.profile.name} cannot cancel)"
            )
            return
        try:
            for monitor, (_, principal) in monitors.items():
                url = self.profile.cancel_url(monitor)
                self.rec.cleaned.append(
                    await self.target.request("clean-up", method, url, principal=principal)
                )
        except BudgetExhausted:
            self.rec.notes.append("clean-up: stopped by the request budget")
        self.rec.notes.append(
            f"clean-up: cancelled {len(self.rec.cleaned)} of the jobs the run started and did "
            f"not see end ({jobs}), so that they do not hold the server up"
        )


def sse_events(read: Exchange) -> list[Event]:
    """The events of a streamed read's body, parsed as an event stream (WHATWG HTML §9.2.6)
    whatever its media type says (STREAM-1 judges that); none when there was no answer."""
    if read.status is None:
        return []
    response = httpx.Response(200, headers={"Content-Type": EVENT_STREAM}, content=read.body)
    return [Event(sse.event, sse.data, sse.id or None) for sse in EventSource(response).iter_sse()]
