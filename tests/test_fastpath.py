"""The fast path answers every request exactly as connexion's stack alone does.

Two reference servers run in-process side by side, one with the fast path and one without
(``fast_path=False``), and get the same requests in the same order; their answers must be the
same but for ids and timestamps. Hand-picked cases cover each reason the fast path hands a
request on to connexion; hypothesis then drives request bodies and headers, valid and not, so
the compiled validators and connexion's must agree on each.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.responses import Response

from lrokit.server.http.app import load_contract
from lrokit.server.http.fastpath import FastPath, compile_routes
from lrokit.server.settings import Settings
from tests.conftest import serve_in_process
from tests.helpers import SEED_REQUEST

ID = re.compile(rb"[0-9a-f]{32}")
TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
#: Headers whose values differ between two servers answering the same request.
VOLATILE = {"date", "content-length", "etag"}
JSON = "application/json"


def normal(response: httpx.Response) -> tuple[int, dict[str, str], bytes]:
    """The response with ids and timestamps masked, comparable across servers."""
    headers = {
        k: ID.sub(b"ID", v.encode()).decode()
        for k, v in response.headers.items()
        if k not in VOLATILE
    }
    body = TIMESTAMP.sub(b"TS", ID.sub(b"ID", response.content))
    return response.status_code, headers, body


class Pair:
    """A server with the fast path and one without, fed the same requests."""

    def __init__(self, settings: Settings) -> None:
        self.fast = serve_in_process(settings)
        slow_db = settings.db.with_name("slow.sqlite3")
        self.slow = serve_in_process(dataclasses.replace(settings, fast_path=False, db=slow_db))

    async def __aenter__(self) -> Pair:
        self.clients = (await self.fast.__aenter__(), await self.slow.__aenter__())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.fast.__aexit__(*exc)
        await self.slow.__aexit__(*exc)

    async def same(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send to both; assert equal answers; return the fast one."""
        fast, slow = [await c.request(method, url, **kwargs) for c in self.clients]
        assert normal(fast) == normal(slow), (method, url, kwargs)
        return fast

    async def job(self) -> tuple[str, str]:
        """A new PENDING job in each server: its ids (fast, slow)."""
        ids = [(await c.post("/reports", json=SEED_REQUEST)).json()["id"] for c in self.clients]
        return ids[0], ids[1]


@pytest.fixture
def quiet(settings: Settings) -> Settings:
    """No workers: jobs stay where the requests put them, on both servers alike."""
    return dataclasses.replace(settings, workers=0)


def test_compiles_the_operations_it_can_validate_in_full() -> None:
    routes = compile_routes(load_contract(), _Handlers())
    assert {r.operation_id for r in routes} == {
        "createReport",
        "getReport",
        "cancelReport",
        "downloadReport",
        "getProblemType",
        "listProblemTypes",
    }  # listReports has query parameters: connexion keeps it


class _Handlers(dict[str, Any]):
    def __missing__(self, key: str) -> Any:
        return key


def cases() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Requests each server must answer alike; ``{id}`` is a job of that server."""
    seed = orjson.dumps(SEED_REQUEST)
    json_type = {"Content-Type": "application/json"}
    yield "GET", "/reports/{id}", {}
    yield "GET", "/reports/{id}", {"headers": {"Accept": "application/json"}}
    yield "GET", "/reports/{id}", {"headers": {"Accept": "application/*;q=0.5"}}
    yield "GET", "/reports/{id}", {"headers": {"Accept": "text/csv"}}  # 406
    yield "GET", "/reports/{id}?verbose=1", {}  # a query the operation lacks: 400
    yield "GET", "/reports/" + "x" * 65, {}  # longer than the contract allows: 400
    yield "GET", "/reports/unknown", {}  # 404
    yield "HEAD", "/reports/{id}", {}
    yield "GET", "/reports/{id}/download", {}  # 409, not ready
    yield "GET", "/reports/{id}/download", {"headers": {"Accept": "text/csv"}}
    yield "GET", "/problems/report-not-found", {}
    yield "GET", "/problems/nothing-like-it", {}
    yield "GET", "/problems", {"headers": {"Accept": "application/json"}}
    yield "GET", "/problems/report-not-found", {"headers": {"Accept": "text/markdown"}}
    yield "GET", "/problems/report-not-found", {"headers": {"Accept": "image/png"}}
    yield "POST", "/reports", {"content": seed, "headers": json_type}
    yield "POST", "/reports", {"content": seed, "headers": {"Content-Type": "text/plain"}}
    yield "POST", "/reports", {"content": seed, "headers": {}}
    yield "POST", "/reports", {"content": seed, "headers": [*json_type.items(), *json_type.items()]}
    yield "GET", "/reports?limit=%EF%BC%95", {}
    yield "GET", "/reports?cursor=5%0a", {}
    yield "POST", "/reports", {"content": b"", "headers": json_type}
    yield "POST", "/reports", {"content": b"[]", "headers": json_type}
    yield "POST", "/reports", {"content": b'{"reportType": "x"}', "headers": json_type}
    yield "POST", "/reports?x=1", {"content": seed, "headers": json_type}
    yield "POST", "/reports", {"content": seed, "headers": {**json_type, "Prefer": "respond-async"}}
    yield "POST", "/reports", {"content": seed, "headers": {**json_type, "Idempotency-Key": '"k"'}}
    yield "POST", "/reports", {"content": seed, "headers": {**json_type, "Idempotency-Key": '"k"'}}
    yield "POST", "/reports", {"content": seed, "headers": {**json_type, "Idempotency-Key": "\t"}}
    two_keys = [("Content-Type", "application/json"), ("Idempotency-Key", "a")] * 2
    yield "POST", "/reports", {"content": seed, "headers": two_keys[1:]}
    yield "DELETE", "/reports/{id}", {}
    yield "DELETE", "/reports/{id}", {}  # already cancelled
    yield "PUT", "/reports/{id}", {}  # 405 with Allow


@pytest.mark.anyio
async def test_every_case_answers_as_connexion_alone(quiet: Settings) -> None:
    async with Pair(quiet) as pair:
        fast_id, slow_id = await pair.job()
        for method, url, kwargs in cases():
            answers = []
            for client, job in zip(pair.clients, (fast_id, slow_id), strict=True):
                answers.append(await client.request(method, url.format(id=job), **kwargs))
            assert normal(answers[0]) == normal(answers[1]), (method, url, kwargs)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)
PARAMETER_VALUES = st.sampled_from(
    ["2023", "1999", "2024-02-30", "2023-01-01", "2023-06-30", "europe", "Europe", "", 10, 0]
)
BODIES = st.one_of(
    st.fixed_dictionaries(
        {
            "reportType": st.sampled_from(["yearly-sales", "sales-by-region", "top-products", "x"]),
            "parameters": st.dictionaries(
                st.sampled_from(["year", "region", "from", "to", "limit", "category", "extra"]),
                PARAMETER_VALUES | JSON_VALUES,
                max_size=4,
            ),
        },
        optional={"extra": JSON_VALUES},
    ),
    JSON_VALUES,
)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "Idempotency-Key": st.text(st.characters(codec="latin-1"), max_size=12),
        "Prefer": st.sampled_from(["respond-async", "wait=5, respond-async", "", "x" * 1100]),
        "Accept": st.sampled_from(["application/json", "*/*", "text/html", "application/*"]),
    },
)


class PairInThread:
    """A :class:`Pair` held open by one task of an event loop on its own thread, so that
    synchronous hypothesis examples can send it requests."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.ready = threading.Event()

    async def _hold(self) -> None:
        self.stop = asyncio.Event()
        async with Pair(self.settings) as pair:
            self.pair = pair
            self.ready.set()
            await self.stop.wait()

    def __enter__(self) -> PairInThread:
        self.thread.start()
        self.held = asyncio.run_coroutine_threadsafe(self._hold(), self.loop)
        if not self.ready.wait(30):
            raise RuntimeError(f"the servers did not start: {self.held}")
        return self

    def same(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        future = asyncio.run_coroutine_threadsafe(self.pair.same(method, url, **kwargs), self.loop)
        return future.result(30)

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        try:
            self.held.result(30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


def test_generated_submissions_answer_as_connexion_alone(quiet: Settings) -> None:
    with PairInThread(quiet) as pair:

        @hypothesis_settings(
            max_examples=150,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
        )
        @given(body=BODIES, headers=HEADERS)
        def submit(body: Any, headers: dict[str, str]) -> None:
            fields = {"Content-Type": b"application/json"}
            for name, value in headers.items():  # what an HTTP/1.1 parser lets through
                if value.strip() == value and not set(value) & {"\r", "\n", "\0"}:
                    fields[name] = value.encode("latin-1")
            content = json.dumps(body).encode()  # any integer, as a client may send
            pair.same("POST", "/reports", content=content, headers=fields)

        submit()


class Downstream:
    """Stands for connexion's stack: counts what reaches it and answers 418."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.mark.anyio
async def test_answers_what_it_validated_and_hands_on_the_rest() -> None:
    async def get_report(report_id: str) -> Response:
        return Response(report_id, media_type="application/json")

    async def create_report(body: Any) -> Response:
        return Response(orjson.dumps(body), 202, media_type="application/json")

    handlers = _Handlers(getReport=get_report, createReport=create_report)
    downstream = Downstream()
    app = FastPath(downstream, compile_routes(load_contract(), handlers))
    transport = httpx.ASGITransport(app=app)
    seed = orjson.dumps(SEED_REQUEST)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/reports/abc")).text == "abc"
        posted = await client.post("/reports", content=seed, headers={"Content-Type": JSON})
        assert (posted.status_code, posted.content) == (202, seed)
        assert downstream.calls == 0
        handed_on = [
            await client.get("/reports/" + "x" * 65),
            await client.get("/reports/abc?x=1"),
            await client.get("/reports/abc", headers={"Accept": "text/csv"}),
            await client.get("/reports"),  # listReports: not compiled
            await client.post(
                "/reports", content=b'{"reportType": "x"}', headers={"Content-Type": JSON}
            ),
            await client.post("/reports", content=seed, headers={"Content-Type": "text/json"}),
            await client.post(
                "/reports", content=seed, headers={"Content-Type": JSON, "Idempotency-Key": "\t"}
            ),
        ]
        assert [r.status_code for r in handed_on] == [418] * len(handed_on)
        assert downstream.calls == len(handed_on)
