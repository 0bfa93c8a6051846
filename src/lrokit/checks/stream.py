"""STREAM: the status as Server-Sent Events (WHATWG HTML Living Standard §9.2), where the
profile says the monitor streams it (``features.stream``).

The run reads a job of its own (:class:`~lrokit.model.recording.Streams`): its monitor asking
for ``text/event-stream`` as soon as the job is accepted, to the stream's end (the wait budget
and the run's timeout at most, and the body cap); then a plain read of the job; then, once the
stream ended, the stream again with ``Last-Event-ID`` set to the last id it received.

The levels, honestly: the HTML standard defines the format and what a client does with
``id`` and ``Last-Event-ID``; what a server sends is the canonical contract's (getReport): a
``status`` event with the status document at once and on every change, the stream ended after
the terminal one, each event's ``id`` naming its snapshot, which a reconnection naming it is
not sent again. A stream a client cannot parse (STREAM-1) or whose states contradict the job's
(STREAM-2) misleads it about the job: MUSTs, since the profile declares the feature. Resuming
without repeats (STREAM-3) saves a client a duplicate it can discard: a SHOULD.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import orjson

from lrokit.checks import NotObserved, Violation, check
from lrokit.model.exchange import Exchange
from lrokit.model.profile import Profile, dig
from lrokit.model.recording import EVENT_STREAM, Event, Recording, Streams, state_of

#: The type of the events that carry the status document (the canonical contract's).
STATUS = "status"


def _streamed(rec: Recording) -> tuple[Streams, Exchange]:
    """The run's streamed read, answered 200; not observed otherwise, saying why."""
    streams = rec.streams
    if streams is None or streams.read is None:
        raise NotObserved("no job was submitted and followed for the status stream")
    read = streams.read
    if read.status is None:
        raise NotObserved(f"the read asking for the stream got {read.answer}")
    return streams, read


def _document(event: Event) -> Any:
    """The JSON document an event's data holds, or None when it holds none."""
    try:
        return orjson.loads(event.data)
    except orjson.JSONDecodeError:
        return None


def _states(profile: Profile, events: list[Event]) -> list[tuple[str, Any]]:
    """The state and the document of each ``status`` event that reports one the profile
    names, in order."""
    found = []
    for event in events:
        if event.event != STATUS:
            continue
        document = _document(event)
        state = profile.state(document, 200)
        if state in profile.states:  # a state the profile does not name is MONITOR-3's
            found.append((state, document))
    return found


@check("STREAM-1", feature="stream")
def stream_parses(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A read of the monitor with ``Accept: text/event-stream`` MUST be answered 200
    ``text/event-stream``, an event stream whose ``status`` events each carry, as data, a JSON
    status document that reports the job's state; at least one."""
    streams, read = _streamed(rec)
    expected = f"200 {EVENT_STREAM} with status events, each data a status document"
    if read.status != 200 or read.media_type != EVENT_STREAM:
        got = f"{read.status} {read.media_type or 'without Content-Type'}"
        yield Violation(got, expected, read.describe(), read)
        return
    status = [event for event in streams.events if event.event == STATUS]
    if not status:
        yield Violation("no status event", expected, read.describe(), read)
    for event in status:
        if profile.state(_document(event), 200) is None:
            yield Violation(f"data: {event.data[:80]}", expected, read.describe(), read)


@check("STREAM-2", feature="stream")
def stream_follows_job(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """The states a status stream sends MUST follow the profile's transitions, their progress
    never decreasing, and end with a terminal state, the one a plain read finds afterwards;
    the server MUST then end the stream. A stream cut at the tester's body cap, or still
    running at the end of the wait budget with its job (the plain read after it finds the job
    not over), says nothing of its end."""
    streams, read = _streamed(rec)
    if read.truncated:
        raise NotObserved(f"the stream outgrew the tester's body cap ({len(read.body)} bytes)")
    states = _states(profile, streams.events)
    if not states:
        raise NotObserved("the stream sent no status event with a state (STREAM-1 says why)")
    where, found = read.describe(), []
    for (before, old), (after, new) in pairwise(states):
        if after != before and after not in profile.reachable(before):
            allowed = ", ".join(sorted(profile.reachable(before)))
            got, expected = f"{before} then {after}", f"after {before}: {allowed}"
            found.append(Violation(got, expected, where, read))
        if profile.progress_field is not None:
            was, now = dig(old, profile.progress_field), dig(new, profile.progress_field)
            if isinstance(was, int | float) and isinstance(now, int | float) and now < was:
                got = f"{profile.progress_field} {was} then {now}"
                found.append(Violation(got, "progress never decreasing", where, read))
    yield from found
    last, polled = states[-1][0], streams.polled
    seen = state_of(profile, polled) if polled is not None else None
    if last not in profile.terminal:
        if not streams.ended and seen not in profile.terminal:
            if not found:  # the job was still running when the tester stopped reading
                raise NotObserved(f"the job was {seen or last} at the end of the wait budget")
            return
        expected = f"a terminal state ({', '.join(sorted(profile.terminal))})"
        yield Violation(f"the stream's last state {last}", expected, where, read)
    elif not streams.ended:
        yield Violation(
            f"the stream still open after {last} ({read.seconds:.1f} s)",
            "the stream ended after the terminal event",
            where,
            read,
        )
    elif polled is not None and seen is not None and seen != last:
        yield Violation(
            f"streamed {last}, then a plain read found {seen}",
            f"a plain read finding {last}",
            polled.describe(),
            polled,
        )


@check("STREAM-3", feature="stream")
def stream_resumes(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Every event of a status stream SHOULD carry an ``id`` of its own (none missing, none
    the same as the event before it: each names its snapshot), and a read of the stream with
    ``Last-Event-ID`` set to the last id received SHOULD NOT be sent that snapshot again."""
    streams, read = _streamed(rec)
    if not streams.events:
        raise NotObserved("the stream sent no event (STREAM-1 says why)")
    before: str | None = None
    for event in streams.events:
        if not event.id or event.id == before:  # an event without id keeps the one before
            got = "an event without an id of its own" + (f" (after id {before})" if before else "")
            yield Violation(got, "each event with an id naming it", read.describe(), read)
            return
        before = event.id
    resumed = streams.resumed
    if resumed is None or resumed.status is None:
        why = resumed.answer if resumed is not None else "it did not end, so it was not resumed"
        raise NotObserved(f"the ids were kept, but resuming the stream was not seen: {why}")
    again = [event for event in streams.resumed_events if event.id == before]
    if again:
        yield Violation(
            f"the snapshot {before} sent again",
            f"no event with id {before} after Last-Event-ID: {before}",
            resumed.describe(),
            resumed,
        )
