"""The reference server through a real PostgreSQL outage, on a private cluster this test
starts itself (``initdb`` into a temporary directory, ``pg_ctl`` on a free port, as the
``postgres`` user): the machine's own server is never touched.

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

import pytest

from lrokit.server.settings import Settings
from tests.conftest import serve_in_process
from tests.helpers import SEED_REQUEST
from tests.live import free_port

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
