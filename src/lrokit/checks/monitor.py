"""MONITOR: the status monitor's answers."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

from lrokit.checks import NotApplicable, NotObserved, Violation, check
from lrokit.checks._util import field, followed, monitor_reads
from lrokit.model.profile import Profile
from lrokit.model.recording import Recording, state_of


@check("MONITOR-1")
def monitor_answers_200(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Every GET of the monitor MUST answer 200 while the job exists (the first read is
    LOCATION-4's; what the monitor of the job the tester cancelled answers is CANCEL-1's)."""
    judged = [t for t in followed(rec) if t is not rec.cancelled]
    later = [p for t in judged for p in [*t.polls[1:], *t.after_terminal]]
    if not later:
        raise NotObserved("no monitor was read more than once")
    expected = " or ".join(map(str, sorted(profile.read_statuses)))
    for poll in later:
        if poll.status not in profile.read_statuses:
            yield Violation(poll.answer, expected, poll.describe(), poll)


@check("MONITOR-2")
def monitor_body_schema(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Monitor bodies MUST be JSON objects valid against the status schema."""
    reads = [
        p
        for t in followed(rec)
        for p in [*t.polls, *t.after_terminal]
        if p.status in profile.read_statuses
    ]
    if not reads:
        raise NotObserved("no monitor read answered 200")
    for poll in reads:
        body = poll.json()
        if not poll.body and profile.state_rules and state_of(profile, poll) is not None:
            continue  # the status alone reports the state (a bodiless 202 or 303)
        if poll.truncated:
            got = f"a body over the {len(poll.body)}-byte limit"
            yield Violation(got, "a JSON object of sane size", poll.describe(), poll)
        elif not isinstance(body, dict):
            yield Violation("not a JSON object", "a JSON object", poll.describe(), poll)
        elif state_of(profile, poll) is None:
            yield Violation(
                "no job state", f"the job state ({profile.state_field})", poll.describe(), poll
            )
        elif rec.validate is not None:
            for path, message in rec.validate(poll):
                if path != profile.state_field.replace(".", "/"):  # the state is MONITOR-3's
                    yield Violation(
                        f"{path}: {message}",
                        "a body valid against the status schema",
                        poll.describe(),
                        poll,
                    )


@check("MONITOR-3")
def state_vocabulary(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """The state MUST be one of the profile's documented states."""
    reads = list(monitor_reads(rec, profile))
    if not reads:
        raise NotObserved("no monitor read carried a state")
    for _, poll, state in reads:
        if state not in profile.states:
            yield Violation(
                repr(state), f"one of {', '.join(profile.states)}", poll.describe(), poll
            )


@check("MONITOR-4")
def identity_stable(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """The job id MUST be stable and equal the id in the monitor URL (a resource name such as
    ``operations/abc`` ends the monitor's path)."""
    if profile.id_field is None:
        raise NotApplicable(f"profile {profile.name} names no id field")
    # A bodiless answer whose status is the state (202, 303) names no job.
    reads = [(trace, poll) for trace, poll, _ in monitor_reads(rec, profile) if poll.body]
    if not reads:
        raise NotObserved("no monitor read carried a body with the job's state")
    for trace, poll in reads:
        segment = profile.job_id(trace.monitor or "")
        value = field(poll, profile.id_field)
        path = unquote(urlsplit(trace.monitor or "").path).rstrip("/")
        named = isinstance(value, str) and "/" in value and path.endswith("/" + value.strip("/"))
        if value != segment and not named:
            yield Violation(
                f"{profile.id_field}={value!r}",
                f"{segment!r}, the id in the monitor URL",
                poll.describe(),
                poll,
            )
