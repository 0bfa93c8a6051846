"""What several check families need: the recorded traces, states and exchanges."""

from __future__ import annotations

from collections.abc import Iterator

from lrokit.checks import NotObserved
from lrokit.model.exchange import Exchange
from lrokit.model.profile import Profile, dig
from lrokit.model.recording import Recording, Trace, state_of


def followed(rec: Recording) -> list[Trace]:
    """The traces whose monitor was read at least once."""
    found = [t for t in rec.traces() if t.polls]
    if not found:
        raise NotObserved("no monitor could be followed")
    return found


def monitor_reads(rec: Recording, profile: Profile) -> Iterator[tuple[Trace, Exchange, str]]:
    """Every 200 monitor read that carries a state, with its trace and state."""
    for trace in rec.traces():
        for poll in [*trace.polls, *trace.after_terminal]:
            state = state_of(profile, poll)
            if state is not None:
                yield trace, poll, state


def submissions(rec: Recording) -> list[Exchange]:
    """The submissions of valid bodies whose outcome the checks judge (the unknown-preference
    probe among them: it is a valid submission too)."""
    found = rec.submissions()
    if not found:
        raise NotObserved("no submission was recorded")
    return found


def plain_submissions(rec: Recording, profile: Profile) -> list[Exchange]:
    """Submissions of valid bodies without the probing Prefer (which is HTTP-4's)."""
    found = [s for s in submissions(rec) if s is not rec.prefer_probe]
    if not found:
        raise NotObserved("no submission without Prefer was recorded")
    return found


def field(exchange: Exchange, dotted: str | None) -> object:
    return dig(exchange.json(), dotted)
