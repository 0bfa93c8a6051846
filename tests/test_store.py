"""The job stores, SQLite and PostgreSQL, by one suite: conditional writes, leases, attempts,
expiry, durability across reopening. PostgreSQL runs when LROKIT_TEST_POSTGRES_URL names a
database (.ci/run sets it); each test gets a schema of its own."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from lrokit.server.jobs.job import Callback, CallbackEvents, CallbackState, JobState, NewJob
from lrokit.server.jobs.postgres import CLAIM, PostgresJobStore
from lrokit.server.jobs.sqlite import LISTEN_INTERVAL, SQLiteJobStore
from lrokit.server.jobs.store import CancelOutcome, IdempotencyKeyReused, JobStore
from tests.helpers import postgres_schema

pytestmark = pytest.mark.anyio


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


Factory = Callable[..., JobStore]


@pytest.fixture(params=["sqlite", "postgresql"])
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[Factory]:
    """A factory of stores over one database, so that a test can reopen it."""
    if request.param == "sqlite":
        yield lambda **kw: SQLiteJobStore(tmp_path / "jobs.sqlite3", clock, **kw)
        return
    with postgres_schema("the PostgreSQL store tests") as (url, schema):
        yield lambda **kw: PostgresJobStore(url, clock, schema=schema, **kw)


@pytest.fixture
async def store(make_store: Factory) -> AsyncIterator[JobStore]:
    store = make_store()
    await store.open()
    yield store
    await store.close()


def new(job_id: str = "j1", key: str | None = None, fingerprint: str | None = None) -> NewJob:
    return NewJob(job_id, "yearly-sales", {"year": "2023"}, key, fingerprint)


async def test_finish_writes_the_outcome_exactly_once(store: JobStore) -> None:
    await store.create(new())
    claim = (await store.claim("w1", 10))[0]
    assert claim is not None
    assert claim.job.state is JobState.PROCESSING
    assert await store.finish(claim, JobState.DONE, result={"rows": []}) is JobState.DONE
    assert await store.finish(claim, JobState.ERROR, error={"code": "X"}) is None
    job = await store.get("j1")
    assert job is not None
    assert job.state is JobState.DONE
    assert job.error is None
    assert await store.get_result("j1") == {"rows": []}
    with pytest.raises(ValueError, match="terminal"):
        await store.finish(claim, JobState.PROCESSING)


async def test_an_expired_lease_passes_the_job_to_another_worker(
    store: JobStore, clock: FakeClock
) -> None:
    await store.create(new())
    first = (await store.claim("w1", 5))[0]
    assert first is not None
    assert (await store.claim("w2", 5))[0] is None  # the lease holds
    clock.now += 6
    second = (await store.claim("w2", 5))[0]
    assert second is not None
    assert second.job.attempts == 2
    assert await store.heartbeat(first, 50, None, 5) is None  # the first worker lost it
    assert await store.finish(first, JobState.DONE, result={}) is None
    assert await store.heartbeat(second, 10, None, 5) is False
    assert await store.finish(second, JobState.DONE, result={}) is JobState.DONE


async def test_progress_never_decreases(store: JobStore) -> None:
    await store.create(new())
    claim = (await store.claim("w1", 5))[0]
    assert claim is not None
    await store.heartbeat(claim, 60, None, 5)
    await store.heartbeat(claim, 20, None, 5)
    job = await store.get("j1")
    assert job is not None
    assert job.progress == 60


async def test_release_makes_the_job_claimable_at_once(store: JobStore) -> None:
    await store.create(new())
    claim = (await store.claim("w1", 60))[0]
    assert claim is not None
    await store.release(claim)
    again = (await store.claim("w2", 60))[0]
    assert again is not None
    assert again.job.id == "j1"
    assert again.job.state is JobState.PROCESSING


async def test_cancel_outcomes(store: JobStore) -> None:
    await store.create(new("pending"))
    await store.create(new("running"))
    assert await store.cancel("missing") is None
    job, outcome = await store.cancel("pending") or (None, None)
    assert outcome is CancelOutcome.CANCELLED
    assert job is not None
    assert job.state is JobState.CANCELLED
    _, outcome = await store.cancel("pending") or (None, None)
    assert outcome is CancelOutcome.ALREADY_CANCELLED
    claim = (await store.claim("w1", 60))[0]
    assert claim is not None
    assert claim.job.id == "running"
    job, outcome = await store.cancel("running") or (None, None)
    assert outcome is CancelOutcome.REQUESTED
    assert job is not None
    assert job.cancel_requested
    assert await store.heartbeat(claim, 10, None, 60) is True
    assert await store.finish(claim, JobState.CANCELLED) is JobState.CANCELLED
    _, outcome = await store.cancel("running") or (None, None)
    assert outcome is CancelOutcome.ALREADY_CANCELLED


async def test_idempotency_keys(store: JobStore) -> None:
    _job, created = await store.create(new("a", "k", "f1"))
    assert created
    again, created = await store.create(new("b", "k", "f1"))
    assert not created
    assert again.id == "a"
    with pytest.raises(IdempotencyKeyReused) as info:
        await store.create(new("c", "k", "f2"))
    assert info.value.existing.id == "a"
    assert await store.get("b") is None
    assert await store.get("c") is None


async def test_jobs_survive_reopening(make_store: Factory) -> None:
    first = make_store()
    await first.open()
    await first.create(new("kept"))
    await first.close()
    second = make_store()
    await second.open()  # migrations run again without harm
    job = await second.get("kept")
    await second.close()
    assert job is not None
    assert job.state is JobState.PENDING


async def test_list_pages(store: JobStore) -> None:
    for n in range(5):
        await store.create(new(f"j{n}"))
    page = await store.list([], 2, None)
    assert [j.id for j in page.jobs] == ["j4", "j3"]
    page = await store.list([], 2, page.next_after)
    assert [j.id for j in page.jobs] == ["j2", "j1"]
    page = await store.list([], 2, page.next_after)
    assert [j.id for j in page.jobs] == ["j0"]
    assert page.next_after is None
    assert (await store.list([JobState.DONE], 10, None)).jobs == []


async def test_a_cancel_requested_before_the_outcome_wins(store: JobStore) -> None:
    """The worker finished after its last heartbeat, but a cancel was answered 202 meanwhile."""
    await store.create(new())
    claim = (await store.claim("w1", 60))[0]
    assert claim is not None
    await store.cancel("j1")
    assert await store.finish(claim, JobState.DONE, result={"rows": [1]}) is JobState.CANCELLED
    job = await store.get("j1")
    assert job is not None
    assert job.state is JobState.CANCELLED
    assert await store.get_result("j1") is None


async def test_a_job_whose_every_attempt_loses_its_worker_ends_worker_lost(
    store: JobStore, clock: FakeClock
) -> None:
    await store.create(new())
    for attempt in range(1, 4):
        claim, lost = await store.claim("w", 5, max_attempts=3, backoff=lambda a: 10.0 * a)
        assert claim is not None, attempt
        assert claim.job.attempts == attempt
        assert lost == []
        clock.now += 5  # the lease runs out: the worker died
        # Backoff: the retry waits the attempt's delay after the lease expired.
        assert (await store.claim("w", 5, max_attempts=3))[0] is None
        clock.now += 10.0 * attempt
    claim, lost = await store.claim("w", 5, max_attempts=3)
    assert claim is None
    assert lost == ["j1"]
    job = await store.get("j1")
    assert job is not None
    assert job.state is JobState.ERROR
    assert job.error is not None
    assert job.error["code"] == "WORKER_LOST"
    assert job.error["retryable"] is True
    assert job.error["type"] == "/problems/worker-lost"
    assert job.error["instance"] == "/reports/j1"
    assert job.expires_at is not None


async def test_a_released_job_is_not_a_failed_attempt(store: JobStore) -> None:
    await store.create(new())
    claim, _ = await store.claim("w1", 60, backoff=lambda a: 1000.0)
    assert claim is not None
    await store.release(claim)
    again, _ = await store.claim("w2", 60)
    assert again is not None
    assert again.job.attempts == 1  # the handed-back attempt did not count


async def test_finished_jobs_expire_and_their_keys_and_results_go(
    make_store: Factory, clock: FakeClock
) -> None:
    store = make_store(retention=100)
    await store.open()
    try:
        await store.create(new("j1", "k", "f1"))
        claim, _ = await store.claim("w", 60)
        assert claim is not None
        await store.finish(claim, JobState.DONE, result={"rows": [1]})
        job = await store.get("j1")
        assert job is not None
        assert job.expires_at == clock.now + 100
        assert await store.purge() == 0  # not yet
        clock.now += 101
        assert (await store.list([], 10, None)).jobs == []  # expired jobs are not listed
        # The key expired with its job: it is free for a new one, even before the purge.
        fresh, created = await store.create(new("j2", "k", "f2"))
        assert created
        assert fresh.id == "j2"
        assert await store.purge() == 1
        assert await store.get_result("j1") is None
        gone = await store.get("j1")
        assert gone is not None  # a tombstone: the monitor can answer 410, not 404
        assert gone.state is JobState.DONE
    finally:
        await store.close()


async def test_concurrent_claims_never_take_one_job_twice(store: JobStore) -> None:
    for n in range(20):
        await store.create(new(f"j{n}"))
    claims = await asyncio.gather(*(store.claim(f"w{n}", 60) for n in range(25)))
    taken = [claim.job.id for claim, _ in claims if claim is not None]
    assert len(taken) == 20
    assert len(set(taken)) == 20


async def test_concurrent_submissions_with_one_key_create_one_job(store: JobStore) -> None:
    results = await asyncio.gather(*(store.create(new(f"c{n}", "same", "f")) for n in range(10)))
    assert len({job.id for job, _ in results}) == 1
    assert sum(created for _, created in results) == 1


async def test_a_submission_wakes_the_workers_of_other_processes(make_store: Factory) -> None:
    """A job created through one store wakes the listener of another store on the same
    database within moments: PostgreSQL by NOTIFY, SQLite by watching ``data_version``. A
    write that leaves no job PENDING (the claim of the only one) wakes nobody on SQLite."""
    listener, submitter = make_store(), make_store()
    await listener.open()
    await submitter.open()
    woken = asyncio.Event()
    listening = asyncio.create_task(listener.listen(woken.set))
    try:
        await asyncio.sleep(0.3)  # LISTEN is in place
        assert not listening.done()
        await submitter.create(new())
        await asyncio.wait_for(woken.wait(), 5)
        if isinstance(listener, SQLiteJobStore):
            claim, _ = await submitter.claim("w", 60.0)
            assert claim is not None
            woken.clear()
            await asyncio.sleep(10 * LISTEN_INTERVAL)
            assert not woken.is_set(), "a commit with no job PENDING woke the workers"
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening
        await listener.close()
        await submitter.close()


async def test_a_failing_write_among_concurrent_ones_fails_alone(make_store: Factory) -> None:
    """Concurrent writes may share one commit (SQLite commits them as a group): one that fails
    changes nothing, and the others are committed, durably."""
    store = make_store()
    await store.open()
    await store.create(new("first", "key", "f1"))
    outcomes = await asyncio.gather(
        *(store.create(new(f"j{n}", "key" if n % 2 else None, "f2")) for n in range(10)),
        return_exceptions=True,
    )
    assert [type(o) is IdempotencyKeyReused for o in outcomes] == [n % 2 == 1 for n in range(10)]
    await store.close()
    store = make_store()
    await store.open()
    try:
        assert [await store.get(f"j{n}") is not None for n in range(10)] == [
            n % 2 == 0 for n in range(10)
        ]
    finally:
        await store.close()


async def test_a_write_that_fails_midway_is_rolled_back_alone(tmp_path: Path) -> None:
    """SQLite's group commit runs each write in a savepoint: what a failing write did before
    it failed is undone, and the writes committed with it stay."""
    store = SQLiteJobStore(tmp_path / "jobs.sqlite3")
    await store.open()

    def half_done(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE jobs SET progress = 50 WHERE id = 'a'")
        raise RuntimeError("midway")

    try:
        await store.create(new("a"))
        outcomes = await asyncio.gather(
            store.create(new("b")), store._write(half_done), store.create(new("c")),
            return_exceptions=True,
        )  # fmt: skip
        assert isinstance(outcomes[1], RuntimeError)
        jobs = [await store.get(job_id) for job_id in "abc"]
        assert [job.progress if job else None for job in jobs] == [0, 0, 0]
    finally:
        await store.close()


async def test_a_listing_holds_one_owners_jobs(store: JobStore) -> None:
    for job_id, owner in (("a1", "alice"), ("b1", "bob"), ("a2", "alice"), ("o1", None)):
        await store.create(NewJob(job_id, "yearly-sales", {"year": "2023"}, owner=owner))
    assert [j.id for j in (await store.list([], 10, None, "alice")).jobs] == ["a2", "a1"]
    assert [j.id for j in (await store.list([], 10, None, "bob")).jobs] == ["b1"]
    assert [j.id for j in (await store.list([], 10, None)).jobs] == ["o1"]
    job = await store.get("a1")
    assert job is not None
    assert job.owner == "alice"


async def test_idempotency_keys_are_scoped_by_owner(store: JobStore) -> None:
    def keyed(job_id: str, owner: str | None, fingerprint: str) -> NewJob:
        return NewJob(job_id, "yearly-sales", {"year": "2023"}, "k", fingerprint, owner)

    assert (await store.create(keyed("a", "alice", "f1")))[1] is True
    assert (await store.create(keyed("b", "bob", "f2")))[1] is True
    assert (await store.create(keyed("o", None, "f3")))[1] is True
    replay, created = await store.create(keyed("a-again", "alice", "f1"))
    assert (replay.id, created) == ("a", False)
    with pytest.raises(IdempotencyKeyReused) as reused:
        await store.create(keyed("b-other", "bob", "f1"))
    assert reused.value.existing.id == "b"


async def test_a_claim_writes_the_event_a_webhook_wants_with_it(store: JobStore) -> None:
    """A webhook that wants every change has its PROCESSING event in the outbox as soon as
    the claim is (one transaction), and its DONE event with the outcome."""
    hooked = Callback("http://127.0.0.1:9/hook", CallbackEvents.ALL)
    await store.create(NewJob("j1", "yearly-sales", {"year": "2023"}, callback=hooked))
    claim, _ = await store.claim("w", 30)
    assert claim is not None
    assert claim.job.callback is not None
    assert claim.job.callback.state is CallbackState.PENDING
    started = await store.claim_delivery(30)
    assert started is not None
    assert b'"PROCESSING"' in started.body
    assert await store.finish(claim, JobState.DONE, result={"ok": True}) is JobState.DONE
    done = await store.claim_delivery(30)
    assert done is not None
    assert done.job_id == "j1"
    assert b'"DONE"' in done.body


async def test_a_worker_process_listens_to_submissions_not_to_changes() -> None:
    """A PostgreSQL store listens to the changes of other processes from its first held read
    on, not before: a worker process, which never holds one, is not woken twice a job for
    nothing; a reader is woken by each change another process writes."""
    with postgres_schema("listening to changes") as (url, schema):
        reader = PostgresJobStore(url, schema=schema)
        worker = PostgresJobStore(url, schema=schema)
        await reader.open()
        await worker.open()
        listening = asyncio.create_task(worker.listen(lambda: None))

        async def listeners(channel: str) -> int:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                cur = await conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE query = %s",
                    (f'LISTEN "{channel}_{schema}"',),
                )
                row = await cur.fetchone()
                return row[0] if row is not None else 0

        try:
            await asyncio.sleep(0.3)
            assert await listeners("lrokit_jobs") == 1
            assert await listeners("lrokit_changes") == 0
            await worker.create(new())
            # The first read is woken once the store listens (a change may have come before).
            await asyncio.wait_for(reader.next_change("j1"), 5)
            assert await listeners("lrokit_changes") == 1
            waiting = asyncio.create_task(reader.next_change("j1"))
            await asyncio.sleep(0.05)
            claim, _ = await worker.claim("w", 30)
            assert claim is not None
            await asyncio.wait_for(waiting, 5)
            waiting = asyncio.create_task(reader.next_change("j1"))
            await asyncio.sleep(0.05)
            assert await worker.finish(claim, JobState.DONE, result={}) is JobState.DONE
            await asyncio.wait_for(waiting, 5)
        finally:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening
            await reader.close()
            await worker.close()


async def test_a_postgresql_claim_reads_the_front_of_the_state_index() -> None:
    """However many jobs the table keeps, a claim reads the oldest claimable ones from the
    front of ``jobs_by_state``, never the primary key from the oldest finished job on (an OR
    of PENDING and expired PROCESSING once made the planner do that: 23 ms a claim with
    200,000 jobs kept)."""
    with postgres_schema("the claim's plan") as (url, schema):
        store = PostgresJobStore(url, schema=schema)
        await store.open()
        await store.close()
        now = time.time()
        async with await psycopg.AsyncConnection.connect(
            url, autocommit=True, options=f"-csearch_path={schema}"
        ) as conn:
            await conn.execute(
                "INSERT INTO jobs (id, report_type, parameters, state, created_at, updated_at,"
                " attempts) SELECT 'd' || g, 'x', '{}', 'DONE', %s, %s, 1"
                " FROM generate_series(1, 50000) g",
                (now, now),
            )
            await conn.execute(
                "INSERT INTO jobs (id, report_type, parameters, state, created_at, updated_at)"
                " SELECT 'p' || g, 'x', '{}', 'PENDING', %s, %s FROM generate_series(1, 500) g",
                (now, now),
            )
            await conn.execute("ANALYZE jobs")
            params = {"now": now, "max": 3, "worker": "w", "lease": now + 30, "delays": [0.0]}
            cur = await conn.execute(
                f"EXPLAIN {CLAIM}", {**params, "channel": "lrokit_changes_plan"}
            )
            plan = "\n".join(str(row[0]) for row in await cur.fetchall())
    lines = plan.splitlines()
    # The primary key only to find the chosen job again, by its seq: never walked.
    walks = [lines[n + 1] for n, line in enumerate(lines) if "using jobs_pkey" in line]
    assert all("Index Cond: (seq = candidate.picked)" in after for after in walks), plan
    assert "Seq Scan" not in plan, plan
    assert plan.count("using jobs_by_state") == 2, plan
