"""Jobs per second end to end: SQLite with the default workers, PostgreSQL with 1, 2 and 4.

For each setup, starts the reference server on 127.0.0.1 (for PostgreSQL: an API process
without workers and one ``lrokit worker`` process with N workers), submits J trivial reports
(one day's sales by region) from 20 concurrent clients, and times from the first submission
until the list of reports shows none PENDING or PROCESSING; then reads the DONE list and
fails unless every submitted job is in it. Prints the setups side by side with jobs/s and
the ratio to SQLite. Each setup is bounded by 120 s.

    .venv/bin/python bench/throughput.py [--jobs 2000] [--postgres postgresql://root@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import psycopg
from _server import CACHE, HOST, LROKIT, ReferenceServer  # bench/ is on sys.path as a script
from psycopg import sql

from lrokit.server.settings import DEFAULT_ROWS, Settings
from lrokit.server.work.dataset import ensure_dataset

#: A trivial report: one day's sales by region, 6 indexed queries over ~470 orders (~0.15 ms).
#: The jobs are really computed; the bench measures the job machinery (accept, claim, run,
#: record), not the dataset: a yearly summary of one region costs ~5 ms of SQL per job, which
#: alone would take both cores of a small machine at 500 jobs/s.
BODY = orjson.dumps(
    {"reportType": "sales-by-region", "parameters": {"from": "2023-06-01", "to": "2023-06-01"}}
)
CLIENTS = 20
#: Polled until it lists no job; then every page of DONE jobs is read, 100 a page.
UNFINISHED = "/reports?status=PENDING&status=PROCESSING&limit=1"
DONE_PAGE = "/reports?status=DONE&limit=100"
POLL_EVERY = 0.01  # seconds; also bounds how late the timing may end


class Connection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1, sending one request at a time.

    A few lines of asyncio instead of a general client: at hundreds of requests a second a
    general client's own CPU would be the bottleneck on a small machine, not the server.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection(HOST, port))

    async def request(self, method: str, target: str, body: bytes = b"") -> tuple[int, Any]:
        """Send a request; its status and JSON body, within 30 s."""
        head = f"{method} {target} HTTP/1.1\r\nHost: {HOST}\r\nAccept: application/json\r\n"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        async with asyncio.timeout(30):
            lines = (await self.reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in lines
                if line.lower().startswith(b"content-length:")
            )
            payload = await self.reader.readexactly(length)
        return int(lines[0].split(b" ", 2)[1]), orjson.loads(payload)

    def close(self) -> None:
        self.writer.close()


async def run_jobs(port: int, jobs: int, budget: float = 120) -> float:
    """Submit ``jobs`` from 20 clients, wait until none is unfinished, check that every one is
    DONE; the seconds from the first submission until none was unfinished. All within
    ``budget`` seconds."""
    connections = [await Connection.open(port) for _ in range(CLIENTS)]
    ids: set[str] = set()

    async def submit(conn: Connection, count: int) -> None:
        for _ in range(count):
            status, doc = await conn.request("POST", "/reports", BODY)
            if status != 202:
                raise RuntimeError(f"POST /reports answered {status}: {doc}")
            ids.add(doc["id"])

    try:
        async with asyncio.timeout(budget):
            started = time.monotonic()
            shares = [jobs // CLIENTS + (n < jobs % CLIENTS) for n in range(CLIENTS)]
            await asyncio.gather(*map(submit, connections, shares))
            if len(ids) != jobs:
                raise RuntimeError(f"{jobs} submissions answered {len(ids)} distinct ids")
            poll = connections[0]
            for _ in range(int(budget / POLL_EVERY)):  # the timeout ends it before
                if not (await poll.request("GET", UNFINISHED))[1]["items"]:
                    break
                await asyncio.sleep(POLL_EVERY)
            took = time.monotonic() - started
            # Terminal states never change: a job listed DONE now was DONE when timing ended.
            done: set[str] = set()
            target: str | None = DONE_PAGE
            for _ in range(jobs // 100 + 2):
                if target is None:
                    break
                doc = (await poll.request("GET", target))[1]
                done.update(item["id"] for item in doc["items"])
                target = doc["links"].get("next", {}).get("href")
    finally:
        for conn in connections:
            conn.close()
    if missing := ids - done:
        raise RuntimeError(f"{len(missing)} of {jobs} jobs did not end DONE")
    return took


def measure(setup: str, workers: int, jobs: int, dataset: Path, postgres: str | None) -> float:
    with tempfile.TemporaryDirectory(prefix="lrokit-tput-") as tmp:
        work = Path(tmp)
        if setup == "sqlite":
            server = ReferenceServer(work, dataset, "--workers", str(workers))
            try:
                server.start(120)
                return jobs / asyncio.run(run_jobs(server.port, jobs))
            finally:
                server.stop()
        assert postgres is not None
        schema = f"lrokit_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(postgres, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        store = f"{postgres}?options={quote(f'-csearch_path={schema}')}"
        server = ReferenceServer(work, dataset, "--workers", "0", "--store", store)
        worker: subprocess.Popen[bytes] | None = None
        try:
            server.start(120)
            with (work / "worker.log").open("ab") as log:
                worker = subprocess.Popen(
                    [str(LROKIT), "worker", "--store", store, "--dataset", str(dataset),
                     "--workers", str(workers), "--log-level", "warning"],
                    stdout=log, stderr=subprocess.STDOUT,
                )  # fmt: skip
            return jobs / asyncio.run(run_jobs(server.port, jobs))
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(15)
            server.stop()
            with psycopg.connect(postgres, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--postgres", default=os.environ.get("LROKIT_TEST_POSTGRES_URL"))
    parser.add_argument("--dataset", type=Path, default=CACHE / "sales.sqlite3")
    args = parser.parse_args(argv)
    ensure_dataset(args.dataset, DEFAULT_ROWS)
    setups = [("sqlite", Settings().workers)]
    if args.postgres:
        setups += [("postgresql", n) for n in (1, 2, 4)]
    else:
        print("no --postgres URL: measuring SQLite only")
    rows = []
    for setup, workers in setups:
        rate = measure(setup, workers, args.jobs, args.dataset, args.postgres)
        rows.append((setup, workers, rate))
        print(f"{setup:>10} {workers} workers: {rate:7.1f} jobs/s", flush=True)
    base = rows[0][2]
    print("\nsetup       workers   jobs/s   x SQLite")
    for setup, workers, rate in rows:
        print(f"{setup:<11} {workers:>7} {rate:>8.1f} {rate / base:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
