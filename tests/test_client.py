"""lrokit.client: the polling client, in-process against the reference server (async) and
against scripted servers (sync, httpx.MockTransport) with a virtual clock; and
``lrokit submit`` against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from lrokit.client import (
    AsyncClient,
    Backoff,
    Client,
    Operation,
    OperationCancelled,
    OperationFailed,
    OperationTimeout,
    Policy,
    Problem,
    SubmitFailed,
    WaitCancelled,
)
from lrokit.server.settings import Settings
from lrokit.submit import submit
from tests.conftest import TEST_ROWS, serve_in_process
from tests.helpers import SEED_REQUEST
from tests.live import LiveServer, free_port

NO_DATA_REQUEST = {"reportType": "yearly-sales", "parameters": {"year": "1999"}}


class VirtualTime:
    """A clock that moves only when the client sleeps; every sleep is recorded. The async
    sleep also yields for a scaled real moment so the server's workers get on."""

    def __init__(self, real_scale: float = 0.0) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.real_scale = real_scale

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(max(seconds * self.real_scale, 0.005))

    def policy(self, **kwargs: Any) -> Policy:
        return Policy(clock=self.clock, rng=random.Random(7), **kwargs)


# ---- async, in-process against the reference server ----------------------------------------


@pytest.mark.anyio
async def test_seed_request_ends_done_and_downloads(settings: Settings) -> None:
    time = VirtualTime(real_scale=0.05)
    seen: list[Operation] = []
    async with serve_in_process(settings) as http:
        client = AsyncClient(http=http, policy=time.policy(), sleep=time.asleep)
        advised: list[str] = []

        async def record(response: httpx.Response) -> None:
            advised.append(response.headers.get("retry-after", ""))

        http.event_hooks["response"].append(record)
        result = await client.run("/reports", SEED_REQUEST, on_progress=seen.append)
        assert result.state == "DONE"
        assert result.progress == 100
        report_id = result.status["id"]
        assert result.monitor == f"http://testserver/reports/{report_id}"
        assert result.result_url == f"http://testserver/reports/{report_id}/download"
        download = await result.download()
        assert download.status_code == 200
        assert download.json()["id"] == report_id
    # One progress call per poll, progress never decreasing; each sleep was the Retry-After
    # of the answer before it (the 202, then every non-terminal poll): never sooner.
    assert len(seen) == result.polls == len(time.sleeps)
    assert [op.progress or 0 for op in seen] == sorted(op.progress or 0 for op in seen)
    assert time.sleeps == [float(value) for value in advised[: len(time.sleeps)]]
    assert advised[len(time.sleeps)] == ""  # the terminal answer advises nothing
    assert all(wait >= 1 for wait in time.sleeps)


@pytest.mark.anyio
async def test_via_wait_reads_are_held_and_follow_each_other_at_once(settings: Settings) -> None:
    """Prefer: wait: the server holds each read until the status changes, so after the
    submission's Retry-After the client reads again at once, and needs few reads."""
    time = VirtualTime(real_scale=0.05)
    paced = dataclasses.replace(settings, workers=1, pace=1.0)
    preferred: list[str | None] = []
    async with serve_in_process(paced) as http:

        async def record(request: httpx.Request) -> None:
            if request.method == "GET":
                preferred.append(request.headers.get("prefer"))

        http.event_hooks["request"].append(record)
        client = AsyncClient(http=http, policy=time.policy(hold=5), sleep=time.asleep)
        result = await client.run("/reports", SEED_REQUEST, via="wait")
    assert result.state == "DONE"
    assert preferred == ["wait=5"] * result.polls
    assert result.polls <= 3
    assert time.sleeps[0] >= 1  # the 202's Retry-After, honoured
    assert time.sleeps[1:] == [0.0] * (len(time.sleeps) - 1)


@pytest.mark.anyio
async def test_via_wait_polls_by_retry_after_where_the_server_does_not_hold(
    settings: Settings,
) -> None:
    time = VirtualTime(real_scale=0.05)
    unheld = dataclasses.replace(settings, workers=1, pace=1.0, max_prefer_wait=0)
    async with serve_in_process(unheld) as http:
        client = AsyncClient(http=http, policy=time.policy(hold=5), sleep=time.asleep)
        result = await client.run("/reports", SEED_REQUEST, via="wait")
    assert result.state == "DONE"
    assert all(wait >= 1 for wait in time.sleeps)  # never sooner than asked


@pytest.mark.anyio
async def test_no_data_report_raises_operation_failed_with_the_problem(
    settings: Settings,
) -> None:
    time = VirtualTime(real_scale=0.05)
    async with serve_in_process(settings) as http:
        client = AsyncClient(http=http, policy=time.policy(), sleep=time.asleep)
        with pytest.raises(OperationFailed) as caught:
            await client.run("/reports", NO_DATA_REQUEST)
    failure = caught.value
    assert not isinstance(failure, OperationCancelled)
    assert failure.status["status"] == "ERROR"
    assert failure.problem is not None
    assert failure.problem.type.endswith("/problems/no-data")
    assert isinstance(failure.problem.title, str)
    assert isinstance(failure.problem.status, int)
    assert failure.problem.extensions["code"] == "NO_DATA"
    assert failure.problem.extensions["retryable"] is False
    assert "failedStep" in failure.problem.extensions


@pytest.mark.anyio
async def test_invalid_submission_raises_submit_failed_with_the_problem(
    settings: Settings,
) -> None:
    async with serve_in_process(settings) as http:
        client = AsyncClient(http=http)
        with pytest.raises(SubmitFailed) as caught:
            await client.submit("/reports", {"reportType": "yearly-sales", "parameters": {}})
    assert caught.value.status_code == 400
    assert caught.value.problem is not None
    assert caught.value.problem.status == 400
    assert caught.value.problem.type.startswith("/problems/")


@pytest.mark.anyio
async def test_cancel_a_pending_report(settings: Settings) -> None:
    time = VirtualTime(real_scale=0.0)
    async with serve_in_process(dataclasses.replace(settings, workers=0)) as http:
        client = AsyncClient(http=http, policy=time.policy(), sleep=time.asleep)
        operation = await client.submit("/reports", SEED_REQUEST, idempotency_key="cancel-me")
        assert operation.state == "PENDING"
        assert operation.cancel_url.startswith("http://testserver/reports/")
        cancelled = await client.cancel(operation)
        assert cancelled.state == "CANCELLED"
        with pytest.raises(OperationCancelled) as caught:
            await client.wait(operation)
        assert caught.value.status["status"] == "CANCELLED"
        assert time.sleeps == [operation.advised]  # one poll, after the 202's Retry-After


@pytest.mark.anyio
async def test_deadline_raises_timeout_with_the_last_status(settings: Settings) -> None:
    time = VirtualTime()
    async with serve_in_process(dataclasses.replace(settings, workers=0)) as http:
        client = AsyncClient(http=http, policy=time.policy(deadline=10), sleep=time.asleep)
        operation = await client.submit("/reports", SEED_REQUEST)
        with pytest.raises(OperationTimeout) as caught:
            await client.wait(operation)
    assert caught.value.status is not None
    assert caught.value.status["status"] == "PENDING"
    assert caught.value.monitor == operation.monitor
    assert 0 < time.now <= 10  # it gave up instead of sleeping past the deadline


@pytest.mark.anyio
async def test_a_stop_event_ends_the_wait(settings: Settings) -> None:
    stop = asyncio.Event()
    async with serve_in_process(dataclasses.replace(settings, workers=0)) as http:
        client = AsyncClient(http=http, policy=Policy(deadline=30))
        operation = await client.submit("/reports", SEED_REQUEST)
        waiting = asyncio.create_task(client.wait(operation, stop=stop))
        await asyncio.sleep(0.05)
        stop.set()
        with pytest.raises(WaitCancelled):
            await asyncio.wait_for(waiting, 5)


@pytest.mark.anyio
async def test_via_stream_reads_every_change_from_one_request(settings: Settings) -> None:
    time = VirtualTime(real_scale=0.05)
    paced = dataclasses.replace(settings, workers=1, pace=1.0, progress_interval=0.2)
    seen: list[Operation] = []
    monitor_reads: list[str] = []
    async with serve_in_process(paced) as http:

        async def record(request: httpx.Request) -> None:
            if request.method == "GET":
                monitor_reads.append(request.headers.get("accept", ""))

        http.event_hooks["request"].append(record)
        client = AsyncClient(http=http, policy=time.policy(), sleep=time.asleep)
        result = await client.run("/reports", SEED_REQUEST, on_progress=seen.append, via="stream")
    assert result.state == "DONE"
    assert monitor_reads == ["text/event-stream"]  # one request, held open
    assert len(time.sleeps) == 1  # the 202's Retry-After, honoured before connecting
    progress = [op.progress or 0 for op in seen]
    assert progress == sorted(progress)
    assert len(set(progress)) >= 3


@pytest.mark.anyio
async def test_via_stream_is_bounded_by_the_deadline_and_ended_by_stop(
    settings: Settings,
) -> None:
    async with serve_in_process(dataclasses.replace(settings, workers=0)) as http:
        client = AsyncClient(http=http, policy=Policy(deadline=1.5))
        operation = await client.submit("/reports", SEED_REQUEST)
        with pytest.raises(OperationTimeout):
            await asyncio.wait_for(client.wait(operation, via="stream"), 10)
        stop = asyncio.Event()
        client = AsyncClient(http=http, policy=Policy(deadline=30))
        waiting = asyncio.create_task(client.wait(operation, stop=stop, via="stream"))
        await asyncio.sleep(1.2)  # past the 202's Retry-After: the stream is open
        stop.set()
        with pytest.raises(WaitCancelled):
            await asyncio.wait_for(waiting, 5)


# ---- sync, against scripted servers with a virtual clock --------------------------------------


def scripted(
    answers: list[tuple[int, dict[str, str], dict[str, Any]]],
    time: VirtualTime,
    deleted: list[str] | None = None,
) -> tuple[Client, list[float]]:
    """A Client whose server answers the POST with 202 + Location, then each poll from
    ``answers`` in turn; returns the client and the virtual times of the polls. DELETEd
    URLs are appended to ``deleted``."""
    polls: list[float] = []
    script: Iterator[tuple[int, dict[str, str], dict[str, Any]]] = iter(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            doc = {"id": "1", "status": "PENDING", "progress": 0}
            return httpx.Response(202, headers={"Location": "jobs/1"}, json=doc)
        if request.method == "DELETE":
            (deleted if deleted is not None else []).append(str(request.url))
            return httpx.Response(202, json={"id": "1", "status": "PROCESSING"})
        polls.append(time.now)
        code, headers, doc = next(script)
        return httpx.Response(code, headers=headers, json=doc)

    http = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://127.0.0.1/api/")
    return Client(http=http, policy=time.policy(), sleep=time.sleep), polls


def status(state: str, progress: int = 0, **extra: Any) -> dict[str, Any]:
    return {"id": "1", "status": state, "progress": progress, **extra}


def test_polls_are_spaced_by_retry_after_and_counted() -> None:
    time = VirtualTime()
    answers = [
        (200, {"Retry-After": "3"}, status("PROCESSING", 10)),
        (200, {"Retry-After": "5"}, status("PROCESSING", 60)),
        (200, {}, status("DONE", 100, links={"download": {"href": "/api/jobs/1/result"}})),
    ]
    client, polls = scripted(answers, time)
    operation = client.submit("submit", {"a": 1})
    assert operation.monitor == "http://127.0.0.1/api/jobs/1"  # RFC 3986 §5.2 resolution
    assert operation.advised is None  # the 202 advised nothing: one backoff step first
    result = client.wait(operation)
    assert result.polls == 3
    assert polls[1] - polls[0] == 3
    assert polls[2] - polls[1] == 5
    assert result.result_url == "http://127.0.0.1/api/jobs/1/result"


def test_via_stream_polls_a_server_without_a_stream() -> None:
    """A monitor that answers JSON to Accept: text/event-stream: that answer is a poll's, and
    polling goes on by Retry-After."""
    time = VirtualTime()
    answers = [
        (200, {"Retry-After": "3"}, status("PROCESSING", 10)),
        (200, {}, status("DONE", 100)),
    ]
    client, polls = scripted(answers, time)
    result = client.wait(client.submit("submit", {"a": 1}), via="stream")
    assert result.state == "DONE"
    assert result.polls == 2
    assert polls[1] - polls[0] == 3


def test_retry_after_as_an_http_date_is_measured_from_the_date_header() -> None:
    time = VirtualTime()
    sent = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    later = format_datetime(sent + timedelta(seconds=7), usegmt=True)
    answers = [
        (200, {"Date": format_datetime(sent, usegmt=True), "Retry-After": later}, status("X")),
        (200, {}, status("DONE", 100)),
    ]
    client, polls = scripted(answers, time)
    client.wait(Operation("http://127.0.0.1/api/jobs/1", {}, advised=0.0))
    assert polls == [0.0, 7.0]


def test_retry_after_as_an_http_date_without_date_uses_the_wall_clock() -> None:
    time = VirtualTime()
    wall = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    later = format_datetime(wall + timedelta(seconds=4), usegmt=True)
    answers = [(200, {"Retry-After": later}, status("X")), (200, {}, status("DONE", 100))]
    client, polls = scripted(answers, time)
    client.policy.wall = lambda: wall
    client.wait(Operation("http://127.0.0.1/api/jobs/1", {}, advised=0.0))
    assert polls == [0.0, 4.0]


def test_without_retry_after_backoff_is_exponential_with_full_jitter() -> None:
    time = VirtualTime()
    answers = [(200, {}, status("PROCESSING")) for _ in range(8)]
    answers.append((200, {}, status("DONE", 100)))
    client, _ = scripted(answers, time)
    client.policy.backoff = Backoff(base=1.0, cap=10.0)
    client.wait(Operation("http://127.0.0.1/api/jobs/1", {}))
    assert len(time.sleeps) == 9
    bounds = [min(10.0, 2.0**n) for n in range(9)]
    assert all(0 <= wait <= bound for wait, bound in zip(time.sleeps, bounds, strict=True))
    assert len(set(time.sleeps)) == len(time.sleeps)  # jittered, not a fixed schedule
    assert max(time.sleeps[4:]) > 2.0  # and it does grow


def test_a_throttled_poll_is_retried_after_its_retry_after() -> None:
    time = VirtualTime()
    answers = [
        (503, {"Retry-After": "9"}, {}),
        (200, {}, status("DONE", 100)),
    ]
    client, polls = scripted(answers, time)
    result = client.wait(Operation("http://127.0.0.1/api/jobs/1", {}, advised=0.0))
    assert polls == [0.0, 9.0]
    assert result.polls == 1


def test_a_problem_answer_from_the_monitor_raises_operation_failed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        problem = {"type": "/problems/gone", "title": "Gone", "status": 410, "extra": 1}
        return httpx.Response(
            410, headers={"Content-Type": "application/problem+json"}, content=json.dumps(problem)
        )

    client = Client(http=httpx.Client(transport=httpx.MockTransport(handler)))
    with pytest.raises(OperationFailed) as caught:
        client.wait(Operation("http://127.0.0.1/jobs/1", {}, advised=0.0))
    assert caught.value.problem == Problem("/problems/gone", "Gone", 410, extensions={"extra": 1})


def test_cancel_uses_the_cancel_link_and_stop_ends_the_sync_wait() -> None:
    time = VirtualTime()
    answers = [(200, {"Retry-After": "1"}, status("PROCESSING")) for _ in range(5)]
    deleted: list[str] = []
    client, polls = scripted(answers, time, deleted)
    links = {"cancel": {"href": "/api/jobs/1/cancel"}}
    operation = Operation("http://127.0.0.1/api/jobs/1", {"links": links})
    assert client.cancel(operation).state == "PROCESSING"
    assert deleted == ["http://127.0.0.1/api/jobs/1/cancel"]

    stop = threading.Event()

    def stop_after_two(op: Operation) -> None:
        if op.polls == 2:
            stop.set()

    restart = Operation(operation.monitor, {}, advised=0.0)
    with pytest.raises(WaitCancelled):
        client.wait(restart, on_progress=stop_after_two, stop=stop)
    assert len(polls) == 2


def test_the_poll_limit_bounds_the_wait() -> None:
    time = VirtualTime()
    answers = [(200, {"Retry-After": "0"}, status("PROCESSING")) for _ in range(10)]
    client, polls = scripted(answers, time)
    client.policy.max_polls = 4
    with pytest.raises(OperationTimeout, match="4 polls"):
        client.wait(Operation("http://127.0.0.1/api/jobs/1", {}, advised=0.0))
    assert len(polls) == 4


# ---- lrokit submit, against a real server on 127.0.0.1 ----------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, dataset_path: Path) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("submit")
    with LiveServer(workdir, dataset_path, "--pace", "0.2", rows=TEST_ROWS) as server:
        yield server


@pytest.mark.e2e
def test_submit_waits_and_prints_the_result_link(live: LiveServer, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps(SEED_REQUEST))
    out = tmp_path / "report.json"
    args = [f"{live.url}/reports", "--data", f"@{body}", "--wait", "--output", str(out)]
    args += ["--idempotency-key", "cli-1", "--header", "X-Trace: abc"]
    result = CliRunner().invoke(submit, args)
    assert result.exit_code == 0, result.output
    link = result.stdout.strip()
    assert link.startswith(f"{live.url}/reports/")
    assert link.endswith("/download")
    assert json.loads(out.read_text())["reportType"] == "yearly-sales"


@pytest.mark.e2e
@pytest.mark.parametrize("via", ["wait", "stream"])
def test_submit_via_a_channel_follows_the_report(live: LiveServer, via: str) -> None:
    args = [f"{live.url}/reports", "--data", json.dumps(SEED_REQUEST), "--wait", "--via", via]
    result = CliRunner().invoke(submit, [*args, "--json", "-"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "DONE"
    refused = CliRunner().invoke(submit, [f"{live.url}/reports", "-d", "{}", "--via", "wait"])
    assert refused.exit_code == 2
    assert "--via needs --wait" in refused.output


@pytest.mark.e2e
def test_the_sync_client_follows_a_stream(live: LiveServer) -> None:
    seen: list[Operation] = []
    with Client(live.url) as client:
        result = client.run("/reports", SEED_REQUEST, on_progress=seen.append, via="stream")
    assert result.state == "DONE"
    assert seen[-1].state == "DONE"


@pytest.mark.e2e
def test_submit_json_prints_the_final_status_document(live: LiveServer) -> None:
    args = [f"{live.url}/reports", "-d", json.dumps(SEED_REQUEST), "--wait", "--json", "-"]
    result = CliRunner().invoke(submit, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "DONE"


@pytest.mark.e2e
def test_submit_of_a_failing_report_exits_1_with_the_problem(live: LiveServer) -> None:
    args = [f"{live.url}/reports", "--data", json.dumps(NO_DATA_REQUEST), "--wait"]
    result = CliRunner().invoke(submit, args)
    assert result.exit_code == 1, result.output
    assert "ERROR" in result.stderr
    assert "/problems/no-data" in result.stderr
    assert "code: NO_DATA" in result.stderr


@pytest.mark.e2e
def test_submit_without_wait_prints_the_monitor(live: LiveServer) -> None:
    result = CliRunner().invoke(submit, [f"{live.url}/reports", "--data", json.dumps(SEED_REQUEST)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith(f"{live.url}/reports/")


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "{not json"], "not JSON"),
        (["--data", "@/nonexistent/body.json"], "cannot read"),
        (["--data", "{}", "--header", "nocolon"], "NAME:VALUE"),
        (["--data", json.dumps({"reportType": "nope"}), "--wait"], "submit answered 400"),
        (["--data", json.dumps(SEED_REQUEST), "--wait", "--deadline", "0.5"], "within 0.5 s"),
    ],
)
def test_submit_usage_errors_and_timeout_exit_2(
    live: LiveServer, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(submit, [f"{live.url}/reports", *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.e2e
def test_submit_to_an_unreachable_server_exits_2() -> None:
    url = f"http://127.0.0.1:{free_port()}/reports"
    result = CliRunner().invoke(submit, [url, "--data", "{}", "--timeout", "5"])
    assert result.exit_code == 2, result.output
    assert "ConnectError" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "links",
    [{"download": {"href": "/api/jobs/1/result"}}, {"download": "/api/jobs/1/result"}],
    ids=["object with href", "string"],
)
def test_a_result_link_is_read_in_either_form(links: dict[str, Any]) -> None:
    """A link is a URI-reference or an object with one in href: both are read."""
    operation = Operation("http://127.0.0.1/api/jobs/1", {"status": "DONE", "links": links})
    assert operation.result_url == "http://127.0.0.1/api/jobs/1/result"
