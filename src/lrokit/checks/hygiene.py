"""HTTP: caching, HEAD, Vary and Prefer, Date."""

from __future__ import annotations

import re
from collections.abc import Iterator

from lrokit.checks import NotApplicable, NotObserved, Violation, check
from lrokit.checks._util import monitor_reads, submissions
from lrokit.model.headers import retry_after_delay
from lrokit.model.profile import Profile
from lrokit.model.recording import Recording

_MAX_AGE = re.compile(r"(?:^|,)\s*(?:max-age|s-maxage)\s*=\s*\"?([0-9]+)", re.IGNORECASE)


@check("HTTP-1")
def monitor_not_cached_stale(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Non-terminal monitor reads SHOULD forbid caching beyond the advised wait."""
    running = [(p, s) for _, p, s in monitor_reads(rec, profile) if s not in profile.terminal]
    if not running:
        raise NotObserved("no non-terminal monitor read")
    for poll, _ in running:
        control = ",".join(poll.header_lines("cache-control")).lower()
        if "no-store" in control or "no-cache" in control:
            continue
        ages = [float(a) for a in _MAX_AGE.findall(control)]
        wait = retry_after_delay(poll.header("retry-after") or "")
        if ages and all(age <= (wait or 0) for age in ages):
            continue
        yield Violation(
            f"Cache-Control: {control or '(none)'}",
            "no-store, no-cache, or max-age ≤ Retry-After",
            poll.describe(),
        )


@check("HTTP-2")
def head_matches_get(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """HEAD on the monitor MUST send no content and SHOULD match GET's status and fields."""
    head, get = rec.head, rec.head_get
    if head is None or get is None:
        raise NotObserved("the monitor was not followed")
    if get.status is None:
        raise NotObserved(f"the GET to compare with got {get.answer}")
    if head.status is None:
        yield Violation(head.answer, f"status {get.status}, as for GET", head.describe())
        return
    if head.body:
        yield Violation(f"{len(head.body)} bytes of content", "no content", head.describe())
    if head.status != get.status:
        yield Violation(f"HEAD {head.status}, GET {get.status}", "the same status", head.describe())
    for name in ("content-type", "cache-control"):
        if head.header(name) != get.header(name):
            yield Violation(
                f"{name}: {head.header(name)!r} vs GET {get.header(name)!r}",
                "the same fields",
                head.describe(),
            )


@check("HTTP-3", feature="prefer")
def vary_prefer(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Responses that vary with Prefer MUST list Prefer (or *) in Vary."""
    subs = [s for s in submissions(rec) if s.status is not None]
    applied = [s for s in subs if s.header("preference-applied") is not None]
    if not applied:
        raise NotApplicable("no response varied with Prefer (no Preference-Applied)")
    for sub in subs:
        vary = {v.strip().lower() for v in ",".join(sub.header_lines("vary")).split(",")}
        if not vary & {"prefer", "*"}:
            yield Violation(
                f"Vary: {sub.header('vary') or '(none)'}", "Vary listing Prefer", sub.describe()
            )


@check("HTTP-4", feature="prefer")
def unknown_preference_ignored(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """An unknown preference MUST be ignored: the answer is the one given without it."""
    plain = rec.plain
    if rec.main is None or plain is None or plain.status not in profile.initiation_status:
        raise NotObserved("no accepted submission without Prefer to compare with")
    sub = rec.main.submission
    if sub.status != plain.status:
        yield Violation(
            f"status {sub.status}", f"{plain.status}, as without Prefer", sub.describe()
        )


@check("HTTP-5")
def date_present(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """2xx, 3xx and 4xx responses MUST carry Date."""
    judged = [e for e in rec.exchanges if e.status is not None and e.status < 500]
    if not judged:
        raise NotObserved("no response was recorded")
    for exchange in judged:
        if exchange.header("date") is None:
            yield Violation("no Date", "a Date field", exchange.describe())
