"""Load on the reference server: N concurrent clients submit and poll for S seconds.

Each client submits a report, polls its monitor honouring Retry-After, and starts over, for
the whole duration; afterwards every submitted job is polled (bounded) until terminal. Prints
requests, status codes, 5xx, p50/p99 latency, jobs submitted, finished and lost. Talks only
to a server it starts on 127.0.0.1. Exit status 1 on any 5xx or lost job.

    .venv/bin/python bench/load.py [--clients 50] [--seconds 60] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from _server import CACHE, ReferenceServer  # bench/ is on sys.path when run as a script

from lrokit.server.settings import DEFAULT_ROWS
from lrokit.server.work.dataset import ensure_dataset

TERMINAL = {"DONE", "ERROR", "CANCELLED"}
BODIES = [
    {"reportType": "yearly-sales", "parameters": {"year": "2023"}},
    {"reportType": "sales-by-region", "parameters": {"from": "2022-01-01", "to": "2022-03-31"}},
    {"reportType": "top-products", "parameters": {"year": "2024", "limit": 5}},
    {"reportType": "yearly-sales", "parameters": {"year": "1999"}},  # ends in ERROR
]


class Tally:
    def __init__(self) -> None:
        self.codes: Counter[int] = Counter()
        self.latencies: list[float] = []
        self.jobs: list[str] = []
        self.errors: Counter[str] = Counter()

    async def send(
        self, client: httpx.AsyncClient, method: str, url: str, **kw: object
    ) -> httpx.Response | None:
        started = time.monotonic()
        try:
            response = await client.request(method, url, **kw)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            self.errors[type(exc).__name__] += 1
            return None
        self.latencies.append(time.monotonic() - started)
        self.codes[response.status_code] += 1
        return response


async def client_loop(url: str, tally: Tally, until: float, number: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=10, trust_env=False) as client:
        turn = 0
        while time.monotonic() < until:
            body = BODIES[(number + turn) % len(BODIES)]
            turn += 1
            accepted = await tally.send(client, "POST", "/reports", json=body)
            if accepted is None or accepted.status_code != 202:
                await asyncio.sleep(0.1)
                continue
            tally.jobs.append(accepted.json()["id"])
            location, wait = accepted.headers["location"], float(accepted.headers["retry-after"])
            for _ in range(120):  # bounded polls per job
                await asyncio.sleep(min(wait, max(0.0, until - time.monotonic())))
                poll = await tally.send(client, "GET", location)
                if poll is None or poll.status_code != 200 or poll.json()["status"] in TERMINAL:
                    break
                wait = float(poll.headers.get("retry-after", "1"))
                if time.monotonic() >= until:
                    break


async def settle(url: str, ids: list[str], budget: float) -> Counter[str]:
    """Poll every job until terminal or the budget runs out; their final states."""
    deadline = time.monotonic() + budget
    final: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=url, timeout=10, trust_env=False) as client:
        while time.monotonic() < deadline:
            for job_id in ids:
                if final.get(job_id) in TERMINAL:
                    continue
                response = await client.get(f"/reports/{job_id}")
                ok = response.status_code == 200
                final[job_id] = response.json()["status"] if ok else str(response.status_code)
            if all(state in TERMINAL for state in final.values()):
                break
            await asyncio.sleep(0.5)
    return Counter(final.values())


async def load(url: str, clients: int, seconds: float) -> Tally:
    tally = Tally()
    until = time.monotonic() + seconds
    await asyncio.gather(*(client_loop(url, tally, until, n) for n in range(clients)))
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dataset", type=Path, default=CACHE / "sales.sqlite3")
    args = parser.parse_args(argv)
    ensure_dataset(args.dataset, DEFAULT_ROWS)
    with tempfile.TemporaryDirectory(prefix="lrokit-load-") as tmp:
        server = ReferenceServer(Path(tmp), args.dataset, "--workers", str(args.workers))
        try:
            server.start(120)
            started = time.monotonic()
            tally = asyncio.run(load(server.url, args.clients, args.seconds))
            took = time.monotonic() - started
            final = asyncio.run(settle(server.url, tally.jobs, 120))
        finally:
            server.stop()
    requests = sum(tally.codes.values())
    errors5xx = sum(n for code, n in tally.codes.items() if code >= 500)
    lat = sorted(tally.latencies)
    p99 = lat[int(len(lat) * 0.99) - 1] if lat else 0.0
    lost = sum(n for state, n in final.items() if state not in TERMINAL)
    print(f"{args.clients} clients for {took:.1f} s: {requests} requests ({requests / took:.0f}/s)")
    print(
        f"status codes {dict(sorted(tally.codes.items()))}; 5xx {errors5xx}; "
        f"transport errors {dict(tally.errors)}"
    )
    print(f"latency p50 {statistics.median(lat) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    print(f"jobs submitted {len(tally.jobs)}, final states {dict(final)}, lost {lost}")
    return 0 if errors5xx == 0 and lost == 0 and not tally.errors else 1


if __name__ == "__main__":
    sys.exit(main())
