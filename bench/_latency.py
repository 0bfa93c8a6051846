"""What the latency benches share: the seed request, the terminal states, when a report's
terminal state was written, and the baseline every channel is compared with (polling that
honours Retry-After)."""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import datetime
from typing import Any

import httpx

ROWS = 100_000
SEED = {"reportType": "yearly-sales", "parameters": {"year": "2023"}}
TERMINAL = {"DONE", "ERROR", "CANCELLED"}


def finished(status: dict[str, Any]) -> float:
    stamp = str(status["finishedAt"]).replace("Z", "+00:00")
    return datetime.fromisoformat(stamp).timestamp()


async def by_polling(client: httpx.AsyncClient, monitor: str) -> float:
    for _ in range(1000):  # bounded
        response = await client.get(monitor)
        status = response.json()
        if status["status"] in TERMINAL:
            return time.time() - finished(status)
        await asyncio.sleep(float(response.headers.get("retry-after", "1")))
    raise RuntimeError(f"{monitor}: not terminal after 1,000 polls")


def quantiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
