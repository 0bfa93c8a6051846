"""The interop fixtures are real: each server is up, describes itself, and runs a job end to
end over plain httpx (submit, poll to a terminal state, read the result), a failing one too.

What each server does right or wrong under its standard is in docs/interop.md; these tests
only prove the fixtures, so they assert what a working server must do, not its deviations.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import yaml

from tests.interop.servers import PygeoapiServer, WesServer

#: Every wait is bounded: a job here takes at most a few seconds.
DEADLINE = 60.0
OGC_TERMINAL = {"successful", "failed", "dismissed"}
WES_TERMINAL = {"COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED", "PREEMPTED"}


def poll(url: str, field: str, terminal: set[str], every: float = 0.25) -> dict[str, Any]:
    """GET ``url`` until its JSON ``field`` is terminal; at most ``DEADLINE`` seconds."""
    deadline = time.monotonic() + DEADLINE
    while True:
        response = httpx.get(url, timeout=10.0)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body.get(field) in terminal:
            return body
        if time.monotonic() > deadline:
            pytest.fail(f"{url}: still {body.get(field)!r} after {DEADLINE:.0f} s")
        time.sleep(every)


# pygeoapi: OGC API - Processes 1.0


def execute_async(server: PygeoapiServer, process: str, inputs: dict[str, Any]) -> str:
    """POST an execute request preferring async; the job's URL (its Location)."""
    response = httpx.post(
        f"{server.url}/processes/{process}/execution",
        json={"inputs": inputs},
        headers={"Prefer": "respond-async"},
        timeout=30.0,
    )
    assert response.status_code == 201, response.text
    location: str = response.headers["Location"]
    assert location.startswith(f"{server.url}/jobs/")
    return location


def test_pygeoapi_describes_its_processes(pygeoapi: PygeoapiServer) -> None:
    processes = httpx.get(f"{pygeoapi.url}/processes?f=json", timeout=10.0).json()
    assert {p["id"] for p in processes["processes"]} >= {"hello-world", "echo"}
    document = yaml.safe_load(pygeoapi.openapi.read_text())
    assert document["openapi"].startswith("3.0")
    assert "/jobs/{jobId}" in document["paths"]


def test_pygeoapi_runs_a_job_to_its_result(pygeoapi: PygeoapiServer) -> None:
    job = execute_async(pygeoapi, "hello-world", {"name": "lrokit"})
    status = poll(f"{job}?f=json", "status", OGC_TERMINAL)
    assert status["status"] == "successful"
    assert status["jobID"] == job.rsplit("/", 1)[1]
    results = httpx.get(f"{job}/results?f=json", timeout=10.0)
    assert results.status_code == 200
    assert results.json() == {"id": "echo", "value": "Hello lrokit!"}


def test_pygeoapi_reports_a_failing_job(pygeoapi: PygeoapiServer) -> None:
    job = execute_async(pygeoapi, "hello-world", {"message": "no name"})
    status = poll(f"{job}?f=json", "status", OGC_TERMINAL)
    assert status["status"] == "failed"
    assert httpx.get(f"{job}/results?f=json", timeout=10.0).status_code >= 400


def test_pygeoapi_dismisses_a_running_job(pygeoapi: PygeoapiServer) -> None:
    job = execute_async(pygeoapi, "echo", {"echoInput": "Echo", "pause": 10.25})
    assert httpx.get(f"{job}?f=json", timeout=10.0).json()["status"] not in OGC_TERMINAL
    dismissed = httpx.delete(job, timeout=10.0)
    assert dismissed.status_code == 200
    assert dismissed.json()["status"] == "dismissed"


# wes-service: GA4GH WES 1.0.0


def submit(server: WesServer, seconds: int, exit_code: int = 0) -> str:
    """POST /runs (multipart) of the sleep-exit tool; the run id."""
    fields, files = server.run_form(seconds, exit_code)
    response = httpx.post(f"{server.api}/runs", data=fields, files=files, timeout=30.0)
    assert response.status_code == 200, response.text
    run_id: str = response.json()["run_id"]
    return run_id


def test_wes_describes_itself(wes: WesServer) -> None:
    info = httpx.get(f"{wes.api}/service-info", timeout=30.0).json()
    assert "1.0.0" in info["supported_wes_versions"]
    document = yaml.safe_load(wes.openapi.read_text())
    assert document["swagger"] == "2.0"
    assert document["basePath"] == "/ga4gh/wes/v1"
    assert wes.api == f"{wes.url}{document['basePath']}"


def test_wes_runs_a_workflow_to_its_outputs(wes: WesServer) -> None:
    run_id = submit(wes, seconds=1)
    status = poll(f"{wes.api}/runs/{run_id}/status", "state", WES_TERMINAL)
    assert status == {"run_id": run_id, "state": "COMPLETE"}
    log = httpx.get(f"{wes.api}/runs/{run_id}", timeout=10.0).json()
    assert log["state"] == "COMPLETE"
    assert log["outputs"]["out"]["class"] == "File"


def test_wes_reports_a_failing_workflow(wes: WesServer) -> None:
    run_id = submit(wes, seconds=0, exit_code=3)
    status = poll(f"{wes.api}/runs/{run_id}/status", "state", WES_TERMINAL)
    assert status["state"] == "EXECUTOR_ERROR"


def test_wes_accepts_a_cancel_of_a_long_run(wes: WesServer) -> None:
    run_id = submit(wes, seconds=20)
    response = httpx.post(f"{wes.api}/runs/{run_id}/cancel", timeout=10.0)
    assert response.status_code == 200
    assert response.json() == {"run_id": run_id}
