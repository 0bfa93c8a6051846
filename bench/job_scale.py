"""Memory and status GET speed of the reference server as its job table grows, 10k to 1M jobs.

For each size, builds a job database with the reference server's own schema (its migrations)
holding that many finished jobs with small results, then starts ``lrokit serve`` on it
(127.0.0.1, pinned to CPU 0, two idle workers polling for work as in production) and runs wrk
(on CPU 1) against ``GET /reports/{id}``, each request for an id drawn at random from the
whole table by wrk itself (so a 1M-job table is read across all its pages, not a warm few),
twice: first "cold", after dropping the kernel's page cache where the bench may (root:
``/proc/sys/vm/drop_caches``; it says whether it did), so the run starts with the table on
disk; then "warm", with the whole file read into the page cache first. Prints,
per size, the database size, the server's resident memory (VmRSS) after the load, req/s and
p99, and each as a ratio to the smallest size. The targets of issue 7: memory within ±10 %,
req/s down by at most 10 % between 10k and 1M jobs.

    .venv/bin/python bench/job_scale.py [--sizes 10000,100000,1000000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from _server import CACHE, ReferenceServer  # bench/ is on sys.path as a script
from hot_path import DONE_LUA, wrk

from lrokit.server.jobs.sqlite import SQLiteJobStore
from lrokit.server.settings import DEFAULT_ROWS
from lrokit.server.work.dataset import ensure_dataset

RESULT = b'{"rows": [{"month": "2023-01", "orders": 812, "revenue": 92311.5}]}'


def build(db: Path, jobs: int) -> None:
    """``jobs`` DONE jobs in a new database made by the server's migrations, with the ids
    ``f"{n:032x}"`` for n below ``jobs`` (the script draws from them)."""

    async def migrate() -> None:
        store = SQLiteJobStore(db)
        await store.open()
        await store.close()

    asyncio.run(migrate())
    now = time.time()
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO jobs (id, report_type, parameters, state, progress, created_at,"
            " started_at, finished_at, attempts, result, updated_at, expires_at)"
            " VALUES (?, 'yearly-sales', '{\"year\": \"2023\"}', 'DONE', 100, ?, ?, ?, 1, ?, ?, ?)",
            (
                (f"{n:032x}", now - 60, now - 59, now - 58, RESULT, now - 58, now + 86400)
                for n in range(jobs)
            ),
        )
    conn.close()


def script(workdir: Path, jobs: int) -> Path:
    """A wrk script: each request a GET of a job drawn uniformly from all ``jobs``."""
    path = workdir / "get-any.lua"
    path.write_text(
        f"""
math.randomseed({jobs})
request = function()
  return wrk.format("GET", string.format("/reports/%032x", math.random(0, {jobs - 1})))
end
"""
        + DONE_LUA
    )
    return path


def drop_page_cache() -> bool:
    """Write back and drop the kernel's clean page cache; whether it could (it needs root)."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
    except OSError:
        return False
    return True


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--dataset", type=Path, default=CACHE / "sales.sqlite3")
    args = parser.parse_args(argv)
    if not (shutil.which("wrk") and shutil.which("taskset")):
        print("bench/job_scale.py needs wrk and taskset on PATH", file=sys.stderr)
        return 2
    ensure_dataset(args.dataset, DEFAULT_ROWS)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="lrokit-scale-") as tmp:
            work = Path(tmp)
            build(work / "jobs.sqlite3", size)
            db_mib = (work / "jobs.sqlite3").stat().st_size / 2**20
            server = ReferenceServer(work, args.dataset, prefix=["taskset", "-c", "0"])
            try:
                server.start(120)
                assert server.process is not None
                load = script(work, size)
                wrk(server.url, load, 3, args.connections)  # warm-up of the code, not the pages
                dropped = drop_page_cache()
                cold = wrk(server.url, load, args.seconds, args.connections)
                (work / "jobs.sqlite3").read_bytes()  # the whole file into the page cache
                warm = wrk(server.url, load, args.seconds, args.connections)
                rss = rss_mib(server.process.pid)
            finally:
                server.stop()
        rows.append((size, db_mib, rss, cold, warm))
        cache = "page cache dropped" if dropped else "page cache NOT dropped (not root)"
        print(f"{size:>9} jobs: {db_mib:7.1f} MiB on disk, RSS {rss:6.1f} MiB, "
              f"cold {cold.rate:7.0f} req/s p99 {cold.percentile(99):.2f} ms ({cache}), "
              f"warm {warm.rate:7.0f} req/s p99 {warm.percentile(99):.2f} ms",
              flush=True)  # fmt: skip
    base = rows[0]
    print("\ncold: the table's pages on disk when the run starts; warm: in the page cache")
    print(f"{'jobs':>9} {'db MiB':>8} {'RSS MiB':>8} {'x RSS':>6} {'cold/s':>7} {'x cold':>7} "
          f"{'p99 ms':>7} {'warm/s':>7} {'x warm':>7} {'p99 ms':>7} {'errors':>6}")  # fmt: skip
    for size, db_mib, rss, cold, warm in rows:
        print(f"{size:>9} {db_mib:8.1f} {rss:8.1f} {rss / base[2]:6.2f} {cold.rate:7.0f} "
              f"{cold.rate / base[3].rate:7.2f} {cold.percentile(99):7.2f} {warm.rate:7.0f} "
              f"{warm.rate / base[4].rate:7.2f} {warm.percentile(99):7.2f} "
              f"{cold.bad + warm.bad:6d}")  # fmt: skip
    return 1 if any(cold.bad + warm.bad for *_, cold, warm in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
