"""Workers: they survive store failures, and the advised Retry-After follows the estimate."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest

from lrokit.server.http.handlers import ReportsAPI
from lrokit.server.jobs.job import Job, JobState, NewJob
from lrokit.server.jobs.sqlite import SQLiteJobStore
from lrokit.server.jobs.store import Claim, StoreUnavailable
from lrokit.server.settings import Settings
from lrokit.server.work.workers import WorkerPool

pytestmark = pytest.mark.anyio


class FlakyStore(SQLiteJobStore):
    """Fails the first ``failures`` claims and the first finish, like a briefly full disk."""

    def __init__(self, path: Path, failures: int) -> None:
        super().__init__(path)
        self.claim_failures = failures
        self.finish_failures = 1

    async def claim(
        self, worker_id: str, lease_seconds: float, **kw: Any
    ) -> tuple[Claim | None, Sequence[str]]:
        if self.claim_failures:
            self.claim_failures -= 1
            raise OSError("disk I/O error")
        return await super().claim(worker_id, lease_seconds, **kw)

    async def finish(self, claim: Claim, state: JobState, **kw: Any) -> JobState | None:
        if self.finish_failures:
            self.finish_failures -= 1
            raise OSError("disk I/O error")
        return await super().finish(claim, state, **kw)


async def test_workers_outlive_store_failures(settings: Settings) -> None:
    store = FlakyStore(settings.db, failures=3)
    await store.open()
    pool = WorkerPool(store, dataclasses.replace(settings, workers=1, lease_seconds=0.5))
    await pool.start()
    try:
        await store.create(NewJob("j", "yearly-sales", {"year": "2023"}))
        pool.notify()
        for _ in range(300):
            job = await store.get("j")
            assert job is not None
            if job.state.terminal:
                break
            await asyncio.sleep(0.02)
        # The first outcome write failed; the lease expired and the job ran again.
        assert job.state is JobState.DONE
        assert job.attempts == 2
    finally:
        await pool.stop()
        await store.close()


class OutageStore(SQLiteJobStore):
    """Unreachable while ``down``: claims, heartbeats and outcomes raise StoreUnavailable, as
    the PostgreSQL store does while its server restarts."""

    down = False

    async def claim(
        self, worker_id: str, lease_seconds: float, **kw: Any
    ) -> tuple[Claim | None, Sequence[str]]:
        if self.down:
            raise StoreUnavailable("OperationalError: the database system is shutting down")
        return await super().claim(worker_id, lease_seconds, **kw)

    async def heartbeat(self, claim: Claim, *args: Any) -> bool | None:
        if self.down:
            raise StoreUnavailable("OperationalError: the database system is shutting down")
        return await super().heartbeat(claim, *args)

    async def finish(self, claim: Claim, state: JobState, **kw: Any) -> JobState | None:
        if self.down:
            raise StoreUnavailable("OperationalError: the database system is shutting down")
        return await super().finish(claim, state, **kw)


async def _through_outage(settings: Settings, outage: float, lease: float) -> Job:
    """One paced job, the store down for ``outage`` seconds while it runs; the job's end."""
    store = OutageStore(settings.db)
    await store.open()
    paced = dataclasses.replace(settings, workers=1, lease_seconds=lease, pace=1.0)
    pool = WorkerPool(store, paced)
    await pool.start()
    try:
        await store.create(NewJob("j", "yearly-sales", {"year": "2023"}))
        pool.notify()
        await asyncio.sleep(0.2)
        store.down = True
        await asyncio.sleep(outage)
        store.down = False
        for _ in range(500):
            job = await store.get("j")
            assert job is not None
            if job.state.terminal:
                return job
            await asyncio.sleep(0.02)
        raise AssertionError(f"still {job.state} after the outage")
    finally:
        await pool.stop()
        await store.close()


async def test_an_outage_within_the_lease_is_waited_out_not_a_failure(settings: Settings) -> None:
    """The store is down 0.8 s of a 1 s job under a 3 s lease: the worker keeps the job,
    tries again, and ends it DONE on its first attempt (issue 15: jobs in flight during a
    PostgreSQL restart ended ERROR INTERNAL)."""
    job = await _through_outage(settings, outage=0.8, lease=3.0)
    assert (job.state, job.attempts, job.error) == (JobState.DONE, 1, None)


async def test_an_outage_past_the_lease_hands_the_job_on_and_writes_no_failure(
    settings: Settings,
) -> None:
    """Down longer than the lease: the worker gives the job up without writing, and once the
    store is back the job is claimed again and ends DONE, never ERROR."""
    job = await _through_outage(settings, outage=1.5, lease=0.6)
    assert (job.state, job.error) == (JobState.DONE, None)
    assert job.attempts == 2


def job(state: JobState, expected_finish_at: float | None) -> Job:
    return Job(
        id="j",
        seq=1,
        report_type="yearly-sales",
        parameters={},
        state=state,
        progress=0,
        created_at=0.0,
        started_at=None,
        finished_at=None,
        expected_finish_at=expected_finish_at,
        cancel_requested=False,
        attempts=0,
        error=None,
    )


@pytest.mark.parametrize(
    ("state", "expected", "advice"),
    [
        (JobState.PENDING, None, 1),  # no estimate yet: the lower bound
        (JobState.PROCESSING, 1000.0 + 3.2, 4),  # whole seconds, rounded up
        (JobState.PROCESSING, 1000.0 + 0.1, 1),
        (JobState.PROCESSING, 1000.0 - 5, 1),  # overdue: poll soon, never negative
        (JobState.PROCESSING, 1000.0 + 500, 10),  # bounded above
        (JobState.DONE, None, None),  # never on a terminal state
        (JobState.ERROR, 1000.0 + 3, None),
        (JobState.CANCELLED, None, None),
    ],
)
def test_retry_after_is_derived_from_the_estimate_and_bounded(
    settings: Settings, state: JobState, expected: float | None, advice: int | None
) -> None:
    api = ReportsAPI(SQLiteJobStore(settings.db), settings, lambda: None, clock=lambda: 1000.0)
    assert api.retry_after(job(state, expected)) == advice


class BeatCountingStore(SQLiteJobStore):
    """Records the progress of every heartbeat."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.beats: list[int] = []

    async def heartbeat(self, claim: Claim, progress: int, *args: Any) -> bool | None:
        self.beats.append(progress)
        return await super().heartbeat(claim, progress, *args)


@pytest.mark.parametrize("progress_interval", [1e-6, 10.0])
async def test_progress_is_recorded_between_steps_once_due(
    settings: Settings, progress_interval: float
) -> None:
    """An unpaced report records progress at the first step boundary ``progress_interval``
    after the last record: at every step when that is short, never when the report is quicker."""
    store = BeatCountingStore(settings.db)
    await store.open()
    pool = WorkerPool(
        store, dataclasses.replace(settings, workers=1, progress_interval=progress_interval)
    )
    await pool.start()
    try:
        await store.create(NewJob("j", "yearly-sales", {"year": "2023"}))  # 12 steps
        pool.notify()
        for _ in range(300):
            job = await store.get("j")
            assert job is not None
            if job.state.terminal:
                break
            await asyncio.sleep(0.02)
        assert job.state is JobState.DONE
        assert job.progress == 100
        if progress_interval > 1:
            assert store.beats == []
        else:
            assert store.beats == sorted(store.beats)
            assert {100 * k // 12 for k in range(1, 12)} <= set(store.beats)
    finally:
        await pool.stop()
        await store.close()


def test_an_outage_is_told_from_a_bug() -> None:
    """What becomes StoreUnavailable (a 503, a job kept) and what stays an error (a bug)."""
    from lrokit.server.jobs import postgres, sqlite

    assert sqlite._outage(sqlite3.OperationalError("database is locked"))
    assert sqlite._outage(sqlite3.OperationalError("database or disk is full"))
    assert not sqlite._outage(sqlite3.OperationalError('near "SELEC": syntax error'))
    assert postgres._outage(psycopg.OperationalError("terminating connection (AdminShutdown)"))
    assert not postgres._outage(psycopg.errors.UndefinedTable("relation jobs does not exist"))
