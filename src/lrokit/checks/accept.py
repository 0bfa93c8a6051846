"""ACCEPT: initiating a job."""

from __future__ import annotations

from collections.abc import Iterator

from lrokit.checks import NotApplicable, NotObserved, Violation, check
from lrokit.checks._util import plain_submissions, submissions
from lrokit.model.profile import Profile
from lrokit.model.recording import Recording


@check("ACCEPT-1")
def initiation_status(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A valid submission MUST be answered with the profile's initiation status."""
    expected = " or ".join(map(str, profile.initiation_status))
    for sub in plain_submissions(rec, profile):
        if sub.status not in profile.initiation_status:
            yield Violation(f"status {sub.status}", expected, sub.describe(), sub)


@check("ACCEPT-2")
def initiation_describes_status(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """The initiating response SHOULD be a JSON document carrying the job's state."""
    accepted = [s for s in submissions(rec) if s.status in profile.initiation_status]
    if not accepted:
        raise NotObserved("no submission was accepted")
    for sub in accepted:
        if profile.body_state(sub.json()) is None:
            got = "no JSON body" if sub.json() is None else "no job state"
            yield Violation(
                got, f"a JSON body with the job state ({profile.state_field})", sub.describe(), sub
            )


@check("ACCEPT-3")
def invalid_input_refused_synchronously(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A submission that cannot start (malformed, in a wrong media type, or well-formed but
    against the request schema) MUST get a 4xx and no monitor."""
    if profile.body is None:
        raise NotApplicable("the operation takes no body to get wrong")
    keys = ("malformed", "unsupported-media-type", "invalid")
    probes = [rec.errors[k] for k in keys if k in rec.errors]
    if not probes:
        raise NotObserved("no invalid submission was sent")
    for probe in probes:
        if probe.status is None or not 400 <= probe.status < 500:
            yield Violation(f"status {probe.status}", "a 4xx", probe.describe(), probe)
        elif probe.header(profile.monitor_header) is not None:
            yield Violation(
                f"a {profile.monitor_header} header",
                "no monitor for a refused request",
                probe.describe(),
                probe,
            )


@check("ACCEPT-4")
def initiation_at_once(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """The initiating response SHOULD come within the profile's bound (RFC 9110 §15.3.3: a
    202 accepts the work without keeping the client waiting for it)."""
    # The initiating responses only: a submission answered at once with its outcome (a
    # synchronous execution) is not one, and its time is the work's.
    answered = [s for s in submissions(rec) if s.status in profile.initiation_status]
    if not answered:
        raise NotObserved("no submission was accepted")
    bound = profile.initiation_max
    for sub in answered:
        if sub.seconds > bound:
            yield Violation(
                f"answered after {sub.seconds:.2f} s", f"within {bound:g} s", sub.describe(), sub
            )
