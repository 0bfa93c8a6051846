"""WEBHOOK: completion webhooks, where the profile says a submission may name a URL the server
calls back when the job ends (``features.callbacks``, the ``[callbacks]`` member), signed per
the Standard Webhooks specification (1.0.0).

The rules need a receiver, which the run starts when asked (``--callbacks``); without it they
are not run (:class:`NotRun`: DISABLED, saying what to give), never a PASS and never a
failure. The signature needs the server's secret too (``--webhook-secret``): without it
WEBHOOK-2 alone is not run. The run (:class:`~lrokit.model.recording.Webhooks`) submits two
jobs, each naming a URL of its own: the first one's delivery is failed (500), then paused
(503 with Retry-After: 1), then taken; the second one's is answered 410 Gone, and its URL
watched a while longer. Times are the run's clock when a request had been read, so a gap
between two attempts is never shorter than the server's own wait.

The levels, honestly: the OpenAPI callbacks object describes requests a server *may* send;
the obligations are the canonical contract's (createReport's callbacks), which adopts the
Standard Webhooks scheme (its headers and signature), at-least-once delivery with the same
``webhook-id`` and body on every attempt, and 410 Gone as the end of a URL's deliveries:
MUSTs, since the profile declares the feature. Standard Webhooks only recommends heeding
Retry-After, and RFC 9110 §10.2.3 says a client "ought to" wait: WEBHOOK-6 is a SHOULD. What
arrives at a URL the run never handed out (each is unguessable) was sent where nobody asked.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from lrokit.checks import NotApplicable, NotObserved, NotRun, Violation, check
from lrokit.model.exchange import Exchange
from lrokit.model.profile import Profile, dig
from lrokit.model.recording import Delivery, Hook, Recording, Webhooks
from lrokit.webhooks import TOLERANCE, WebhookVerificationError, verify

GIVE = "give --callbacks (a webhook receiver on 127.0.0.1; --callback-url to be reached elsewhere)"
UNVERIFIED = "give --webhook-secret whsec_..., the server's signing secret"
#: Seconds a redelivery after a failure comes after it, at least: not at once.
REDELIVERY_MIN = 0.1
#: Seconds by which a pause asked for (Retry-After) may seem cut short: the clocks' grain.
PAUSE_SLACK = 0.05
#: Seconds the gone URL must have been watched, at least, for its silence to count.
WATCHED_MIN = 1.0


def _webhooks(rec: Recording) -> Webhooks:
    if rec.webhooks is None:
        raise NotRun(GIVE)
    if rec.webhooks.unasked is not None:
        raise NotApplicable(rec.webhooks.unasked)
    return rec.webhooks


def _ended(seen: Webhooks) -> list[Hook]:
    """The hooks whose job was seen to end; not observed when there are none, saying why."""
    ended = [h for h in seen.hooks() if h.job is not None and h.job.final_state is not None]
    if ended:
        return ended
    why = []
    for hook in seen.hooks():
        job = hook.job
        if job is None or job.monitor is None:
            why.append(f"{hook.submission.label}: {job.unfollowed if job else 'not followed'}")
        else:
            why.append(f"{hook.submission.label}: not over within the wait budget")
    reasons = "; ".join(why) or "no job with a callback URL was submitted"
    raise NotObserved(f"no job with a callback URL was seen to end ({reasons})")


def _receiving(seen: Webhooks) -> list[Hook]:
    """The hooks whose job ended and whose URL got a request; not observed when none did."""
    found = [hook for hook in _ended(seen) if hook.deliveries]
    if not found:
        raise NotObserved("no delivery reached a callback URL (WEBHOOK-1 says why)")
    return found


def _after(hook: Hook, status: int) -> Iterator[tuple[Delivery, Delivery | None]]:
    """Each delivery at ``hook``'s URL answered ``status``, with the one after it (None when
    none came within the wait budget)."""
    deliveries = hook.deliveries
    for index, delivery in enumerate(deliveries):
        if delivery.answered == status:
            following = deliveries[index + 1] if index + 1 < len(deliveries) else None
            yield delivery, following


@check("WEBHOOK-1", feature="callbacks")
def delivered(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A submission that names a callback URL MUST get a delivery there once its job is over:
    a POST reaches that URL within the wait budget after the job's terminal state is
    polled."""
    seen = _webhooks(rec)
    for hook in _ended(seen):
        assert hook.job is not None
        end = hook.job.polls[-1]
        if not hook.deliveries:
            yield Violation(
                f"nothing at {hook.url} within {seen.budget:g} s of the job's end "
                f"({hook.job.final_state})",
                "a POST of the job's status document to its callback URL",
                end.describe(),
                end,
            )
        for delivery in hook.deliveries:
            if delivery.method != "POST":
                yield Violation(
                    f"a {delivery.method}", "a POST", delivery.describe(), hook.submission
                )


@check("WEBHOOK-2", feature="callbacks")
def signed(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Every delivery MUST carry ``webhook-id``, ``webhook-timestamp`` and a
    ``webhook-signature`` with a ``v1`` signature that verifies under the server's secret:
    the base64 HMAC-SHA256 of ``id.timestamp.body`` (Standard Webhooks 1.0.0). A body cut at
    the receiver's cap cannot be verified, and is not judged."""
    seen = _webhooks(rec)
    if seen.secret is None:
        raise NotRun(UNVERIFIED)
    judged = False
    for hook in _receiving(seen):
        for delivery in hook.deliveries:
            if delivery.truncated:
                continue
            judged = True
            try:  # the timestamp's age is WEBHOOK-3's
                verify(dict(delivery.headers), delivery.body, seen.secret, tolerance=math.inf)
            except WebhookVerificationError as exc:
                yield Violation(
                    str(exc),
                    "a v1 signature of id.timestamp.body under the server's secret",
                    delivery.describe(),
                    hook.submission,
                )
    if not judged:
        raise NotObserved("every delivery outgrew the receiver's body cap")


@check("WEBHOOK-3", feature="callbacks")
def timestamped(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A delivery's ``webhook-timestamp`` MUST be the time of its attempt: Unix seconds within
    five minutes (the tolerance a receiver holds it to against replays) of the receiver's
    clock when it arrived."""
    for hook in _receiving(_webhooks(rec)):
        for delivery in hook.deliveries:
            stamp = (delivery.header("webhook-timestamp") or "").strip()
            expected = f"Unix seconds within {TOLERANCE:g} s of {delivery.wall:.0f}"
            if not stamp.isascii() or not stamp.isdigit():
                got = f"webhook-timestamp: {stamp[:40]}" if stamp else "no webhook-timestamp"
                yield Violation(got, expected, delivery.describe(), hook.submission)
                continue
            skew = int(stamp) - delivery.wall
            if abs(skew) > TOLERANCE:
                how = "ahead of" if skew > 0 else "behind"
                got = f"webhook-timestamp: {stamp}, {abs(skew):.0f} s {how} the receiver's clock"
                yield Violation(got, expected, delivery.describe(), hook.submission)


@check("WEBHOOK-4", feature="callbacks")
def documented(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A delivery's body MUST be its job's status document: JSON (valid against the
    contract's status schema where one is known) that reports a state, with the job's id;
    one that reports the job over reports the terminal state its monitor reports, and at
    least one does."""
    for hook in _receiving(_webhooks(rec)):
        job = hook.job
        assert job is not None
        assert job.monitor is not None
        polled = job.polls[-1]
        own_id = dig(polled.json(), profile.id_field) if profile.id_field else None
        over = False
        for delivery in hook.deliveries:
            where, document = delivery.describe(), delivery.json()
            state = profile.state(document, 200)
            expected = f"the job's status document ({job.final_state})"
            if "json" not in delivery.media_type or state is None:
                got = f"{delivery.media_type or 'no Content-Type'}: {delivery.body[:80]!r}"
                yield Violation(got, expected, where, polled)
                continue
            if own_id is not None and dig(document, profile.id_field) != own_id:
                got = f"{profile.id_field} {dig(document, profile.id_field)!r}"
                yield Violation(got, f"{profile.id_field} {own_id!r}", where, polled)
            if state in profile.terminal:
                over = True
                if state != job.final_state:
                    got = f"{state}, where the monitor reports {job.final_state}"
                    yield Violation(got, job.final_state or "", where, polled)
            problems = rec.validate(_as_read(delivery, job.monitor)) if rec.validate else []
            for pointer, message in problems:
                yield Violation(f"{pointer}: {message}", "the status schema", where, polled)
        if not over:
            got = f"no delivery reporting the job over ({len(hook.deliveries)} came)"
            where = hook.deliveries[-1].describe()
            yield Violation(got, f"one reporting {job.final_state}", where, polled)


def _as_read(delivery: Delivery, monitor: str) -> Exchange:
    """A delivery's body as if the monitor had answered it, for the contract's validator."""
    return Exchange(
        "delivery", "GET", monitor, (), 200, (("content-type", delivery.media_type),), delivery.body
    )


@check("WEBHOOK-5", feature="callbacks")
def redelivered(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A delivery the receiver failed (500) MUST be sent again, not at once (0.1 s later at
    least) and within the wait budget, with the same ``webhook-id`` and the same body."""
    seen = _webhooks(rec)
    pairs = [(hook, *pair) for hook in _receiving(seen) for pair in _after(hook, 500)]
    if not pairs:
        raise NotObserved("no delivery came to be failed with a 500")
    for hook, _, again in pairs:
        if again is None:
            raise NotObserved(
                f"no delivery came again within {seen.budget:g} s of the 500 at {hook.url}"
            )
    for hook, failed, again in pairs:
        assert again is not None
        where, gap = again.describe(), again.at - failed.at
        if gap < REDELIVERY_MIN:
            got = f"again {gap:.3f} s after the 500"
            yield Violation(got, f"{REDELIVERY_MIN:g} s later at least", where, hook.submission)
        first, then = failed.header("webhook-id"), again.header("webhook-id")
        if then != first:
            got = f"webhook-id {then!r} after {first!r}"
            yield Violation(got, f"webhook-id {first!r} again", where, hook.submission)
        if again.body != failed.body:
            got = f"another body: {again.body[:80]!r}"
            yield Violation(got, "the same body", where, hook.submission)


@check("WEBHOOK-6", feature="callbacks")
def paused(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """After the receiver answers 503 with ``Retry-After: N``, the next attempt at the
    delivery SHOULD NOT come before N seconds have passed (RFC 9110 §10.2.3)."""
    seen = _webhooks(rec)
    pairs = [
        (hook, asked, again)
        for hook in _receiving(seen)
        for asked, again in _after(hook, 503)
        if asked.retry_after is not None
    ]
    if not pairs:
        raise NotObserved("no delivery came to be answered 503 with Retry-After")
    for hook, asked, again in pairs:
        if again is None:
            raise NotObserved(
                f"no delivery came again within {seen.budget:g} s of the 503 at {hook.url}"
            )
        gap, pause = again.at - asked.at, float(asked.retry_after or 0)
        if gap < pause - PAUSE_SLACK:
            yield Violation(
                f"again {gap:.2f} s after 503 with Retry-After: {asked.retry_after}",
                f"{pause:g} s later at least",
                again.describe(),
                hook.submission,
            )


@check("WEBHOOK-7", feature="callbacks")
def gone_is_gone(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """After the receiver answers 410 Gone, the server MUST NOT deliver to that URL again:
    nothing arrives there within the observation window (three times the redelivery gap
    seen, 1 to 10 s, within the wait budget)."""
    seen = _webhooks(rec)
    hook = seen.gone
    answered = [] if hook is None else [d for d in hook.deliveries if d.answered == 410]
    if hook is None or not answered:
        raise NotObserved("no delivery came to be answered 410 Gone (WEBHOOK-1 says why)")
    later = [d for d in hook.deliveries if d.at > answered[0].at]
    if not later and seen.watched < WATCHED_MIN:
        raise NotObserved(f"the URL was watched {seen.watched:.1f} s after the 410 only")
    for delivery in later:
        yield Violation(
            f"a delivery {delivery.at - answered[0].at:.1f} s after the 410",
            f"nothing more at {hook.url}",
            delivery.describe(),
            hook.submission,
        )


@check("WEBHOOK-8", feature="callbacks")
def only_where_given(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """The server MUST deliver only to the URL a submission gave, and only that job's events:
    every request the receiver gets is at a URL the run handed out, and carries the job it
    was handed out for."""
    seen = _webhooks(rec)
    if not seen.deliveries:
        raise NotObserved("no request reached the receiver (WEBHOOK-1 says why)")
    hooks = {hook.path: hook for hook in seen.hooks()}
    for delivery in seen.deliveries:
        hook = hooks.get(delivery.path)
        if hook is None:
            yield Violation(
                f"a {delivery.method} at {delivery.path}, a URL no submission gave",
                f"deliveries at {', '.join(h.url for h in hooks.values())} only",
                delivery.describe(),
            )
            continue
        job = hook.job
        if job is None or not job.polls or profile.id_field is None:
            continue
        own = dig(job.polls[-1].json(), profile.id_field)
        sent = dig(delivery.json(), profile.id_field)
        if own is not None and sent is not None and sent != own:
            got, expected = f"job {sent!r}'s delivery", f"job {own!r}'s only"
            yield Violation(got, expected, delivery.describe(), job.polls[-1])
