"""Jobs per second by worker PROCESSES: SQLite against PostgreSQL, 1, 2 and 4 of them.

A worker process is one ``lrokit worker`` (its default ``--workers`` asyncio tasks); the
bench starts N of them itself, each a separate process, so that "2 workers" means two
processes sharing the machine's cores, not two tasks sharing one process's. Every setup uses
a fresh job store (a new SQLite file; a new PostgreSQL schema, dropped after) and the same
trivial report, and is bounded by 120 s. Two modes, each printed as a table:

``node``  (one machine running everything): an API process (``lrokit serve --workers 0``)
          and N worker processes; 20 clients submit J jobs while the workers work; timed from
          the first submission until the list shows none PENDING or PROCESSING. The baseline
          row is SQLite as ``lrokit serve`` runs it by default (its in-process workers), as
          this bench always measured; the target is PostgreSQL's best >= 0.8 x it.
``drain`` (the API idle): the N worker processes start and, once each has opened the dataset
          for every worker task, are stopped (SIGSTOP); J jobs are submitted through the API;
          the workers are continued (SIGCONT) and timed until none is PENDING or PROCESSING.
          This is what the workers alone sustain; the ratio is to 1 process of the same store
          (target: 2 processes >= 1.6 x on a 2-core machine).

After timing, every page of DONE jobs is read and the run fails unless every submitted job
is in it. The CPU columns are the CPU time (user + system, from /proc) spent in the timed
window per job, in ms: the API process, the worker processes, every ``postgres`` process of
the machine (its backends, WAL writer, ...), and this bench's clients; on a 2-core machine
they are what the workers compete with.

    .venv/bin/python bench/throughput.py [--jobs 2000] [--postgres postgresql://root@127.0.0.1/test]
        [--modes node,drain] [--processes 1,2,4]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
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
BUDGET = 120.0  # seconds for one setup, from starting its processes to the last DONE read
#: Polled until it lists no job; then every page of DONE jobs is read, 100 a page.
UNFINISHED = "/reports?status=PENDING&status=PROCESSING&limit=1"
DONE_PAGE = "/reports?status=DONE&limit=100"
POLL_EVERY = 0.01  # seconds; also bounds how late the timing may end
TICK = os.sysconf("SC_CLK_TCK")


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


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _postgres_pids() -> list[int]:
    """Every process of the machine named ``postgres`` (the server, its backends, ...)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
    return pids


@dataclass
class Cluster:
    """The processes of one setup: the API and the worker processes."""

    api: ReferenceServer
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far, by role (postgres: every postgres process alive now)."""
        assert self.api.process is not None
        return {
            "api": _cpu(self.api.process.pid),
            "workers": sum(_cpu(worker.pid) for worker in self.workers),
            "postgres": sum(map(_cpu, _postgres_pids())),
            "bench": sum(os.times()[:2]),
        }

    def signal_workers(self, signum: int) -> None:
        for worker in self.workers:
            worker.send_signal(signum)


@contextlib.contextmanager
def cluster(
    store: str, processes: int, work: Path, dataset: Path, postgres: str | None
) -> Iterator[Cluster]:
    """Start the API and ``processes`` worker processes (0: ``lrokit serve`` with its own
    default workers) on a fresh store; stop them all, and drop the schema, at the end."""
    store_args: list[str] = []
    schema: str | None = None
    if store == "postgresql":
        assert postgres is not None
        schema = f"lrokit_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(postgres, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        store_args = ["--store", f"{postgres}?options={quote(f'-csearch_path={schema}')}"]
    api_workers = [] if processes == 0 else ["--workers", "0"]
    setup = Cluster(ReferenceServer(work, dataset, *api_workers, *store_args))
    try:
        setup.api.start(BUDGET)  # the API migrates the store before the workers open it
        with (work / "workers.log").open("ab") as log:
            command = [
                str(LROKIT), "worker", "--db", str(work / "jobs.sqlite3"),
                "--dataset", str(dataset), "--log-level", "warning", *store_args,
            ]  # fmt: skip
            for _ in range(processes):
                setup.workers.append(
                    subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
                )
        yield setup
    finally:
        setup.signal_workers(signal.SIGCONT)  # a stopped process would not see its SIGTERM
        for worker in setup.workers:
            worker.terminate()
        for worker in setup.workers:
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(10)
        setup.api.stop()
        if schema is not None:
            assert postgres is not None
            with psycopg.connect(postgres, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def wait_ready(setup: Cluster, dataset: Path, deadline: float) -> None:
    """Wait until every worker process has opened the dataset once for each of its worker
    tasks (a task opens it just before its first claim)."""
    tasks = Settings().workers
    target = str(dataset.resolve())
    for worker in setup.workers:
        while True:
            if worker.poll() is not None:
                raise RuntimeError(f"a worker process exited early ({worker.returncode})")
            opened = 0
            with contextlib.suppress(OSError):
                for fd in Path(f"/proc/{worker.pid}/fd").iterdir():
                    with contextlib.suppress(OSError):
                        opened += os.readlink(fd) == target
            if opened >= tasks:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the worker processes did not get ready in time")
            time.sleep(0.05)
    time.sleep(0.3)  # the LISTEN connection, the first claims that find nothing


async def submit(connections: list[Connection], jobs: int) -> set[str]:
    """Submit ``jobs`` trivial reports, shared among the connections; their ids."""
    ids: set[str] = set()

    async def send(conn: Connection, count: int) -> None:
        for _ in range(count):
            status, doc = await conn.request("POST", "/reports", BODY)
            if status != 202:
                raise RuntimeError(f"POST /reports answered {status}: {doc}")
            ids.add(doc["id"])

    shares = [jobs // len(connections) + (n < jobs % len(connections)) for n in range(CLIENTS)]
    await asyncio.gather(*map(send, connections, shares))
    if len(ids) != jobs:
        raise RuntimeError(f"{jobs} submissions answered {len(ids)} distinct ids")
    return ids


async def drained(conn: Connection) -> None:
    """Return once the list shows no job PENDING or PROCESSING."""
    while (await conn.request("GET", UNFINISHED))[1]["items"]:  # noqa: ASYNC110 (HTTP polling)
        await asyncio.sleep(POLL_EVERY)


async def check_done(conn: Connection, ids: set[str]) -> None:
    """Fail unless every job of ``ids`` is listed DONE."""
    done: set[str] = set()
    target: str | None = DONE_PAGE
    for _ in range(len(ids) // 100 + 2):
        if target is None:
            break
        doc = (await conn.request("GET", target))[1]
        done.update(item["id"] for item in doc["items"])
        target = doc["links"].get("next", {}).get("href")
    if missing := ids - done:
        raise RuntimeError(f"{len(missing)} of {len(ids)} jobs did not end DONE")


@dataclass
class Figures:
    """One setup's rate and CPU seconds per job by role."""

    rate: float
    cpu: dict[str, float]


async def run(mode: str, setup: Cluster, jobs: int, dataset: Path, deadline: float) -> Figures:
    """Time one setup in ``mode``; every submitted job must end DONE."""
    async with asyncio.timeout(deadline - time.monotonic()):
        connections = [await Connection.open(setup.api.port) for _ in range(CLIENTS)]
        try:
            if mode == "drain":
                await asyncio.to_thread(wait_ready, setup, dataset, deadline)
                setup.signal_workers(signal.SIGSTOP)
                ids = await submit(connections, jobs)
                before, started = setup.cpu(), time.monotonic()
                setup.signal_workers(signal.SIGCONT)
                await drained(connections[0])
            else:
                before, started = setup.cpu(), time.monotonic()
                ids = await submit(connections, jobs)
                await drained(connections[0])
            took, after = time.monotonic() - started, setup.cpu()
            # Terminal states never change: a job listed DONE now was DONE when timing ended.
            await check_done(connections[0], ids)
        finally:
            for conn in connections:
                conn.close()
    return Figures(jobs / took, {role: (after[role] - before[role]) / jobs for role in after})


def measure(
    mode: str, store: str, processes: int, jobs: int, dataset: Path, postgres: str | None
) -> Figures:
    deadline = time.monotonic() + BUDGET
    with (
        tempfile.TemporaryDirectory(prefix="lrokit-tput-") as tmp,
        cluster(store, processes, Path(tmp), dataset, postgres) as setup,
    ):
        return asyncio.run(run(mode, setup, jobs, dataset, deadline))


def table(mode: str, rows: list[tuple[str, int, Figures]], ratio: str) -> None:
    print(f"\n{mode}: jobs/s, ratio {ratio}; CPU ms per job by role")
    print(f"{'store':<11} {'processes':>18} {'jobs/s':>8} {'ratio':>6}"
          "    api workers postgres  bench")  # fmt: skip
    for store, processes, figures in rows:
        if mode == "node":  # to the first row: SQLite as lrokit serve runs it
            base = rows[0][2].rate
        else:  # to 1 process of the same store
            base = next(f.rate for s, p, f in rows if s == store and p == 1)
        who = "serve (in-process)" if processes == 0 else f"{processes}"
        cpu = figures.cpu
        print(
            f"{store:<11} {who:>18} {figures.rate:>8.1f} {figures.rate / base:>6.2f}"
            f" {cpu['api'] * 1e3:>6.2f} {cpu['workers'] * 1e3:>7.2f}"
            f" {cpu['postgres'] * 1e3:>8.2f} {cpu['bench'] * 1e3:>6.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--postgres", default=os.environ.get("LROKIT_TEST_POSTGRES_URL"))
    parser.add_argument("--dataset", type=Path, default=CACHE / "sales.sqlite3")
    parser.add_argument("--modes", default="node,drain", help="node, drain or both")
    parser.add_argument("--processes", default="1,2,4", help="worker process counts")
    parser.add_argument("--stores", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    ensure_dataset(args.dataset, DEFAULT_ROWS)
    counts = [int(n) for n in args.processes.split(",")]
    stores = args.stores.split(",")
    if not args.postgres and "postgresql" in stores:
        print("no --postgres URL: measuring SQLite only")
        stores.remove("postgresql")
    for mode in args.modes.split(","):
        setups = [(store, n) for store in stores for n in counts]
        if mode == "node" and "sqlite" in stores:
            setups.insert(0, ("sqlite", 0))  # the baseline: lrokit serve as it runs by default
        rows = []
        for store, processes in setups:
            figures = measure(mode, store, processes, args.jobs, args.dataset, args.postgres)
            rows.append((store, processes, figures))
            print(f"{mode} {store} {processes} processes: {figures.rate:7.1f} jobs/s", flush=True)
        if mode == "node" and rows[0][1] == 0:
            table(mode, rows, "to SQLite (lrokit serve)")
        elif 1 in counts:
            table(mode, rows, "to 1 process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
