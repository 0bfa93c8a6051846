"""Which job store the settings select: PostgreSQL for ``store = postgresql://…``, else the
SQLite file at ``db``. The API and ``lrokit worker`` both build their store here."""

from __future__ import annotations

import time
from collections.abc import Callable

from lrokit.server.jobs.postgres import PostgresJobStore
from lrokit.server.jobs.sqlite import SQLiteJobStore
from lrokit.server.jobs.store import JobStore
from lrokit.server.settings import Settings


def make_store(settings: Settings, clock: Callable[[], float] = time.time) -> JobStore:
    """The job store of ``settings``, not yet opened."""
    if settings.store is not None:
        return PostgresJobStore(settings.store, clock, retention=settings.retention)
    return SQLiteJobStore(settings.db, clock, retention=settings.retention)
