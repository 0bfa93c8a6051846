"""The baselines of bench/hot_path.py: a bare Starlette app over the same SQLite job table.

A plain Starlette app with two routes and a handler each, over the reference server's own job
store, with nothing the contract asks for beyond the answer itself: no request validation, no
content negotiation, no problem details, no authentication, no logging. Both modes answer the
very document and headers the reference server answers (rendered by the same
``status_document``, ids made by the same ``new_job_id``), so what differs is only what each
mode says. ``LROKIT_BENCH_MODE`` picks it:

``normal`` (the upper bound: no durability)
    The same store with its writer at ``synchronous=NORMAL``: a commit is not waited for on
    disk, so a 202 may be lost to a power cut. Nothing else differs from ``group``, so this
    bounds from above what any durable setting of this store can do; no service that
    promises a 202 survives a crash may run like this.

``group`` (the same guarantees as the reference server)
    The reference server's own job store (:class:`SQLiteJobStore`): WAL at ``synchronous=FULL``,
    writes group-committed on a writer thread (up to 256 per fsync), each acknowledged only
    once durable; the status read on the loop's own read-only connection. What separates the
    reference server from this is the framework: routing, validation, middleware, problems.

It reads ``LROKIT_BENCH_DB`` for the database, whose schema the reference server's own
migrations created.

    LROKIT_BENCH_DB=jobs.sqlite3 LROKIT_BENCH_MODE=group uvicorn --app-dir bench bare_app:app
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lrokit.server.jobs.document import status_document
from lrokit.server.jobs.job import Job, NewJob, new_job_id
from lrokit.server.jobs.sqlite import SQLiteJobStore

DB = Path(os.environ["LROKIT_BENCH_DB"])
MODE = os.environ.get("LROKIT_BENCH_MODE", "group")
if MODE not in ("normal", "group"):
    raise SystemExit(f"LROKIT_BENCH_MODE: 'normal' or 'group', not {MODE!r}")


class Store:
    """The reference server's store, opened and closed with the app; in ``normal`` mode its
    writer connection is set to ``synchronous=NORMAL`` once open."""

    def __init__(self) -> None:
        self.store = SQLiteJobStore(DB)

    async def open(self) -> None:
        await self.store.open()
        if MODE == "normal":  # on the writer's own thread, outside any transaction
            writer, conn = self.store._writer, self.store._wconn  # private: bench only
            assert conn is not None
            await asyncio.get_running_loop().run_in_executor(
                writer, conn.execute, "PRAGMA synchronous=NORMAL"
            )

    async def create(self, new: NewJob) -> Job:
        job, _created = await self.store.create(new)
        return job

    async def get(self, job_id: str) -> Job | None:
        return await self.store.get(job_id)


store = Store()
NOT_FOUND = Response(b'{"status":404}', 404, media_type="application/json")


def answer(job: Job, status: int, **headers: str) -> Response:
    """The reference server's status answer: its document, ``Cache-Control``, ``Vary`` and,
    while the job is not terminal, ``Retry-After``."""
    headers |= {"Cache-Control": "no-store", "Vary": "Prefer"}
    if not job.state.terminal:
        headers["Retry-After"] = "1"
    body = orjson.dumps(status_document(job, "", time.time()))
    return Response(body, status, headers, media_type="application/json")


async def get_report(request: Request) -> Response:
    job = await store.get(request.path_params["id"])
    return NOT_FOUND if job is None else answer(job, 200)


async def create_report(request: Request) -> Response:
    body = orjson.loads(await request.body())
    new = NewJob(new_job_id(), body["reportType"], body["parameters"], None, None)
    job = await store.create(new)
    return answer(job, 202, Location=f"/reports/{job.id}")


@contextlib.asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    await store.open()
    try:
        yield
    finally:
        await store.store.close()


app = Starlette(
    routes=[
        Route("/reports/{id}", get_report, methods=["GET"]),
        Route("/reports", create_report, methods=["POST"]),
    ],
    lifespan=lifespan,
)
