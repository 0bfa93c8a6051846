"""The tenancy scenario: what a run sends as another principal (B, ``--other-header``) and
without credentials, about jobs of the run's own principal (A), recorded in a
:class:`~lrokit.model.recording.Tenancy` for the TENANCY checks.

Two jobs of A's, submitted for this alone and observed side by side, each with one purpose:

* the first, B reads at once (and reads a monitor whose id nobody created, to compare the
  answers); A and B list jobs; a submission and a read of its monitor go without credentials;
  A follows it to its end, B reads it once more, and, once it is done, A downloads its result
  and B asks for it;
* the second, B cancels at once, and A follows it to its end, to see whether B's cancel took.

B also submits a job of its own and reads its monitor: the proof that B's credentials work,
without which B's refusals prove nothing. The run's clean-up cancels that job as B.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

from lrokit.model.recording import Tenancy

if TYPE_CHECKING:
    from lrokit.runner.scenarios import Scenarios


async def observe(scenarios: Scenarios) -> None:
    """Record ``scenarios.rec.tenancy``; the credentials are the fields A sends that B's
    ``--other-header`` names. A budget or transport failure of either job is raised once
    both have ended, what they saw kept."""
    config = scenarios.target.config
    sent = {name.lower() for name in config.headers}
    seen = scenarios.rec.tenancy = Tenancy(tuple(sorted(config.credentials & sent)))
    for outcome in await asyncio.gather(
        _read(scenarios, seen), _cancel(scenarios, seen), return_exceptions=True
    ):
        if isinstance(outcome, BaseException):
            raise outcome


async def _read(s: Scenarios, seen: Tenancy) -> None:
    """A's first job: B's reads of it and of its result, the listings, and the requests
    without credentials."""
    target, profile = s.target, s.profile
    other, anonymous = target.config.other(), target.config.anonymous()
    submission = await s.submit("submit-tenancy", profile.body)
    monitor, _ = s.monitor_of(submission)
    if monitor is None:
        seen.job = await s.follow(submission)  # notes why it could not be followed
        return
    seen.own = await s.submit("other-submit", profile.body, principal=other)
    own, _ = s.monitor_of(seen.own)
    if own is not None:
        seen.own_read = await target.request("other-own-read", "GET", own, principal=other)
    seen.reads.append(await target.request("other-read", "GET", monitor, principal=other))
    unknown = profile.with_job_id(monitor, uuid.uuid4().hex)
    seen.unknown = await target.request("other-unknown-id", "GET", unknown, principal=other)
    if seen.credentials:
        seen.anonymous_submit = await s.submit(
            "anonymous-submit", profile.body, principal=anonymous
        )
        seen.anonymous_read = await target.request(
            "anonymous-read", "GET", monitor, principal=anonymous
        )
    if profile.listing_path is not None:
        listing = target.url(profile.listing_path)
        seen.listing = await target.request("listing", "GET", listing)
        seen.other_listing = await target.request("other-listing", "GET", listing, principal=other)
    trace = seen.job = await s.follow(submission)
    if trace.final_state is None or trace.monitor is None:
        return
    seen.reads.append(await target.request("other-read", "GET", trace.monitor, principal=other))
    if trace.final_state != profile.success:
        return
    result = s.result_of(trace)
    if result is None or not target.same_origin(result):
        return  # RESULT-1 says why; TENANCY-2 that it judged nothing
    seen.result = await target.request("tenancy-result", "GET", result, headers=s.result_accept)
    seen.other_result = await target.request(
        "other-result", "GET", result, headers=s.result_accept, principal=other
    )


async def _cancel(s: Scenarios, seen: Tenancy) -> None:
    """A's second job: B cancels it at once; A follows it to its end."""
    method, profile = s.profile.cancel_method, s.profile
    if method is None or "cancel" not in profile.features:
        return
    submission = await s.submit("submit-tenancy-cancel", profile.body)
    monitor, why = s.monitor_of(submission)
    if monitor is None:
        s.rec.notes.append(f"tenancy: no cancel as another principal: {why}")
        return
    seen.cancel = await s.target.request(
        "other-cancel", method, profile.cancel_url(monitor), principal=s.target.config.other()
    )
    seen.cancelled = await s.follow(submission)
