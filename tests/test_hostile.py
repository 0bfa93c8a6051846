"""The tester against hostile servers: it returns (never raises, never hangs), within a stated
time, with bounded memory, and its verdict names what the server did; never an ERROR, which
would blame the tester.

Servers that misbehave in the job's life or in what they answer run in process over
``httpx.ASGITransport``; those that misbehave at the transport (50 MB, a drip, a hang) run
under a real uvicorn on 127.0.0.1, because ``ASGITransport`` buffers whole responses. Every
run is also wrapped in ``asyncio.wait_for(..., 30)``: a hang fails the test, not CI.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from lrokit.model.exchange import Exchange
from lrokit.model.profile import load_profile
from lrokit.runner.run import Report, run
from lrokit.runner.target import TargetConfig
from lrokit.runner.verdicts import Outcome, Verdict
from tests.hostile.servers import (
    Garbage,
    Hang,
    HugeBody,
    PendingForever,
    RedirectLoop,
    RetryAfterADay,
    SlowDrip,
    ZonelessDate,
)
from tests.live import ThreadServer

pytestmark = pytest.mark.anyio

PROFILE = load_profile("canonical")
MIB = 1024 * 1024
#: Whatever the server does, a run that takes longer than this has hung.
HANG = 30.0
#: The jobs a run follows: the main, the failing, the cancelled one and the held reads' one.
JOBS = 4


@dataclass
class HostileRun:
    """A run's report, how long it took, and every exchange it recorded."""

    report: Report
    seconds: float
    exchanges: list[Exchange]

    def verdict(self, rule_id: str) -> Verdict:
        return next(v for v in self.report.verdicts if v.rule.id == rule_id)

    def outcome(self, rule_id: str) -> Outcome:
        return self.verdict(rule_id).outcome

    def received(self, rule_id: str) -> list[str]:
        return [v.received for v in self.verdict(rule_id).violations]

    def polls(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.label == "poll"]

    def summary(self) -> str:
        lines = [
            f"{v.rule.id} {v.outcome} {v.reason} {[(x.received, x.where) for x in v.violations]}"
            for v in self.report.verdicts
            if v.outcome is not Outcome.PASS
        ]
        return "\n".join([*lines, f"notes: {self.report.notes}", f"seconds: {self.seconds:.2f}"])


async def conformance(
    *,
    app: Any = None,
    base_url: str = "http://hostile.test",
    request_timeout: float = 1.0,
    time_scale: float = 0.05,
    max_wait: float = 3.0,
) -> HostileRun:
    """One run against ``app`` in process, or against ``base_url`` over a socket."""
    config = TargetConfig(
        base_url, timeout=request_timeout, max_wait=max_wait, time_scale=time_scale, max_body=MIB
    )
    transport = httpx.ASGITransport(app=app) if app is not None else None
    exchanges: list[Exchange] = []
    started = time.monotonic()
    report = await asyncio.wait_for(
        run(config, PROFILE, transport=transport, observer=exchanges.append), HANG
    )
    result = HostileRun(report, time.monotonic() - started, exchanges)
    assert not [v for v in report.verdicts if v.outcome is Outcome.ERROR], result.summary()
    assert report.requests == len(exchanges) < config.max_requests
    return result


# -- in process ----------------------------------------------------------------------------


async def test_a_job_pending_forever() -> None:
    """Polled at its Retry-After (scaled) until the wait budget, then LIFECYCLE-5 fails."""
    run_ = await conformance(app=PendingForever())
    assert 3.0 <= run_.seconds < 8.0, run_.summary()
    assert run_.outcome("LIFECYCLE-5") is Outcome.FAIL, run_.summary()
    stuck = run_.received("LIFECYCLE-5")
    assert len(stuck) == 2  # the main and the failing job; the cancelled one did end
    assert all(r.startswith("still PENDING after ") for r in stuck), stuck
    # Retry-After: 1 at time_scale 0.05 is a poll every 50 ms: about 60 in 3 s per job, no more
    per_job = {p.url for p in run_.polls()}
    assert len(run_.polls()) <= len(per_job) * (3.0 / 0.05 + 5), len(run_.polls())
    assert not any("stopped early" in n for n in run_.report.notes), run_.summary()  # budget
    (note,) = run_.report.notes  # the jobs it left running, cancelled
    assert note.startswith("clean-up: cancelled 7 of the jobs the run started"), note
    assert (
        "(concurrent, idempotent, prefer-probe, submit, submit-failing, submit-for-unknown, "
        "submit-for-wait)" in note
    )


async def test_a_monitor_redirecting_to_itself() -> None:
    """Redirects are recorded, never followed: three 302s and the job is given up."""
    run_ = await conformance(app=RedirectLoop())
    assert run_.seconds < 5.0, run_.summary()
    assert run_.outcome("LOCATION-4") is Outcome.FAIL, run_.summary()
    # The main and the failing job; the one to cancel is read first after the cancel.
    assert run_.received("LOCATION-4") == ["status 302"] * 2
    assert run_.outcome("MONITOR-1") is Outcome.FAIL, run_.summary()
    assert set(run_.received("MONITOR-1")) == {"status 302"}
    assert {p.status for p in run_.polls()} == {302}
    assert len(run_.polls()) == JOBS * 3  # three unusable answers each
    assert any("3 unusable monitor answers" in note for note in run_.report.notes)


async def test_a_monitor_answering_garbage() -> None:
    run_ = await conformance(app=Garbage())
    assert run_.seconds < 5.0, run_.summary()
    assert run_.outcome("MONITOR-2") is Outcome.FAIL, run_.summary()
    assert set(run_.received("MONITOR-2")) == {"not a JSON object"}
    assert run_.outcome("MONITOR-1") is Outcome.PASS  # a 200 is a 200
    assert len(run_.polls()) == JOBS * 3


async def test_a_retry_after_of_a_day() -> None:
    """In real time (time_scale 1): the wait is cut at --max-wait, not slept for a day."""
    run_ = await conformance(app=RetryAfterADay(), time_scale=1.0, max_wait=3.0)
    assert 3.0 <= run_.seconds < 10.0, run_.summary()
    assert run_.outcome("RETRY-4") is Outcome.WARN, run_.summary()
    assert set(run_.received("RETRY-4")) == {"'86400' (86400 s)"}
    assert run_.outcome("RETRY-1") is Outcome.PASS
    assert run_.outcome("LIFECYCLE-5") is Outcome.FAIL  # it could not be seen done in 3 s


async def test_a_date_without_zone_and_an_http_date_retry_after() -> None:
    """Once a TypeError (naive minus aware datetime) that made ``run`` raise."""
    run_ = await conformance(app=ZonelessDate(), time_scale=0.2)
    assert run_.seconds < 10.0, run_.summary()
    dates = [p.header("date") or "" for p in run_.polls()]
    assert dates
    assert not [d for d in dates if d.endswith("GMT")], dates
    bad = [v.rule.id for v in run_.report.verdicts if v.outcome in (Outcome.FAIL, Outcome.WARN)]
    assert bad == [], run_.summary()
    assert run_.outcome("LIFECYCLE-5") is Outcome.PASS


# -- over a socket -------------------------------------------------------------------------


async def test_a_monitor_answering_50_mb() -> None:
    """At most max_body is read of each answer, marked truncated; memory stays far below
    the 50 MB of a single answer (the whole run, server included, is traced)."""
    with ThreadServer(HugeBody()) as url:
        tracing = tracemalloc.is_tracing()  # already, e.g. under python -X tracemalloc
        if tracing:
            tracemalloc.reset_peak()
        else:
            tracemalloc.start()
        try:
            run_ = await conformance(base_url=url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            if not tracing:
                tracemalloc.stop()
    assert run_.seconds < 15.0, run_.summary()
    huge = [p for p in run_.polls() if p.status == 200]
    assert huge, run_.summary()
    assert all(p.truncated and len(p.body) == MIB for p in huge), [len(p.body) for p in huge]
    assert peak < 40 * MIB, f"peak {peak / MIB:.1f} MiB"
    assert run_.outcome("MONITOR-2") is Outcome.FAIL, run_.summary()
    assert set(run_.received("MONITOR-2")) == {f"a body over the {MIB}-byte limit"}


def assert_timed_out(run_: HostileRun) -> None:
    assert run_.outcome("MONITOR-1") is Outcome.FAIL, run_.summary()
    assert set(run_.received("MONITOR-1")) == {"no response (timed out)"}
    wheres = [v.where for v in run_.verdict("MONITOR-1").violations]
    assert all(w.endswith("-> no response (timed out)") for w in wheres), wheres
    assert run_.outcome("LOCATION-4") is Outcome.FAIL, run_.summary()
    assert {p.error for p in run_.polls()} == {"timed out"}
    assert all(p.status is None for p in run_.polls())


async def test_a_monitor_dripping_its_body() -> None:
    """Bytes keep coming (no read timeout fires), but the request's own deadline does."""
    app = SlowDrip()
    with ThreadServer(app) as url:
        run_ = await conformance(base_url=url, request_timeout=1.0)
    # the jobs in parallel, each: three polls of 1 s, then for the main job one more GET
    assert run_.seconds < 10.0, run_.summary()
    assert_timed_out(run_)
    assert len(run_.polls()) == JOBS * 3
    # bytes did flow (a drip, not a hang): 4 every 0.25 s for about a second per answer
    assert app.dripped >= len(run_.polls()) * 4, app.dripped


async def test_a_monitor_that_never_answers() -> None:
    with ThreadServer(Hang()) as url:
        run_ = await conformance(base_url=url, request_timeout=1.0)
    assert run_.seconds < 10.0, run_.summary()
    assert_timed_out(run_)
    assert len(run_.polls()) == JOBS * 3
