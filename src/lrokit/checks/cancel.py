"""CANCEL: cancelling a job."""

from __future__ import annotations

from collections.abc import Iterator

from lrokit.checks import NotApplicable, Violation, check
from lrokit.model.profile import Profile
from lrokit.model.recording import Recording, state_of


@check("CANCEL-1", feature="cancel")
def cancel_running_job(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Cancelling a job that is not terminal MUST be accepted and end the job cancelled."""
    if rec.cancel is None or rec.cancelled is None:
        raise NotApplicable("no job could be cancelled")
    trace = rec.cancelled
    if rec.cancel.status == 409 and trace.final_state in (profile.success, profile.failure):
        raise NotApplicable("the job finished before the cancel arrived")
    if trace.unreadable:
        raise NotApplicable("the cancelled job's monitor could not be read")
    if rec.cancel.status not in (200, 202, 204):
        yield Violation(rec.cancel.answer, "200 or 202", rec.cancel.describe())
    elif trace.final_state != profile.cancelled:
        last = trace.polls[-1] if trace.polls else rec.cancel
        yield Violation(f"final state {trace.final_state}", str(profile.cancelled), last.describe())


@check("CANCEL-2", feature="cancel")
def cancel_repeated_harmless(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Cancelling a cancelled job again SHOULD be a 2xx that changes nothing."""
    again = rec.cancel_again
    if again is None or rec.cancelled is None or rec.cancelled.final_state != profile.cancelled:
        raise NotApplicable("no cancelled job to cancel again")
    if again.status is None or not 200 <= again.status < 300:
        yield Violation(f"status {again.status}", "a 2xx", again.describe())
    elif again.json() is not None and state_of(profile, again) not in (None, profile.cancelled):
        yield Violation(
            f"state {state_of(profile, again)}", str(profile.cancelled), again.describe()
        )


@check("CANCEL-3", feature="cancel")
def cancel_finished_refused(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Cancelling a finished job SHOULD get 409 and MUST NOT change its state."""
    refused, after, main = rec.cancel_finished, rec.after_cancel_finished, rec.main
    if (
        refused is None
        or main is None
        or main.final_state not in (profile.success, profile.failure)
    ):
        raise NotApplicable("no finished job to cancel")
    if refused.status != 409:
        yield Violation(f"status {refused.status}", "409", refused.describe())
    if after is not None and state_of(profile, after) != main.final_state:
        yield Violation(
            f"state {state_of(profile, after)}", main.final_state or "", after.describe()
        )
