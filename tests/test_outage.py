"""The reference server through store outages: a real PostgreSQL outage, on a private
cluster this test starts itself (``initdb`` into a temporary directory, ``pg_ctl`` on a free
port, as the ``postgres`` user; the machine's own server is never touched), and SQLite on a
disk that is full.

Jobs in flight when the database stops MUST NOT end in ERROR because of it nor run twice;
clients MUST get 503 with Retry-After within a bounded time, never a 500 or a hang; once the
database is back, the server recovers by itself and every job ends DONE.
"""

from __future__ import annotations

import asyncio
import dataclasses
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lrokit.server.jobs.postgres import PostgresJobStore
from lrokit.server.settings import Settings
from tests.conftest import TEST_ROWS, serve_in_process
from tests.helpers import SEED_REQUEST
from tests.live import LROKIT, LiveServer, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
JOBS = 8


class Cluster:
    """A PostgreSQL cluster of this test's own."""

    def __init__(self, root: Path) -> None:
        self.bin = Path(BINARIES[-1])
        self.data = root / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.log = root / "postgres.log"

    def _run(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data}"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-o", options, "-w", "-t", "30", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not BINARIES or os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("a private PostgreSQL cluster needs initdb, pg_ctl, root and runuser")
    root = Path(tempfile.mkdtemp(prefix="lrokit-pg-"))
    shutil.chown(root, "postgres")
    made = Cluster(root)
    try:
        made.init()
        made.start()
        yield made
    finally:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(made.bin / "pg_ctl"), "-D", str(made.data),
             "-m", "immediate", "stop"],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


async def test_a_postgresql_outage_fails_no_job_and_answers_503(
    cluster: Cluster, settings: Settings
) -> None:
    outage = dataclasses.replace(
        settings, store=cluster.url, workers=4, pace=1.5, lease_seconds=10.0
    )
    async with serve_in_process(outage) as client:
        monitors = []
        for _ in range(JOBS):
            created = await client.post("/reports", json=SEED_REQUEST)
            assert created.status_code == 202, created.text
            monitors.append(created.headers["location"])
        await asyncio.sleep(0.5)  # four jobs are running
        await asyncio.to_thread(cluster.stop)
        answers = []
        for monitor in monitors[:3]:
            asked = time.monotonic()
            answer = await client.get(monitor)
            answers.append((answer.status_code, answer.headers.get("retry-after")))
            assert time.monotonic() - asked < 3.0, "a request hung on the outage"
        assert answers == [(503, "2")] * 3
        await asyncio.sleep(2.0)  # down some 3 s in all, within the jobs' 10 s lease
        await asyncio.to_thread(cluster.start)
        ended = {}
        deadline = time.monotonic() + 60
        while len(ended) < JOBS and time.monotonic() < deadline:
            for monitor in monitors:
                answer = await client.get(monitor)
                if answer.status_code == 200 and answer.json()["status"] in ("DONE", "ERROR"):
                    ended[monitor] = answer.json()
            await asyncio.sleep(0.2)
    assert len(ended) == JOBS, f"{JOBS - len(ended)} jobs never ended"
    assert {job["status"] for job in ended.values()} == {"DONE"}, [
        job.get("error") for job in ended.values()
    ]


def _start(command: list[str], logs: list[Path]) -> list[subprocess.Popen[bytes]]:
    """One process of ``command`` per log file, its output there."""
    started = []
    for log in logs:
        with log.open("wb") as out:
            started.append(subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT))
    return started


async def test_fifty_jobs_on_two_worker_processes_through_an_outage(
    cluster: Cluster, settings: Settings, dataset_path: Path, tmp_path: Path
) -> None:
    """The issue's measure: 50 jobs, two ``lrokit worker`` processes, the database stopped
    while jobs run and started again: no job ERROR, none run twice, every one DONE."""
    api = dataclasses.replace(settings, store=cluster.url, workers=0)
    command = [
        str(LROKIT), "worker", "--store", cluster.url, "--workers", "4", "--pace", "0.5",
        "--lease", "10", "--dataset", str(dataset_path), "--dataset-rows", str(TEST_ROWS),
    ]  # fmt: skip
    logs = [tmp_path / f"worker-{n}.log" for n in range(2)]
    workers = await asyncio.to_thread(_start, command, logs)
    try:
        async with serve_in_process(api) as client:
            ids = []
            for _ in range(50):
                created = await client.post("/reports", json=SEED_REQUEST)
                assert created.status_code == 202, created.text
                ids.append(created.json()["id"])
            await asyncio.sleep(1.0)  # eight jobs are running, more are waiting
            await asyncio.to_thread(cluster.stop)
            await asyncio.sleep(3.0)
            await asyncio.to_thread(cluster.start)
            store = PostgresJobStore(cluster.url)
            await store.open()
            try:
                jobs = []
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:
                    jobs = [await store.get(job_id) for job_id in ids]
                    if all(job is not None and job.state.terminal for job in jobs):
                        break
                    await asyncio.sleep(0.5)
            finally:
                await store.close()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
    states = sorted({str(job.state) for job in jobs if job is not None})
    assert states == ["DONE"], [log.read_text()[-2000:] for log in logs]
    assert {job.attempts for job in jobs if job is not None} == {1}  # none ran twice


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs prlimit (util-linux)")
def test_sqlite_on_a_full_disk_answers_503_not_500(tmp_path: Path, dataset_path: Path) -> None:
    """Issue 15: SQLite on a full disk answered 300 of 300 POSTs 500. The server runs under a
    file-size limit (``prlimit --fsize``: every write past it fails, as on a full disk); once
    its job file cannot grow, a submission gets 503 store-unavailable with Retry-After."""
    full = ("prlimit", "--fsize=2000000", "--")
    statuses = []
    with (
        LiveServer(tmp_path, dataset_path, "--workers", "0", rows=TEST_ROWS, prefix=full) as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        for number in range(600):
            answer = client.post(
                "/reports", json=SEED_REQUEST, headers={"Idempotency-Key": f'"{number}"'}
            )
            statuses.append(answer.status_code)
            if answer.status_code == 503:
                break
    assert statuses[0] == 202
    assert set(statuses) == {202, 503}, set(statuses)
    assert answer.headers["retry-after"] == "2"
    assert answer.json()["type"] == "/problems/store-unavailable"
