"""The hot path: status GET and submission POST against a bare Starlette app, with wrk.

Starts, on 127.0.0.1, the reference server (``lrokit serve --workers 0``: the API alone, with
request validation on), the same with ``--no-fast-path`` (connexion's stack alone) and the
bare Starlette app of ``bench/bare_app.py``, each over a copy of one job database (the
reference server's own schema, N seeded jobs, half of them DONE). Each server is pinned to
CPU 0 and wrk to CPU 1 (``taskset``). For each operation, wrk runs a warm-up and then
``--seconds`` with ``--connections`` against each server in turn (``--rounds`` times,
alternating, so drift hits all alike): ``GET /reports/{id}`` over the seeded ids and
``POST /reports`` with the seed request. Prints req/s, p50 and p99 latency and the req/s as
a ratio to the bare app in the same run; non-2xx answers and socket errors are counted and
make the exit status 1. Before the load, each reference server is checked to answer a GET,
a POST and an invalid POST as the contract says.

    .venv/bin/python bench/hot_path.py [--seconds 10] [--connections 32] [--rounds 1]

Needs wrk and taskset (Debian: ``apt-get install wrk util-linux``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
from _server import CACHE, HOST, ReferenceServer, free_port  # bench/ is on sys.path

from lrokit.server.jobs.job import JobState, NewJob
from lrokit.server.jobs.sqlite import SQLiteJobStore
from lrokit.server.settings import DEFAULT_ROWS
from lrokit.server.work.dataset import ensure_dataset

BENCH = Path(__file__).resolve().parent
SEED = {"reportType": "yearly-sales", "parameters": {"year": "2023"}}
DONE_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "p50": %d, "p99": %d, "status": %d, "socket": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


class BareServer(ReferenceServer):
    """``bench/bare_app.py`` under uvicorn (uvloop, httptools), pinned like the reference."""

    def __init__(self, workdir: Path, db: Path, probe_id: str, prefix: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log = workdir / "bare.log"
        self.command = [
            *prefix, sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH), "bare_app:app",
            "--host", HOST, "--port", str(self.port), "--log-level", "warning",
            "--no-access-log",
        ]  # fmt: skip
        self.env = {**os.environ, "LROKIT_BENCH_DB": str(db)}
        self.ready_path = f"/reports/{probe_id}"
        self.process = None


@dataclass
class Figures:
    """One wrk run."""

    rate: float
    p50_ms: float
    p99_ms: float
    bad: int


async def seed(db: Path, jobs: int) -> list[str]:
    """``jobs`` PENDING jobs in a new store, half of them then DONE; their ids."""
    store = SQLiteJobStore(db)
    await store.open()
    try:
        ids = []
        for number in range(jobs):
            job, _ = await store.create(NewJob(f"bench{number:06d}", "yearly-sales",
                                               {"year": "2023"}, None, None))  # fmt: skip
            ids.append(job.id)
        for _ in range(jobs // 2):
            claim, _lost = await store.claim("bench", 60.0)
            assert claim is not None
            await store.finish(claim, JobState.DONE, result={"rows": []})
        return ids
    finally:
        await store.close()


def check_contract(url: str, job_id: str) -> None:
    """The reference server answers the two operations as the contract says, or we stop."""
    with httpx.Client(base_url=url, trust_env=False, timeout=5) as client:
        got = client.get(f"/reports/{job_id}")
        accepted = client.post("/reports", json=SEED)
        rejected = client.post("/reports", json={"reportType": "nonsense"})
    problems = []
    if got.status_code != 200 or got.headers.get("content-type") != "application/json":
        problems.append(f"GET answered {got.status_code} {got.headers.get('content-type')}")
    if accepted.status_code != 202 or "location" not in accepted.headers:
        problems.append(f"POST answered {accepted.status_code} without the Location it needs")
    if rejected.status_code != 400 or "problem+json" not in rejected.headers["content-type"]:
        problems.append(f"an invalid POST answered {rejected.status_code}, not a 400 problem")
    if problems:
        raise SystemExit("the reference server broke its contract: " + "; ".join(problems))


def wrk(url: str, script: Path, seconds: float, connections: int) -> Figures:
    """One wrk run. Dirty pages of earlier runs are flushed first, so that no run pays for
    the writeback of another's files in its fsyncs."""
    os.sync()
    command = [
        "taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s",
        "--timeout", "5s", "-s", str(script), url,
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith('{"requests"'))
    data = json.loads(line)
    return Figures(
        data["requests"] / data["seconds"], data["p50"] / 1e3, data["p99"] / 1e3,
        data["status"] + data["socket"],
    )  # fmt: skip


def scripts(workdir: Path, ids: list[str]) -> dict[str, Path]:
    listed = ", ".join(f'"{i}"' for i in ids)
    get = f"""
local ids = {{{listed}}}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/reports/" .. ids[(n % #ids) + 1])
end
"""
    post = f"""
wrk.method = "POST"
wrk.path = "/reports"
wrk.body = '{json.dumps(SEED)}'
wrk.headers["Content-Type"] = "application/json"
"""
    paths = {}
    for name, text in (("GET /reports/{id}", get), ("POST /reports", post)):
        path = workdir / f"{name.split()[0].lower()}.lua"
        path.write_text(text + DONE_LUA)
        paths[name] = path
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1000, help="seeded jobs")
    parser.add_argument("--dataset", type=Path, default=CACHE / "sales.sqlite3")
    args = parser.parse_args(argv)
    if not (shutil.which("wrk") and shutil.which("taskset")):
        print("bench/hot_path.py needs wrk and taskset on PATH", file=sys.stderr)
        return 2
    ensure_dataset(args.dataset, DEFAULT_ROWS)
    pin = ["taskset", "-c", "0"]
    with tempfile.TemporaryDirectory(prefix="lrokit-hot-") as tmp:
        work = Path(tmp)
        ids = asyncio.run(seed(work / "jobs.sqlite3", args.jobs))
        for name in ("bare", "slow"):
            (work / name).mkdir()
            shutil.copy(work / "jobs.sqlite3", work / name / "jobs.sqlite3")
        servers = {
            "bare Starlette": BareServer(work, work / "bare" / "jobs.sqlite3", ids[0], pin),
            "lrokit": ReferenceServer(work, args.dataset, "--workers", "0", prefix=pin),
            "connexion only": ReferenceServer(
                work / "slow", args.dataset, "--workers", "0", "--no-fast-path", prefix=pin
            ),
        }
        results: dict[tuple[str, str], list[Figures]] = {}
        try:
            for server in servers.values():
                server.start(120)
            for name in ("lrokit", "connexion only"):
                check_contract(servers[name].url, ids[0])
            for operation, script in scripts(work, ids).items():
                for server in servers.values():  # warm-up, not counted
                    wrk(server.url, script, 2, args.connections)
                for _ in range(args.rounds):
                    for name, server in servers.items():
                        figures = wrk(server.url, script, args.seconds, args.connections)
                        results.setdefault((operation, name), []).append(figures)
                        print(f"{operation:<18} {name:<15} {figures.rate:8.0f} req/s", flush=True)
        finally:
            for server in servers.values():
                server.stop()
    print(f"\n{args.connections} connections, {args.seconds:g} s per run, server on CPU 0, "
          f"wrk on CPU 1, median of {args.rounds} round(s)")  # fmt: skip
    print(f"{'operation':<18} {'server':<15} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'x bare req/s':>12} {'errors':>6}")  # fmt: skip
    bad = 0
    for (operation, name), runs in results.items():
        rate = statistics.median(r.rate for r in runs)
        base = statistics.median(r.rate for r in results[(operation, "bare Starlette")])
        errors = sum(r.bad for r in runs)
        bad += errors
        print(f"{operation:<18} {name:<15} {rate:8.0f} "
              f"{statistics.median(r.p50_ms for r in runs):7.2f} "
              f"{statistics.median(r.p99_ms for r in runs):7.2f} "
              f"{rate / base:12.2f} {errors:6d}")  # fmt: skip
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
