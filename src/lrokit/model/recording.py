"""What a conformance run saw, by purpose: the jobs it followed and the probes it sent.

The scenarios (``lrokit.runner.scenarios``) fill a :class:`Recording`; the checks
(``lrokit.checks``) judge it. Neither needs the other to read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from lrokit.model.exchange import Exchange
from lrokit.model.headers import delta_seconds, preferences
from lrokit.model.profile import Profile


@dataclass
class Trace:
    """One submitted job, followed through its monitor."""

    submission: Exchange
    monitor: str | None = None  # the resolved monitor URL, if it could be followed
    unfollowed: str | None = None  # why the monitor was not followed
    polls: list[Exchange] = field(default_factory=list)  # every GET of the monitor
    after_terminal: list[Exchange] = field(default_factory=list)
    final_state: str | None = None
    timed_out: bool = False  # still not terminal when the wait budget ran out
    unreadable: bool = False  # given up after repeated unusable monitor answers
    # The read that found the job gone after the tester's own cancel, in a dialect where a
    # cancel may remove the job (404 or 410): the end of the trace, not a poll to judge.
    removed: Exchange | None = None

    @property
    def first_read(self) -> Exchange | None:
        return self.polls[0] if self.polls else None


@dataclass
class Tenancy:
    """What a run saw of its own principal's jobs as another principal (B, ``--other-header``)
    and without credentials. Each request has one purpose; the jobs are the run's own principal
    (A)'s, submitted for this alone, and A follows them to their end."""

    credentials: tuple[str, ...]  # the fields A sends that carry credentials (B's names)
    job: Trace | None = None  # A's job that B reads, and whose result B asks for
    own: Exchange | None = None  # B's submission of a job of its own
    own_read: Exchange | None = None  # B's read of its own job's monitor: B's credentials work
    reads: list[Exchange] = field(default_factory=list)  # B's reads of A's monitor
    unknown: Exchange | None = None  # B's read of a monitor whose id nobody created
    result: Exchange | None = None  # A's download of its job's result
    other_result: Exchange | None = None  # B's GET of that result
    cancel: Exchange | None = None  # B's cancel of A's other job
    cancelled: Trace | None = None  # that job, followed by A after B's cancel
    listing: Exchange | None = None  # A's listing of jobs
    other_listing: Exchange | None = None  # B's listing of jobs
    anonymous_submit: Exchange | None = None  # a submission without credentials
    anonymous_read: Exchange | None = None  # a read of A's monitor without credentials


#: Seconds before its time was up by which a held read's answer counts as early: timers and
#: clocks differ by milliseconds, and a hold that runs its course ends at its time, not before.
EARLY = 0.25


@dataclass
class Hold:
    """A read of the monitor asking to be held (``Prefer: wait=seconds``), and the plain reads
    of the same monitor sent while it was, to see when the job's state changed."""

    read: Exchange
    seconds: int
    beside: list[Exchange] = field(default_factory=list)

    @property
    def applied(self) -> str | None:
        """The wait its answer says was applied (``Preference-Applied``, RFC 7240 §3), as sent."""
        return preferences(self.read.header_lines("preference-applied")).get("wait")

    def early(self) -> bool:
        """Whether it was answered :data:`EARLY` before its time was up: the seconds it asked
        for, or fewer where its answer says it allowed fewer."""
        allowed = delta_seconds(self.applied)
        time_up = min(self.seconds, allowed) if allowed else self.seconds
        return self.read.status is not None and self.read.seconds <= time_up - EARLY


@dataclass
class Waits:
    """What a run saw of ``Prefer: wait`` on the status monitor (the WAIT rules), on a job of
    its own: a plain read; reads asking to be held while the job was not over, with plain reads
    beside them, until one was answered early; one brief enough to run its course; the job
    followed plainly to its end, and read once more asking to be held."""

    submission: Exchange
    before: Exchange | None = None  # the plain read just before the first held read
    holds: list[Hold] = field(default_factory=list)  # in order, each asked while not over
    job: Trace | None = None  # the job, followed plainly to its end after the held reads
    ended: Hold | None = None  # a read asking to be held, of the job once terminal

    def plain(self) -> list[Exchange]:
        """The plain reads of the job's monitor, in order."""
        beside = [read for hold in self.holds for read in hold.beside]
        polls = self.job.polls + self.job.after_terminal if self.job is not None else []
        return [*([self.before] if self.before is not None else []), *beside, *polls]


#: The media type of an event stream (WHATWG HTML §9.2.5).
EVENT_STREAM = "text/event-stream"


@dataclass(frozen=True)
class Event:
    """One event of a status stream, as its fields were given (WHATWG HTML §9.2.6): ``id`` is
    None when the event set none."""

    event: str
    data: str
    id: str | None


@dataclass
class Streams:
    """What a run saw of the status stream (the STREAM rules), on a job of its own: the
    monitor read asking for ``text/event-stream`` right after the submission, its events, and
    whether the server ended it within the bounds; then a plain read of the job; then, once the
    stream ended with an id, a read of the stream again with ``Last-Event-ID`` set to it."""

    submission: Exchange
    read: Exchange | None = None  # the read asking for the stream
    events: list[Event] = field(default_factory=list)
    ended: bool = False  # the server ended the stream within the tester's bounds
    polled: Exchange | None = None  # a plain read of the monitor once the stream ended
    resumed: Exchange | None = None  # the stream read again, Last-Event-ID its first id
    resumed_events: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class Delivery:
    """One request the run's webhook receiver got, as it came, and what the receiver answered
    it (the run's script for its URL)."""

    method: str
    path: str  # the path and query it asked for
    headers: tuple[tuple[str, str], ...]  # every field line, names lower-cased
    body: bytes
    at: float  # seconds since the run started, when its request had been read
    wall: float  # the receiver's clock then, in Unix seconds
    answered: int  # the status the receiver answered
    retry_after: str | None = None  # the Retry-After it answered with
    truncated: bool = False  # the body was cut at the receiver's size limit

    def header(self, name: str) -> str | None:
        """The first value of field ``name``, or None."""
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)

    @property
    def media_type(self) -> str:
        """The request's media type, lower-cased, without parameters."""
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        if self.truncated:
            return None
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None

    def describe(self) -> str:
        """One line for reports: ``POST /hooks/abc at 1.2 s (answered 500)``."""
        return f"{self.method} {self.path} at {self.at:.1f} s (answered {self.answered})"


@dataclass
class Hook:
    """A job submitted with a callback URL of its own on the run's receiver, followed to its
    end, and the deliveries that URL got."""

    url: str  # the callback URL the submission gave
    path: str  # where the receiver is asked for it
    submission: Exchange
    job: Trace | None = None  # None: not followed (the submission's monitor could not be)
    deliveries: list[Delivery] = field(default_factory=list)  # at this URL, in order


@dataclass
class Webhooks:
    """What a run saw of completion webhooks (the WEBHOOK rules), with ``--callbacks``: two
    jobs, each naming a URL of its own on the run's receiver. The receiver fails the first
    one's delivery (500), then asks for a pause (503, Retry-After: 1), then takes it (200); it
    answers the second one's 410 Gone, and watches that URL for ``window`` seconds more."""

    secret: str | None  # the server's signing secret (--webhook-secret); None: not given
    budget: float  # seconds each delivery was waited for at most (the wait budget)
    retried: Hook | None = None
    gone: Hook | None = None
    watched: float = 0.0  # seconds after the 410 that the gone URL was watched
    deliveries: list[Delivery] = field(default_factory=list)  # every request, at any URL
    unasked: str | None = None  # why no job could name a callback URL (no body to name it in)

    def hooks(self) -> list[Hook]:
        return [hook for hook in (self.retried, self.gone) if hook is not None]


@dataclass
class Recording:
    """Everything a run saw, by purpose."""

    main: Trace | None = None
    failing: Trace | None = None
    cancelled: Trace | None = None
    cancel: Exchange | None = None
    cancel_again: Exchange | None = None
    cancel_finished: Exchange | None = None  # DELETE on the finished main job
    after_cancel_finished: Exchange | None = None
    head: Exchange | None = None
    head_get: Exchange | None = None
    result: Exchange | None = None
    early_result: Exchange | None = None  # the result asked for before the job was done
    errors: dict[str, Exchange] = field(default_factory=dict)
    idempotent: list[Exchange] = field(default_factory=list)  # same key and body, twice
    idempotent_other: Exchange | None = None  # same key, other body
    concurrent: list[Exchange] = field(default_factory=list)
    plain: Exchange | None = None  # a job of its own, whose monitor the error probes use
    prefer_probe: Exchange | None = None  # a submission with an unknown preference (HTTP-4)
    cleaned: list[Exchange] = field(default_factory=list)  # cancels of jobs left running
    notes: list[str] = field(default_factory=list)  # what the tester could not do, and why
    exchanges: list[Exchange] = field(default_factory=list)  # everything, in order
    time_scale: float = 1.0  # how the run scaled Retry-After waits (1: honoured as advised)
    tenancy: Tenancy | None = None  # None: no second principal was given (--other-header)
    waits: Waits | None = None  # None: the profile has no held reads, or none were sent
    streams: Streams | None = None  # None: the profile has no status stream
    webhooks: Webhooks | None = None  # None: not asked for (--callbacks), or no such feature
    # Problems of a monitor body against the status schema, when a contract is known.
    validate: Callable[[Exchange], list[tuple[str, str]]] | None = None

    def traces(self) -> list[Trace]:
        """Every job the run submitted and tried to follow."""
        return [t for t in (self.main, self.failing, self.cancelled) if t is not None]

    def submissions(self) -> list[Exchange]:
        """The submissions of valid bodies whose outcome is judged (the unknown-preference
        probe among them: it is a valid submission too)."""
        found = [t.submission for t in self.traces()]
        return found + [e for e in (self.plain, self.prefer_probe) if e is not None]


def state_of(profile: Profile, exchange: Exchange) -> str | None:
    """The job state in a monitor response, if it has one."""
    return profile.state(exchange.json(), exchange.status)
