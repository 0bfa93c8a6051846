"""The SQLite job store: one file in WAL mode, so a restart loses nothing.

Each write method runs on a dedicated thread that owns the connection, as one savepoint that
commits or rolls back whole, so writes never interleave (a plain async wrapper that serialises
single statements would let two coroutines' statements share one transaction). Writes that
queue up meanwhile share one ``COMMIT``, and so one fsync (see :meth:`SQLiteJobStore._write`);
none answers before it is durable. Reads use a second connection on its own thread; WAL lets
them run beside the writer. The status read, the hot path of every polling client, runs on
the event loop itself (see :meth:`SQLiteJobStore.get`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import orjson

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

T = TypeVar("T")

#: Versioned migrations; ``PRAGMA user_version`` records how many have run.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        report_type TEXT NOT NULL,
        parameters TEXT NOT NULL,
        state TEXT NOT NULL
            CHECK (state IN ('PENDING', 'PROCESSING', 'DONE', 'ERROR', 'CANCELLED')),
        progress INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        expected_finish_at REAL,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        worker_id TEXT,
        lease_expires_at REAL,
        error TEXT,
        result TEXT,
        idempotency_key TEXT UNIQUE,
        fingerprint TEXT,
        updated_at REAL NOT NULL
    );
    CREATE INDEX jobs_by_state ON jobs (state, seq);
    """,
    # Retries wait retry_delay after a lost lease; finished jobs expire at expires_at.
    """
    ALTER TABLE jobs ADD COLUMN retry_delay REAL NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN expires_at REAL;
    CREATE INDEX jobs_by_expiry ON jobs (expires_at) WHERE expires_at IS NOT NULL;
    """,
    # Jobs belong to the principal that submitted them; a listing reads only its own.
    """
    ALTER TABLE jobs ADD COLUMN owner TEXT;
    CREATE INDEX jobs_by_owner ON jobs (owner, seq) WHERE owner IS NOT NULL;
    """,
    # Completion webhooks: a job's subscription and how its delivery goes; the outbox.
    """
    ALTER TABLE jobs ADD COLUMN callback_url TEXT;
    ALTER TABLE jobs ADD COLUMN callback_events TEXT;
    ALTER TABLE jobs ADD COLUMN callback_root TEXT;
    ALTER TABLE jobs ADD COLUMN callback_state TEXT;
    ALTER TABLE jobs ADD COLUMN callback_attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN callback_error TEXT;
    CREATE INDEX jobs_by_callback ON jobs (callback_url) WHERE callback_url IS NOT NULL;
    CREATE TABLE deliveries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        job_id TEXT NOT NULL,
        url TEXT NOT NULL,
        body BLOB NOT NULL,
        created_at REAL NOT NULL,
        due_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'delivered', 'failed', 'disabled')),
        last_error TEXT
    );
    CREATE INDEX deliveries_due ON deliveries (due_at) WHERE state = 'pending';
    """,
)

#: Seconds between two looks, by :meth:`SQLiteJobStore.listen`, for commits of other
#: connections: how late at most a worker process learns of a job submitted to the API.
LISTEN_INTERVAL = 0.02

#: The most writes one transaction commits together; more wait for the next.
GROUP_COMMIT_MAX = 256

#: A write for the writer thread: what to run, and the future its caller awaits.
_Write = tuple[Callable[[sqlite3.Connection], T], "asyncio.Future[T]"]
#: A write's answer: its future, and the value or the error to settle it with.
_Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]


def _settle(outcomes: list[_Outcome]) -> None:
    """On the callers' loop: answer committed (or failed) writes, unless nobody waits."""
    for future, value, error in outcomes:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: a 202 Accepted means the job survives a crash of the process or of the machine.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


#: What SQLite says when the file cannot be written now, not because a statement is wrong.
_OUTAGES = ("locked", "busy", "disk i/o error", "database or disk is full", "unable to open")


def _outage(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite failing to write now (locked, busy, a full or failing disk)
    rather than a statement being wrong (which stays a bug, never a 503)."""
    message = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and any(o in message for o in _OUTAGES)


@translated(_outage)
class SQLiteJobStore:
    """A :class:`~lrokit.server.jobs.store.JobStore` in one SQLite file."""

    def __init__(
        self,
        path: Path,
        clock: Callable[[], float] = time.time,
        *,
        retention: float = 7 * 24 * 3600,
    ) -> None:
        self.path = path
        self.clock = clock
        self.retention = retention
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="lrokit-sqlite-w")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="lrokit-sqlite-r")
        self._wconn: sqlite3.Connection | None = None
        self._rconn: sqlite3.Connection | None = None
        self._lconn: sqlite3.Connection | None = None  # the event loop's own, read-only
        self._queue: deque[_Write[Any]] = deque()  # writes for the writer thread to commit
        self._queue_lock = threading.Lock()
        self._draining = False  # a drain of the queue is scheduled on the writer thread
        # Changes of state this process writes; another process's writes are not seen here.
        self._changes = JobChanges()

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` as one atomic write; return its value once it is durably committed.

        Writes queued while the writer thread commits are committed together (group
        commit): each runs in a savepoint of its own, so a failing one is rolled back alone,
        and none answers before the one ``COMMIT`` they share is on disk. Many writers then
        pay for one fsync, not one each, and every write keeps the durability of its own.
        """
        assert self._wconn is not None, "store not opened"
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        with self._queue_lock:
            self._queue.append((fn, future))
            start, self._draining = not self._draining, True
        if start:
            self._writer.submit(self._drain, self._wconn)
        return await future

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        assert self._rconn is not None, "store not opened"
        return await asyncio.get_running_loop().run_in_executor(self._reader, fn, self._rconn)

    def _drain(self, conn: sqlite3.Connection) -> None:
        """On the writer thread: commit queued writes, a batch at a time, until none is left
        (one hand-off to the thread however many writes arrive meanwhile)."""
        while True:
            with self._queue_lock:
                batch = [
                    self._queue.popleft() for _ in range(min(len(self._queue), GROUP_COMMIT_MAX))
                ]
                if not batch:
                    self._draining = False
                    return
            self._commit(conn, [(fn, future) for fn, future in batch if not future.cancelled()])

    @staticmethod
    def _commit(conn: sqlite3.Connection, batch: list[_Write[Any]]) -> None:
        """Run ``batch`` in one transaction, each write in a savepoint, then answer each on
        its loop. A write whose caller stopped waiting was left out of ``batch``."""
        if not batch:
            return
        outcomes: list[_Outcome] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            if len(batch) == 1:  # the transaction alone keeps it atomic: no savepoint needed
                future = batch[0][1]
                outcomes.append((future, batch[0][0](conn), None))
            else:
                for fn, future in batch:
                    conn.execute("SAVEPOINT write")
                    try:
                        outcomes.append((future, fn(conn), None))
                    except Exception as exc:
                        conn.execute("ROLLBACK TO write")
                        outcomes.append((future, None, exc))
                    conn.execute("RELEASE write")
            conn.execute("COMMIT")
        except BaseException as exc:  # nothing of the batch is committed: each write fails
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(future, None, exc) for _, future in batch]
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].get_loop(), []).append(outcome)
        for loop, answers in by_loop.items():
            loop.call_soon_threadsafe(_settle, answers)

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        self._wconn = await loop.run_in_executor(self._writer, _connect, self.path)
        await self._write(self._migrate)
        self._rconn = await loop.run_in_executor(self._reader, _connect, self.path)
        self._lconn = _connect(self.path)
        self._lconn.execute("PRAGMA query_only=1")
        self._lconn.execute("PRAGMA busy_timeout=0")  # never wait on the loop: see get()

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise RuntimeError(
                f"job database schema version {version} is newer than this lrokit knows"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in filter(str.strip, script.split(";")):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        if self._lconn is not None:
            self._lconn.close()
            self._lconn = None
        for executor, conn in ((self._writer, self._wconn), (self._reader, self._rconn)):
            if conn is not None:
                await loop.run_in_executor(executor, conn.close)
            executor.shutdown(wait=True)
        self._wconn = self._rconn = None

    async def create(self, new: NewJob) -> tuple[Job, bool]:
        now = self.clock()

        key = new.scoped_key

        def run(conn: sqlite3.Connection) -> tuple[Job, bool]:
            if key is not None:
                row = conn.execute(
                    f"SELECT {COLUMNS}, fingerprint FROM jobs WHERE idempotency_key = ?", (key,)
                ).fetchone()
                if row is not None:
                    existing = job_from_row(row)
                    if existing.expires_at is not None and existing.expires_at <= now:
                        # The key expired with its job: it is free for a new one.
                        conn.execute(
                            "UPDATE jobs SET idempotency_key = NULL, fingerprint = NULL"
                            " WHERE id = ?",
                            (existing.id,),
                        )
                    elif row[-1] != new.fingerprint:
                        raise IdempotencyKeyReused(existing)
                    else:
                        return existing, False
            row = conn.execute(
                "INSERT INTO jobs (id, report_type, parameters, state, created_at, updated_at,"
                " idempotency_key, fingerprint, owner, callback_url, callback_events,"
                " callback_root, callback_state)"
                " VALUES (?, ?, ?, 'PENDING', ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                f" RETURNING {COLUMNS}",
                (
                    new.id,
                    new.report_type,
                    orjson.dumps(new.parameters),
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
                ),
            ).fetchone()
            return job_from_row(row), True

        return await self._write(run)

    async def get(self, job_id: str) -> Job | None:
        """The job, read on the event loop's own connection.

        A primary-key read of a WAL database never waits for the writer and takes
        microseconds, less than handing it to the reader thread and back (which also makes the
        two threads contend for the GIL). Should SQLite still answer busy (a WAL index being
        recovered), the read is retried on the reader thread, which may wait.
        """

        def run(conn: sqlite3.Connection) -> Job | None:
            row = conn.execute(f"SELECT {COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
            return job_from_row(row) if row is not None else None

        assert self._lconn is not None, "store not opened"
        try:
            return run(self._lconn)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
        return await self._read(run)

    async def get_result(self, job_id: str) -> dict[str, Any] | None:
        def run(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute(
                "SELECT result FROM jobs WHERE id = ? AND state = 'DONE'", (job_id,)
            ).fetchone()
            if row is None or row[0] is None:
                return None
            result: dict[str, Any] = orjson.loads(row[0])
            return result

        return await self._read(run)

    async def list(
        self,
        states: Sequence[JobState],
        limit: int,
        before_seq: int | None,
        owner: str | None = None,
    ) -> Page:
        where: list[str] = ["(expires_at IS NULL OR expires_at > ?)"]
        args: list[Any] = [self.clock()]
        if owner is None:
            where.append("owner IS NULL")
        else:
            where.append("owner = ?")
            args.append(owner)
        if states:
            where.append(f"state IN ({', '.join('?' for _ in states)})")
            args.extend(str(state) for state in states)
        if before_seq is not None:
            where.append("seq < ?")
            args.append(before_seq)
        clause = f"WHERE {' AND '.join(where)}"

        def run(conn: sqlite3.Connection) -> Page:
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM jobs {clause} ORDER BY seq DESC LIMIT ?",
                (*args, limit + 1),
            ).fetchall()
            jobs = [job_from_row(row) for row in rows[:limit]]
            return Page(jobs, jobs[-1].seq if len(rows) > limit else None)

        return await self._read(run)

    async def cancel(self, job_id: str) -> tuple[Job, CancelOutcome] | None:
        now = self.clock()

        def run(conn: sqlite3.Connection) -> tuple[Job, CancelOutcome] | None:
            row = conn.execute(f"SELECT {COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return None
            job = job_from_row(row)
            if job.state is JobState.PENDING:
                sql = (
                    "UPDATE jobs SET state = 'CANCELLED', finished_at = ?, updated_at = ?,"
                    f" expires_at = ? WHERE id = ? RETURNING {COLUMNS}"
                )
                outcome = CancelOutcome.CANCELLED
                params: tuple[Any, ...] = (now, now, now + self.retention, job_id)
            elif job.state is JobState.PROCESSING:
                sql = (
                    "UPDATE jobs SET cancel_requested = 1, updated_at = ?"
                    f" WHERE id = ? RETURNING {COLUMNS}"
                )
                outcome = CancelOutcome.REQUESTED
                params = (now, job_id)
            elif job.state is JobState.CANCELLED:
                return job, CancelOutcome.ALREADY_CANCELLED
            else:
                return job, CancelOutcome.FINISHED
            changed = job_from_row(conn.execute(sql, params).fetchone())
            return _enqueue(conn, changed, now), outcome

        outcome = await self._write(run)
        if outcome is not None and outcome[1] in (CancelOutcome.CANCELLED, CancelOutcome.REQUESTED):
            self._changes.changed(job_id)
        return outcome

    async def claim(
        self,
        worker_id: str,
        lease_seconds: float,
        *,
        max_attempts: int = 3,
        backoff: Callable[[int], float] = lambda attempt: 0.0,
    ) -> tuple[Claim | None, Sequence[str]]:
        now = self.clock()
        expires = now + self.retention

        def run(conn: sqlite3.Connection) -> tuple[Claim | None, Sequence[str]]:
            lost = conn.execute(
                "SELECT id, attempts FROM jobs WHERE state = 'PROCESSING'"
                " AND lease_expires_at + retry_delay <= ? AND attempts >= ?",
                (now, max_attempts),
            ).fetchall()
            if lost:  # rare: most claims find no job whose every attempt was lost
                conn.executemany(
                    "UPDATE jobs SET state = 'ERROR', error = ?, finished_at = ?, updated_at = ?,"
                    " expires_at = ?, lease_expires_at = NULL, expected_finish_at = NULL"
                    " WHERE id = ?",
                    [
                        (orjson.dumps(worker_lost(job_id, attempts)), now, now, expires, job_id)
                        for job_id, attempts in lost
                    ],
                )
                for row in conn.execute(
                    f"SELECT {COLUMNS} FROM jobs WHERE callback_url IS NOT NULL"
                    f" AND id IN ({', '.join('?' for _ in lost)})",
                    [job_id for job_id, _ in lost],
                ).fetchall():
                    _enqueue(conn, job_from_row(row), now)
            # The oldest of each kind, each read from the front of its index: one OR of both
            # would sort every PENDING job, on each claim, however long the backlog.
            candidate = conn.execute(
                "SELECT seq, attempts FROM (SELECT seq, attempts FROM jobs"
                "   WHERE state = 'PENDING' ORDER BY seq LIMIT 1)"
                " UNION ALL SELECT seq, attempts FROM (SELECT seq, attempts FROM jobs"
                "   WHERE state = 'PROCESSING' AND lease_expires_at + retry_delay <= ?"
                "   ORDER BY seq LIMIT 1)"
                " ORDER BY seq LIMIT 1",
                (now,),
            ).fetchone()
            if candidate is None:
                return None, [r[0] for r in lost]
            row = conn.execute(
                "UPDATE jobs SET state = 'PROCESSING', worker_id = ?, lease_expires_at = ?,"
                " attempts = attempts + 1, retry_delay = ?,"
                " started_at = COALESCE(started_at, ?), updated_at = ?"
                f" WHERE seq = ? RETURNING {COLUMNS}",
                (worker_id, now + lease_seconds, backoff(candidate[1] + 1), now, now, candidate[0]),
            ).fetchone()
            claimed = _enqueue(conn, job_from_row(row), now)
            return Claim(claimed, worker_id), [r[0] for r in lost]

        claim, ended = await self._write(run)
        for changed in [*ended, *([claim.job.id] if claim is not None else [])]:
            self._changes.changed(changed)
        return claim, ended

    async def heartbeat(
        self,
        claim: Claim,
        progress: int,
        expected_finish_at: float | None,
        lease_seconds: float,
    ) -> bool | None:
        now = self.clock()

        def run(conn: sqlite3.Connection) -> bool | None:
            row = conn.execute(
                "UPDATE jobs SET progress = MAX(progress, ?), expected_finish_at = ?,"
                " lease_expires_at = ?, updated_at = ?"
                " WHERE id = ? AND state = 'PROCESSING' AND worker_id = ?"
                " RETURNING cancel_requested",
                (
                    progress,
                    expected_finish_at,
                    now + lease_seconds,
                    now,
                    claim.job.id,
                    claim.worker_id,
                ),
            ).fetchone()
            return bool(row[0]) if row is not None else None

        cancel = await self._write(run)
        if cancel is not None:
            self._changes.changed(claim.job.id, progress_only=True)
        return cancel

    async def listen(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` soon after any connection, of this process or another, commits while
        a job is PENDING, until cancelled: worker processes of ``serve --worker-processes``
        and ``lrokit worker`` on the same file then claim a job submitted to the API within
        about :data:`LISTEN_INTERVAL`, not the half second of their poll.

        SQLite has no notifications. Every :data:`LISTEN_INTERVAL` seconds this asks the
        event loop's own read-only connection for ``PRAGMA data_version``, which changes
        whenever another connection has committed (SQLite §pragma data_version): a read of
        the file header, microseconds, never waiting (``busy_timeout=0``; a busy answer is
        asked again next time). Only when it changed is the ``jobs_by_state`` index asked
        whether a job is PENDING, so another process's heartbeats wake nobody, and wake-ups
        are at most one an interval however fast jobs come."""
        assert self._lconn is not None, "store not opened"
        conn = self._lconn
        seen: int | None = None
        while True:
            try:
                version: int = conn.execute("PRAGMA data_version").fetchone()[0]
                if seen is not None and version != seen:
                    pending = "SELECT 1 FROM jobs WHERE state = 'PENDING' LIMIT 1"
                    if conn.execute(pending).fetchone() is not None:
                        wake()
                seen = version
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
            await asyncio.sleep(LISTEN_INTERVAL)

    async def purge(self) -> int:
        now = self.clock()

        def run(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "UPDATE jobs SET result = NULL, idempotency_key = NULL, fingerprint = NULL"
                " WHERE expires_at <= ? AND (result IS NOT NULL OR idempotency_key IS NOT NULL)",
                (now,),
            )
            conn.execute(  # the outbox keeps a settled event as long as a finished job
                "DELETE FROM deliveries WHERE state <> 'pending' AND created_at <= ?",
                (now - self.retention,),
            )
            return cursor.rowcount

        return await self._write(run)

    async def release(self, claim: Claim) -> None:
        now = self.clock()

        def run(conn: sqlite3.Connection) -> None:
            # Handed back, not failed: claimable at once, and the attempt does not count.
            conn.execute(
                "UPDATE jobs SET lease_expires_at = ?, retry_delay = 0,"
                " attempts = MAX(attempts - 1, 0), updated_at = ?"
                " WHERE id = ? AND state = 'PROCESSING' AND worker_id = ?",
                (now, now, claim.job.id, claim.worker_id),
            )

        await self._write(run)

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

        def run(conn: sqlite3.Connection) -> JobState | None:
            row = conn.execute(
                "UPDATE jobs SET state = CASE WHEN cancel_requested THEN 'CANCELLED' ELSE ? END,"
                " finished_at = ?, updated_at = ?,"
                " progress = CASE WHEN ? = 'DONE' AND NOT cancel_requested THEN 100"
                "   ELSE progress END,"
                " result = CASE WHEN cancel_requested THEN NULL ELSE ? END,"
                " error = CASE WHEN cancel_requested THEN NULL ELSE ? END,"
                " expected_finish_at = NULL, lease_expires_at = NULL, expires_at = ?"
                " WHERE id = ? AND state = 'PROCESSING' AND worker_id = ?"
                f" RETURNING {COLUMNS}",
                (
                    str(state),
                    now,
                    now,
                    str(state),
                    orjson.dumps(result) if result is not None else None,
                    orjson.dumps(error) if error is not None else None,
                    now + self.retention,
                    claim.job.id,
                    claim.worker_id,
                ),
            ).fetchone()
            if row is None:
                return None
            return _enqueue(conn, job_from_row(row), now).state

        written = await self._write(run)
        if written is not None:
            self._changes.changed(claim.job.id)
        return written

    async def next_change(self, job_id: str, *, progress: bool = False) -> None:
        await self._changes.next(job_id, progress=progress)

    async def claim_delivery(self, lease_seconds: float) -> Delivery | None:
        now = self.clock()

        def run(conn: sqlite3.Connection) -> Delivery | None:
            row = conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, due_at = ?"
                " WHERE seq = (SELECT seq FROM deliveries WHERE state = 'pending'"
                "   AND due_at <= ? ORDER BY due_at LIMIT 1)"
                f" RETURNING {DELIVERY_COLUMNS}",
                (now + lease_seconds, now),
            ).fetchone()
            if row is None:
                return None
            delivery = delivery_from_row(row)
            _show(conn, delivery, CallbackState.PENDING, None)
            return delivery

        return await self._write(run)

    async def settle_delivery(
        self,
        delivery: Delivery,
        state: CallbackState,
        error: str | None = None,
        *,
        retry_in: float = 0.0,
    ) -> bool:
        now = self.clock()

        def run(conn: sqlite3.Connection) -> bool:
            held = (delivery.seq, delivery.attempts)
            if state is CallbackState.PENDING:
                cursor = conn.execute(
                    "UPDATE deliveries SET due_at = ?, last_error = ?"
                    " WHERE seq = ? AND state = 'pending' AND attempts = ?",
                    (now + retry_in, error, *held),
                )
            else:
                cursor = conn.execute(
                    "UPDATE deliveries SET state = ?, last_error = ?"
                    " WHERE seq = ? AND state = 'pending' AND attempts = ?",
                    (str(state), error, *held),
                )
            if cursor.rowcount == 0:  # the lease ran out and another attempt holds it
                return False
            _show(conn, delivery, state, error)
            if state is CallbackState.DISABLED:  # 410: nothing more goes to this URL
                conn.execute(
                    "UPDATE deliveries SET state = 'disabled', last_error = ?"
                    " WHERE url = ? AND state = 'pending'",
                    (error, delivery.url),
                )
                conn.execute(
                    "UPDATE jobs SET callback_state = 'disabled', callback_error = ?"
                    " WHERE callback_url = ? AND callback_state IN ('waiting', 'pending')",
                    (error, delivery.url),
                )
            return True

        return await self._write(run)


def _enqueue(conn: sqlite3.Connection, job: Job, now: float) -> Job:
    """Put the webhook event ``job``'s new state calls for into the outbox, in the caller's
    transaction; the job as it now reads. An event already there (a write retried) stays."""
    event = event_of(job, now)
    if event is None or job.callback is None:
        return job
    cursor = conn.execute(
        "INSERT INTO deliveries (id, job_id, url, body, created_at, due_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        (*event, now, now),
    )
    if cursor.rowcount == 0:
        return job
    conn.execute(
        "UPDATE jobs SET callback_state = 'pending', callback_attempts = 0,"
        " callback_error = NULL WHERE id = ?",
        (job.id,),
    )
    pending = replace(job.callback, state=CallbackState.PENDING, attempts=0, last_error=None)
    return replace(job, callback=pending)


def _show(
    conn: sqlite3.Connection, delivery: Delivery, state: CallbackState, error: str | None
) -> None:
    """Show how ``delivery`` goes on its job's status document, unless a later event of the
    job is in the outbox (the document shows the latest)."""
    conn.execute(
        "UPDATE jobs SET callback_state = ?, callback_attempts = ?, callback_error = ?"
        " WHERE id = ? AND NOT EXISTS"
        " (SELECT 1 FROM deliveries WHERE job_id = ? AND seq > ?)",
        (str(state), delivery.attempts, error, delivery.job_id, delivery.job_id, delivery.seq),
    )
