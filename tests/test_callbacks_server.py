"""The reference server's completion webhooks: a submission's ``callbackUrl`` gets the status
document when the report ends, signed (Standard Webhooks), at least once, from an outbox
written with the terminal state; retried with backoff and ``Retry-After``, stopped by 410;
sent only where the operator allowed (``--callback-allow``), checked by address."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lrokit.server.egress import Egress, Refused, parse_target
from lrokit.server.jobs.job import Job, JobState
from lrokit.server.jobs.postgres import PostgresJobStore
from lrokit.server.jobs.store import JobStore
from lrokit.server.settings import Settings
from lrokit.server.work.callbacks import retry_delay
from lrokit.webhooks import verify
from tests.conftest import TEST_ROWS, serve_in_process
from tests.helpers import SEED_REQUEST, postgres_schema
from tests.live import LiveServer, ThreadServer
from tests.receiver import Receiver

pytestmark = pytest.mark.anyio

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    """A receiver on 127.0.0.1 and its base URL."""
    app = Receiver()
    with ThreadServer(app) as url:
        yield app, url


@pytest.fixture
def hooked(settings: Settings) -> Settings:
    """A server that may call 127.0.0.0/8, retrying fast."""
    return dataclasses.replace(
        settings, callback_allow=("127.0.0.0/8",), webhook_secret=SECRET, callback_backoff=0.05
    )


async def submit(http: httpx.AsyncClient, **members: Any) -> httpx.Response:
    return await http.post("/reports", json={**SEED_REQUEST, **members})


async def until(http: httpx.AsyncClient, location: str, done: Any, seconds: float = 15) -> Any:
    """The status document once ``done(document)`` holds (polled every 20 ms)."""
    doc: Any = None
    for _ in range(int(seconds / 0.02)):
        doc = (await http.get(location)).json()
        if done(doc):
            return doc
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {seconds} s: {doc}")


def delivered(doc: Any) -> bool:
    return bool(doc.get("callback", {}).get("state") in ("delivered", "failed", "disabled"))


async def test_a_finished_report_is_posted_signed_to_its_callback(
    hooked: Settings, receiver: tuple[Receiver, str], job_store: JobStore | None
) -> None:
    app, url = receiver
    async with serve_in_process(hooked, job_store) as http:
        accepted = await submit(http, callbackUrl=f"{url}/hooks/a?x=1")
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["callback"] == {
            "url": f"{url}/hooks/a?x=1",
            "events": "terminal",
            "state": "waiting",
            "attempts": 0,
        }
        location = accepted.headers["location"]
        (got,) = await asyncio.to_thread(app.wait, lambda r: len(r) >= 1)
        status = await until(http, location, delivered)
    assert got.path == "/hooks/a"
    assert got.headers["content-type"] == "application/json"
    verify(got.headers, got.body, SECRET)  # raises unless signed with the secret, in time
    body = got.json()
    assert got.id == f"msg_{body['id']}_done"
    assert body["status"] == "DONE"
    assert "callback" not in body
    assert body == {k: v for k, v in status.items() if k != "callback"}
    assert status["callback"] == {
        "url": f"{url}/hooks/a?x=1",
        "events": "terminal",
        "state": "delivered",
        "attempts": 1,
    }


async def test_all_events_add_one_when_a_worker_starts_the_report(
    hooked: Settings, receiver: tuple[Receiver, str]
) -> None:
    app, url = receiver
    async with serve_in_process(hooked) as http:
        accepted = await submit(http, callbackUrl=f"{url}/all", callbackEvents="all")
        got = await asyncio.to_thread(app.wait, lambda r: len(r) >= 2)
    states = sorted(r.json()["status"] for r in got)
    assert states == ["DONE", "PROCESSING"]
    assert len({r.id for r in got}) == 2
    assert all(r.json()["id"] == accepted.json()["id"] for r in got)


async def test_a_failed_attempt_is_sent_again_with_the_same_id_and_body_after_a_wait(
    hooked: Settings, receiver: tuple[Receiver, str], job_store: JobStore | None
) -> None:
    app, url = receiver
    app.script["/flaky"] = [(500, {}), (500, {})]
    async with serve_in_process(hooked, job_store) as http:
        location = (await submit(http, callbackUrl=f"{url}/flaky")).headers["location"]
        got = await asyncio.to_thread(app.wait, lambda r: len(r) >= 3)
        status = await until(http, location, delivered)
    assert [r.answered for r in got] == [500, 500, 200]
    assert len({r.id for r in got}) == 1
    assert len({r.body for r in got}) == 1
    for r in got:
        verify(r.headers, r.body, SECRET)
    floor = hooked.callback_backoff / 2
    assert got[1].at - got[0].at >= floor * 0.9
    assert got[2].at - got[1].at >= floor * 0.9
    assert status["callback"]["state"] == "delivered"
    assert status["callback"]["attempts"] == 3


async def test_a_throttled_receiver_is_left_alone_for_its_retry_after(
    hooked: Settings, receiver: tuple[Receiver, str]
) -> None:
    app, url = receiver
    app.script["/busy"] = [(503, {"Retry-After": "1"})]
    async with serve_in_process(hooked) as http:
        location = (await submit(http, callbackUrl=f"{url}/busy")).headers["location"]
        first = await asyncio.to_thread(app.wait, lambda r: len(r) >= 1)
        pending = await until(http, location, lambda d: "lastError" in d["callback"])
        got = await asyncio.to_thread(app.wait, lambda r: len(r) >= 2)
    assert pending["callback"]["lastError"] == "the receiver answered 503"
    assert got[1].at - first[0].at >= 0.95
    assert got[1].id == got[0].id


async def test_gone_stops_every_delivery_to_the_url(
    hooked: Settings, receiver: tuple[Receiver, str]
) -> None:
    app, url = receiver
    app.script["/gone"] = [(410, {})] * 5
    # Paced: the PROCESSING event is answered before the report ends.
    async with serve_in_process(dataclasses.replace(hooked, pace=0.5)) as http:
        location = (await submit(http, callbackUrl=f"{url}/gone", callbackEvents="all")).headers[
            "location"
        ]
        await until(http, location, lambda d: d["status"] == "DONE")
        status = await until(http, location, delivered)
        await asyncio.sleep(hooked.callback_backoff * 4)
    assert [r.json()["status"] for r in app.at("/gone")] == ["PROCESSING"]
    assert status["callback"] == {
        "url": f"{url}/gone",
        "events": "all",
        "state": "disabled",
        "attempts": 1,
        "lastError": "the receiver answered 410 Gone",
    }


async def test_a_redirect_is_not_followed(hooked: Settings, receiver: tuple[Receiver, str]) -> None:
    app, url = receiver
    app.script["/moved"] = [(307, {"Location": f"{url}/elsewhere"})]
    async with serve_in_process(hooked) as http:
        location = (await submit(http, callbackUrl=f"{url}/moved")).headers["location"]
        await asyncio.to_thread(app.wait, lambda r: len(r) >= 2)
        status = await until(http, location, delivered)
    assert [r.path for r in app.received] == ["/moved", "/moved"]
    assert status["callback"]["attempts"] == 2


async def test_an_event_is_given_up_after_the_delivery_period(
    hooked: Settings, receiver: tuple[Receiver, str]
) -> None:
    app, url = receiver
    app.script["/down"] = [(500, {})] * 100
    async with serve_in_process(dataclasses.replace(hooked, callback_period=0.3)) as http:
        location = (await submit(http, callbackUrl=f"{url}/down")).headers["location"]
        status = await until(http, location, delivered)
    assert status["callback"]["state"] == "failed"
    assert status["callback"]["lastError"].startswith("the receiver answered 500; given up")
    assert 1 <= len(app.at("/down")) < 20


@pytest.mark.parametrize(
    ("allow", "url", "why"),
    [
        ((), "http://127.0.0.1:9/h", "allowed none"),
        (("10.0.0.0/8",), "http://127.0.0.1:9/h", "127.0.0.1 is not allowed"),
        (("*",), "http://127.0.0.1:9/h", "non-public address"),
        (("*",), "http://169.254.169.254/latest/meta-data", "non-public address"),
        (("*",), "http://[::1]:9/h", "non-public address"),
        (("*",), "http://localhost:9/h", "non-public address"),
        (("*.example.com",), "http://localhost/h", "localhost is not allowed"),
        (("127.0.0.0/8",), "http://user:pw@127.0.0.1/h", "credentials"),
        (("*",), "http://no-such-host.invalid/h", "does not resolve"),
    ],
)
async def test_a_callback_the_server_may_not_make_is_refused_at_submission(
    settings: Settings, allow: tuple[str, ...], url: str, why: str
) -> None:
    limited = dataclasses.replace(settings, workers=0, callback_allow=allow, webhook_secret=SECRET)
    async with serve_in_process(limited) as http:
        response = await submit(http, callbackUrl=url)
        listed = (await http.get("/reports")).json()["items"]
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "/problems/callback-refused"
    assert why in problem["detail"]
    assert listed == []  # nothing was created


async def test_a_callback_url_that_is_not_http_is_a_contract_violation(hooked: Settings) -> None:
    async with serve_in_process(dataclasses.replace(hooked, workers=0)) as http:
        response = await submit(http, callbackUrl="file:///etc/passwd")
    assert response.status_code == 400
    assert "callbackUrl" in response.json()["detail"]


def test_the_allow_list_decides_by_address() -> None:
    egress = Egress.parse(["10.1.0.0/16", "hooks.internal", "*.example.com"])
    target = parse_target
    ip = ipaddress.ip_address
    assert egress.admits(target("http://x.test/"), ip("10.1.2.3")) is None  # by network
    assert egress.admits(target("http://hooks.internal/"), ip("192.168.0.1")) is None  # by name
    assert egress.admits(target("http://a.example.com/"), ip("93.184.216.34")) is None
    assert "non-public" in str(egress.admits(target("http://a.example.com/"), ip("10.9.0.1")))
    assert "not allowed" in str(egress.admits(target("http://other.test/"), ip("93.184.216.34")))
    assert target("https://[::1]:8443/p?q=1").url_at(ip("::1")) == "https://[::1]:8443/p?q=1"
    assert target("https://Hooks.Example.com/p").authority == "hooks.example.com"
    for bad in ("10.0.0.0/33", "exa mple.com", "*.", "http://x"):
        with pytest.raises(ValueError, match="callback allow entry"):
            Egress.parse([bad])
    with pytest.raises(Refused, match="scheme"):
        parse_target("gopher://x/")


def test_the_retry_schedule_has_a_floor_and_grows() -> None:
    import random

    jitter = random.Random(1)
    waits = [[retry_delay(n, 2.0, jitter) for _ in range(200)] for n in (1, 2, 3, 12)]
    assert all(1.0 <= w <= 3.0 for w in waits[0])
    assert all(1.0 <= w <= 5.0 for w in waits[1])
    assert max(waits[1]) > 3.0
    assert all(1.0 <= w <= 9.0 for w in waits[2])
    assert all(w <= 601.0 for w in waits[3])
    assert max(waits[3]) > 300


def test_serve_refuses_callbacks_without_a_secret(tmp_path: Path) -> None:
    import subprocess

    from tests.live import LROKIT

    done = subprocess.run(
        [str(LROKIT), "serve", "--db", str(tmp_path / "j.sqlite3"), "--callback-allow", "*"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    assert "callbacks need a webhook secret" in done.stderr
    assert "Traceback" not in done.stderr


async def test_several_processes_deliver_each_event_once_on_postgresql(
    hooked: Settings, receiver: tuple[Receiver, str]
) -> None:
    """Two servers (API and workers each) on one PostgreSQL: every report's event arrives,
    and none twice (the outbox's claims skip what another process holds)."""
    app, url = receiver
    with postgres_schema("webhooks across processes") as (pg, schema):
        one, two = (PostgresJobStore(pg, schema=schema) for _ in range(2))
        async with serve_in_process(hooked, one) as a, serve_in_process(hooked, two) as b:
            ids = []
            for n in range(20):
                accepted = await submit(a if n % 2 else b, callbackUrl=f"{url}/many/{n}")
                ids.append(accepted.json()["id"])
            got = await asyncio.to_thread(app.wait, lambda r: len(r) >= 20)
            await asyncio.sleep(0.3)  # room for a duplicate to show
    assert sorted(r.json()["id"] for r in app.received) == sorted(ids)
    assert len({r.id for r in got}) == len(app.received) == 20


def _job(**changes: Any) -> Job:
    return Job(
        id="j", seq=1, report_type="yearly-sales", parameters={}, state=JobState.DONE,
        progress=100, created_at=0.0, started_at=0.0, finished_at=1.0,
        expected_finish_at=None, cancel_requested=False, attempts=1, error=None, **changes,
    )  # fmt: skip


def test_a_report_without_a_callback_has_no_callback_member() -> None:
    from lrokit.server.jobs.document import status_document

    assert "callback" not in status_document(_job(), "", 0.0)


def test_a_callback_survives_kill_9_and_arrives_after_restart_with_its_id(
    tmp_path: Path, dataset_path: Path, receiver: tuple[Receiver, str]
) -> None:
    """The terminal state and its event are written in one transaction: a server killed
    (SIGKILL) after the report finished and before the receiver took the event sends it once
    it runs again, with the same webhook-id and body."""
    app, url = receiver
    app.script["/crash"] = [(500, {})]  # the first attempt fails: the event is still due
    args = (
        *("--callback-allow", "127.0.0.0/8", "--webhook-secret", SECRET),
        *("--callback-backoff", "2"),  # the retry comes 1 to 3 s later: after the kill
    )
    with LiveServer(tmp_path, dataset_path, *args, rows=TEST_ROWS) as server:
        accepted = httpx.post(
            f"{server.url}/reports", json={**SEED_REQUEST, "callbackUrl": f"{url}/crash"}
        )
        first = app.wait(lambda r: len(r) >= 1)
        server.kill()
    assert first[0].answered == 500
    killed_at = time.monotonic()
    with LiveServer(tmp_path, dataset_path, *args, rows=TEST_ROWS) as server:
        got = app.wait(lambda r: len(r) >= 2, timeout=30)
        status = httpx.get(f"{server.url}{accepted.headers['location']}").json()
    assert got[1].at > killed_at
    assert got[1].id == first[0].id == f"msg_{accepted.json()['id']}_done"
    assert got[1].body == first[0].body
    verify(got[1].headers, got[1].body, SECRET)
    assert status["callback"]["state"] == "delivered"
