"""Jobs per second end to end, SQLite against PostgreSQL with 1, 2 and 4 workers.

For each setup, starts the reference server on 127.0.0.1 (for PostgreSQL: an API process
without workers and one ``lrokit worker`` process with N workers), submits J trivial reports
(a yearly summary of one region) from 20 concurrent clients, and times until every job is
DONE. Prints the setups side by side with jobs/s and the ratio to SQLite.

    .venv/bin/python bench/throughput.py [--jobs 300] [--postgres postgresql://root@127.0.0.1/test]
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
from urllib.parse import quote

import httpx
import psycopg
from _server import CACHE, LROKIT, ReferenceServer  # bench/ is on sys.path as a script
from psycopg import sql

from lrokit.server.dataset import DEFAULT_ROWS, ensure_dataset

BODY = {"reportType": "yearly-sales", "parameters": {"year": "2023", "region": "europe"}}


async def run_jobs(url: str, jobs: int, budget: float = 300) -> float:
    """Submit ``jobs`` from 20 clients, wait until all are DONE; the seconds it took."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=30, trust_env=False) as client:
        sem = asyncio.Semaphore(20)

        async def submit() -> str:
            async with sem:
                return str((await client.post("/reports", json=BODY)).json()["id"])

        ids = await asyncio.gather(*(submit() for _ in range(jobs)))
        pending = set(ids)
        while pending and time.monotonic() - started < budget:

            async def state(job: str) -> tuple[str, str]:
                async with sem:
                    return job, (await client.get(f"/reports/{job}")).json()["status"]

            for job, status in await asyncio.gather(*(state(j) for j in list(pending))):
                if status in ("DONE", "ERROR", "CANCELLED"):
                    pending.discard(job)
            await asyncio.sleep(0.05)
    if pending:
        raise RuntimeError(f"{len(pending)} jobs not finished within {budget} s")
    return time.monotonic() - started


def measure(setup: str, workers: int, jobs: int, dataset: Path, postgres: str | None) -> float:
    with tempfile.TemporaryDirectory(prefix="lrokit-tput-") as tmp:
        work = Path(tmp)
        if setup == "sqlite":
            server = ReferenceServer(work, dataset, "--workers", str(workers))
            try:
                server.start(120)
                return jobs / asyncio.run(run_jobs(server.url, jobs))
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
            return jobs / asyncio.run(run_jobs(server.url, jobs))
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(15)
            server.stop()
            with psycopg.connect(postgres, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--postgres", default=os.environ.get("LROKIT_TEST_POSTGRES_URL"))
    parser.add_argument("--dataset", type=Path, default=CACHE / "sales.sqlite3")
    args = parser.parse_args(argv)
    ensure_dataset(args.dataset, DEFAULT_ROWS)
    setups = [("sqlite", 2)]
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
