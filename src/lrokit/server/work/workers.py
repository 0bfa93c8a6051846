"""Background workers: they claim jobs from the store and generate reports off the request path.

A worker holds its job under a lease that it renews while working. A heartbeat records
progress, renews the lease and sees a cancel request: between steps, at the first step
boundary ``progress_interval`` (0.1 s by default, at most ``heartbeat``) after the claim or
the last heartbeat, so a report that takes milliseconds writes nothing between its claim and
its outcome; while pacing, at every step and at least every ``heartbeat`` seconds. If the
worker dies, the lease expires and another worker takes the job over; if the worker loses
its lease, it stops without writing. A cancel request is seen at the next heartbeat and ends
the job CANCELLED; one that arrives later still wins when the outcome is written. While the
job store is unavailable, a worker keeps its job and tries its heartbeat and its outcome
again, with growing waits, as long as its lease may still hold; an outage never becomes the
report's failure, and a job runs twice only when its lease truly ran out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from lrokit.server.jobs.job import JobState, isoformat
from lrokit.server.jobs.store import Claim, JobStore, StoreUnavailable
from lrokit.server.problems import problem_body
from lrokit.server.settings import Settings
from lrokit.server.work.callbacks import Deliverer
from lrokit.server.work.dataset import connect_readonly, ensure_dataset
from lrokit.server.work.reports import ReportError, Step, plan_report

log = logging.getLogger("lrokit.jobs")
T = TypeVar("T")
#: Seconds between tries of a store call during an outage: the first wait, and the most.
OUTAGE_RETRY_FIRST = 0.05
OUTAGE_RETRY_MAX = 2.0


@dataclass
class _Lease:
    """Until when (the worker's clock) the job's lease holds at the least: its last renewal
    plus the lease's length."""

    until: float


class _LostClaim(Exception):
    """The job's lease went to another worker or the job became terminal."""


class _Cancelled(Exception):
    """A cancel was requested for the job."""


async def _in_thread(fn: Callable[..., None], *args: Any) -> None:
    """Run ``fn(*args)`` on a thread. Cancelled meanwhile, wait for the thread to return
    before raising: the worker closes the dataset connection the thread may be using."""
    work = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work])  # as long as the steps it runs: until ``until``, or one
        if not work.cancelled():
            work.exception()  # retrieved: the cancellation is what propagates
        raise


class WorkerPool:
    """``settings.workers`` asyncio workers sharing one store, woken by :meth:`notify`."""

    def __init__(
        self, store: JobStore, settings: Settings, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.heartbeat = min(1.0, settings.lease_seconds / 3)
        self.progress_interval = min(settings.progress_interval, self.heartbeat)
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._prefix = f"{uuid.uuid4().hex[:8]}"
        self._jitter = random.Random()  # its own: drawing leaves the process's global one be
        # The workers also send the webhooks' events, when the operator allowed callbacks.
        self.deliverer = (
            Deliverer(store, settings, clock)
            if settings.callback_allow and settings.workers
            else None
        )

    def retry_delay(self, attempt: int) -> float:
        """How long a job waits, after this attempt loses its worker, before the next one:
        exponential backoff with full jitter, at most a minute."""
        ceiling = min(60.0, self.settings.backoff * 2 ** (attempt - 1))
        return self._jitter.uniform(0, ceiling)

    def notify(self) -> None:
        """Tell idle workers that a job is waiting, or a webhook's event."""
        self._wakeup.set()
        if self.deliverer is not None:
            self.deliverer.wake()

    async def start(self) -> None:
        """Start the workers once the dataset exists (built on first start, in a thread)."""
        if self.settings.workers:
            self._tasks.append(asyncio.create_task(self._boot(), name="lrokit-workers"))
        if self.deliverer is not None:
            self._tasks.append(asyncio.create_task(self.deliverer.run(), name="lrokit-webhooks"))

    async def _boot(self) -> None:
        path, rows = self.settings.dataset_path, self.settings.dataset_rows
        log.info("checking the sample dataset at %s (%d rows)", path, rows)
        started = time.monotonic()
        await asyncio.to_thread(ensure_dataset, path, rows)
        log.info("sample dataset ready in %.1fs", time.monotonic() - started)
        for n in range(self.settings.workers):
            worker_id = f"{self._prefix}-{n + 1}"
            self._tasks.append(asyncio.create_task(self._run(worker_id), name=worker_id))
        # Jobs other processes submit wake these workers too (PostgreSQL LISTEN/NOTIFY).
        self._tasks.append(asyncio.create_task(self.store.listen(self.notify), name="listen"))

    async def stop(self, grace: float = 10.0) -> None:
        """Stop the workers; a job in progress is released for another worker to resume."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=grace)
        self._tasks.clear()

    async def _run(self, worker_id: str) -> None:
        conn = await asyncio.to_thread(connect_readonly, self.settings.dataset_path)
        try:
            while not self._stopping:
                try:
                    claim, lost = await self.store.claim(
                        worker_id,
                        self.settings.lease_seconds,
                        max_attempts=self.settings.max_attempts,
                        backoff=self.retry_delay,
                    )
                except Exception:  # the store is unavailable: keep the worker, try again later
                    log.exception("worker %s could not claim a job; retrying", worker_id)
                    await asyncio.sleep(self.settings.poll_interval)
                    continue
                for job_id in lost:
                    log.warning(
                        "job %s ERROR WORKER_LOST after %d attempts",
                        job_id,
                        self.settings.max_attempts,
                    )
                if claim is None:
                    self._wakeup.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), self.settings.poll_interval)
                    continue
                self.notify()  # there may be more: let another idle worker look
                try:
                    await self._process(claim, conn)
                except Exception:  # writing the outcome failed; the lease hands the job on
                    log.exception("job %s: worker %s failed to record it", claim.job.id, worker_id)
                if self.deliverer is not None:  # the outcome may have an event to send
                    self.deliverer.wake()
        finally:
            conn.close()

    async def _process(self, claim: Claim, conn: sqlite3.Connection) -> None:
        job = claim.job
        log.info(
            "job %s claimed by worker %s (attempt %d, %s)",
            job.id,
            claim.worker_id,
            job.attempts,
            job.report_type,
        )
        step_name = "plan"
        lease = _Lease(self.clock() + self.settings.lease_seconds)  # the claim renewed it
        try:
            if job.cancel_requested:
                raise _Cancelled
            plan = plan_report(job.report_type, job.parameters)
            total = sum(step.weight for step in plan.steps) or 1.0
            begun = recorded = self.clock()  # the claim renewed the lease and saw no cancel
            partials: list[Any] = []
            done = 0.0
            while len(partials) < len(plan.steps):  # each turn runs one step or more
                step_name = plan.steps[len(partials)].name
                if self.settings.pace or self.clock() - recorded >= self.progress_interval:
                    await self._beat(claim, lease, done / total, begun)
                    recorded = self.clock()
                # Paced, one step a turn; else the steps due before the next heartbeat, in one
                # hand-off to the thread rather than one each.
                until = -math.inf if self.settings.pace else recorded + self.progress_interval
                try:
                    await _in_thread(self._run_steps, plan.steps, partials, conn, until)
                except Exception:
                    step_name = plan.steps[len(partials)].name  # the step that failed
                    raise
                done = sum(step.weight for step in plan.steps[: len(partials)])
                await self._pace(claim, lease, done / total, begun)
            step_name = "finish"
            result = plan.finish(partials)
        except _Cancelled:
            await self._end(claim, lease, JobState.CANCELLED)
        except _LostClaim:
            log.warning("job %s: worker %s lost its lease; stopping", job.id, claim.worker_id)
        except StoreUnavailable as exc:  # an outage is not the report's failure: write nothing
            log.warning(
                "job %s: the job store stayed unavailable until the lease ran out (%s); the job "
                "goes to whichever worker claims it next",
                job.id,
                exc,
            )
        except ReportError as exc:
            error = problem_body(
                "no-data" if exc.code == "NO_DATA" else "report-generation-failed",
                exc.detail,
                f"/reports/{job.id}",
                code=exc.code,
                retryable=exc.retryable,
                failedStep=exc.failed_step,
            )
            await self._end(claim, lease, JobState.ERROR, error=error)
        except asyncio.CancelledError:
            await asyncio.shield(self.store.release(claim))
            log.info("job %s released by worker %s at shutdown", job.id, claim.worker_id)
            raise
        except Exception as exc:  # a bug or a broken dataset: the job fails, the worker lives
            log.exception("job %s failed at step %s", job.id, step_name)
            error = problem_body(
                "report-generation-failed",
                f"{type(exc).__name__} during {step_name}",
                f"/reports/{job.id}",
                code="INTERNAL",
                retryable=True,
                failedStep=step_name,
            )
            await self._end(claim, lease, JobState.ERROR, error=error)
        else:
            result = {"id": job.id, **result, "generatedAt": isoformat(self.clock())}
            await self._end(claim, lease, JobState.DONE, result=result)

    def _run_steps(
        self, steps: Sequence[Step], partials: list[Any], conn: sqlite3.Connection, until: float
    ) -> None:
        """On a thread: run the next steps, appending each one's partial result, until all
        have run or the clock has reached ``until`` (at least one step)."""
        for step in steps[len(partials) :]:
            partials.append(step.run(conn))
            if self.clock() >= until:
                return

    async def _beat(self, claim: Claim, lease: _Lease, fraction: float, begun: float) -> None:
        """Record progress and an estimate, renew the lease, and see a cancel request; while
        the store is unavailable, try again (the job stays this worker's while its lease may
        still hold)."""
        now = self.clock()
        if self.settings.pace:
            expected: float | None = begun + self.settings.pace
        elif fraction > 0:
            expected = now + (now - begun) * (1 - fraction) / fraction
        else:
            expected = None
        progress = min(99, math.floor(fraction * 100))
        cancel = await self._persist(
            lease,
            lambda: self.store.heartbeat(claim, progress, expected, self.settings.lease_seconds),
        )
        if cancel is not None:
            lease.until = self.clock() + self.settings.lease_seconds
        if cancel is None:
            raise _LostClaim
        if cancel:
            raise _Cancelled

    async def _pace(self, claim: Claim, lease: _Lease, fraction: float, begun: float) -> None:
        """With ``pace`` set, wait until ``fraction`` of it has passed, beating meanwhile."""
        target = begun + self.settings.pace * fraction
        while (remaining := target - self.clock()) > 0:
            await asyncio.sleep(min(remaining, self.heartbeat))
            await self._beat(claim, lease, fraction, begun)

    async def _persist(self, lease: _Lease, call: Callable[[], Awaitable[T]]) -> T:
        """``call`` to the store, tried again with growing waits while the store is
        unavailable, as long as the job's lease may still hold; then the outage is raised
        (:class:`StoreUnavailable`): the job was never this worker's to fail."""
        delay = OUTAGE_RETRY_FIRST
        while True:
            try:
                return await call()
            except StoreUnavailable as exc:
                if self.clock() + delay >= lease.until:
                    raise
                log.warning("the job store is unavailable (%s); trying again in %.2fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, OUTAGE_RETRY_MAX)

    async def _end(
        self,
        claim: Claim,
        lease: _Lease,
        state: JobState,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        job = claim.job
        written = await self._persist(
            lease, lambda: self.store.finish(claim, state, result=result, error=error)
        )
        took = self.clock() - (job.started_at or job.created_at)
        if written is None:
            log.warning("job %s: outcome %s not written, the claim was lost", job.id, state)
        elif written is not state:
            log.info("job %s CANCELLED after %.2fs (cancelled before its %s)", job.id, took, state)
        elif error is not None:
            log.info("job %s ERROR %s at %s", job.id, error["code"], error["failedStep"])
        else:
            log.info("job %s %s after %.2fs", job.id, state, took)
