"""Test helpers: polling a status monitor the way a well-behaved client does."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from lrokit.server.jobs.job import TRANSITIONS, JobState

SEED_REQUEST = {"reportType": "yearly-sales", "parameters": {"year": "2023"}}
#: Two principals of a reference server started with tokens (``Settings(tokens=TOKENS)``).
ALICE = "alice-token-0123456789"
BOB = "bob-token-0123456789ab"
TOKENS = {ALICE: "alice", BOB: "bob"}


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` field that presents ``token``."""
    return {"Authorization": f"Bearer {token}"}


def reachable(state: JobState) -> set[JobState]:
    """States a job in ``state`` may be seen in later (polls may skip states)."""
    seen, todo = {state}, [state]
    while todo:
        for following in TRANSITIONS[todo.pop()]:
            if following not in seen:
                seen.add(following)
                todo.append(following)
    return seen


async def poll_until_terminal(
    client: httpx.AsyncClient,
    location: str,
    *,
    time_scale: float = 0.02,
    max_polls: int = 400,
) -> list[httpx.Response]:
    """Poll ``location`` honouring ``Retry-After`` (scaled by ``time_scale``) until a terminal
    state; return every response. Asserts the lifecycle invariants on the way."""
    seen: list[httpx.Response] = []
    previous: dict[str, Any] | None = None
    for _ in range(max_polls):
        response = await client.get(location)
        assert response.status_code == 200, response.text
        doc = response.json()
        seen.append(response)
        state = JobState(doc["status"])
        if previous is not None:
            before = JobState(previous["status"])
            assert state in reachable(before), f"{before} -> {state}"
            assert doc["progress"] >= previous["progress"], "progress went backwards"
            assert doc["id"] == previous["id"]
        previous = doc
        if state.terminal:
            assert "retry-after" not in response.headers, "Retry-After on a terminal state"
            return seen
        wait = int(response.headers["retry-after"])
        assert wait >= 0
        await asyncio.sleep(max(wait * time_scale, 0.01))
    raise AssertionError(f"{location} not terminal after {max_polls} polls")


@contextmanager
def postgres_schema(what: str) -> Iterator[tuple[str, str]]:
    """``(url, schema)``: the test PostgreSQL and a schema of this test's own, dropped after.
    Skips, saying ``what`` needs it, when LROKIT_TEST_POSTGRES_URL is not set (.ci/run sets
    it when PostgreSQL answers)."""
    url = os.environ.get("LROKIT_TEST_POSTGRES_URL")
    if url is None:
        pytest.skip(f"{what} needs LROKIT_TEST_POSTGRES_URL (set by .ci/run)")
    schema = f"lrokit_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield url, schema
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
