"""TENANCY: another principal's access to a job (OWASP API Security Top 10 2023, API1 broken
object level authorization), and requests without credentials.

The rules need a second principal, B, given by ``--other-header``; the run's own principal,
A, submits the jobs and B asks for them. Without B they are not run (:class:`NotRun`:
DISABLED, saying what to give): never a PASS, and never a failure, so that a run not asked
about tenancy reports nothing of it and exits as it would without these rules. TENANCY-6
needs B's header names too: they say which of A's fields carry credentials, so that a request
without credentials is A's with those fields left out.

A refusal proves something only against a request that could have succeeded. So B first
submits a job of its own and reads it: B's credentials work, or the rules B's requests judge
are not demonstrated. And B's answer is set beside A's to the same request (A's own reads of
its job, A's own download): what A cannot reach either is not counted as kept from B. A 2xx
to B is B served; a status the dialect reads a job's state from (a 303 once done) is a read
too; a 4xx is a refusal (401, 403 or 404 alike: TENANCY-5 asks which); a redirect A does not
get, a 5xx or no answer is neither, and is not judged.

The levels, honestly: OWASP's API1 names a risk ("should implement object-level authorization
checks"), not an obligation; the MUSTs of TENANCY-1..4 are the canonical contract's (a report
exists for no other principal), which OWASP motivates. RFC 9110 only lets a server hide a
forbidden resource behind a 404 (MAY), so TENANCY-5 is the contract's SHOULD. TENANCY-6 is
RFC 9110's and RFC 6750's: a 401 MUST carry a challenge, and a request without credentials is
the case 401 is for.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from lrokit.checks import NotApplicable, NotObserved, NotRun, Violation, check
from lrokit.checks._util import field
from lrokit.model.exchange import Exchange
from lrokit.model.profile import Profile, dig
from lrokit.model.recording import Recording, Tenancy, Trace, state_of

GIVE = "give --other-header 'NAME: VALUE', another principal's credentials"
REFUSAL = "a 4xx (404, as for an id nobody created)"


def _tenancy(rec: Recording) -> Tenancy:
    if rec.tenancy is None:
        raise NotRun(GIVE)
    return rec.tenancy


def _other(rec: Recording, profile: Profile) -> Tenancy:
    """What the run saw as another principal, once that principal is shown to be one: its
    read of a job of its own answered as a read of the monitor does."""
    seen = _tenancy(rec)
    if seen.own_read is not None and seen.own_read.status in profile.read_statuses:
        return seen
    if seen.own is None:
        why = "it submitted no job of its own (the run's own submission was not followed)"
    elif seen.own_read is None:
        why = f"its submission of a job of its own got {seen.own.answer}"
    else:
        why = f"its read of a job of its own got {seen.own_read.answer}"
    raise NotObserved(f"the other principal's credentials were not shown to work: {why}")


def _job(seen: Tenancy, profile: Profile) -> Trace:
    """The run's own job that the other principal asks for, read by the run's own principal."""
    job = seen.job
    if job is None or job.monitor is None:
        why = job.unfollowed if job is not None else "not submitted"
        raise NotObserved(f"the run's own tenancy job could not be followed ({why})")
    if not any(poll.status in profile.read_statuses for poll in job.polls):
        raise NotObserved("the run's own principal could not read its job: nothing to keep")
    return job


def _served(exchange: Exchange, also: Collection[int] = ()) -> bool:
    status = exchange.status
    return status is not None and (200 <= status < 300 or status in also)


def _refused(exchange: Exchange) -> bool:
    return exchange.status is not None and 400 <= exchange.status < 500


@check("TENANCY-1")
def monitor_kept_from_others(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Another principal MUST NOT read a job's status monitor: its GETs, while the job runs
    and once it ended, are refused with a 4xx; a 2xx, or a status the dialect reads a state
    from, is the job read."""
    seen = _other(rec, profile)
    _job(seen, profile)
    found = [
        Violation(f"{read.answer}: another principal read the job", REFUSAL, read.describe(), read)
        for read in seen.reads
        if _served(read, profile.read_statuses)
    ]
    if not found and not any(_refused(read) for read in seen.reads):
        answers = ", ".join(read.answer for read in seen.reads) or "none"
        raise NotObserved(f"no read by the other principal was refused or served ({answers})")
    yield from found


@check("TENANCY-2")
def result_kept_from_others(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Another principal MUST NOT download a done job's result: its GET is refused with a
    4xx. A 2xx is the result served; the redirect the job's own principal gets is the way to
    the result, handed out all the same."""
    seen = _other(rec, profile)
    job = _job(seen, profile)
    if job.final_state != profile.success:
        raise NotObserved(f"the run's own tenancy job ended {job.final_state}: no result")
    own, other = seen.result, seen.other_result
    if own is None or other is None:
        if not (profile.result_link or profile.result_template or profile.result_header):
            raise NotApplicable(
                f"profile {profile.name} says nowhere where results are (a result in the "
                "monitor is TENANCY-1's)"
            )
        raise NotObserved("the job's result link was missing or on another origin (RESULT-1)")
    if own.status is None or not 200 <= own.status < 400:
        raise NotObserved(f"the run's own download got {own.answer}: no result to keep")
    if _served(other, {own.status}):
        got = f"{other.answer}, {len(other.body)} bytes: another principal got the result"
        yield Violation(got, REFUSAL, other.describe(), other)
    elif not _refused(other):
        raise NotObserved(f"the other principal's download got {other.answer}: not refused")


@check("TENANCY-3", feature="cancel")
def cancel_kept_from_others(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Another principal MUST NOT cancel a job: its cancel is refused with a 4xx, and the
    job's own principal then reads it going on, not cancelled (nor gone, where a cancel may
    remove a job). A job first read finished may have finished before the cancel came: then
    the refusal proves nothing, and nothing is judged."""
    _tenancy(rec)  # not asked about tenancy: not run, whatever the profile lacks
    if not profile.cancel_method:
        raise NotApplicable(f"profile {profile.name} names no way to cancel")
    seen = _other(rec, profile)
    cancel, trace = seen.cancel, seen.cancelled
    if cancel is None or trace is None:
        raise NotObserved("no job of the run's own could be offered to another's cancel")
    found = []
    if _served(cancel):
        got = f"{cancel.answer}: another principal's cancel, accepted"
        found.append(Violation(got, REFUSAL, cancel.describe(), cancel))
    states = [state_of(profile, poll) for poll in trace.polls]
    gone = [p for p in trace.polls if p.status in (404, 410)] if profile.cancel_may_remove else []
    if profile.cancelled is not None and profile.cancelled in states:
        read = trace.polls[states.index(profile.cancelled)]
        got = f"{profile.cancelled} after another principal's cancel"
        found.append(Violation(got, "the job going on, not cancelled", read.describe(), read))
    elif gone:
        got = f"{gone[0].answer}: the job gone after another principal's cancel"
        found.append(Violation(got, "the job going on", gone[0].describe(), gone[0]))
    if found:
        yield from found
        return
    if not _refused(cancel):
        raise NotObserved(f"the other principal's cancel got {cancel.answer}: not refused")
    first = next((state for state in states if state is not None), None)
    if first is None:
        raise NotObserved("the job could not be read after the other principal's cancel")
    if first in profile.terminal:
        raise NotObserved(
            f"the job was {first} at its first read after the other principal's cancel: it "
            "may have ended before the cancel came"
        )


def _id(value: object) -> str | None:
    """A job id as text: a string, or an integer; None for anything else."""
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _listed(listing: Exchange, profile: Profile) -> set[str] | None:
    """The ids of the jobs a 2xx listing shows, or None when it shows no list."""
    if not _served(listing):
        return None
    body = listing.json()
    items = dig(body, profile.listing_items) if profile.listing_items else body
    if not isinstance(items, list):
        return None
    return {i for item in items if (i := _id(dig(item, profile.id_field))) is not None}


@check("TENANCY-4")
def listing_kept_from_others(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A listing of jobs MUST NOT show another principal a job that is not its own; it shows
    the job's own principal the job (else the listing proves nothing: the job may be on a
    later page). A listing refused to the other principal shows it nothing."""
    _tenancy(rec)  # not asked about tenancy: not run, whatever the profile lacks
    if profile.listing_path is None:
        raise NotApplicable(f"profile {profile.name} names no listing of jobs (listing.path)")
    if profile.id_field is None:
        raise NotApplicable(f"profile {profile.name} names no id field to find a job by")
    seen = _other(rec, profile)
    job = _job(seen, profile)
    own, other = seen.listing, seen.other_listing
    if own is None or other is None:
        raise NotObserved("no listing of jobs was asked for")
    if own.status in (404, 405, 501):
        raise NotApplicable(f"no listing of jobs is there ({own.describe()})")
    ids = {profile.job_id(job.monitor or "")} | {
        i for poll in job.polls if (i := _id(field(poll, profile.id_field))) is not None
    }
    shown = _listed(own, profile)
    if shown is None:
        raise NotObserved(f"the run's own listing got {own.answer}, not a list of jobs")
    if ids.isdisjoint(shown):
        raise NotObserved("the run's own listing does not show its job (a later page?)")
    if _refused(other):
        return
    listed = _listed(other, profile)
    if listed is None:
        raise NotObserved(f"the other principal's listing got {other.answer}, not a list")
    leaked = sorted(ids & listed)
    if leaked:
        got = f"{profile.id_field} {', '.join(leaked)}: the run's job, in another's listing"
        yield Violation(got, "only the other principal's own jobs", other.describe(), other)


def _answer(exchange: Exchange, profile: Profile) -> str:
    """A refusal as another principal sees it: its status, and its problem type when it is a
    problem (``about:blank`` when it names none)."""
    body = exchange.json()
    if exchange.media_type == profile.error_media_type and isinstance(body, dict):
        return f"{exchange.answer}, type {body.get('type', 'about:blank')!r}"
    return exchange.answer


@check("TENANCY-5")
def existence_not_disclosed(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Another principal's read of a job's monitor SHOULD get the answer an id nobody created
    gets: the same status, and the same problem type where both are problems; a 403 where an
    unknown id gets 404 tells that the job exists."""
    seen = _other(rec, profile)
    _job(seen, profile)
    unknown = seen.unknown
    if unknown is None or unknown.status is None:
        raise NotObserved("no answer came for an id nobody created")
    if any(_served(read, profile.read_statuses) for read in seen.reads):
        raise NotApplicable("the other principal read the job (TENANCY-1 judges that)")
    answered = [read for read in seen.reads if read.status is not None]
    if not answered:
        raise NotObserved("no read by the other principal was answered")
    expected = f"{_answer(unknown, profile)}, as for an id nobody created ({unknown.url})"
    for read in answered:
        if _answer(read, profile) != _answer(unknown, profile):
            yield Violation(_answer(read, profile), expected, read.describe(), read)


@check("TENANCY-6")
def credentials_required(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A request without credentials (a submission, a read of a job's monitor) MUST be
    answered 401, and a 401 MUST carry a WWW-Authenticate challenge; a 2xx serves anyone.
    Not applicable when the run's own principal sends none of the fields ``--other-header``
    names: then there are no credentials the tester knows to leave out."""
    seen = _tenancy(rec)
    if not seen.credentials:
        raise NotApplicable(
            "--header sends none of the fields --other-header names: no credentials to leave out"
        )
    answered = [
        e for e in (seen.anonymous_submit, seen.anonymous_read) if e is not None and e.status
    ]
    if not answered:
        raise NotObserved("no request without credentials was sent and answered")
    expected = "401 with a WWW-Authenticate challenge"
    for exchange in answered:
        if _served(exchange):
            got = f"{exchange.answer}: served without credentials"
            yield Violation(got, expected, exchange.describe(), exchange)
        elif exchange.status != 401:
            yield Violation(exchange.answer, expected, exchange.describe(), exchange)
        elif not (exchange.header("www-authenticate") or "").strip():
            got = "401 without WWW-Authenticate"
            yield Violation(got, "a WWW-Authenticate challenge", exchange.describe(), exchange)
