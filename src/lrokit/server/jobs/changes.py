"""Waiting for a job's next change, in one process.

A store announces each change it writes with :meth:`JobChanges.changed`: a change of state
(a claim, an outcome, a cancel) or of progress alone (a worker's heartbeat). A reader that
holds a request open awaits :meth:`JobChanges.next`: a held read (``Prefer: wait``) only for
the state, a status stream for progress too. A store shared by several processes relays the
changes the others write (PostgreSQL: LISTEN/NOTIFY); one that cannot (SQLite written by a
separate ``lrokit worker``) leaves the reader to read again now and then, as it must anyway.
"""

from __future__ import annotations

import asyncio
import contextlib


class JobChanges:
    """Who waits for which job's next change, and of what kind."""

    def __init__(self) -> None:
        self._state: dict[str, list[asyncio.Future[None]]] = {}  # woken by a change of state
        self._any: dict[str, list[asyncio.Future[None]]] = {}  # woken by progress too

    def changed(self, job_id: str, *, progress_only: bool = False) -> None:
        """Wake the readers of ``job_id`` that this change concerns; called on the loop."""
        woken = self._any.pop(job_id, [])
        if not progress_only:
            woken += self._state.pop(job_id, [])
        for future in woken:
            if not future.done():
                future.set_result(None)

    async def next(self, job_id: str, *, progress: bool = False) -> None:
        """Return once ``job_id`` changes state (with ``progress``, or progress); the caller
        bounds the wait (``asyncio.timeout``)."""
        table = self._any if progress else self._state
        future = asyncio.get_running_loop().create_future()
        waiting = table.setdefault(job_id, [])
        waiting.append(future)
        try:
            await future
        finally:
            with contextlib.suppress(ValueError):
                waiting.remove(future)
            if not waiting and table.get(job_id) is waiting:
                del table[job_id]
