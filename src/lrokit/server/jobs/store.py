"""The durable job store: the protocol every implementation (SQLite, PostgreSQL) provides.

Every method is one atomic transaction. State changes are conditional writes, so a terminal
state is written exactly once and a worker that lost its lease cannot overwrite anything.
"""

from __future__ import annotations

import enum
import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from lrokit.server.jobs.job import CallbackState, Delivery, Job, JobState, NewJob

S = TypeVar("S")


class StoreUnavailable(Exception):
    """The store cannot be reached or cannot write now (its server went away or restarts, no
    connection came within the wait, the disk is full, the database is locked): nothing was
    decided, and the same call may succeed later. A caller MUST NOT read it as an outcome of
    the job (a worker keeps the job; the API answers 503 with Retry-After)."""


def translated(transient: Callable[[BaseException], bool]) -> Callable[[type[S]], type[S]]:
    """A class decorator: every public coroutine method of a store re-raises an error that
    ``transient`` recognises as :class:`StoreUnavailable`, the one word the callers know for
    an outage, whatever the backend calls it."""

    def guard(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(fn)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except StoreUnavailable:
                raise
            except Exception as exc:
                if transient(exc):
                    raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
                raise

        return guarded

    def decorate(cls: type[S]) -> type[S]:
        for name, member in list(vars(cls).items()):
            if not name.startswith("_") and inspect.iscoroutinefunction(member):
                setattr(cls, name, guard(member))
        return cls

    return decorate


class IdempotencyKeyReused(Exception):
    """The idempotency key belongs to a job created from another request body."""

    def __init__(self, existing: Job) -> None:
        super().__init__(f"idempotency key already used for job {existing.id}")
        self.existing = existing


class CancelOutcome(enum.Enum):
    """What a cancel request did."""

    CANCELLED = "cancelled"  # the job was PENDING and is now CANCELLED
    REQUESTED = "requested"  # the job is PROCESSING; its worker will stop at its next heartbeat
    ALREADY_CANCELLED = "already-cancelled"  # nothing changed
    FINISHED = "finished"  # DONE or ERROR: cannot be cancelled, nothing changed


@dataclass(frozen=True, slots=True)
class Claim:
    """A job a worker holds under a lease."""

    job: Job
    worker_id: str


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a job listing, newest first."""

    jobs: Sequence[Job]
    next_after: int | None  # pass as ``before_seq`` for the next page; None on the last page


class JobStore(Protocol):
    """A durable store of report jobs."""

    async def open(self) -> None:
        """Create or migrate the schema; must be called once before use."""

    async def close(self) -> None:
        """Release connections; pending operations complete first."""

    async def create(self, new: NewJob) -> tuple[Job, bool]:
        """Insert a PENDING job; return it and True.

        With an idempotency key the same owner already used for the same fingerprint, insert
        nothing and return the existing job and False. With a different fingerprint raise
        :class:`IdempotencyKeyReused`. Keys are scoped by owner (:attr:`NewJob.scoped_key`):
        another principal's key, however spelled, is never found.
        """
        ...

    async def get(self, job_id: str) -> Job | None:
        """The job, or None."""
        ...

    async def get_result(self, job_id: str) -> dict[str, Any] | None:
        """The result document of a DONE job, or None."""
        ...

    async def list(
        self,
        states: Sequence[JobState],
        limit: int,
        before_seq: int | None,
        owner: str | None = None,
    ) -> Page:
        """The jobs of ``owner`` (the principal that submitted them; None: the jobs submitted
        while the server was open to anyone) newest first, optionally only in ``states``,
        strictly older than ``before_seq``."""
        ...

    async def cancel(self, job_id: str) -> tuple[Job, CancelOutcome] | None:
        """Cancel the job (see :class:`CancelOutcome`); None if there is no such job."""
        ...

    async def claim(
        self,
        worker_id: str,
        lease_seconds: float,
        *,
        max_attempts: int = 3,
        backoff: Callable[[int], float] = lambda attempt: 0.0,
    ) -> tuple[Claim | None, Sequence[str]]:
        """Take the oldest PENDING job, or a PROCESSING job whose lease expired ``retry_delay``
        ago, under a lease; the attempt's own retry delay is ``backoff(attempt)``.

        First, a job whose lease expired after ``max_attempts`` attempts ends in ERROR
        (WORKER_LOST, retryable): return the claim, if any, and the ids of those jobs.
        """
        ...

    async def next_change(self, job_id: str, *, progress: bool = False) -> None:
        """Return once the job may have changed state (a claim, an outcome, a cancel), or
        with ``progress`` its progress too (a heartbeat); the caller bounds the wait. Changes
        another process writes reach a store that can relay them (PostgreSQL); a caller that
        must not miss one reads again now and then."""

    async def listen(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` whenever any process submits a job, until cancelled. A store that
        cannot notify returns at once: its workers find new jobs by polling."""

    async def purge(self) -> int:
        """Drop the results and idempotency keys of expired jobs; return how many. The job
        itself stays, so that its monitor answers 410 Gone, never a resurrected job."""
        ...

    async def heartbeat(
        self,
        claim: Claim,
        progress: int,
        expected_finish_at: float | None,
        lease_seconds: float,
    ) -> bool | None:
        """Record progress (never lowering it) and renew the lease.

        Return whether a cancel was requested, or None when the claim is lost (the lease went
        to another worker or the job is terminal): the worker must then stop without writing.
        """
        ...

    async def release(self, claim: Claim) -> None:
        """Give the job up without an outcome: its lease ends now, so any worker (of this or
        another process) claims it again at once, and the attempt does not count. The state
        stays PROCESSING."""

    async def finish(
        self,
        claim: Claim,
        state: JobState,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> JobState | None:
        """Write the terminal state once and return it; None if the claim was lost (nothing
        written). A cancel requested meanwhile wins: the job ends CANCELLED, without result
        or error, as the 202 answer to the cancel promised."""
        ...

    async def claim_delivery(self, lease_seconds: float) -> Delivery | None:
        """Take the webhook event that has been due longest, for one attempt, under a lease
        of ``lease_seconds``: until it runs out no other deliverer takes the event; after it,
        one does (at least once: an attempt whose deliverer died is made again)."""
        ...

    async def settle_delivery(
        self,
        delivery: Delivery,
        state: CallbackState,
        error: str | None = None,
        *,
        retry_in: float = 0.0,
    ) -> bool:
        """Record how the attempt at ``delivery`` went: ``PENDING`` to try again in
        ``retry_in`` seconds, or an end (``DELIVERED``, ``FAILED``, ``DISABLED``; the last
        also ends every pending event for the same URL, and the subscriptions to it). Return
        False, writing nothing, when the attempt's lease was lost to another."""
        ...
