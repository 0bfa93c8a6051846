"""The channels beyond polling: how soon a client learns that a report ended, and what open
status streams cost the server.

1. **Latency.** ``--jobs`` reports of ``--pace`` seconds each, followed three ways at once on
   one server: a status stream (``Accept: text/event-stream``), held reads (``Prefer:
   wait=20``), and polling that honours Retry-After (the baseline: what every client does
   without the new channels). For each, the time from the job's ``finishedAt`` (the terminal
   write) to the moment the client holds the terminal status; p50 and p99, and the ratio to
   polling's in the same run. Server and client share the machine's clock.
2. **Open streams.** On a server without workers (its jobs stay PENDING, its streams idle),
   ``--streams`` streams are opened in steps; the server's resident memory after each step,
   and the growth per stream. Then every job is cancelled, and the time until every stream
   has delivered its CANCELLED event and ended, counted from the last cancel.

Talks only to servers it starts on 127.0.0.1.

    .venv/bin/python bench/stream.py [--jobs 30] [--pace 2] [--streams 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _latency import ROWS, SEED, TERMINAL, by_polling, finished, quantiles  # bench/ on sys.path
from _server import CACHE, ReferenceServer

from lrokit.server.work.dataset import ensure_dataset


async def by_stream(client: httpx.AsyncClient, monitor: str) -> float:
    """Seconds from the terminal write to the terminal event."""
    async with client.stream("GET", monitor, headers={"Accept": "text/event-stream"}) as events:
        async for line in events.aiter_lines():
            if line.startswith("data: "):
                status = json.loads(line[6:])
                if status["status"] in TERMINAL:
                    return time.time() - finished(status)
    raise RuntimeError(f"{monitor}: the stream ended before the report")


async def by_wait(client: httpx.AsyncClient, monitor: str) -> float:
    for _ in range(100):  # bounded: a held read answers on each change
        status = (await client.get(monitor, headers={"Prefer": "wait=20"})).json()
        if status["status"] in TERMINAL:
            return time.time() - finished(status)
    raise RuntimeError(f"{monitor}: not terminal after 100 held reads")


async def latency(url: str, jobs: int) -> int:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits, trust_env=False) as c:
        monitors = []
        for _ in range(jobs):
            response = await c.post("/reports", json=SEED)
            monitors.append(response.headers["location"])
        ways = {"stream": by_stream, "held read": by_wait, "polling": by_polling}
        results = await asyncio.gather(
            *(asyncio.gather(*(way(c, m) for m in monitors)) for way in ways.values())
        )
    seen = dict(zip(ways, results, strict=True))
    base = quantiles(list(seen["polling"]))
    print(f"{'channel':<10} {'p50 ms':>8} {'p99 ms':>8} {'p50 vs polling':>15}")
    for name, values in seen.items():
        p50, p99 = quantiles(list(values))
        print(f"{name:<10} {p50 * 1000:>8.1f} {p99 * 1000:>8.1f} {p50 / base[0]:>14.3f}x")
    return 0


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def open_streams(url: str, pid: int, count: int) -> int:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits, trust_env=False) as c:
        monitors = [(await c.post("/reports", json=SEED)).headers["location"] for _ in range(count)]
        before = rss_kib(pid)
        opened: list[asyncio.Future[str]] = []
        ready = asyncio.Semaphore(0)

        async def follow(monitor: str) -> str:
            async with c.stream("GET", monitor, headers={"Accept": "text/event-stream"}) as events:
                last = ""
                first = True
                async for line in events.aiter_lines():
                    if line.startswith("data: "):
                        last = json.loads(line[6:])["status"]
                        if first:
                            first = False
                            ready.release()
                return last

        print(f"{'streams':>8} {'server RSS MiB':>15} {'KiB per stream':>15}")
        print(f"{0:>8} {before / 1024:>15.1f} {'':>15}")
        step = max(1, count // 4)
        for start in range(0, count, step):
            batch = monitors[start : start + step]
            opened += [asyncio.ensure_future(follow(m)) for m in batch]
            for _ in batch:
                await asyncio.wait_for(ready.acquire(), 60)
            await asyncio.sleep(0.5)
            now = rss_kib(pid)
            print(f"{len(opened):>8} {now / 1024:>15.1f} {(now - before) / len(opened):>15.1f}")
        for monitor in monitors:
            await c.delete(monitor)
        last_cancel = time.monotonic()
        ends = await asyncio.wait_for(asyncio.gather(*opened), 120)
        took = time.monotonic() - last_cancel
    cancelled = sum(state == "CANCELLED" for state in ends)
    print(
        f"cancelled all {count} one by one: {cancelled} streams delivered CANCELLED and ended, "
        f"the last {took * 1000:.0f} ms after the last cancel"
    )
    return 0 if cancelled == count else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--pace", type=float, default=2.0)
    parser.add_argument("--streams", type=int, default=1000)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    dataset = CACHE / f"sales-{ROWS}.sqlite3"
    CACHE.mkdir(parents=True, exist_ok=True)
    ensure_dataset(dataset, ROWS)
    status = 0
    with tempfile.TemporaryDirectory(prefix="lrokit-stream-") as tmp:
        for name, extra in (
            ("latency", ["--workers", "4", "--pace", str(args.pace)]),
            ("streams", ["--workers", "0", "--max-in-flight", str(args.streams + 64)]),
        ):
            workdir = Path(tmp) / name
            workdir.mkdir()
            server = ReferenceServer(workdir, dataset, "--dataset-rows", str(ROWS), *extra)
            server.start(timeout=120)
            try:
                assert server.process is not None
                if name == "latency":
                    print(f"-- {args.jobs} reports of {args.pace:g} s, followed three ways at once")
                    status |= asyncio.run(latency(server.url, args.jobs))
                else:
                    print(f"-- {args.streams} open streams on a server without workers")
                    status |= asyncio.run(
                        open_streams(server.url, server.process.pid, args.streams)
                    )
            finally:
                server.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
