"""WAIT: reads of the status monitor that ask the server to hold them, ``Prefer: wait=N`` (RFC
7240 §4.3), where the profile says the monitor holds them (``features.wait``).

The run reads a job of its own (:class:`~lrokit.model.recording.Waits`): plainly; then, while
the job is not over, asking to be held, with plain reads beside each held read every half
second until one is answered early; then once more briefly, so that a hold can run its course;
then once the job ended. Times are the tester's, from sending a request to the end of its
response, so every bound allows the network and the server their own time: 1 s, or the slowest
plain read of the same monitor when that took longer (:func:`slack`).

When the state changed during a hold is known only from the plain reads beside it: one that
finds the job terminal, or in a state other than an earlier plain read beside it found (the
first of them may reach the server before the held read does, so only a later difference is
certain to have come during the hold). A held read answered early (a quarter second before its
time was up, at least) with a state other than the read before it was answered on a change,
whenever the change came; one answered at its time up with a new state says nothing of when the
state changed.

The levels, honestly: RFC 7240 makes every preference optional and Preference-Applied a MAY,
and bounds nothing itself: its wait is the client's expectation. The rules are the canonical
contract's, which holds a read "up to N seconds", answers "as soon as its status changes",
says so in Preference-Applied, and answers a terminal report at once. A hold past what the
client asked for (WAIT-1) loses the answer to a client that gave up at N, and a held answer
that does not say so (WAIT-3) leaves the client to sleep out Retry-After after it, or to poll
a server that ignores the preference: MUSTs, since the profile declares the feature. An
answer late on a change (WAIT-2) or a hold of a job that is over (WAIT-4) costs the client
time it chose to spend, N seconds at most: SHOULDs, like the contract's other promises of
timeliness (ACCEPT-4, LIFECYCLE-6).
"""

from __future__ import annotations

from collections.abc import Iterator

from lrokit.checks import NotObserved, Violation, check
from lrokit.model.exchange import Exchange
from lrokit.model.headers import delta_seconds
from lrokit.model.profile import Profile
from lrokit.model.recording import Hold, Recording, Waits, state_of

#: Seconds the network and the server may add to a hold, at least.
SLACK = 1.0


def slack(waits: Waits) -> float:
    """What a bound allows the network and the server beyond the hold: :data:`SLACK`, or the
    slowest answered plain read of the same monitor when that took longer."""
    return max([SLACK, *(read.seconds for read in waits.plain() if read.status is not None)])


def _waits(rec: Recording) -> Waits:
    if rec.waits is None:
        raise NotObserved("no job was submitted for the held reads")
    return rec.waits


def _holds(waits: Waits, profile: Profile) -> list[Hold]:
    """The held reads, each sent while the job was not over; not observed when there are
    none, saying why."""
    if waits.holds:
        return waits.holds
    before = waits.before
    if before is None:
        why = "the job for them could not be followed (the notes say why)"
    else:
        state = state_of(profile, before)
        why = (
            f"the read before them got {before.answer}"
            if state is None
            else f"the job was {state} at the read before them"
        )
    raise NotObserved(f"no read of the job was held: {why}")


def _changed(hold: Hold, profile: Profile) -> tuple[Exchange, str] | None:
    """The first plain read beside a held read that shows the job's state changed during the
    hold (terminal, or other than an earlier one beside it), and that state."""
    seen: set[str] = set()
    for read in hold.beside:
        state = state_of(profile, read)
        if state is None:
            continue
        if state in profile.terminal or seen - {state}:
            return read, state
        seen.add(state)
    return None


def _early_with_news(previous: Exchange | None, hold: Hold, profile: Profile) -> bool:
    """Whether a held read was answered early with a state other than the read before it."""
    before = state_of(profile, previous) if previous is not None else None
    after = state_of(profile, hold.read)
    return before is not None and after is not None and after != before and hold.early()


@check("WAIT-1", feature="wait")
def held_no_longer_than_asked(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A read of the monitor with ``Prefer: wait=N`` MUST be answered within N seconds and the
    slack: a read still unanswered by then (the tester's timeout came later) was held too
    long. Judged on every such read, that of the job once over too."""
    waits = _waits(rec)
    holds = [*_holds(waits, profile), *([waits.ended] if waits.ended is not None else [])]
    allowed = slack(waits)
    judged = False
    for hold in holds:
        read, bound = hold.read, hold.seconds + allowed
        judged = judged or read.status is not None or read.seconds > bound
        if read.seconds > bound:
            yield Violation(
                f"{read.answer} after {read.seconds:.1f} s",
                f"an answer within {hold.seconds} s (and {allowed:.1f} s for the network)",
                read.describe(),
                read,
            )
    if not judged:
        answers = ", ".join(hold.read.answer for hold in holds)
        raise NotObserved(f"no held read was answered ({answers})")


@check("WAIT-2", feature="wait")
def answered_on_change(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A held read SHOULD be answered as soon as the job's state changes: within the slack of
    the end of the plain read beside it that saw the change. One answered early with a state
    other than the read before it was so answered; when no change is seen during a hold,
    nothing is judged."""
    waits = _waits(rec)
    allowed, judged, previous = slack(waits), False, waits.before
    for hold in _holds(waits, profile):
        judged = judged or _early_with_news(previous, hold, profile)
        previous, change = hold.read, _changed(hold, profile)
        if change is None:
            continue
        judged = True
        (seen, state), read = change, hold.read
        by = seen.at + seen.seconds - read.at  # seconds into the hold, at the latest
        if read.seconds > by + allowed:
            yield Violation(
                f"held {read.seconds:.1f} s; a plain read found the job {state} {by:.1f} s in",
                f"an answer within {allowed:.1f} s of the change",
                read.describe(),
                read,
            )
    if not judged:
        raise NotObserved("the job's state was not seen to change while a read was held")


@check("WAIT-3", feature="wait")
def held_and_said(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A read with ``Prefer: wait=N`` of a job that is not terminal MUST be held and say so:
    ``Preference-Applied: wait=M``, M delta-seconds from 1 to N. An answer without it that
    finds the job terminal may have come after the job ended (then nothing is held) and is not
    judged; one without a state (an error, no answer) is other rules'."""
    holds = _holds(_waits(rec), profile)
    judged = False
    for hold in holds:
        read, said = hold.read, hold.applied
        state = state_of(profile, read)
        if state is None or (said is None and state in profile.terminal):
            continue
        judged = True
        expected = f"Preference-Applied: wait=M, 1 ≤ M ≤ {hold.seconds}"
        if said is None:
            yield Violation(
                f"no Preference-Applied wait ({state} after {read.seconds:.1f} s)",
                expected,
                read.describe(),
                read,
            )
        elif not 1 <= (delta_seconds(said) or 0) <= hold.seconds:
            yield Violation(f"Preference-Applied: wait={said}", expected, read.describe(), read)
    if not judged:
        answers = ", ".join(hold.read.answer for hold in holds)
        raise NotObserved(f"no held read found the job not yet over ({answers})")


@check("WAIT-4", feature="wait")
def ended_at_once(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A read with ``Prefer: wait`` of a job that is already terminal SHOULD be answered at
    once, within the slack: there is nothing left to wait for."""
    waits = _waits(rec)
    if waits.ended is None:
        if waits.job is None or waits.job.monitor is None:
            raise NotObserved("the job for the held reads could not be followed")
        raise NotObserved("the job for the held reads was not seen to end")
    read, allowed = waits.ended.read, slack(waits)
    state = state_of(profile, read)
    if read.seconds > allowed:
        yield Violation(
            f"{read.answer} after {read.seconds:.1f} s" + (f", the job {state}" if state else ""),
            f"an answer at once (within {allowed:.1f} s)",
            read.describe(),
            read,
        )
    elif read.status is None:
        raise NotObserved(f"the read of the job once over got {read.answer}")
