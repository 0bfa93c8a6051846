"""RESULT: what a finished job offers, and what a failed one explains."""

from __future__ import annotations

from collections.abc import Iterator

from lrokit.checks import NotApplicable, NotObserved, Violation, check
from lrokit.checks._util import field
from lrokit.checks.problem import wrong_type
from lrokit.model.profile import Profile
from lrokit.model.recording import Recording, Trace, state_of


def _how_it_ended(trace: Trace | None, profile: Profile) -> str:
    """Why the main job gave nothing to judge, for the reason: its end and its error."""
    if trace is None or trace.final_state is None:
        return "" if trace is None or trace.unfollowed is None else f" ({trace.unfollowed})"
    error = field(trace.polls[-1], profile.error_field) if trace.polls else None
    said = f": {str(error)[:160]}" if error else ""
    return f" (it ended {trace.final_state}{said}; is the profile's submit body right?)"


@check("RESULT-1")
def result_resolves(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A done job MUST offer its result: embedded where the profile says, or linked, and the
    link MUST resolve to a non-empty 2xx."""
    trace = rec.main
    if trace is None or trace.final_state != profile.success:
        raise NotObserved(
            f"the main job did not reach {profile.success}{_how_it_ended(trace, profile)}"
        )
    final = trace.polls[-1]
    if profile.result_field is not None:
        if field(final, profile.result_field) in (None, "", [], {}):
            yield Violation(
                f"no {profile.result_field}", "the embedded result", final.describe(), final
            )
        return
    if profile.result_header is not None and final.header(profile.result_header) is None:
        got = f"no {profile.result_header}"
        yield Violation(got, f"{profile.result_header} naming the result", final.describe(), final)
    elif profile.result_link is not None and profile.result_reference(final.json()) is None:
        yield Violation(f"no {profile.result_link}", "a result link", final.describe(), final)
    elif rec.result is None and not (
        profile.result_link or profile.result_template or profile.result_header
    ):
        raise NotApplicable(f"profile {profile.name} says nowhere where results are")
    elif rec.result is None:
        raise NotObserved("the result link was not followed (another origin)")
    elif rec.result.status is None or not 200 <= rec.result.status < 300 or not rec.result.body:
        yield Violation(
            f"{rec.result.answer}, {len(rec.result.body)} bytes",
            "a 2xx with content",
            rec.result.describe(),
            rec.result,
        )


@check("RESULT-2")
def failure_is_structured(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A failed job MUST expose an error with the profile's members (type, title and code by
    default), and no result."""
    trace = rec.failing
    if profile.failure is None:
        raise NotApplicable(f"profile {profile.name} names no failure state")
    if profile.failing_body is None:
        raise NotApplicable(f"profile {profile.name} names no request that fails")
    if trace is None or trace.final_state != profile.failure:
        got = trace.final_state if trace else None
        raise NotObserved(f"the failing request did not end {profile.failure} (got {got})")
    final = next(p for p in reversed(trace.polls) if state_of(profile, p) == profile.failure)
    error = field(final, profile.error_field)
    if not profile.error_members:  # the dialect's error may be a message or any object
        if not error or not isinstance(error, str | dict):
            yield Violation(f"{profile.error_field}={error!r}", "an error", final.describe(), final)
    elif not isinstance(error, dict):
        yield Violation(
            f"{profile.error_field}={error!r}", "an error object", final.describe(), final
        )
    else:
        for member in profile.error_members:
            if not isinstance(error.get(member), str) or not error[member]:
                got = f"{member}={error.get(member)!r}"
                yield Violation(got, f"a non-empty string {member}", final.describe(), final)
    for place, value in (
        (profile.result_link, profile.result_reference(final.json())),
        (profile.result_field, field(final, profile.result_field)),
    ):
        if value is not None:
            yield Violation(f"{place} on a failed job", "no result", final.describe(), final)


@check("RESULT-3")
def no_result_before_done(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Asking for the result before the job is done SHOULD get a 4xx problem (of the type
    URI the dialect fixes, where it fixes one)."""
    early = rec.early_result
    if early is None:
        raise NotObserved("the job was done at its first read")
    if early.status is None or not 400 <= early.status < 500:
        yield Violation(f"status {early.status}", "a 4xx", early.describe(), early)
    elif early.media_type != profile.error_media_type:
        got = early.media_type or "no media type"
        yield Violation(got, profile.error_media_type, early.describe(), early)
    elif (mistyped := wrong_type(early, profile, "result-not-ready")) is not None:
        yield mistyped


@check("RESULT-4")
def result_media_type(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A result MUST be in a media type its request accepted (one of the profile's result
    media types, which the result request lists in Accept) or be refused with 406. RFC 9110
    §12.5.1 lets a server disregard Accept; the contract does not."""
    trace, result = rec.main, rec.result
    if trace is None or trace.final_state != profile.success:
        raise NotObserved(f"the main job did not reach {profile.success}")
    if result is None or result.status is None:
        raise NotApplicable("no result was fetched or answered: RESULT-1 judges why")
    if result.status == 406:
        return  # refused with 406: the rule holds
    if not 200 <= result.status < 300 or not result.body:
        got = f"{result.answer}, {len(result.body)} bytes"
        raise NotApplicable(f"the result request got {got}: RESULT-1 judges that")
    if result.media_type not in profile.result_media_types:
        yield Violation(
            result.media_type or "no Content-Type",
            f"{' or '.join(profile.result_media_types)}, or a 406",
            result.describe(),
            result,
        )
