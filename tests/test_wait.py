"""``Prefer: wait=N`` on the status monitor (RFC 7240 §4.3): a read of a report that is not
terminal is held until its state changes, N seconds at most (capped by the server), and says
so in ``Preference-Applied``. The rechecks are stretched in the tests that time an early
answer, so only a change notification can explain it."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator

import httpx
import pytest

from lrokit.server.http import handlers
from lrokit.server.jobs.job import JobState
from lrokit.server.jobs.postgres import PostgresJobStore
from lrokit.server.settings import Settings
from lrokit.server.work.workers import WorkerPool
from tests.conftest import serve_in_process
from tests.helpers import SEED_REQUEST, postgres_schema

pytestmark = pytest.mark.anyio


@pytest.fixture
def no_rechecks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Held reads are not read again within the tests' waits: only a notification ends them."""
    monkeypatch.setattr(handlers, "HOLD_RECHECK", 30.0)


async def held(http: httpx.AsyncClient, location: str, wait: str) -> tuple[httpx.Response, float]:
    begun = time.monotonic()
    response = await http.get(location, headers={"Prefer": f"wait={wait}"})
    return response, time.monotonic() - begun


async def submit(http: httpx.AsyncClient) -> str:
    response = await http.post("/reports", json=SEED_REQUEST)
    assert response.status_code == 202, response.text
    return str(response.headers["location"])


async def test_a_read_is_held_as_long_as_asked_when_nothing_changes(settings: Settings) -> None:
    async with serve_in_process(dataclasses.replace(settings, workers=0)) as http:
        location = await submit(http)
        response, took = await held(http, location, "1")
    assert response.status_code == 200
    assert response.json()["status"] == "PENDING"
    assert response.headers["preference-applied"] == "wait=1"
    assert response.headers["vary"] == "Prefer"
    assert "retry-after" in response.headers
    assert 0.9 <= took < 2.0


async def test_a_held_read_is_answered_as_soon_as_the_state_changes(
    settings: Settings, no_rechecks: None
) -> None:
    async with serve_in_process(dataclasses.replace(settings, workers=0)) as http:
        location = await submit(http)
        reading = asyncio.create_task(held(http, location, "20"))
        await asyncio.sleep(0.2)
        assert (await http.delete(location)).status_code == 200
        response, took = await asyncio.wait_for(reading, 5)
    assert response.json()["status"] == "CANCELLED"
    assert response.headers["preference-applied"] == "wait=20"
    assert took < 1.0


async def test_held_reads_follow_a_report_through_each_change(
    settings: Settings, no_rechecks: None
) -> None:
    """Workers' claims and outcomes wake held reads: a few reads see every state."""
    paced = dataclasses.replace(settings, workers=1, pace=1.0)
    async with serve_in_process(paced) as http:
        location = await submit(http)
        seen = []
        begun = time.monotonic()
        for _ in range(5):  # bounded: PENDING, PROCESSING, DONE and some slack
            response, _ = await held(http, location, "10")
            seen.append(response.json()["status"])
            if seen[-1] == "DONE":
                break
        took = time.monotonic() - begun
    assert seen[-1] == "DONE"
    assert len(seen) <= 3, seen
    assert took < 3.0  # the report's pace, not the 10 s asked nor the 30 s recheck


async def test_the_server_caps_the_wait_and_says_what_it_allowed(settings: Settings) -> None:
    capped = dataclasses.replace(settings, workers=0, max_prefer_wait=1)
    async with serve_in_process(capped) as http:
        location = await submit(http)
        response, took = await held(http, location, "3600")
    assert response.headers["preference-applied"] == "wait=1"
    assert took < 2.0


@pytest.mark.parametrize("wait", ["abc", "-1", "1.5", "0", ""])
async def test_a_wait_that_is_not_whole_seconds_is_not_held(settings: Settings, wait: str) -> None:
    async with serve_in_process(dataclasses.replace(settings, workers=0)) as http:
        location = await submit(http)
        response, took = await held(http, location, wait)
    assert response.status_code == 200
    assert "preference-applied" not in response.headers
    assert took < 0.5


async def test_a_terminal_report_is_answered_at_once(settings: Settings) -> None:
    async with serve_in_process(dataclasses.replace(settings, workers=0)) as http:
        location = await submit(http)
        await http.delete(location)
        response, took = await held(http, location, "10")
    assert response.json()["status"] == "CANCELLED"
    assert "preference-applied" not in response.headers
    assert took < 0.5


@pytest.fixture
def shared_schema() -> Iterator[tuple[str, str]]:
    with postgres_schema("Prefer: wait across processes") as where:
        yield where


async def test_a_change_written_by_another_process_wakes_a_held_read(
    settings: Settings, shared_schema: tuple[str, str], no_rechecks: None
) -> None:
    """PostgreSQL relays changes between processes (LISTEN/NOTIFY): the API here has no
    workers; the workers of another store, as another process would, run the report."""
    url, schema = shared_schema
    api = dataclasses.replace(settings, workers=0)
    elsewhere = PostgresJobStore(url, schema=schema)
    async with serve_in_process(api, store=PostgresJobStore(url, schema=schema)) as http:
        await elsewhere.open()
        pool = WorkerPool(elsewhere, dataclasses.replace(settings, workers=1, pace=1.0))
        await pool.start()
        try:
            location = await submit(http)
            states = []
            for _ in range(5):  # bounded
                response, took = await held(http, location, "10")
                states.append((response.json()["status"], took))
                if states[-1][0] == "DONE":
                    break
        finally:
            await pool.stop()
            await elsewhere.close()
    assert states[-1][0] == JobState.DONE, states
    assert all(took < 3.0 for _, took in states), states
