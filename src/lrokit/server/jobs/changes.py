"""Waiting for a job's next change of state, in one process.

A store announces each change of state it writes (a claim, an outcome, a cancel) with
:meth:`StateChanges.changed`, and a reader that holds a request open (``Prefer: wait``)
awaits :meth:`StateChanges.next`. A store shared by several processes relays the changes the
others write (PostgreSQL: LISTEN/NOTIFY); one that cannot (SQLite written by a separate
``lrokit worker``) leaves the reader to read again now and then, as it must anyway.
"""

from __future__ import annotations

import asyncio
import contextlib


class StateChanges:
    """Who waits for which job's next change of state."""

    def __init__(self) -> None:
        self._waiting: dict[str, list[asyncio.Future[None]]] = {}

    def changed(self, job_id: str) -> None:
        """Wake every reader waiting on ``job_id``; called on the event loop."""
        for future in self._waiting.pop(job_id, []):
            if not future.done():
                future.set_result(None)

    async def next(self, job_id: str) -> None:
        """Return once ``job_id`` changes state; the caller bounds the wait
        (``asyncio.timeout``)."""
        future = asyncio.get_running_loop().create_future()
        waiting = self._waiting.setdefault(job_id, [])
        waiting.append(future)
        try:
            await future
        finally:
            with contextlib.suppress(ValueError):
                waiting.remove(future)
            if not waiting and self._waiting.get(job_id) is waiting:
                del self._waiting[job_id]
