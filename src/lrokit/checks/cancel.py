"""CANCEL: cancelling a job."""

from __future__ import annotations

from collections.abc import Iterator

from lrokit.checks import NotApplicable, NotObserved, Violation, check
from lrokit.model.profile import Profile
from lrokit.model.recording import Recording, state_of


@check("CANCEL-1", feature="cancel")
def cancel_running_job(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Cancelling a job that is not terminal MUST be accepted and end the job cancelled.

    A refusal is judged against the states observed after it: a job read in a state that is
    not terminal was refused wrongly; one first read finished may have finished before the
    cancel arrived, and then nothing is judged."""
    if not profile.cancel_method:
        raise NotApplicable(f"profile {profile.name} names no way to cancel")
    cancel, trace = rec.cancel, rec.cancelled
    if cancel is None or trace is None:
        raise NotObserved("no job could be cancelled")
    if trace.unreadable or not (trace.polls or trace.removed):
        raise NotObserved("the cancelled job's monitor could not be read")
    if cancel.status in (200, 202, 204) and trace.removed is not None:
        return  # accepted, and the job is gone: a cancel may remove it in this dialect
    if cancel.status not in (200, 202, 204):
        states = [state_of(profile, poll) for poll in trace.polls]
        running = next(
            (s for s in states if s in profile.states and s not in profile.terminal), None
        )
        if running is not None:
            yield Violation(
                f"{cancel.answer} while the job was {running}",
                "200 or 202",
                cancel.describe(),
                cancel,
            )
        elif trace.final_state in (profile.success, profile.failure):
            raise NotObserved(f"the job was {trace.final_state} at its first read after the cancel")
        else:
            yield Violation(cancel.answer, "200 or 202", cancel.describe(), cancel)
    elif trace.final_state != profile.cancelled:
        yield Violation(
            f"final state {trace.final_state}",
            str(profile.cancelled),
            trace.polls[-1].describe(),
            trace.polls[-1],
        )


@check("CANCEL-2", feature="cancel")
def cancel_repeated_harmless(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Cancelling a cancelled job again SHOULD be a 2xx that changes nothing (404 or 410 once
    the first cancel removed it, in a dialect where a cancel may)."""
    again = rec.cancel_again
    if again is None or rec.cancelled is None or rec.cancelled.final_state != profile.cancelled:
        raise NotObserved("no cancelled job to cancel again")
    if rec.cancelled.removed is not None and again.status in (404, 410):
        return  # the first cancel removed the job, as the dialect allows: it is gone still
    if again.status is None or not 200 <= again.status < 300:
        yield Violation(f"status {again.status}", "a 2xx", again.describe(), again)
    elif again.json() is not None and state_of(profile, again) not in (None, profile.cancelled):
        yield Violation(
            f"state {state_of(profile, again)}", str(profile.cancelled), again.describe(), again
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
        raise NotObserved("no finished job to cancel")
    if refused.status != 409:
        yield Violation(f"status {refused.status}", "409", refused.describe(), refused)
    if after is not None and state_of(profile, after) != main.final_state:
        yield Violation(
            f"state {state_of(profile, after)}", main.final_state or "", after.describe(), after
        )
