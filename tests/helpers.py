"""Test helpers: polling a status monitor the way a well-behaved client does."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from lrokit.server.jobs import TRANSITIONS, JobState

SEED_REQUEST = {"reportType": "yearly-sales", "parameters": {"year": "2023"}}


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
