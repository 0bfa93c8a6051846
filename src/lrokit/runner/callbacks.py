"""The webhook scenario (``--callbacks``): two jobs, each submitted naming a callback URL of
its own on the run's receiver (:mod:`lrokit.runner.receiver`), followed to their end, and
what reaches those URLs, recorded in a :class:`~lrokit.model.recording.Webhooks` for the
WEBHOOK checks.

* the first job's delivery is failed (500), then paused (503, Retry-After: 1), then taken
  (200): it shows a redelivery keeps its id and body, and waits as asked;
* the second job's delivery is answered 410 Gone, and its URL is watched a while longer: three
  times the redelivery gap the first job showed (1 to 10 s, :data:`WATCH_DEFAULT` when none
  was seen), within the wait budget.

Each wait is on the receiver, until the delivery it expects has come or the wait budget has
passed since what it follows (the job's end, the answer before it): a server that delivers at
once costs the run no more than its own pace.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lrokit.model.recording import Hook, Webhooks
from lrokit.runner.receiver import TAKEN, Answer, Receiver

if TYPE_CHECKING:
    from lrokit.runner.scenarios import Scenarios

#: What the receiver answers the first job's deliveries, in order, before it takes one.
RETRIED = (Answer(500), Answer(503, "1"))
#: What it answers the second job's, every time.
GONE = Answer(410)
#: The gone URL is watched this many times the redelivery gap seen, within these bounds
#: (seconds), or for the default when no redelivery was seen.
WATCH_TIMES, WATCH_MIN, WATCH_MAX, WATCH_DEFAULT = 3, 1.0, 10.0, 3.0


async def observe(s: Scenarios, receiver: Receiver) -> None:
    """Record ``s.rec.webhooks``: both jobs side by side on ``receiver``, the run's own; a
    budget or transport failure is raised once both have ended, what they saw kept."""
    config = s.target.config
    seen = s.rec.webhooks = Webhooks(config.webhook_secret, config.max_wait)
    if not s.takes_body:
        seen.unasked = "the operation takes no body to name a callback URL in"
        s.rec.notes.append(f"webhooks: not attempted: {seen.unasked}")
        return
    outcomes = await asyncio.gather(
        _hooked(s, receiver, "submit-for-webhook", RETRIED),
        _hooked(s, receiver, "submit-for-webhook-gone", (GONE,), GONE),
        return_exceptions=True,
    )
    seen.retried, seen.gone = (o if isinstance(o, Hook) else None for o in outcomes)
    gone = seen.gone.deliveries if seen.gone is not None else []
    if seen.gone is not None and gone:
        window = min(_window(seen.retried), config.max_wait)
        await receiver.until(seen.gone.path, 2, gone[0].at + window)
        seen.watched = s.target.elapsed - gone[0].at
    for hook in seen.hooks():
        hook.deliveries = receiver.at(hook.path)
    seen.deliveries = receiver.everything()
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


def _window(retried: Hook | None) -> float:
    """How long the gone URL is watched after its 410: three times the first redelivery gap
    of the retried job, within the bounds."""
    deliveries = retried.deliveries if retried is not None else []
    if len(deliveries) < 2:
        return WATCH_DEFAULT
    gap = deliveries[1].at - deliveries[0].at
    return max(WATCH_MIN, min(WATCH_MAX, WATCH_TIMES * gap))


async def _hooked(
    s: Scenarios, receiver: Receiver, label: str, first: tuple[Answer, ...], then: Answer = TAKEN
) -> Hook:
    """A job naming a URL of its own, followed to its end; then its deliveries, each waited
    for (the wait budget at most) while the one before was answered anything but 2xx or 410,
    as many as ``first`` has answers (and the one after them)."""
    url, path = receiver.hand_out(first, then)
    submission = await s.submit(label, s.profile.callback_body(url))
    hook = Hook(url, path, submission)
    job = hook.job = await s.follow(submission)
    if job.final_state is None:
        return hook
    budget = s.target.config.max_wait
    end = job.polls[-1]
    since = end.at + end.seconds
    for count in range(1, len(first) + 2):
        hook.deliveries = await receiver.until(path, count, since + budget)
        if len(hook.deliveries) < count:
            break
        last = hook.deliveries[-1]
        if 200 <= last.answered < 300 or last.answered == GONE.status:
            break
        since = last.at
    return hook
