"""Scenarios: the requests a conformance run sends, recorded for the checks to judge.

The scenarios run concurrently and each is bounded: polls honour Retry-After (scaled by
``time_scale``), stop at the wait budget, and a job is only followed on the target's origin.
"""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urldefrag

import orjson

from lrokit.model.exchange import Exchange, response_date
from lrokit.model.headers import retry_after_delay
from lrokit.model.profile import Profile, dig
from lrokit.model.recording import Recording, Trace, state_of
from lrokit.rules import RULES
from lrokit.runner.target import BudgetExhausted, Target

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


def advised_wait(exchange: Exchange) -> float:
    """The Retry-After of ``exchange`` in seconds, or the default when absent or invalid."""
    value = exchange.header("retry-after")
    delay = retry_after_delay(value, response_date(exchange)) if value is not None else None
    return DEFAULT_WAIT if delay is None else max(0.0, delay)


class Scenarios:
    """Runs every scenario against one target with one profile."""

    def __init__(self, target: Target, profile: Profile) -> None:
        self.target = target
        self.profile = profile
        self.rec = Recording()

    async def run(self) -> Recording:
        """Run all scenarios; a budget or transport failure is noted, never raised."""
        features = self.profile.features
        jobs = [self._main(), self._errors()]
        if self.profile.failing_body is not None:
            jobs.append(self._failing())
        if "cancel" in features and self.profile.cancel_method:
            jobs.append(self._cancel())
        if "idempotency" in features and self.profile.other_body is not None:
            jobs.append(self._idempotency())
        for outcome in await asyncio.gather(*jobs, return_exceptions=True):
            if isinstance(outcome, BudgetExhausted):
                self.rec.notes.append(f"stopped early: {outcome}")
            elif isinstance(outcome, BaseException):
                raise outcome
        self.rec.exchanges = list(self.target.exchanges)
        return self.rec

    # -- building blocks -------------------------------------------------------------------

    @property
    def submit_url(self) -> str:
        return self.target.url(self.profile.submit_path)

    async def submit(self, label: str, body: object, **headers: str) -> Exchange:
        return await self.target.request(
            label,
            self.profile.submit_method,
            self.submit_url,
            content=orjson.dumps(body),
            headers={"Content-Type": "application/json", **self.profile.submit_headers, **headers},
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

    async def follow(self, submission: Exchange, *, early_result: bool = False) -> Trace:
        """Poll the submission's monitor to a terminal state within the budgets."""
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

    def _newest(self, poll: Exchange, monitor: str) -> str:
        """The monitor to read next: the pointer a running 202 carries again, if it carries
        one the tester may follow (OData 4.01 §11.6: the values may change), else the same."""
        lines = poll.header_lines(self.profile.monitor_header)
        if poll.status != 202 or not lines:
            return monitor
        return self._followable(lines[0].strip(), poll.url) or monitor

    async def _early_result(self, poll: Exchange, monitor: str) -> None:
        link = dig(poll.json(), self.profile.result_link)
        if isinstance(link, str):
            url: str | None = self.target.url(link, base=poll.url)
        else:  # no link yet: where the dialect says the result will be, from the monitor as
            # sent (the poll's recorded URL has the configured query, its secrets redacted)
            url = self.profile.result_url(monitor)
        if url is not None and self.target.same_origin(url):
            self.rec.early_result = await self.target.request("early-result", "GET", url)

    # -- scenarios -------------------------------------------------------------------------

    async def _main(self) -> None:
        prefer = (
            {"Prefer": f"respond-async, {UNKNOWN_PREFERENCE}"}
            if "prefer" in self.profile.features
            else {}
        )
        submission = await self.submit("submit", self.profile.body, **prefer)
        trace = self.rec.main = await self.follow(submission, early_result=True)
        if trace.monitor is None:
            return
        self.rec.head = await self.target.request("head", "HEAD", trace.monitor)
        self.rec.head_get = await self.target.request("head-get", "GET", trace.monitor)
        if trace.final_state == self.profile.success:
            final = trace.after_terminal[-1] if trace.after_terminal else trace.polls[-1]
            link = dig(final.json(), self.profile.result_link)
            if self.profile.result_header is not None:
                link = final.header(self.profile.result_header)
            url = (
                self.target.url(link, base=final.url)
                if isinstance(link, str)
                else self.profile.result_url(trace.monitor)
            )
            if url is not None and self.target.same_origin(url):
                self.rec.result = await self.target.request("result", "GET", url)
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
        trace = self.rec.cancelled = await self.follow(submission)
        if trace.final_state is not None:
            self.rec.cancel_again = await self.target.request("cancel-again", method, cancel_url)

    async def _errors(self) -> None:
        errors = self.rec.errors
        submit_url = self.submit_url
        errors["malformed"] = await self.target.request(
            "malformed",
            self.profile.submit_method,
            submit_url,
            content=b'{"lrokit": "malformed',
            headers={"Content-Type": "application/json", **self.profile.submit_headers},
        )
        errors["unsupported-media-type"] = await self.target.request(
            "unsupported-media-type",
            self.profile.submit_method,
            submit_url,
            content=b"lrokit=unsupported",
            headers={"Content-Type": "text/plain"},
        )
        errors["wrong-method"] = await self.target.request("wrong-method", "PATCH", submit_url)
        # A monitor URL for an id nobody created: this job's, with its id replaced.
        probe = self.rec.plain = await self.submit("submit-for-unknown", self.profile.body)
        monitor, why = self.monitor_of(probe)
        if monitor is None:
            self.rec.notes.append(f"unknown id: not attempted: {why}")
            return
        unknown = self.profile.with_job_id(monitor, uuid.uuid4().hex)
        errors["unknown-id"] = await self.target.request("unknown-id", "GET", unknown)
        errors["not-acceptable"] = await self.target.request(
            "not-acceptable", "GET", monitor, headers={"Accept": "application/x-lrokit-none"}
        )
        errors["wrong-method-monitor"] = await self.target.request("wrong-method", "PATCH", monitor)

    async def _idempotency(self) -> None:
        key = f'"lrokit-{uuid.uuid4()}"'
        for _ in range(2):
            self.rec.idempotent.append(
                await self.submit("idempotent", self.profile.body, **{"Idempotency-Key": key})
            )
        self.rec.idempotent_other = await self.submit(
            "idempotent-other", self.profile.other_body, **{"Idempotency-Key": key}
        )
        shared = f'"lrokit-{uuid.uuid4()}"'
        self.rec.concurrent = list(
            await asyncio.gather(
                *(
                    self.submit("concurrent", self.profile.body, **{"Idempotency-Key": shared})
                    for _ in range(CONCURRENT)
                )
            )
        )
