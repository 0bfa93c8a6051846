"""The baseline of bench/hot_path.py: a bare Starlette app over the same SQLite job table.

What a plain, hand-written ASGI service would do for the two hot operations, with nothing
the contract asks for: no request validation, no content negotiation, no problem details.
Each request runs its SQL on one connection on the event loop (SQLite answers a primary-key
read in microseconds), the write commits with the reference server's durability (WAL,
``synchronous=FULL``). It reads ``LROKIT_BENCH_DB`` for the database, whose schema the
reference server's own migrations created.

    LROKIT_BENCH_DB=jobs.sqlite3 uvicorn --app-dir bench bare_app:app
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

COLUMNS = "id, report_type, parameters, state, progress, created_at"

conn = sqlite3.connect(os.environ["LROKIT_BENCH_DB"], isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA synchronous=FULL")


def document(row: tuple[Any, ...]) -> bytes:
    href = f"/reports/{row[0]}"
    return orjson.dumps(
        {
            "id": row[0],
            "status": row[3],
            "reportType": row[1],
            "parameters": orjson.loads(row[2]),
            "progress": row[4],
            "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row[5])),
            "links": {"self": {"href": href, "type": "application/json"}},
        }
    )


async def get_report(request: Request) -> Response:
    row = conn.execute(
        f"SELECT {COLUMNS} FROM jobs WHERE id = ?", (request.path_params["id"],)
    ).fetchone()
    if row is None:
        return Response(b'{"status":404}', 404, media_type="application/json")
    headers = {"Cache-Control": "no-store", "Retry-After": "1"}
    return Response(document(row), 200, headers, media_type="application/json")


async def create_report(request: Request) -> Response:
    body = orjson.loads(await request.body())
    now = time.time()
    row = conn.execute(
        "INSERT INTO jobs (id, report_type, parameters, state, created_at, updated_at)"
        f" VALUES (?, ?, ?, 'PENDING', ?, ?) RETURNING {COLUMNS}",
        (uuid.uuid4().hex, body["reportType"], orjson.dumps(body["parameters"]), now, now),
    ).fetchone()
    headers = {"Location": f"/reports/{row[0]}", "Retry-After": "1", "Cache-Control": "no-store"}
    return Response(document(row), 202, headers, media_type="application/json")


app = Starlette(
    routes=[
        Route("/reports/{id}", get_report, methods=["GET"]),
        Route("/reports", create_report, methods=["POST"]),
    ]
)
