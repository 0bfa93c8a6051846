"""The hot path: status GET and submission POST of the reference server against two baselines.

Starts, on 127.0.0.1, each over a copy of one job database (the reference server's own schema,
N seeded jobs, half of them DONE), pinned to CPU 0 while wrk runs on CPU 1 (``taskset``):

* ``bare normal``: ``bench/bare_app.py`` with its writer at ``synchronous=NORMAL``. No
  durability (a 202 may be lost to a power cut): the upper bound, not a fair rival.
* ``bare group``: ``bench/bare_app.py`` over the reference server's own store: WAL at
  ``synchronous=FULL`` with the same group commit on the same writer thread. The same
  guarantees as the reference server; the gap to it is what the framework and validation cost.
* ``lrokit``: ``lrokit serve --workers 0`` (the API alone, request validation on).
* ``connexion only``: the same with ``--no-fast-path`` (connexion's stack alone).
* ``lrokit info``: ``lrokit`` at the default ``--log-level info`` rather than ``warning``:
  what the default logging costs (a line per submission; per request with ``--access-log``).

All four answer the same document with the same headers; the script checks that first (and
that the reference servers answer an invalid POST with a 400 problem), and stops if not. For
each operation (``GET /reports/{id}`` over the seeded ids, ``POST /reports`` with the seed
request), wrk runs a warm-up and then ``--seconds`` with ``--connections`` against each server
in turn (``--rounds`` times, alternating, so drift hits all alike): the saturation figures,
req/s and latency percentiles, and req/s as ratios to both baselines. Then, per server, a fixed
offered load of half its own saturated req/s, which is what users of a server sized with
headroom see: each connection waits a fixed time between answer and next request (calibrated
in a 3 s run), so this is a closed loop with think time, like a client polling on Retry-After.
Last, each server's latency histogram at saturation: the share of requests per band of
milliseconds. Non-2xx answers and socket errors are counted and make the exit status 1.

    .venv/bin/python bench/hot_path.py [--seconds 10] [--connections 32] [--rounds 1]
                                       [--servers lrokit,bare-group]

Needs wrk and taskset (Debian: ``apt-get install wrk util-linux``).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
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
  local marks = {}
  for i = 1, 1000 do marks[i] = latency:percentile(i / 10) end
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "status": %d, "socket": %d, "marks": [%s]}\\n',
    summary.requests, summary.duration / 1e6, e.status,
    e.connect + e.read + e.write + e.timeout, table.concat(marks, ",")))
end
"""
#: Added to a script for a fixed offered load: each connection waits DELAY ms before sending.
PACED_LUA = """
delay = function()
  return DELAY
end
"""


class BareServer(ReferenceServer):
    """``bench/bare_app.py`` in ``mode`` under uvicorn (uvloop, httptools), pinned like the
    reference."""

    def __init__(self, workdir: Path, mode: str, probe_id: str, prefix: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log = workdir / f"bare-{mode}.log"
        self.command = [
            *prefix, sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH), "bare_app:app",
            "--host", HOST, "--port", str(self.port), "--log-level", "warning",
            "--no-access-log",
        ]  # fmt: skip
        self.env = {
            **os.environ,
            "LROKIT_BENCH_DB": str(workdir / "jobs.sqlite3"),
            "LROKIT_BENCH_MODE": mode,
        }
        self.ready_path = f"/reports/{probe_id}"
        self.process = None


@dataclass
class Figures:
    """One wrk run: req/s, the latency at each per-mille (``marks[i]`` is percentile
    ``(i + 1) / 10``, in ms), and the non-2xx answers and socket errors."""

    rate: float
    marks: list[float]
    bad: int

    def percentile(self, p: float) -> float:
        return self.marks[max(0, round(p * 10) - 1)]


#: The bands of the latency histogram, in ms: [0, 1), [1, 2) … [50, ∞).
BANDS = (1, 2, 5, 10, 20, 50)


def histogram(figures: Figures) -> list[float]:
    """The share of requests in each band of :data:`BANDS` (and above the last), read off the
    per-mille percentiles: exact to 0.1 % of requests."""
    edges = [0.0, *map(float, BANDS)]
    shares = []
    for low, high in itertools.pairwise([*edges, float("inf")]):
        shares.append(sum(1 for m in figures.marks if low <= m < high) / len(figures.marks))
    return shares


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


#: The headers whose values every server must answer alike (``Location`` differs by job).
SAME_HEADERS = ("content-type", "cache-control", "vary", "retry-after")


def check_answers(servers: dict[str, ReferenceServer], job_ids: list[str]) -> None:
    """Every server answers a GET of the same job (PENDING and DONE) with the same bytes and
    headers, and a POST with the same members and headers; the reference servers answer an
    invalid POST with a 400 problem. Otherwise we stop: the comparison would not be fair."""
    problems = []
    answers: dict[str, list[tuple[object, ...]]] = {}
    for name, server in servers.items():
        with httpx.Client(base_url=server.url, trust_env=False, timeout=5) as client:
            got = [client.get(f"/reports/{job_id}") for job_id in job_ids]
            posted = client.post("/reports", json=SEED)
            if name in ("lrokit", "connexion only", "lrokit info"):
                rejected = client.post("/reports", json={"reportType": "nonsense"})
                if rejected.status_code != 400 or "problem+json" not in rejected.headers.get(
                    "content-type", ""
                ):
                    problems.append(f"{name}: an invalid POST answered {rejected.status_code}")
        if posted.status_code != 202 or "location" not in posted.headers:
            problems.append(f"{name}: POST answered {posted.status_code} without a Location")
        answers[name] = [
            *((r.status_code, r.content, *(r.headers.get(h) for h in SAME_HEADERS)) for r in got),
            (
                posted.status_code,
                sorted(posted.json()),
                *(posted.headers.get(h) for h in SAME_HEADERS),
            ),
        ]
    reference = answers.get("lrokit") or next(iter(answers.values()))
    for name, mine in answers.items():
        if mine != reference:
            problems.append(f"{name} does not answer as lrokit does: {mine} != {reference}")
    if problems:
        raise SystemExit("the servers do not answer alike: " + "; ".join(problems))


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
        data["requests"] / data["seconds"],
        [mark / 1e3 for mark in data["marks"]],
        data["status"] + data["socket"],
    )


def paced(script: Path, delay_ms: float) -> Path:
    """``script`` with each connection waiting ``delay_ms`` before each request."""
    path = script.with_name(f"{script.stem}-paced.lua")
    path.write_text(script.read_text() + PACED_LUA.replace("DELAY", f"{delay_ms:.3f}"))
    return path


def half_load(
    url: str, script: Path, saturated: float, seconds: float, connections: int
) -> Figures:
    """A run offered half of ``saturated`` req/s: each connection's wait between requests is
    sized for it, then corrected once by a 3 s calibration run (the answers' own latency adds
    to the wait)."""
    target = saturated / 2
    delay = connections * 1000 / target
    trial = wrk(url, paced(script, delay), 3, connections)
    delay = max(0.0, delay - connections * 1000 * (1 / trial.rate - 1 / target))
    return wrk(url, paced(script, delay), seconds, connections)


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


SERVERS = ("bare normal", "bare group", "lrokit", "connexion only", "lrokit info")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1000, help="seeded jobs")
    parser.add_argument("--dataset", type=Path, default=CACHE / "sales.sqlite3")
    parser.add_argument(
        "--servers",
        default=",".join(s.replace(" ", "-") for s in SERVERS),
        help="which of them to run, comma-separated (default: all)",
    )
    parser.add_argument("--no-half-load", action="store_true", help="saturation only")
    args = parser.parse_args(argv)
    chosen = [s for s in SERVERS if s.replace(" ", "-") in args.servers.split(",")]
    if not chosen:
        parser.error(f"--servers: choose among {', '.join(s.replace(' ', '-') for s in SERVERS)}")
    if not (shutil.which("wrk") and shutil.which("taskset")):
        print("bench/hot_path.py needs wrk and taskset on PATH", file=sys.stderr)
        return 2
    ensure_dataset(args.dataset, DEFAULT_ROWS)
    pin = ["taskset", "-c", "0"]
    with tempfile.TemporaryDirectory(prefix="lrokit-hot-") as tmp:
        work = Path(tmp)
        ids = asyncio.run(seed(work / "jobs.sqlite3", args.jobs))
        makers = {
            "bare normal": lambda d: BareServer(d, "normal", ids[0], pin),
            "bare group": lambda d: BareServer(d, "group", ids[0], pin),
            "lrokit": lambda d: ReferenceServer(d, args.dataset, "--workers", "0", prefix=pin),
            "connexion only": lambda d: ReferenceServer(
                d, args.dataset, "--workers", "0", "--no-fast-path", prefix=pin
            ),
            "lrokit info": lambda d: ReferenceServer(
                d, args.dataset, "--workers", "0", "--log-level", "info", prefix=pin
            ),
        }
        servers: dict[str, ReferenceServer] = {}
        for name in chosen:
            (work / name.replace(" ", "-")).mkdir()
            shutil.copy(work / "jobs.sqlite3", work / name.replace(" ", "-") / "jobs.sqlite3")
            servers[name] = makers[name](work / name.replace(" ", "-"))
        saturated: dict[tuple[str, str], list[Figures]] = {}
        halves: dict[tuple[str, str], Figures] = {}
        try:
            for server in servers.values():
                server.start(120)
            check_answers(servers, [ids[0], ids[-1]])
            for operation, script in scripts(work, ids).items():
                for server in servers.values():  # warm-up, not counted
                    wrk(server.url, script, 2, args.connections)
                for _ in range(args.rounds):
                    for name, server in servers.items():
                        figures = wrk(server.url, script, args.seconds, args.connections)
                        saturated.setdefault((operation, name), []).append(figures)
                        print(f"{operation:<18} {name:<15} {figures.rate:8.0f} req/s "
                              f"p99 {figures.percentile(99):.2f} ms", flush=True)  # fmt: skip
                if args.no_half_load:
                    continue
                for name, server in servers.items():
                    rate = statistics.median(r.rate for r in saturated[(operation, name)])
                    figures = half_load(server.url, script, rate, args.seconds, args.connections)
                    halves[(operation, name)] = figures
                    print(f"{operation:<18} {name:<15} {figures.rate:8.0f} req/s at half load "
                          f"p99 {figures.percentile(99):.2f} ms", flush=True)  # fmt: skip
        finally:
            for server in servers.values():
                server.stop()
    return report(args, saturated, halves)


def report(
    args: argparse.Namespace,
    saturated: dict[tuple[str, str], list[Figures]],
    halves: dict[tuple[str, str], Figures],
) -> int:
    def median(runs: list[Figures], p: float) -> float:
        return statistics.median(r.percentile(p) for r in runs)

    print(f"\nsaturation: {args.connections} connections, {args.seconds:g} s per run, server on "
          f"CPU 0, wrk on CPU 1, median of {args.rounds} round(s)")  # fmt: skip
    print(f"{'operation':<18} {'server':<15} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'p99.9 ms':>8} {'x normal':>8} {'x group':>8} {'errors':>6}")  # fmt: skip
    bad = 0
    for (operation, name), runs in saturated.items():
        rate = statistics.median(r.rate for r in runs)
        ratios = []
        for base in ("bare normal", "bare group"):
            if (operation, base) in saturated:
                base_rate = statistics.median(r.rate for r in saturated[(operation, base)])
                ratios.append(f"{rate / base_rate:8.2f}")
            else:
                ratios.append(f"{'-':>8}")
        errors = sum(r.bad for r in runs)
        bad += errors
        print(f"{operation:<18} {name:<15} {rate:8.0f} {median(runs, 50):7.2f} "
              f"{median(runs, 99):7.2f} {median(runs, 99.9):8.2f} {' '.join(ratios)} "
              f"{errors:6d}")  # fmt: skip
    if halves:
        print("\nhalf load: each server offered half its own saturated req/s, same connections")
        print(f"{'operation':<18} {'server':<15} {'offered':>8} {'req/s':>8} {'p50 ms':>7} "
              f"{'p99 ms':>7} {'p99.9 ms':>8} {'errors':>6}")  # fmt: skip
        for (operation, name), figures in halves.items():
            offered = statistics.median(r.rate for r in saturated[(operation, name)]) / 2
            bad += figures.bad
            print(f"{operation:<18} {name:<15} {offered:8.0f} {figures.rate:8.0f} "
                  f"{figures.percentile(50):7.2f} {figures.percentile(99):7.2f} "
                  f"{figures.percentile(99.9):8.2f} {figures.bad:6d}")  # fmt: skip
    labels = [f"<{BANDS[0]}", *(f"{a}-{b}" for a, b in itertools.pairwise(BANDS)),
              f">={BANDS[-1]}"]  # fmt: skip
    print("\nlatency histogram at saturation (last round): share of requests per band of ms")
    print(f"{'operation':<18} {'server':<15} " + " ".join(f"{x:>7}" for x in labels))
    for (operation, name), runs in saturated.items():
        shares = histogram(runs[-1])
        print(f"{operation:<18} {name:<15} " + " ".join(f"{x:7.1%}" for x in shares))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
