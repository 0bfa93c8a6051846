"""LIFECYCLE: how a job's state, progress and timestamps move."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

from lrokit.checks import NotApplicable, NotObserved, Violation, check
from lrokit.checks._util import field, followed, monitor_reads
from lrokit.model.headers import date_time
from lrokit.model.profile import Profile
from lrokit.model.recording import Recording, state_of


@check("LIFECYCLE-1")
def legal_transitions(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Observed states MUST follow the profile's transitions, up to the terminal state (what
    follows it is LIFECYCLE-2's; unknown states are MONITOR-3's)."""
    judged = False
    for trace in followed(rec):
        # The initiating response's state is the first one seen, where it reports one.
        before = profile.body_state(trace.submission.json())
        before = before if before in profile.states else None
        for poll in trace.polls:
            state = state_of(profile, poll)
            if state not in profile.states:
                continue
            if before is not None and state != before:
                judged = True
                if state not in profile.reachable(before):
                    allowed = ", ".join(sorted(profile.reachable(before)))
                    yield Violation(
                        f"{before} then {state}",
                        f"after {before}: {allowed}",
                        poll.describe(),
                        poll,
                    )
            before = state
    if not judged:
        raise NotObserved("no change of state was seen")


@check("LIFECYCLE-2")
def terminal_absorbing(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A terminal state MUST stay, with the same error and finish time."""
    judged = False
    for trace in rec.traces():
        if trace.final_state is None or trace.removed is not None:
            continue  # not over, or gone as the tester's cancel made it: nothing to re-read
        final = next(p for p in reversed(trace.polls) if state_of(profile, p) == trace.final_state)
        later = list(trace.after_terminal)
        if trace is rec.main and rec.after_cancel_finished is not None:
            later.append(rec.after_cancel_finished)
        for poll in later:
            if poll.status not in profile.read_statuses:
                continue  # an unreadable answer is MONITOR-1's
            judged = True
            for name in (profile.state_field, profile.error_field, profile.finished_field):
                if name and field(poll, name) != field(final, name):
                    yield Violation(
                        f"{name} {field(final, name)!r} became {field(poll, name)!r}",
                        "no change after a terminal state",
                        poll.describe(),
                        poll,
                    )
    if not judged:
        raise NotObserved("no terminal state was read twice")


@check("LIFECYCLE-3")
def progress_monotonic(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """progress MUST be an integer within 0..100 that never decreases."""
    if profile.progress_field is None:
        raise NotApplicable(f"profile {profile.name} has no progress field")
    last: dict[int, int] = {}
    judged = False
    for trace, poll, _ in monitor_reads(rec, profile):
        value = field(poll, profile.progress_field)
        if value is None:
            continue
        judged = True
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
            yield Violation(repr(value), "an integer from 0 to 100", poll.describe(), poll)
            continue
        if value < last.get(id(trace), 0):
            yield Violation(
                f"{last[id(trace)]} then {value}",
                "progress that never decreases",
                poll.describe(),
                poll,
            )
        last[id(trace)] = max(value, last.get(id(trace), 0))
    if not judged:
        raise NotObserved(f"no monitor read carried {profile.progress_field!r}")


@check("LIFECYCLE-4")
def timestamps_ordered(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Timestamps SHOULD be ordered created ≤ started ≤ finished; finished only when terminal."""
    names = [n for n in (profile.created_field, profile.started_field, profile.finished_field) if n]
    if not names:
        raise NotApplicable(f"profile {profile.name} has no timestamp fields")
    reads = [
        (poll, state)
        for _, poll, state in monitor_reads(rec, profile)
        if any(field(poll, n) is not None for n in names)
    ]
    if not reads:
        raise NotObserved(f"no monitor read carried {' or '.join(names)}")
    for poll, state in reads:
        times = [(n, date_time(field(poll, n))) for n in names if field(poll, n) is not None]
        for name, value in times:
            if value is None:
                yield Violation(
                    f"{name}={field(poll, name)!r}", "an RFC 3339 date-time", poll.describe(), poll
                )
        known = [(n, t) for n, t in times if t is not None]
        for (n1, t1), (n2, t2) in pairwise(known):
            if t1.tzinfo is not None and t2.tzinfo is not None and t2 < t1:
                yield Violation(
                    f"{n2} {t2.isoformat()} before {n1} {t1.isoformat()}",
                    f"{n1} ≤ {n2}",
                    poll.describe(),
                    poll,
                )
        finished = profile.finished_field
        if finished and state not in profile.terminal and field(poll, finished) is not None:
            yield Violation(
                f"{finished} while {state}", f"{finished} only once terminal", poll.describe(), poll
            )


@check("LIFECYCLE-5")
def terminal_within_budget(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A job MUST reach a terminal state within the wait budget (a monitor that could not be
    read is MONITOR-1's and MONITOR-2's)."""
    judged = [t for t in followed(rec) if not t.unreadable]
    if not judged:
        raise NotObserved("no monitor could be read to the end")
    for trace in judged:
        if trace.timed_out:
            last = trace.polls[-1]
            yield Violation(
                f"still {state_of(profile, last) or 'unreadable'} after {len(trace.polls)} polls",
                "a terminal state within --max-wait",
                last.describe(),
                last,
            )


@check("LIFECYCLE-6")
def ends_about_when_estimated(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A job SHOULD end about when the server first estimated: no read SHOULD find it still
    running once twice that estimate (at least 2 s) has passed since it was read. The first
    estimate is the server's promise; later ones may only revise it."""
    name = profile.estimate_field
    if name is None:
        raise NotApplicable(f"profile {profile.name} names no estimate field")
    judged = False
    for trace in followed(rec):
        if trace is rec.cancelled:
            continue  # the tester's cancel changes what the job would have taken
        estimated: tuple[float, float] | None = None  # (read at, seconds estimated)
        for poll in trace.polls:
            state = state_of(profile, poll)
            if estimated is not None:
                at, estimate = estimated
                late = poll.at > at + estimate + max(2.0, estimate)
                judged = judged or late or state in profile.terminal
                if late and state not in profile.terminal:
                    yield Violation(
                        f"still {state} {poll.at - at:.1f} s after an estimate of {estimate:g} s",
                        "an end within twice the estimate (at least 2 s)",
                        poll.describe(),
                        poll,
                    )
                    break
            value = field(poll, name)
            if estimated is not None or isinstance(value, bool):
                continue
            if isinstance(value, int | float) and value >= 0:
                estimated = (poll.at, float(value))
    if not judged:
        raise NotApplicable(f"no read of a running job carried {name!r} and a later one")
