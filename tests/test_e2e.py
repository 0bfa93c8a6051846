"""End to end over real uvicorn processes on 127.0.0.1, with real Retry-After waits."""

from __future__ import annotations

import csv
import io
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_ROWS
from tests.helpers import SEED_REQUEST
from tests.live import LiveServer

pytestmark = pytest.mark.e2e


def poll(
    client: httpx.Client, location: str, budget: float = 30.0
) -> tuple[dict[str, object], int]:
    """Poll honouring Retry-After in real seconds; return the terminal document and poll count."""
    deadline = time.monotonic() + budget
    polls = 0
    while time.monotonic() < deadline:
        response = client.get(location)
        polls += 1
        assert response.status_code == 200
        doc: dict[str, object] = response.json()
        if doc["status"] in ("DONE", "ERROR", "CANCELLED"):
            assert "retry-after" not in response.headers
            return doc, polls
        time.sleep(int(response.headers["retry-after"]))
    raise AssertionError(f"{location} not terminal within {budget}s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, dataset_path: Path) -> object:
    workdir = tmp_path_factory.mktemp("e2e")
    with LiveServer(workdir, dataset_path, "--pace", "1.5", rows=TEST_ROWS) as live:
        yield live


def test_seed_request_end_to_end(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        accepted = client.post("/reports", json=SEED_REQUEST)
        assert accepted.status_code == 202
        location = accepted.headers["location"]
        assert location == f"/reports/{accepted.json()['id']}"
        assert int(accepted.headers["retry-after"]) >= 1
        started = time.monotonic()
        doc, polls = poll(client, location)
        assert doc["status"] == "DONE"
        assert time.monotonic() - started >= 1.0  # paced: it really took its time
        assert 1 <= polls <= 6  # Retry-After kept the client from hammering the server
        result = client.get(f"{location}/download").json()
        assert len(result["rows"]) == 12
        text = client.get(f"{location}/download", headers={"Accept": "text/csv"}).text
        assert next(csv.reader(io.StringIO(text))) == ["month", "orders", "units", "revenue"]


def test_error_cancel_and_problems_end_to_end(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        failing = client.post(
            "/reports", json={"reportType": "top-products", "parameters": {"year": "2031"}}
        )
        cancelled = client.post("/reports", json=SEED_REQUEST)
        cancel = client.delete(cancelled.headers["location"])
        assert cancel.status_code in (200, 202)
        doc, _ = poll(client, failing.headers["location"])
        assert doc["status"] == "ERROR"
        assert doc["error"]["code"] == "NO_DATA"  # type: ignore[index]
        doc, _ = poll(client, cancelled.headers["location"])
        assert doc["status"] == "CANCELLED"

        missing = client.get("/reports/00000000000000000000000000000000")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        malformed = client.post(
            "/reports", content=b'{"reportType":', headers={"Content-Type": "application/json"}
        )
        assert malformed.status_code == 400
        assert malformed.json()["type"] == "/problems/malformed-request"
        assert malformed.json()["status"] == 400
        assert "date" in malformed.headers


def test_restart_keeps_every_job(tmp_path: Path, dataset_path: Path) -> None:
    """Jobs survive a clean stop and a kill -9; jobs in flight are finished after restart."""
    with httpx.Client(timeout=10) as client:
        first = LiveServer(tmp_path, dataset_path, "--pace", "0.5", rows=TEST_ROWS).start()
        done = client.post(f"{first.url}/reports", json=SEED_REQUEST).json()["id"]
        poll(client, f"{first.url}/reports/{done}")
        # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status shows it.
        assert first.stop() in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in first.log.read_text()

        waiting = LiveServer(tmp_path, dataset_path, "--workers", "0", rows=TEST_ROWS).start()
        queued = [
            client.post(f"{waiting.url}/reports", json=SEED_REQUEST).json()["id"] for _ in range(5)
        ]
        waiting.kill()

        busy = LiveServer(
            tmp_path, dataset_path, "--pace", "30", "--lease", "1", rows=TEST_ROWS
        ).start()
        deadline = time.monotonic() + 10
        while client.get(f"{busy.url}/reports/{queued[0]}").json()["status"] != "PROCESSING":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        busy.kill()  # a worker dies holding a job

        final = LiveServer(
            tmp_path, dataset_path, "--pace", "0.2", "--lease", "1", rows=TEST_ROWS
        ).start()
        try:
            assert client.get(f"{final.url}/reports/{done}").json()["status"] == "DONE"
            for job in queued:
                doc, _ = poll(client, f"{final.url}/reports/{job}")
                assert doc["status"] == "DONE", doc
            assert client.get(f"{final.url}/reports/{queued[0]}").json()["progress"] == 100
            listed = client.get(f"{final.url}/reports", params={"limit": 100}).json()["items"]
            assert sorted(item["id"] for item in listed) == sorted([done, *queued])
        finally:
            final.stop()


def test_graceful_shutdown_hands_running_jobs_back(tmp_path: Path, dataset_path: Path) -> None:
    """SIGTERM exits in bounded time and releases the job in progress: the next server takes
    it at once, although the lease it held would have lasted another minute."""
    with httpx.Client(timeout=10) as client:
        first = LiveServer(
            tmp_path, dataset_path, "--pace", "30", "--lease", "60", rows=TEST_ROWS
        ).start()
        job = client.post(f"{first.url}/reports", json=SEED_REQUEST).json()["id"]
        deadline = time.monotonic() + 10
        while client.get(f"{first.url}/reports/{job}").json()["status"] != "PROCESSING":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        stopping = time.monotonic()
        first.stop(timeout=15)
        assert time.monotonic() - stopping < 10
        assert "released by worker" in first.log.read_text()

        second = LiveServer(
            tmp_path, dataset_path, "--pace", "0.5", "--lease", "60", rows=TEST_ROWS
        ).start()
        try:
            doc, _ = poll(client, f"{second.url}/reports/{job}", budget=20)
            assert doc["status"] == "DONE"
        finally:
            second.stop()


def test_polling_far_faster_than_retry_after_is_harmless(server: LiveServer) -> None:
    """A burst of polls with no wait at all: every answer is correct (200), none is a 5xx,
    and the job still runs to its end."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        location = client.post("/reports", json=SEED_REQUEST).headers["location"]
        codes = {client.get(location).status_code for _ in range(200)}
        assert codes <= {200, 429}
        doc, _ = poll(client, location)
        assert doc["status"] == "DONE"
