"""IDEMPOTENCY: submissions with an Idempotency-Key (draft-ietf-httpapi-idempotency-key-header)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urljoin

from lrokit.checks import NotObserved, Violation, check
from lrokit.model.exchange import Exchange
from lrokit.model.profile import Profile
from lrokit.model.recording import Recording


def _monitor(sub: Exchange, profile: Profile) -> str | None:
    value = sub.header(profile.monitor_header)
    return urljoin(sub.url, value.strip()) if value is not None else None


@check("IDEMPOTENCY-1", feature="idempotency")
def same_key_same_job(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """The same key and body SHOULD give the same job and monitor."""
    if len(rec.idempotent) < 2:
        raise NotObserved("the keyed submission was not repeated")
    first, second = rec.idempotent[:2]
    if first.status not in profile.initiation_status:
        raise NotObserved(f"the first keyed submission was answered {first.status}")
    if second.status != first.status:
        yield Violation(
            f"status {second.status}",
            f"{first.status}, as the first time",
            second.describe(),
            second,
        )
        return
    a, b = _monitor(first, profile), _monitor(second, profile)
    if a != b:
        yield Violation(f"{a} then {b}", "the same monitor twice", second.describe(), second)


@check("IDEMPOTENCY-2", feature="idempotency")
def same_key_other_body_refused(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A key reused with another body SHOULD be refused with a 4xx (422)."""
    other = rec.idempotent_other
    if other is None:
        raise NotObserved("the key was not reused with another body")
    if other.status is None or not 400 <= other.status < 500 or other.status in (404, 405):
        yield Violation(
            f"status {other.status}", "422 (or another 4xx refusal)", other.describe(), other
        )


@check("IDEMPOTENCY-3", feature="idempotency")
def concurrent_one_job(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Concurrent submissions with one key SHOULD create exactly one job."""
    accepted = [s for s in rec.concurrent if s.status in profile.initiation_status]
    if not accepted:
        raise NotObserved("no concurrent keyed submission was accepted")
    monitors = {
        _monitor(sub, profile) for sub in rec.concurrent if sub.status in profile.initiation_status
    }
    for sub in rec.concurrent:
        if sub.status not in (*profile.initiation_status, 409):
            yield Violation(
                f"status {sub.status}", "the initiation status or 409", sub.describe(), sub
            )
    if len(monitors) > 1:
        yield Violation(
            f"{len(monitors)} different monitors",
            "one job",
            rec.concurrent[0].describe(),
            rec.concurrent[0],
        )
