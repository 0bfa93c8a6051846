"""The status stream: ``GET /reports/{id}`` with ``Accept: text/event-stream`` sends the status
document as Server-Sent Events on every change of state or progress, ids that let a client
resume, comments that keep an idle connection, and ends after the terminal event."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import httpx
import pytest

from lrokit.server.http import handlers
from lrokit.server.jobs.postgres import PostgresJobStore
from lrokit.server.settings import Settings
from lrokit.server.work.workers import WorkerPool
from tests.conftest import serve_in_process
from tests.helpers import SEED_REQUEST, postgres_schema

pytestmark = pytest.mark.anyio
STREAM = {"Accept": "text/event-stream"}


def parse(text: str) -> list[dict[str, Any]]:
    """The events (and comments, as ``{"comment": …}``) of a stream's text."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        if block.startswith(":"):
            events.append({"comment": block[1:].strip()})
            continue
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append({**fields, "data": json.loads(fields["data"])})
    return events


async def stream(http: httpx.AsyncClient, location: str, **headers: str) -> httpx.Response:
    return await asyncio.wait_for(http.get(location, headers={**STREAM, **headers}), 20)


async def test_a_stream_follows_a_report_to_its_end(settings: Settings) -> None:
    paced = dataclasses.replace(settings, workers=1, pace=1.0, progress_interval=0.2)
    async with serve_in_process(paced) as http:
        location = (await http.post("/reports", json=SEED_REQUEST)).headers["location"]
        response = await stream(http, location)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-store"
    events = [e for e in parse(response.text) if "comment" not in e]
    states = [e["data"]["status"] for e in events]
    assert states[-1] == "DONE"
    assert "PROCESSING" in states
    progress = [e["data"]["progress"] for e in events]
    assert progress == sorted(progress)
    assert len(set(progress)) >= 3  # progress, not only the states
    assert all(e["event"] == "status" for e in events)
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids))
    assert ids[-1] == "DONE.100"


async def test_a_reconnecting_client_is_not_sent_what_it_has(settings: Settings) -> None:
    async with serve_in_process(dataclasses.replace(settings, workers=0)) as http:
        location = (await http.post("/reports", json=SEED_REQUEST)).headers["location"]
        reading = asyncio.create_task(stream(http, location, **{"Last-Event-ID": "PENDING.0"}))
        await asyncio.sleep(0.2)
        await http.delete(location)
        response = await reading
    events = parse(response.text)
    assert [e["id"] for e in events] == ["CANCELLED.0"]  # not the PENDING.0 it had


async def test_a_terminal_report_streams_one_event(settings: Settings) -> None:
    async with serve_in_process(dataclasses.replace(settings, workers=0)) as http:
        location = (await http.post("/reports", json=SEED_REQUEST)).headers["location"]
        await http.delete(location)
        response = await stream(http, location)
    assert [e["data"]["status"] for e in parse(response.text)] == ["CANCELLED"]


async def test_an_idle_stream_gets_keep_alive_comments(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handlers, "STREAM_HEARTBEAT", 0.2)
    async with serve_in_process(dataclasses.replace(settings, workers=0)) as http:
        location = (await http.post("/reports", json=SEED_REQUEST)).headers["location"]
        reading = asyncio.create_task(stream(http, location))
        await asyncio.sleep(0.7)
        await http.delete(location)
        response = await reading
    events = parse(response.text)
    assert events[0]["data"]["status"] == "PENDING"
    assert {"comment": "keep-alive"} in events
    assert events[-1]["data"]["status"] == "CANCELLED"


async def test_json_stays_the_default(settings: Settings) -> None:
    async with serve_in_process(dataclasses.replace(settings, workers=0)) as http:
        location = (await http.post("/reports", json=SEED_REQUEST)).headers["location"]
        for accept in ("*/*", "application/json", "application/json, text/event-stream"):
            response = await http.get(location, headers={"Accept": accept})
            assert response.headers["content-type"] == "application/json", accept


async def test_a_stream_hears_another_process_through_postgresql(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Progress written by another process's worker reaches the stream by NOTIFY: with the
    keep-alive (and its re-read) stretched past the test, nothing else could bring it."""
    monkeypatch.setattr(handlers, "STREAM_HEARTBEAT", 60.0)
    with postgres_schema("a status stream across processes") as (url, schema):
        elsewhere = PostgresJobStore(url, schema=schema)
        api = dataclasses.replace(settings, workers=0)
        async with serve_in_process(api, store=PostgresJobStore(url, schema=schema)) as http:
            await elsewhere.open()
            paced = dataclasses.replace(settings, workers=1, pace=1.0, progress_interval=0.2)
            pool = WorkerPool(elsewhere, paced)
            await pool.start()
            try:
                location = (await http.post("/reports", json=SEED_REQUEST)).headers["location"]
                response = await stream(http, location)
            finally:
                await pool.stop()
                await elsewhere.close()
    events = [e for e in parse(response.text) if "comment" not in e]
    assert events[-1]["data"]["status"] == "DONE"
    assert len({e["data"]["progress"] for e in events}) >= 3
