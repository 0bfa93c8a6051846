"""Scale out on PostgreSQL: two API processes without workers and three worker processes
without an API share one job store; 500 jobs are submitted through one API and polled
through the other; a worker killed with kill -9 midway loses no job."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
import pytest

from tests.conftest import TEST_ROWS
from tests.helpers import SEED_REQUEST, postgres_schema
from tests.live import LROKIT, LiveServer

pytestmark = pytest.mark.e2e

JOBS = 500


@pytest.fixture
def store_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a schema of this test's own."""
    with postgres_schema("the scale-out test") as (url, schema):
        yield f"{url}?options={quote(f'-csearch_path={schema}')}"


def start_worker(workdir: Path, dataset: Path, store: str, name: str) -> subprocess.Popen[bytes]:
    with (workdir / f"{name}.log").open("ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [str(LROKIT), "worker", "--store", store, "--dataset", str(dataset),
             "--dataset-rows", str(TEST_ROWS), "--workers", "2", "--pace", "0.05",
             "--lease", "2", "--db", str(workdir / "unused.sqlite3")],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def test_two_apis_three_worker_processes_500_jobs_and_a_kill(
    tmp_path: Path, dataset_path: Path, store_url: str
) -> None:
    api_args = ("--workers", "0", "--store", store_url)
    with (
        LiveServer(tmp_path, dataset_path, *api_args, rows=TEST_ROWS) as submit_api,
        LiveServer(tmp_path, dataset_path, *api_args, rows=TEST_ROWS) as poll_api,
        httpx.Client(timeout=10) as client,
    ):
        workers = [start_worker(tmp_path, dataset_path, store_url, f"w{n}") for n in range(3)]
        try:
            ids = [
                client.post(f"{submit_api.url}/reports", json=SEED_REQUEST).json()["id"]
                for _ in range(JOBS)
            ]
            deadline = time.monotonic() + 30
            while True:  # let the workers get going, then kill one mid-job
                states = Counter(
                    client.get(f"{poll_api.url}/reports/{job}").json()["status"] for job in ids
                )
                if states["DONE"] >= JOBS // 5 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            workers[0].kill()
            workers[0].wait(10)
            final: dict[str, dict[str, object]] = {}
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                final = {j: client.get(f"{poll_api.url}/reports/{j}").json() for j in ids}
                if all(doc["status"] == "DONE" for doc in final.values()):
                    break
                time.sleep(0.5)
        finally:
            for process in workers:
                if process.poll() is None:
                    process.terminate()
                    process.wait(15)
    assert Counter(doc["status"] for doc in final.values()) == {"DONE": JOBS}
    with psycopg.connect(store_url) as conn:
        attempts = [row[0] for row in conn.execute("SELECT attempts FROM jobs").fetchall()]
    assert len(attempts) == JOBS  # no job lost, none created twice
    assert max(attempts) <= 2  # at most the killed worker's attempt was retried
