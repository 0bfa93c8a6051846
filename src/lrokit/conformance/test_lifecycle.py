"""The lifecycle layer: a Hypothesis state machine drives jobs on the target.

Its rules are what a client does: ``submit`` a valid body (202 and a monitor pointer),
``poll`` a monitor until it has news (each read waiting what Retry-After advised, scaled by
``--time-scale``),
``fetch_result`` of a job the model knows is done, ``cancel`` a job, and ``poll_unknown``
(an id nobody created: 404). Its model keeps every state, progress and Retry-After it saw
per job; after every step the invariants check that terminal states are absorbing (with the
same error and finish time), that states move only along the profile's transitions, that
progress never decreases, that no terminal read carries Retry-After, and that cancels are
honoured (refused only for a terminal job; accepted for a running one, the job ends
cancelled). A failure prints the steps that replay it.

Every request goes through :class:`lrokit.runner.target.Target` (timeouts, body limits,
same-origin only). The whole layer ends within ``--max-wait``: a poll whose advised wait would
pass that deadline is not sent (the server's pacing is never ignored), and every step after it
does nothing. A run submits at most ``MAX_JOBS`` jobs and cancels those still running at its
end, so the target is left as quiet as it can be.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urldefrag

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from lrokit.model.exchange import Exchange
from lrokit.model.profile import Profile, dig
from lrokit.model.recording import state_of
from lrokit.runner.scenarios import advised_wait
from lrokit.runner.target import BudgetExhausted, Target

if TYPE_CHECKING:
    from hypothesis.stateful import MultipleResults

    from lrokit.runner.options import SuiteOptions


def require(condition: object, message: str) -> None:
    """Fail the step with ``message`` alone (no assertion introspection: the message says it)."""
    __tracebackhide__ = True
    if not condition:
        raise AssertionError(message)


#: Steps of one run (``--lifecycle-examples`` says how many runs; 0: none).
STEPS = 8
#: Jobs one run submits at most, cancels and unknown-id probes it sends at most: the other
#: steps go to following the jobs (polls), and the target stays calm.
MAX_JOBS = 2
MAX_CANCELS = 1
MAX_UNKNOWN = 1
#: Reads of one poll step at most, while the job's state does not change.
MAX_READS = 10


@dataclass
class Seen:
    """One state the target reported for a job."""

    state: str
    progress: object
    retry_after: str | None
    exchange: str  # ``GET /reports/1 -> 200``
    monitor_read: bool  # a 200 GET of the monitor (not a submission or cancel answer)
    outcome: dict[str, object] = field(default_factory=dict)  # its error and finish time

    def __str__(self) -> str:
        extra = f", progress {self.progress}" if self.progress is not None else ""
        extra += f", Retry-After {self.retry_after}" if self.retry_after is not None else ""
        return f"{self.state}{extra} ({self.exchange})"


@dataclass
class Job:
    """The model of one job the machine submitted."""

    monitor: str
    seen: list[Seen] = field(default_factory=list)
    next_read: float = 0.0  # monotonic time before which a poll waits (Retry-After)
    refused_cancel_at: int | None = None  # len(seen) when a cancel was refused
    accepted_cancel_at: int | None = None  # len(seen) when a cancel of it running was accepted
    result_link: str | None = None

    def history(self) -> str:
        return "\n".join(f"    {number}. {seen}" for number, seen in enumerate(self.seen, 1))


class Lifecycle(RuleBasedStateMachine):
    """Submit, poll, fetch, cancel and probe jobs on the target; check the model's invariants."""

    options: ClassVar[SuiteOptions]  # set per test run by :func:`machine`
    operation: ClassVar[Profile]  # the profile of the operation it drives
    deadline: ClassVar[float]  # monotonic time the whole layer ends by: start + --max-wait
    monitors = Bundle("monitors")
    finished = Bundle("finished")  # monitors of jobs the model knows ended in success

    def __init__(self) -> None:
        super().__init__()
        self.profile = self.operation
        self.config = self.options.target_config()
        self.loop = asyncio.new_event_loop()
        self.target = Target(self.config)
        self.jobs: dict[str, Job] = {}
        self.cancels = self.unknown_polls = 0

    def teardown(self) -> None:
        try:
            method = self.profile.cancel_method
            if method and "cancel" in self.profile.features:
                for job in self.jobs.values():  # leave nothing running (at most MAX_JOBS)
                    if not self._terminal(job):
                        with contextlib.suppress(BudgetExhausted, ValueError):  # best effort
                            self.loop.run_until_complete(
                                self.target.request(
                                    "cleanup", method, self.profile.cancel_url(job.monitor)
                                )
                            )
        finally:
            self.loop.run_until_complete(self.target.aclose())
            self.loop.close()

    # -- helpers ---------------------------------------------------------------------------

    def _send(self, label: str, method: str, url: str, **kwargs: Any) -> Exchange:
        exchange = self.loop.run_until_complete(self.target.request(label, method, url, **kwargs))
        require(exchange.status is not None, f"no response: {exchange.describe()}")
        return exchange

    def _terminal(self, job: Job) -> bool:
        return bool(job.seen) and job.seen[-1].state in self.profile.terminal

    def _observe(self, job: Job, exchange: Exchange, *, monitor_read: bool) -> str | None:
        # A monitor read's state may come from its status; a submission's or cancel's body
        # reports the job whatever its status.
        body = exchange.json()
        state = state_of(self.profile, exchange) if monitor_read else self.profile.body_state(body)
        if state is None:
            return None
        require(
            state in self.profile.states,
            f"MONITOR-3: state {state!r} is not one of {', '.join(self.profile.states)} "
            f"({exchange.describe()})",
        )
        progress = dig(exchange.json(), self.profile.progress_field)
        outcome = {
            name: dig(body, name)
            for name in (self.profile.error_field, self.profile.finished_field)
            if name
        }
        seen = Seen(
            state,
            progress,
            exchange.header("retry-after"),
            exchange.describe(),
            monitor_read,
            outcome,
        )
        job.seen.append(seen)
        wait = 0.0 if state in self.profile.terminal else advised_wait(exchange)
        job.next_read = time.monotonic() + min(wait * self.config.time_scale, self.config.max_wait)
        return state

    def _spent(self) -> bool:
        """Whether the layer's time is up: every later step does nothing."""
        return time.monotonic() >= self.deadline

    def _wait_for(self, job: Job) -> bool:
        """Wait what the job's last Retry-After advised; False when that would pass the
        deadline (the poll is then not sent: the server's pacing is never ignored)."""
        delay = max(0.0, job.next_read - time.monotonic())
        if time.monotonic() + delay >= self.deadline:
            return False
        time.sleep(delay)
        return True

    # -- rules -----------------------------------------------------------------------------

    @precondition(lambda self: len(self.jobs) < MAX_JOBS)
    @rule(target=monitors, kind=st.sampled_from(["valid", "failing"]))
    def submit(self, kind: str) -> str | MultipleResults[str]:
        if self._spent():
            return multiple()
        profile = self.profile
        body = profile.failing_body if kind == "failing" and profile.failing_body else profile.body
        content, typed = body.encode() if body is not None else (None, None)
        exchange = self._send(
            "submit",
            profile.submit_method,
            self.target.url(profile.submit_path),
            content=content,
            headers={**({"Content-Type": typed} if typed else {}), **profile.submit_headers},
        )
        require(
            exchange.status in profile.initiation_status,
            f"ACCEPT-1: a valid submission was answered {exchange.status}, expected "
            f"{' or '.join(map(str, profile.initiation_status))} ({exchange.describe()})",
        )
        pointers = exchange.header_lines(profile.monitor_header)
        require(
            len(pointers) == 1 or (not pointers and profile.monitor_template is not None),
            f"LOCATION-1/2: {len(pointers)} {profile.monitor_header} field lines, expected one "
            f"({exchange.describe()})",
        )
        reference = profile.pointer(exchange, api=self.target.config.base_url)
        require(reference is not None, f"no monitor in the answer ({exchange.describe()})")
        assert reference is not None
        monitor = urldefrag(self.target.url(reference, base=exchange.url)).url
        if not self.target.same_origin(monitor):
            pytest.skip(
                f"the monitor {monitor} is on another origin; the lifecycle layer stays on it"
            )
        require(monitor not in self.jobs, f"LOCATION-5: a second submission got monitor {monitor}")
        job = self.jobs[monitor] = Job(monitor)
        if self._observe(job, exchange, monitor_read=False) is None:  # a 202 without a body
            wait = advised_wait(exchange) * self.config.time_scale
            job.next_read = time.monotonic() + min(wait, self.config.max_wait)
        return monitor

    @rule(target=finished, monitor=monitors)
    def poll(self, monitor: str) -> str | MultipleResults[str]:
        """Read the monitor, waiting what Retry-After advised before each read, until it has
        news: a state other than the last one seen. A job already terminal is read once; a
        poll reads at most ``MAX_READS`` times, and never past the layer's deadline."""
        job = self.jobs[monitor]
        before = job.seen[-1].state if job.seen else None
        exchange: Exchange | None = None
        for _ in range(1 if self._terminal(job) else MAX_READS):
            if not self._wait_for(job):
                break
            exchange = self._send("poll", "GET", monitor)
            require(
                exchange.status in self.profile.read_statuses,
                f"MONITOR-1: a monitor read of a job that exists was answered "
                f"{exchange.status} ({exchange.describe()})",
            )
            state = self._observe(job, exchange, monitor_read=True)
            require(
                state is not None,
                f"MONITOR-2: no state in {self.profile.state_field!r} ({exchange.describe()})",
            )
            if state != before:
                break
        if exchange is None or job.seen[-1].state != self.profile.success:
            return multiple()
        link = self.profile.result_reference(exchange.json())
        job.result_link = self.target.url(link, base=monitor) if isinstance(link, str) else None
        return monitor

    @precondition(lambda self: self.profile.result_link is not None)
    @rule(monitor=finished)
    def fetch_result(self, monitor: str) -> None:
        if self._spent():
            return
        job = self.jobs[monitor]
        link = job.result_link
        if link is None:
            raise AssertionError(
                f"RESULT-1: the job is {self.profile.success} but links no result at "
                f"{self.profile.result_link!r}\n  history:\n{job.history()}"
            )
        if not self.target.same_origin(link):
            return  # LOCATION-3's business; the machine does not leave the target's origin
        exchange = self._send("result", "GET", link)
        served = exchange.status is not None and 200 <= exchange.status < 300 and exchange.body
        require(
            served,
            f"RESULT-1: the result of a {self.profile.success} job was answered "
            f"{exchange.status} with {len(exchange.body)} bytes ({exchange.describe()})",
        )

    @precondition(
        lambda self: (
            bool(self.profile.cancel_method)
            and "cancel" in self.profile.features
            and self.cancels < MAX_CANCELS
        )
    )
    @rule(monitor=monitors)
    def cancel(self, monitor: str) -> None:
        if self._spent():
            return
        job = self.jobs[monitor]
        self.cancels += 1
        method = self.profile.cancel_method or "DELETE"
        exchange = self._send("cancel", method, self.profile.cancel_url(monitor))
        status = exchange.status or 0
        require(status < 500, f"a cancel was answered {status} ({exchange.describe()})")
        if 200 <= status < 300:
            state = self._observe(job, exchange, monitor_read=False)
            # An answer that says the job is still running says the cancel came in time: the
            # job must end cancelled (CANCEL-1). One without a state may answer a cancel of a
            # job that finished meanwhile (CANCEL-3 only asks a 409 of it): nothing is judged.
            running = state is not None and state not in self.profile.terminal
            if running and job.accepted_cancel_at is None:
                job.accepted_cancel_at = len(job.seen)
        elif job.refused_cancel_at is None:
            # Only a terminal job may refuse a cancel (CANCEL-1); terminal states are absorbing,
            # so every later read must be terminal: the invariant below holds the server to it.
            job.refused_cancel_at = len(job.seen)

    @precondition(lambda self: self.unknown_polls < MAX_UNKNOWN)
    @rule(monitor=monitors, ident=st.uuids(version=4).map(lambda u: u.hex))
    def poll_unknown(self, monitor: str, ident: str) -> None:
        if self._spent():
            return
        self.unknown_polls += 1
        unknown = self.profile.with_job_id(monitor, ident)
        if unknown in self.jobs:
            return
        exchange = self._send("poll-unknown", "GET", unknown)
        require(
            exchange.status == 404,
            f"PROBLEM-4: a monitor of an unknown job was answered {exchange.status}, expected 404 "
            f"({exchange.describe()})",
        )

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def lifecycle_holds(self) -> None:
        """Checked after every step, for every job the model knows."""
        for job in self.jobs.values():
            self.terminal_states_are_absorbing(job)
            self.states_follow_transitions(job)
            self.progress_never_decreases(job)
            self.no_retry_after_on_terminal_reads(job)
            self.refused_cancel_means_terminal(job)
            self.accepted_cancel_ends_cancelled(job)

    def terminal_states_are_absorbing(self, job: Job) -> None:
        states = [seen.state for seen in job.seen]
        first = next((i for i, s in enumerate(states) if s in self.profile.terminal), None)
        if first is not None:
            require(
                all(state == states[first] for state in states[first:]),
                f"LIFECYCLE-2: {job.monitor} left its terminal state {states[first]}\n"
                f"  history:\n{job.history()}",
            )
            # ... with the same error and finish time, read after read
            reads = [seen.outcome for seen in job.seen[first:] if seen.monitor_read]
            for name in reads[0] if reads else ():
                values = [outcome.get(name) for outcome in reads]
                require(
                    all(value == values[0] for value in values),
                    f"LIFECYCLE-2: {job.monitor}'s {name} changed after its terminal state "
                    f"{states[first]}: {' -> '.join(map(repr, values))}\n"
                    f"  history:\n{job.history()}",
                )

    def states_follow_transitions(self, job: Job) -> None:
        for before, after in zip(job.seen, job.seen[1:], strict=False):
            require(
                after.state in self.profile.reachable(before.state),
                f"LIFECYCLE-1: {job.monitor} moved {before.state} -> {after.state}, which the "
                f"profile does not allow\n  history:\n{job.history()}",
            )

    def progress_never_decreases(self, job: Job) -> None:
        values: list[int] = []
        for seen in job.seen:
            value = seen.progress
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
                raise AssertionError(
                    f"LIFECYCLE-3: progress {value!r} is not an integer within 0..100\n"
                    f"  history:\n{job.history()}"
                )
            values.append(value)
        require(
            values == sorted(values),
            f"LIFECYCLE-3: {job.monitor}'s progress decreased\n  history:\n{job.history()}",
        )

    def no_retry_after_on_terminal_reads(self, job: Job) -> None:
        for seen in job.seen:
            terminal_read = seen.monitor_read and seen.state in self.profile.terminal
            require(
                not (terminal_read and seen.retry_after is not None),
                f"RETRY-3: a terminal monitor read carries Retry-After: {seen.retry_after}\n"
                f"  history:\n{job.history()}",
            )

    def refused_cancel_means_terminal(self, job: Job) -> None:
        if job.refused_cancel_at is None:
            return
        later = [seen for seen in job.seen[job.refused_cancel_at :] if seen.monitor_read]
        require(
            all(seen.state in self.profile.terminal for seen in later),
            f"CANCEL-1: a cancel of {job.monitor} was refused, yet the job was not terminal "
            f"afterwards\n  history:\n{job.history()}",
        )

    def accepted_cancel_ends_cancelled(self, job: Job) -> None:
        if job.accepted_cancel_at is None or self.profile.cancelled is None:
            return
        ends = {seen.state for seen in job.seen[job.accepted_cancel_at :]} & self.profile.terminal
        require(
            ends <= {self.profile.cancelled},
            f"CANCEL-1: a cancel of {job.monitor} was accepted while it was running, yet it "
            f"ended {', '.join(sorted(ends))}\n  history:\n{job.history()}",
        )


def machine(options: SuiteOptions, operation: str = "") -> type[Lifecycle]:
    """The state machine bound to one session's options and one of its operations (a check
    file's by name; "" for the run's one profile)."""
    deadline = time.monotonic() + options.max_wait
    profile = next((op.profile for op in options.checked if op.name == operation), None)
    bound = {"options": options, "deadline": deadline, "operation": profile or options.profile}
    return type("Lifecycle", (Lifecycle,), bound)


@pytest.mark.stateful
def test_lifecycle(lrokit_options: SuiteOptions, lrokit_operation: str) -> None:
    """The lifecycle of each operation (of a check file: one test each)."""
    if lrokit_options.lifecycle_examples == 0:
        pytest.skip("the lifecycle layer is disabled (--lifecycle-examples 0)")
    run_state_machine_as_test(
        machine(lrokit_options, lrokit_operation),
        settings=settings(
            max_examples=lrokit_options.lifecycle_examples,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,  # a live target: replaying old examples proves nothing
            phases=(Phase.explicit, Phase.generate),  # no shrinking: every replay costs waits
            suppress_health_check=list(HealthCheck),
        ),
    )
