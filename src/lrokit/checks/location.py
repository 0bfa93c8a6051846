"""LOCATION: the monitor pointer of the initiating response."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

from lrokit.checks import NotApplicable, NotObserved, Violation, check
from lrokit.checks._util import followed, submissions
from lrokit.model.exchange import Exchange, origin
from lrokit.model.headers import is_uri_reference
from lrokit.model.profile import Profile
from lrokit.model.recording import Recording, state_of


def _accepted(rec: Recording, profile: Profile) -> list[Exchange]:
    found = [s for s in submissions(rec) if s.status in profile.initiation_status]
    if not found:
        raise NotObserved("no submission was accepted")
    return found


def _pointing(rec: Recording, profile: Profile) -> list[tuple[Exchange, list[str]]]:
    """The accepted submissions that carry the pointer header, with its field lines."""
    found = [(s, s.header_lines(profile.monitor_header)) for s in _accepted(rec, profile)]
    found = [(s, lines) for s, lines in found if lines]
    if not found:
        header = profile.monitor_header
        raise NotApplicable(f"no accepted submission carried {header} (LOCATION-1 judges that)")
    return found


@check("LOCATION-1")
def pointer_present(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """The initiating response MUST carry the monitor pointer header."""
    for sub in _accepted(rec, profile):
        if not sub.header_lines(profile.monitor_header):
            yield Violation(
                f"no {profile.monitor_header}",
                f"a {profile.monitor_header} header",
                sub.describe(),
                sub,
            )


@check("LOCATION-2")
def pointer_single_uri_reference(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """The pointer MUST be one field line holding one URI-reference."""
    for sub, lines in _pointing(rec, profile):
        if len(lines) > 1:
            yield Violation(
                f"{len(lines)} field lines: {lines}", "exactly one", sub.describe(), sub
            )
        elif ", " in lines[0] or not is_uri_reference(lines[0].strip()):
            yield Violation(
                repr(lines[0]), "a single URI-reference (RFC 3986)", sub.describe(), sub
            )


@check("LOCATION-3")
def pointer_same_origin(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """The resolved pointer SHOULD stay on the request's origin and carry no fragment."""
    for sub, lines in _pointing(rec, profile):
        url = urljoin(sub.url, lines[0].strip())
        if origin(url) != origin(sub.url):
            yield Violation(url, f"a URL on {origin(sub.url)[1]}", sub.describe(), sub)
        elif urlsplit(lines[0].strip()).fragment:
            yield Violation(lines[0], "no fragment", sub.describe(), sub)


@check("LOCATION-4")
def monitor_readable_at_once(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A GET of the monitor right after the initiating response MUST answer 200 (the job to
    cancel is read first after the tester's cancel: not right after its initiation)."""
    first_reads = [t.first_read for t in followed(rec) if t is not rec.cancelled]
    if not any(first_reads):
        raise NotObserved("no monitor was read right after its initiating response")
    for first in first_reads:
        if first is not None and first.status not in profile.read_statuses:
            expected = " or ".join(map(str, sorted(profile.read_statuses)))
            yield Violation(first.answer, f"{expected} at once", first.describe(), first)


@check("LOCATION-5")
def monitor_per_submission(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Each submission MUST get its own monitor URL."""
    pointed = [s for s in _accepted(rec, profile) if profile.pointer(s) is not None]
    if len(pointed) < 2:
        raise NotObserved("fewer than two monitors to compare")
    seen: set[str] = set()
    for sub in pointed:
        url = str(profile.pointer(sub))
        if url in seen:
            yield Violation(f"{url} twice", "a new monitor URL per submission", sub.describe(), sub)
        seen.add(url)


@check("LOCATION-6", feature="repoint")
def pointer_on_every_running_answer(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Every 202 the monitor answers while the job runs MUST carry the pointer again."""
    running = [
        poll
        for trace in followed(rec)
        for poll in trace.polls
        if poll.status == 202 and state_of(profile, poll) not in (None, *profile.terminal)
    ]
    if not running:
        raise NotObserved("the monitor never answered 202 while the job ran")
    for poll in running:
        if not poll.header_lines(profile.monitor_header):
            got = f"a 202 without {profile.monitor_header}"
            yield Violation(got, f"{profile.monitor_header} again", poll.describe(), poll)
