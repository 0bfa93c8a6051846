"""The PostgreSQL job store: several API and worker processes on several hosts share it.

The same behaviour as the SQLite store, on psycopg 3 with an async connection pool: every
method is one transaction; workers claim with ``FOR UPDATE SKIP LOCKED``, so concurrent
claimers never take one job twice; the schema is created and migrated by the server itself,
under a transaction-level advisory lock, so processes starting together migrate it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from typing import Any

import orjson
import psycopg
from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from lrokit.server.jobs.changes import JobChanges
from lrokit.server.jobs.job import CallbackState, Delivery, Job, JobState, NewJob
from lrokit.server.jobs.rows import (
    COLUMNS,
    DELIVERY_COLUMNS,
    delivery_from_row,
    event_of,
    job_from_row,
)
from lrokit.server.jobs.store import (
    CancelOutcome,
    Claim,
    IdempotencyKeyReused,
    Page,
    translated,
)
from lrokit.server.problems import worker_lost

#: The kinds of change a NOTIFY on the changes channel announces, as its payload's prefix.
STATE, PROGRESS = "state:", "progress:"
#: Seconds after its last use in which a pooled connection is lent without a check (a round
#: trip): one that just worked is very likely still up, and a call on one that is not fails as
#: :class:`~lrokit.server.jobs.store.StoreUnavailable` (the pool then drops it).
FRESH = 1.0
#: The claim: the oldest PENDING job and the oldest whose lease ran out with attempts left,
#: each read from the front of ``jobs_by_state``, then the older of the two taken, announced,
#: in one statement. One ``OR`` of both kinds let the planner walk the primary key from the
#: oldest job on, through every finished one: 23 ms a claim with 200,000 jobs kept, 0.06 ms so.
CLAIM = (
    "WITH pending AS (SELECT seq FROM jobs WHERE state = 'PENDING'"
    "   ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED),"
    " retry AS (SELECT seq FROM jobs WHERE state = 'PROCESSING'"
    "   AND lease_expires_at + retry_delay <= %(now)s AND attempts < %(max)s"
    "   ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED),"
    " candidate AS (SELECT seq AS picked FROM pending UNION ALL SELECT seq FROM retry"
    "   ORDER BY picked LIMIT 1),"
    " claimed AS (UPDATE jobs SET state = 'PROCESSING', worker_id = %(worker)s,"
    "   lease_expires_at = %(lease)s, attempts = jobs.attempts + 1,"
    "   retry_delay = COALESCE((%(delays)s::float8[])[jobs.attempts + 1],"
    "     (%(delays)s::float8[])[cardinality(%(delays)s::float8[])], 0),"
    "   started_at = COALESCE(started_at, %(now)s), updated_at = %(now)s"
    f"   FROM candidate WHERE jobs.seq = candidate.picked RETURNING {COLUMNS})"
    " SELECT claimed.*, pg_notify(%(channel)s, 'state:' || claimed.id) FROM claimed"
)
#: An arbitrary, fixed advisory lock key ("lrok") that serialises migrations.
_MIGRATION_LOCK = 0x6C726F6B

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE jobs (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        report_type text NOT NULL,
        parameters text NOT NULL,
        state text NOT NULL
            CHECK (state IN ('PENDING', 'PROCESSING', 'DONE', 'ERROR', 'CANCELLED')),
        progress integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
        created_at double precision NOT NULL,
        started_at double precision,
        finished_at double precision,
        expected_finish_at double precision,
        cancel_requested integer NOT NULL DEFAULT 0,
        attempts integer NOT NULL DEFAULT 0,
        worker_id text,
        lease_expires_at double precision,
        error text,
        result text,
        idempotency_key text UNIQUE,
        fingerprint text,
        updated_at double precision NOT NULL,
        retry_delay double precision NOT NULL DEFAULT 0,
        expires_at double precision
    );
    CREATE INDEX jobs_by_state ON jobs (state, seq);
    CREATE INDEX jobs_by_expiry ON jobs (expires_at) WHERE expires_at IS NOT NULL;
    """,
    # Jobs belong to the principal that submitted them; a listing reads only its own.
    """
    ALTER TABLE jobs ADD COLUMN owner text;
    CREATE INDEX jobs_by_owner ON jobs (owner, seq) WHERE owner IS NOT NULL;
    """,
    # Completion webhooks: a job's subscription and how its delivery goes; the outbox.
    """
    ALTER TABLE jobs ADD COLUMN callback_url text, ADD COLUMN callback_events text,
        ADD COLUMN callback_root text, ADD COLUMN callback_state text,
        ADD COLUMN callback_attempts integer NOT NULL DEFAULT 0, ADD COLUMN callback_error text;
    CREATE INDEX jobs_by_callback ON jobs (callback_url) WHERE callback_url IS NOT NULL;
    CREATE TABLE deliveries (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        job_id text NOT NULL,
        url text NOT NULL,
        body bytea NOT NULL,
        created_at double precision NOT NULL,
        due_at double precision NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        state text NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'delivered', 'failed', 'disabled')),
        last_error text
    );
    CREATE INDEX deliveries_due ON deliveries (due_at) WHERE state = 'pending';
    """,
)


def _dumps(value: Any) -> str | None:
    return orjson.dumps(value).decode() if value is not None else None


def _outage(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL out of reach (a connection lost or refused, a server
    shutting down, no pooled connection within the wait) rather than a statement failing."""
    return isinstance(exc, psycopg.OperationalError)


@translated(_outage)
class PostgresJobStore:
    """A :class:`~lrokit.server.jobs.store.JobStore` in PostgreSQL (``postgresql://…``)."""

    def __init__(
        self,
        url: str,
        clock: Callable[[], float] = time.time,
        *,
        retention: float = 7 * 24 * 3600,
        schema: str | None = None,  # a search_path schema (tests isolate themselves so)
        max_connections: int = 10,
        wait: float = 2.0,  # seconds a call waits for a pooled connection, then unavailable
    ) -> None:
        self.url = url
        self.clock = clock
        self.retention = retention
        self.schema = schema

        async def configure(conn: AsyncConnection[Any]) -> None:
            if schema is not None:
                await conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))

        self._jobs_channel = f"lrokit_jobs_{schema or 'public'}"  # a job was submitted
        # Changes of state, by job id, to every process (Prefer: wait readers are woken).
        self._changes_channel = f"lrokit_changes_{schema or 'public'}"
        self._changes = JobChanges()
        self._watching: asyncio.Task[None] | None = None
        # The jobs read before the changes were listened to (None once they are).
        self._unheard: set[str] | None = set()
        # When each pooled connection was last given back (the monotonic clock).
        returned: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = (
            weakref.WeakKeyDictionary()
        )

        async def check(conn: AsyncConnection[Any]) -> None:
            if time.monotonic() - returned.get(conn, -math.inf) >= FRESH:
                await AsyncConnectionPool.check_connection(conn)

        async def reset(conn: AsyncConnection[Any]) -> None:
            returned[conn] = time.monotonic()

        # A pooled connection idle for a while is checked before use: after a restart a stale
        # one costs a reconnect, not a client's 500; a call waits ``wait`` seconds at most for
        # one. In autocommit, a one-statement call is one round trip (no BEGIN, no COMMIT).
        self._pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            open=False,
            kwargs={"autocommit": True},
            configure=configure,
            check=check,
            reset=reset,
            timeout=wait,
        )

    async def open(self) -> None:
        await self._pool.open(wait=True, timeout=30)
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            await conn.execute("CREATE TABLE IF NOT EXISTS lrokit_schema (version integer)")
            row = await (await conn.execute("SELECT max(version) FROM lrokit_schema")).fetchone()
            version = (row[0] if row else None) or 0
            if version > len(MIGRATIONS):
                raise RuntimeError(
                    f"job database schema version {version} is newer than this lrokit knows"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                await conn.execute(script)  # our own DDL
                await conn.execute("INSERT INTO lrokit_schema (version) VALUES (%s)", (number,))

    async def close(self) -> None:
        if self._watching is not None:
            self._watching.cancel()
            await asyncio.gather(self._watching, return_exceptions=True)
            self._watching = None
        await self._pool.close()

    async def next_change(self, job_id: str, *, progress: bool = False) -> None:
        # Only a process that holds reads listens to the changes of every other: a worker
        # process, which never does, is not woken twice a job for nothing.
        if self._watching is None:
            self._watching = asyncio.create_task(self._watch(), name="lrokit-changes")
        if self._unheard is not None:  # not listening yet: woken when it is, to read again
            self._unheard.add(job_id)
        await self._changes.next(job_id, progress=progress)

    async def _announce(self, conn: AsyncConnection[Any], job_ids: Sequence[str]) -> None:
        """Tell every process's readers, once the transaction commits, that these jobs
        changed state (NOTIFY is delivered on commit, and not at all on rollback). The payload
        is the kind, a colon, and the job id; a heartbeat announces progress in its own
        statement."""
        if job_ids:
            await conn.execute(
                "SELECT pg_notify(%s, %s || id) FROM unnest(%s::text[]) AS id",
                (self._changes_channel, STATE, list(job_ids)),
            )

    async def _watch(self) -> None:
        """Wake this process's readers at the changes any process announces (readers re-read
        now and then while the connection is down)."""

        def changed(payload: str) -> None:
            kind, _, job_id = payload.partition(":")
            self._changes.changed(job_id, progress_only=f"{kind}:" == PROGRESS)

        def listening() -> None:
            unheard, self._unheard = self._unheard or set(), None
            for job_id in unheard:  # a change may have come before: read again
                self._changes.changed(job_id)

        await self._listen(sql.Identifier(self._changes_channel), changed, listening)

    async def _listen(
        self,
        channel: sql.Identifier,
        notified: Callable[[str], None],
        listening: Callable[[], None] = lambda: None,
    ) -> None:
        """LISTEN on ``channel`` on a connection of its own and pass each payload on, having
        called ``listening`` once it listens; reconnect after a failure, until cancelled."""
        while True:
            try:
                conn = await AsyncConnection.connect(self.url, autocommit=True)
                async with conn:
                    await conn.execute(sql.SQL("LISTEN {}").format(channel))
                    listening()
                    async for notice in conn.notifies():
                        notified(notice.payload)
            except psycopg.Error:
                await asyncio.sleep(1.0)

    async def create(self, new: NewJob) -> tuple[Job, bool]:
        now = self.clock()
        key = new.scoped_key
        async with self._pool.connection() as conn, _transaction(conn, key is not None):
            if key is not None:
                row = await (
                    await conn.execute(
                        f"SELECT {COLUMNS}, fingerprint FROM jobs WHERE idempotency_key = %s"
                        " FOR UPDATE",
                        (key,),
                    )
                ).fetchone()
                if row is not None:
                    existing = job_from_row(row)
                    if existing.expires_at is not None and existing.expires_at <= now:
                        await conn.execute(
                            "UPDATE jobs SET idempotency_key = NULL, fingerprint = NULL"
                            " WHERE id = %s",
                            (existing.id,),
                        )
                    elif row[-1] != new.fingerprint:
                        raise IdempotencyKeyReused(existing)
                    else:
                        return existing, False
            # One statement: the insert, and (once it commits) a wake-up for the workers of
            # every process; without a key, it is the whole transaction.
            row = await (
                await conn.execute(
                    "WITH created AS (INSERT INTO jobs (id, report_type, parameters, state,"
                    " created_at, updated_at, idempotency_key, fingerprint, owner, callback_url,"
                    " callback_events, callback_root, callback_state)"
                    " VALUES (%s, %s, %s, 'PENDING', %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (idempotency_key) DO NOTHING"
                    f" RETURNING {COLUMNS}) SELECT created.*, pg_notify(%s, '') FROM created",
                    (
                        new.id,
                        new.report_type,
                        _dumps(new.parameters),
                        now,
                        now,
                        key,
                        new.fingerprint,
                        new.owner,
                        *(
                            (cb.url, str(cb.events), cb.root, str(CallbackState.WAITING))
                            if (cb := new.callback) is not None
                            else (None, None, None, None)
                        ),
                        self._jobs_channel,
                    ),
                )
            ).fetchone()
        if row is None:  # a concurrent request with the key won: answer as its replay
            return await self.create(new)
        return job_from_row(row), True

    async def get(self, job_id: str) -> Job | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(f"SELECT {COLUMNS} FROM jobs WHERE id = %s", (job_id,))
            row = await cur.fetchone()
        return job_from_row(row) if row is not None else None

    async def get_result(self, job_id: str) -> dict[str, Any] | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT result FROM jobs WHERE id = %s AND state = 'DONE'", (job_id,)
            )
            row = await cur.fetchone()
        if row is None or row[0] is None:
            return None
        result: dict[str, Any] = orjson.loads(row[0])
        return result

    async def list(
        self,
        states: Sequence[JobState],
        limit: int,
        before_seq: int | None,
        owner: str | None = None,
    ) -> Page:
        where = ["(expires_at IS NULL OR expires_at > %s)"]
        args: list[Any] = [self.clock()]
        if owner is None:
            where.append("owner IS NULL")
        else:
            where.append("owner = %s")
            args.append(owner)
        if states:
            where.append("state = ANY(%s)")
            args.append([str(state) for state in states])
        if before_seq is not None:
            where.append("seq < %s")
            args.append(before_seq)
        query = f"SELECT {COLUMNS} FROM jobs WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT %s"
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(query, (*args, limit + 1))).fetchall()
        jobs = [job_from_row(row) for row in rows[:limit]]
        return Page(jobs, jobs[-1].seq if len(rows) > limit else None)

    async def cancel(self, job_id: str) -> tuple[Job, CancelOutcome] | None:
        now = self.clock()
        async with self._pool.connection() as conn, conn.transaction():
            row = await (
                await conn.execute(
                    f"SELECT {COLUMNS} FROM jobs WHERE id = %s FOR UPDATE", (job_id,)
                )
            ).fetchone()
            if row is None:
                return None
            job = job_from_row(row)
            if job.state is JobState.PENDING:
                cur = await conn.execute(
                    "UPDATE jobs SET state = 'CANCELLED', finished_at = %s, updated_at = %s,"
                    f" expires_at = %s WHERE id = %s RETURNING {COLUMNS}",
                    (now, now, now + self.retention, job_id),
                )
                outcome = CancelOutcome.CANCELLED
            elif job.state is JobState.PROCESSING:
                cur = await conn.execute(
                    "UPDATE jobs SET cancel_requested = 1, updated_at = %s"
                    f" WHERE id = %s RETURNING {COLUMNS}",
                    (now, job_id),
                )
                outcome = CancelOutcome.REQUESTED
            elif job.state is JobState.CANCELLED:
                return job, CancelOutcome.ALREADY_CANCELLED
            else:
                return job, CancelOutcome.FINISHED
            updated = await cur.fetchone()
            assert updated is not None
            changed = await _enqueue(conn, job_from_row(updated), now)
            await self._announce(conn, [job_id])
        self._changes.changed(job_id)
        return changed, outcome

    async def claim(
        self,
        worker_id: str,
        lease_seconds: float,
        *,
        max_attempts: int = 3,
        backoff: Callable[[int], float] = lambda attempt: 0.0,
    ) -> tuple[Claim | None, Sequence[str]]:
        now = self.clock()
        # The attempt's retry delay, by the number of attempts before it (the claim's
        # statement picks one once it knows the job).
        delays = [backoff(attempt) for attempt in range(1, max_attempts + 1)]
        # Round trip 1: BEGIN; take the oldest claimable job, announcing it; find the jobs
        # whose every attempt was lost. Round trip 2: COMMIT, after the outbox's event and the
        # lost jobs' ERROR, when there are any (rarely).
        async with self._pool.connection() as conn, _pipelined(conn):
            claimed = await conn.execute(
                CLAIM,
                {
                    "now": now,
                    "max": max_attempts,
                    "worker": worker_id,
                    "lease": now + lease_seconds,
                    "delays": delays,
                    "channel": self._changes_channel,
                },
            )
            found = await conn.execute(
                "SELECT id, attempts FROM jobs WHERE state = 'PROCESSING'"
                " AND lease_expires_at + retry_delay <= %s AND attempts >= %s"
                " FOR UPDATE SKIP LOCKED",
                (now, max_attempts),
            )
            row = await claimed.fetchone()
            lost = await found.fetchall()
            if lost:  # rare: most claims find no job whose every attempt was lost
                await self._lose(conn, lost, now)
            claim = (
                Claim(await _enqueue(conn, job_from_row(row), now), worker_id)
                if row is not None
                else None
            )
        ended = [job_id for job_id, _ in lost]
        for job_id in [*ended, *([claim.job.id] if claim is not None else [])]:
            self._changes.changed(job_id)
        return claim, ended

    async def _lose(
        self, conn: AsyncConnection[Any], lost: Sequence[tuple[str, int]], now: float
    ) -> None:
        """End in ERROR (WORKER_LOST) the jobs whose every attempt lost its worker, in the
        caller's transaction, which holds their rows."""
        async with conn.cursor() as cur:
            await cur.executemany(
                "UPDATE jobs SET state = 'ERROR', error = %s, finished_at = %s,"
                " updated_at = %s, expires_at = %s, lease_expires_at = NULL,"
                " expected_finish_at = NULL WHERE id = %s",
                [
                    (_dumps(worker_lost(job_id, attempts)), now, now, now + self.retention, job_id)
                    for job_id, attempts in lost
                ],
            )
        ended_rows = await (
            await conn.execute(
                f"SELECT {COLUMNS} FROM jobs WHERE callback_url IS NOT NULL AND id = ANY(%s)",
                ([job_id for job_id, _ in lost],),
            )
        ).fetchall()
        for ended_row in ended_rows:
            await _enqueue(conn, job_from_row(ended_row), now)
        await self._announce(conn, [job_id for job_id, _ in lost])

    async def heartbeat(
        self,
        claim: Claim,
        progress: int,
        expected_finish_at: float | None,
        lease_seconds: float,
    ) -> bool | None:
        now = self.clock()
        async with self._pool.connection() as conn:  # one statement, announcing the progress
            row = await (
                await conn.execute(
                    "WITH beat AS (UPDATE jobs SET progress = GREATEST(progress, %s),"
                    " expected_finish_at = %s, lease_expires_at = %s, updated_at = %s"
                    " WHERE id = %s AND state = 'PROCESSING' AND worker_id = %s"
                    " RETURNING id, cancel_requested)"
                    " SELECT beat.cancel_requested, pg_notify(%s, %s || beat.id) FROM beat",
                    (
                        progress,
                        expected_finish_at,
                        now + lease_seconds,
                        now,
                        claim.job.id,
                        claim.worker_id,
                        self._changes_channel,
                        PROGRESS,
                    ),
                )
            ).fetchone()
        if row is None:
            return None
        self._changes.changed(claim.job.id, progress_only=True)
        return bool(row[0])

    async def listen(self, wake: Callable[[], None]) -> None:
        """Wake the workers at each job submitted, by any process (they poll while the
        connection is down), until cancelled."""
        await self._listen(sql.Identifier(self._jobs_channel), lambda _payload: wake())

    async def purge(self) -> int:
        now = self.clock()
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE jobs SET result = NULL, idempotency_key = NULL, fingerprint = NULL"
                " WHERE expires_at <= %s AND (result IS NOT NULL OR idempotency_key IS NOT NULL)",
                (now,),
            )
            await conn.execute(  # the outbox keeps a settled event as long as a finished job
                "DELETE FROM deliveries WHERE state <> 'pending' AND created_at <= %s",
                (now - self.retention,),
            )
            return cur.rowcount

    async def release(self, claim: Claim) -> None:
        now = self.clock()
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE jobs SET lease_expires_at = %s, retry_delay = 0,"
                " attempts = GREATEST(attempts - 1, 0), updated_at = %s"
                " WHERE id = %s AND state = 'PROCESSING' AND worker_id = %s",
                (now, now, claim.job.id, claim.worker_id),
            )

    async def finish(
        self,
        claim: Claim,
        state: JobState,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> JobState | None:
        if not state.terminal:
            raise ValueError(f"finish needs a terminal state, not {state}")
        now = self.clock()
        # A job's webhook is set when it is submitted: without one, the outcome has no event
        # for the outbox, and one statement (the write and its announcement) is the
        # transaction.
        hooked = claim.job.callback is not None
        async with self._pool.connection() as conn, _transaction(conn, hooked):
            row = await (
                await conn.execute(
                    "WITH finished AS (UPDATE jobs SET"
                    " state = CASE WHEN cancel_requested = 1 THEN 'CANCELLED' ELSE %s END,"
                    " finished_at = %s, updated_at = %s,"
                    " progress = CASE WHEN %s = 'DONE' AND cancel_requested = 0 THEN 100"
                    "   ELSE progress END,"
                    " result = CASE WHEN cancel_requested = 1 THEN NULL ELSE %s END,"
                    " error = CASE WHEN cancel_requested = 1 THEN NULL ELSE %s END,"
                    " expected_finish_at = NULL, lease_expires_at = NULL, expires_at = %s"
                    " WHERE id = %s AND state = 'PROCESSING' AND worker_id = %s"
                    f" RETURNING {COLUMNS})"
                    " SELECT finished.*, pg_notify(%s, %s || finished.id) FROM finished",
                    (
                        str(state),
                        now,
                        now,
                        str(state),
                        _dumps(result),
                        _dumps(error),
                        now + self.retention,
                        claim.job.id,
                        claim.worker_id,
                        self._changes_channel,
                        STATE,
                    ),
                )
            ).fetchone()
            if row is None:
                return None
            finished = await _enqueue(conn, job_from_row(row), now)
        self._changes.changed(claim.job.id)
        return finished.state

    async def claim_delivery(self, lease_seconds: float) -> Delivery | None:
        now = self.clock()
        async with self._pool.connection() as conn, conn.transaction():
            row = await (
                await conn.execute(
                    "UPDATE deliveries SET attempts = attempts + 1, due_at = %s"
                    " WHERE seq = (SELECT seq FROM deliveries WHERE state = 'pending'"
                    "   AND due_at <= %s ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
                    f" RETURNING {DELIVERY_COLUMNS}",
                    (now + lease_seconds, now),
                )
            ).fetchone()
            if row is None:
                return None
            delivery = delivery_from_row(row)
            await _show(conn, delivery, CallbackState.PENDING, None)
        return delivery

    async def settle_delivery(
        self,
        delivery: Delivery,
        state: CallbackState,
        error: str | None = None,
        *,
        retry_in: float = 0.0,
    ) -> bool:
        now = self.clock()
        held = (delivery.seq, delivery.attempts)
        async with self._pool.connection() as conn, conn.transaction():
            if state is CallbackState.PENDING:
                cur = await conn.execute(
                    "UPDATE deliveries SET due_at = %s, last_error = %s"
                    " WHERE seq = %s AND state = 'pending' AND attempts = %s",
                    (now + retry_in, error, *held),
                )
            else:
                cur = await conn.execute(
                    "UPDATE deliveries SET state = %s, last_error = %s"
                    " WHERE seq = %s AND state = 'pending' AND attempts = %s",
                    (str(state), error, *held),
                )
            if cur.rowcount == 0:  # the lease ran out and another attempt holds it
                return False
            await _show(conn, delivery, state, error)
            if state is CallbackState.DISABLED:  # 410: nothing more goes to this URL
                await conn.execute(
                    "UPDATE deliveries SET state = 'disabled', last_error = %s"
                    " WHERE url = %s AND state = 'pending'",
                    (error, delivery.url),
                )
                await conn.execute(
                    "UPDATE jobs SET callback_state = 'disabled', callback_error = %s"
                    " WHERE callback_url = %s AND callback_state IN ('waiting', 'pending')",
                    (error, delivery.url),
                )
        return True


def _transaction(
    conn: AsyncConnection[Any], needed: bool
) -> contextlib.AbstractAsyncContextManager[Any]:
    """A transaction on ``conn`` if ``needed``; else nothing: the pool's connections are in
    autocommit, where one statement is a transaction of its own."""
    return conn.transaction() if needed else contextlib.nullcontext()


@contextlib.asynccontextmanager
async def _pipelined(conn: AsyncConnection[Any]) -> AsyncIterator[None]:
    """A transaction whose BEGIN goes out with its first statements, in one pipeline (psycopg's
    ``transaction()`` waits for the BEGIN on its own); rolled back if the block raises."""
    try:
        async with conn.pipeline():
            await conn.execute("BEGIN")
            yield
            await conn.execute("COMMIT")
    finally:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            await conn.rollback()


async def _enqueue(conn: AsyncConnection[Any], job: Job, now: float) -> Job:
    """Put the webhook event ``job``'s new state calls for into the outbox, in the caller's
    transaction; the job as it now reads. An event already there (a write retried) stays."""
    event = event_of(job, now)
    if event is None or job.callback is None:
        return job
    cur = await conn.execute(
        "INSERT INTO deliveries (id, job_id, url, body, created_at, due_at)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING id",
        (*event, now, now),
    )
    if await cur.fetchone() is None:
        return job
    await conn.execute(
        "UPDATE jobs SET callback_state = 'pending', callback_attempts = 0,"
        " callback_error = NULL WHERE id = %s",
        (job.id,),
    )
    pending = replace(job.callback, state=CallbackState.PENDING, attempts=0, last_error=None)
    return replace(job, callback=pending)


async def _show(
    conn: AsyncConnection[Any], delivery: Delivery, state: CallbackState, error: str | None
) -> None:
    """Show how ``delivery`` goes on its job's status document, unless a later event of the
    job is in the outbox (the document shows the latest)."""
    await conn.execute(
        "UPDATE jobs SET callback_state = %s, callback_attempts = %s, callback_error = %s"
        " WHERE id = %s AND NOT EXISTS"
        " (SELECT 1 FROM deliveries WHERE job_id = %s AND seq > %s)",
        (str(state), delivery.attempts, error, delivery.job_id, delivery.job_id, delivery.seq),
    )
