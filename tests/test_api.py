"""The reference server's HTTP behaviour, in-process over ASGI with response validation on."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
from datetime import datetime
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from lrokit.server.http.app import create_app
from lrokit.server.http.middleware import InFlightLimit
from lrokit.server.jobs.sqlite import SQLiteJobStore
from lrokit.server.jobs.store import StoreUnavailable
from lrokit.server.problems import PROBLEM_TYPES
from lrokit.server.settings import Settings
from tests.conftest import serve_in_process
from tests.helpers import SEED_REQUEST, poll_until_terminal

pytestmark = pytest.mark.anyio


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def submit(
    client: httpx.AsyncClient, body: object = SEED_REQUEST, **headers: str
) -> httpx.Response:
    response = await client.post("/reports", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return response


async def test_seed_request_is_accepted_polled_and_downloaded(client: httpx.AsyncClient) -> None:
    accepted = await submit(client)
    doc = accepted.json()
    location = accepted.headers["location"]
    assert location == f"/reports/{doc['id']}"
    assert doc["status"] == "PENDING"
    assert doc["progress"] == 0
    assert doc["links"]["self"]["href"] == location
    assert int(accepted.headers["retry-after"]) >= 1
    assert accepted.headers["cache-control"] == "no-store"

    polls = await poll_until_terminal(client, location)
    final = polls[-1].json()
    assert final["status"] == "DONE"
    assert final["progress"] == 100
    assert ts(final["createdAt"]) <= ts(final["startedAt"]) <= ts(final["finishedAt"])
    assert "estimatedTimeRemaining" not in final
    assert "error" not in final
    assert final["links"]["download"]["href"] == f"{location}/download"

    as_json = await client.get(f"{location}/download", headers={"Accept": "application/json"})
    assert as_json.status_code == 200
    assert as_json.headers["content-type"] == "application/json"
    result = as_json.json()
    assert result["id"] == doc["id"]
    assert result["reportType"] == "yearly-sales"
    assert [row[0] for row in result["rows"]] == [f"2023-{m:02d}" for m in range(1, 13)]
    assert as_json.headers["etag"].startswith('"')

    as_csv = await client.get(f"{location}/download", headers={"Accept": "text/csv"})
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows[0] == [c["name"] for c in result["columns"]]
    assert len(rows) == 1 + len(result["rows"])

    default = await client.get(f"{location}/download")
    assert default.headers["content-type"] == "application/json"


async def test_every_report_type_completes(client: httpx.AsyncClient) -> None:
    bodies = [
        {"reportType": "yearly-sales", "parameters": {"year": "2021", "region": "europe"}},
        {"reportType": "sales-by-region", "parameters": {"from": "2022-01-01", "to": "2022-03-31"}},
        {"reportType": "top-products", "parameters": {"year": "2024", "limit": 5}},
    ]
    locations = [(await submit(client, body)).headers["location"] for body in bodies]
    for location in locations:
        final = (await poll_until_terminal(client, location))[-1].json()
        assert final["status"] == "DONE", final
        result = (await client.get(f"{location}/download")).json()
        assert result["rows"], result


async def test_report_without_data_ends_in_a_structured_error(client: httpx.AsyncClient) -> None:
    accepted = await submit(client, {"reportType": "yearly-sales", "parameters": {"year": "1999"}})
    location = accepted.headers["location"]
    final = (await poll_until_terminal(client, location))[-1].json()
    assert final["status"] == "ERROR"
    error = final["error"]
    assert error["code"] == "NO_DATA"
    assert error["retryable"] is False
    assert error["failedStep"]
    assert error["type"] == "/problems/no-data"
    assert error["title"] == PROBLEM_TYPES["no-data"].title
    assert "1999" in error["detail"]
    assert error["instance"] == location
    assert "download" not in final["links"]

    download = await client.get(f"{location}/download")
    assert download.status_code == 409
    assert download.json()["type"] == "/problems/report-failed"


async def test_cancel_pending_report(settings: Settings) -> None:
    async with serve_in_process(dataclasses.replace(settings, workers=0)) as client:
        location = (await submit(client)).headers["location"]
        first = await client.delete(location)
        assert first.status_code == 200
        assert first.json()["status"] == "CANCELLED"
        assert "retry-after" not in first.headers
        again = await client.delete(location)
        assert again.status_code == 200
        assert again.json() == first.json()
        download = await client.get(f"{location}/download")
        assert download.status_code == 409
        assert download.json()["type"] == "/problems/report-cancelled"


async def test_cancel_processing_report_stops_its_worker(settings: Settings) -> None:
    async with serve_in_process(dataclasses.replace(settings, pace=3.0)) as client:
        location = (await submit(client)).headers["location"]
        for _ in range(200):
            doc = (await client.get(location)).json()
            if "estimatedTimeRemaining" in doc:  # PROCESSING, and its first heartbeat is in
                break
            await asyncio.sleep(0.02)
        assert doc["status"] == "PROCESSING"
        requested = await client.delete(location)
        assert requested.status_code == 202
        assert requested.json()["cancelRequested"] is True
        assert requested.headers["location"] == location
        started = asyncio.get_running_loop().time()
        final = (await poll_until_terminal(client, location))[-1].json()
        assert final["status"] == "CANCELLED"
        # The worker beats at least every second, so it stops well before the 3 s pace.
        assert asyncio.get_running_loop().time() - started < 2.0


async def test_cancel_finished_report_is_a_conflict_that_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    location = (await submit(client)).headers["location"]
    before = (await poll_until_terminal(client, location))[-1].json()
    response = await client.delete(location)
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/report-finished"
    assert (await client.get(location)).json() == before


async def test_download_before_done_is_not_ready(settings: Settings) -> None:
    async with serve_in_process(dataclasses.replace(settings, workers=0)) as client:
        location = (await submit(client)).headers["location"]
        response = await client.get(f"{location}/download")
        assert response.status_code == 409
        assert response.json()["type"] == "/problems/report-not-ready"
        assert int(response.headers["retry-after"]) >= 1


async def test_idempotency_key_replays_the_same_report(client: httpx.AsyncClient) -> None:
    key = '"6d1a6f52-0f5c-4a7e-9d40-0a8c1b1a2f11"'
    first = await submit(client, **{"Idempotency-Key": key})
    second = await submit(client, **{"Idempotency-Key": key})
    assert second.headers["location"] == first.headers["location"]
    assert second.json()["id"] == first.json()["id"]
    other = await client.post(
        "/reports",
        json={"reportType": "yearly-sales", "parameters": {"year": "2022"}},
        headers={"Idempotency-Key": key},
    )
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"
    listed = (await client.get("/reports", params={"limit": 100})).json()["items"]
    assert [item["id"] for item in listed] == [first.json()["id"]]


async def test_concurrent_requests_with_one_key_create_one_report(
    client: httpx.AsyncClient,
) -> None:
    headers = {"Idempotency-Key": '"concurrent-key-1"'}
    responses = await asyncio.gather(
        *(client.post("/reports", json=SEED_REQUEST, headers=headers) for _ in range(20))
    )
    assert {r.status_code for r in responses} == {202}
    assert len({r.headers["location"] for r in responses}) == 1
    listed = (await client.get("/reports", params={"limit": 100})).json()["items"]
    assert len(listed) == 1


async def test_prefer_respond_async_is_applied_and_unknown_preferences_ignored(
    client: httpx.AsyncClient,
) -> None:
    plain = await submit(client)
    assert "preference-applied" not in plain.headers
    assert plain.headers["vary"] == "Prefer"
    odd = await submit(client, Prefer="x-unknown=1; p=2, Respond-Async, wait=-1")
    assert odd.headers["preference-applied"] == "respond-async"
    garbage = await submit(client, Prefer=',,;;="')
    assert "preference-applied" not in garbage.headers


async def test_list_pages_newest_first_and_filters_by_state(settings: Settings) -> None:
    async with serve_in_process(dataclasses.replace(settings, workers=0)) as client:
        ids = [(await submit(client)).json()["id"] for _ in range(5)]
        await client.delete(f"/reports/{ids[0]}")
        seen: list[str] = []
        url: str | None = "/reports?limit=2"
        for _ in range(10):
            if url is None:
                break
            page = await client.get(url)
            assert page.status_code == 200
            assert len(page.json()["items"]) <= 2
            seen += [item["id"] for item in page.json()["items"]]
            url = page.json()["links"].get("next", {}).get("href")
        assert seen == ids[::-1]
        cancelled = await client.get("/reports", params={"status": "CANCELLED"})
        assert [item["id"] for item in cancelled.json()["items"]] == [ids[0]]
        pending = await client.get("/reports?status=PENDING&status=PROCESSING")
        assert [item["id"] for item in pending.json()["items"]] == ids[:0:-1]


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status", "slug"),
    [
        ("GET", "/reports/does-not-exist", {}, 404, "report-not-found"),
        ("DELETE", "/reports/does-not-exist", {}, 404, "report-not-found"),
        ("GET", "/reports/does-not-exist/download", {}, 404, "report-not-found"),
        ("GET", "/no/such/path", {}, 404, "not-found"),
        (
            "POST",
            "/reports",
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "malformed-request",
        ),
        (
            "POST",
            "/reports",
            {"content": b'{"a": "\xff"}', "headers": {"Content-Type": "application/json"}},
            400,
            "malformed-request",
        ),
        (
            "POST",
            "/reports",
            {"content": b"[" * 5000 + b"]" * 5000, "headers": {"Content-Type": "application/json"}},
            400,
            "malformed-request",
        ),
        (
            "POST",
            "/reports",
            {"json": {"reportType": "yearly-sales", "parameters": {"year": "23"}}},
            400,
            "invalid-request",
        ),
        ("POST", "/reports", {"json": {"reportType": "weekly"}}, 400, "invalid-request"),
        (
            "POST",
            "/reports",
            {"content": b"year=2023", "headers": {"Content-Type": "text/plain"}},
            415,
            "unsupported-media-type",
        ),
        (  # valid JSON, but no Content-Type: was a 500 (the handler got raw bytes)
            "POST",
            "/reports",
            {"content": b'{"reportType": "yearly-sales", "parameters": {"year": "2023"}}'},
            415,
            "unsupported-media-type",
        ),
        (
            "POST",
            "/reports",
            {"content": b" " * 70_000, "headers": {"Content-Type": "application/json"}},
            413,
            "request-too-large",
        ),
        (
            "POST",
            "/reports",
            {
                "json": {
                    "reportType": "sales-by-region",
                    "parameters": {"from": "2023-05-01", "to": "2023-01-01"},
                }
            },
            422,
            "invalid-report-parameters",
        ),
        ("PUT", "/reports", {}, 405, "method-not-allowed"),
        ("PATCH", "/reports/abc", {}, 405, "method-not-allowed"),
        ("GET", "/reports", {"headers": {"Accept": "text/html"}}, 406, "not-acceptable"),
        ("GET", "/reports?bogus=1", {}, 400, "invalid-request"),
        ("GET", "/reports?limit=0", {}, 400, "invalid-request"),
        ("GET", "/reports?cursor=abc", {}, 400, "invalid-request"),
        ("GET", "/reports?limit=%EF%BC%95", {}, 400, "invalid-request"),  # a fullwidth 5
        ("GET", "/reports?limit=5%0a", {}, 400, "invalid-request"),
        ("GET", "/reports?cursor=5%0a", {}, 400, "invalid-request"),  # passed a $ pattern
        (
            "POST",
            "/reports",
            {
                "json": {"reportType": "yearly-sales", "parameters": {"year": "2023"}},
                "headers": [("Idempotency-Key", '"a"'), ("Idempotency-Key", '"b"')],
            },
            400,
            "invalid-request",
        ),
        ("GET", "/problems/no-such-type", {}, 404, "not-found"),
    ],
)
async def test_every_error_is_a_problem(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    kwargs: dict[str, object],
    status: int,
    slug: str,
) -> None:
    response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    kind = PROBLEM_TYPES[slug]
    assert problem["type"] == kind.uri
    assert problem["title"] == kind.title
    assert problem["status"] == status
    assert isinstance(problem["detail"], str)
    assert problem["detail"]
    assert "\n" not in problem["detail"]  # one line, not a validator's report
    assert problem["instance"].startswith("/")
    docs = await client.get(problem["type"])
    assert docs.status_code == 200
    assert kind.title in docs.text


async def test_a_problem_never_echoes_a_long_input_back(client: httpx.AsyncClient) -> None:
    """A 12 KB id made a 36 KB problem: the detail is cut, the instance left out."""
    long_id = "x" * 12_000
    missing = await client.get(f"/reports/{long_id}")
    invalid = await client.post("/reports", json={"reportType": long_id})
    for response in (missing, invalid):
        assert response.status_code in (400, 404), response.text
        assert len(response.content) < 1_000, len(response.content)
        problem = response.json()
        assert "instance" not in problem or len(problem["instance"]) <= 200
        assert len(problem["detail"]) <= 400


@pytest.mark.parametrize(
    ("url", "instance"),
    [
        ("/problems/%C2%84", "/problems/%C2%84"),
        ("/reports/a%20b", "/reports/a%20b"),
        ("/no/such/%E2%9C%93", "/no/such/%E2%9C%93"),
    ],
)
async def test_problem_instance_is_a_uri_reference(
    client: httpx.AsyncClient, url: str, instance: str
) -> None:
    response = await client.get(url)
    assert response.status_code >= 400
    assert response.json()["instance"] == instance


@pytest.mark.parametrize(
    ("url", "allow"),
    [
        ("/reports", "GET, POST, HEAD"),
        ("/reports/x", "GET, DELETE, HEAD"),
        ("/reports/x/download", "GET, HEAD"),
    ],
)
async def test_405_lists_every_method_of_the_resource(
    client: httpx.AsyncClient, url: str, allow: str
) -> None:
    response = await client.request("TRACE", url)
    assert response.status_code == 405
    assert response.headers["allow"] == allow


async def test_head_on_the_monitor_matches_get(client: httpx.AsyncClient) -> None:
    location = (await submit(client)).headers["location"]
    await poll_until_terminal(client, location)
    get, head = await client.get(location), await client.head(location)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    for field in ("content-type", "cache-control", "content-length"):
        assert head.headers.get(field) == get.headers.get(field)


async def test_contract_and_swagger_ui_are_served(client: httpx.AsyncClient) -> None:
    spec = await client.get("/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["info"]["title"] == "lrokit reports API"
    # Swagger UI's server list names the server the document came from, not a blank.
    assert spec.json()["servers"] == [
        {"url": "/", "description": "this server (http://testserver)"}
    ]
    ui = await client.get("/ui/")
    assert ui.status_code == 200
    assert "swagger" in ui.text.lower()


async def test_an_expired_report_is_gone(settings: Settings) -> None:
    clock = [1_700_000_000.0]
    app = create_app(dataclasses.replace(settings, retention=60), clock=lambda: clock[0])
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            location = (await submit(client)).headers["location"]
            for _ in range(300):
                if (await client.get(location)).json()["status"] == "DONE":
                    break
                await asyncio.sleep(0.02)
            assert (await client.get(f"{location}/download")).status_code == 200
            clock[0] += 61
            for method, url in (
                ("GET", location),
                ("GET", f"{location}/download"),
                ("DELETE", location),
            ):
                response = await client.request(method, url)
                assert response.status_code == 410, (method, url, response.text)
                assert response.json()["type"] == "/problems/report-expired"
                assert response.json()["status"] == 410
            assert (await client.get("/reports")).json()["items"] == []


async def test_swagger_ui_and_the_contract_carry_security_headers(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/ui/", "/openapi.json"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "x-frame-options" not in (await client.get("/reports")).headers  # the API's JSON
    stock = await client.get("/ui/swagger-initializer.js")  # the petstore start-up script
    assert (stock.status_code, stock.headers["content-type"]) == (404, "application/problem+json")


async def test_no_ui_serves_the_contract_and_no_swagger_ui(settings: Settings) -> None:
    async with serve_in_process(dataclasses.replace(settings, ui=False)) as http:
        assert (await http.get("/ui/")).status_code == 404
        assert (await http.get("/openapi.json")).status_code == 200


async def test_problem_pages_speak_html_json_and_markdown(client: httpx.AsyncClient) -> None:
    kind = PROBLEM_TYPES["invalid-request"]
    page = await client.get(kind.uri)
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "`" not in page.text  # the registry's code spans render as <code>
    assert "<code>detail</code>" in page.text
    data = await client.get(kind.uri, headers={"Accept": "application/json"})
    assert data.json() == kind.as_json()
    text = await client.get(kind.uri, headers={"Accept": "text/markdown"})
    assert text.text.startswith(f"# {kind.title}")
    assert (await client.get(kind.uri, headers={"Accept": "image/png"})).status_code == 406


async def test_problems_lists_every_problem_type(client: httpx.AsyncClient) -> None:
    page = await client.get("/problems")
    assert page.status_code == 200
    assert all(f'href="{kind.uri}"' in page.text for kind in PROBLEM_TYPES.values())
    listed = await client.get("/problems", headers={"Accept": "application/json"})
    assert [entry["type"] for entry in listed.json()] == [k.uri for k in PROBLEM_TYPES.values()]


class _DownStore(SQLiteJobStore):
    """A store whose database went away after it opened: every call is an outage."""

    down = False

    def __getattribute__(self, name: str) -> Any:
        attribute = super().__getattribute__(name)
        calls = ("create", "get", "get_result", "list", "cancel")
        if name in calls and super().__getattribute__("down"):

            async def unavailable(*args: Any, **kwargs: Any) -> Any:
                raise StoreUnavailable("OperationalError: connection refused")

            return unavailable
        return attribute


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "connexion"])
async def test_a_store_outage_is_503_with_retry_after_never_500(
    settings: Settings, fast_path: bool
) -> None:
    """Issue 15: while the store was down, clients got 500 internal-error with no
    Retry-After. Both paths now answer 503 store-unavailable, and recover by themselves."""
    store = _DownStore(settings.db)
    chosen = dataclasses.replace(settings, workers=0, fast_path=fast_path)
    async with serve_in_process(chosen, store=store) as client:
        created = await client.post("/reports", json=SEED_REQUEST)
        assert created.status_code == 202
        monitor = created.headers["location"]
        store.down = True
        answers = [
            await client.post("/reports", json=SEED_REQUEST),
            await client.get(monitor),
            await client.get("/reports"),
            await client.delete(monitor),
            await client.get(f"{monitor}/download"),
        ]
        for answer in answers:
            assert answer.status_code == 503, (answer.request.url, answer.text)
            assert answer.headers["retry-after"] == "2"
            assert answer.json()["type"] == PROBLEM_TYPES["store-unavailable"].uri
        store.down = False
        assert (await client.get(monitor)).status_code == 200


@pytest.mark.parametrize(
    ("method", "url", "body", "detail"),
    [
        ("POST", "/reports", {"reportType": "yearly-sales", "parameters": {"year": 2023}},
         "/parameters/year: must be a string"),
        ("POST", "/reports", {"reportType": "weekly"},
         "/reportType: must be one of 'yearly-sales', 'sales-by-region', 'top-products'"),
        ("POST", "/reports",
         {"reportType": "sales-by-region", "parameters": {"from": "2023-01-01"}},
         "/parameters/to: is required"),
        ("POST", "/reports", {"reportType": "yearly-sales", "parameters": {"year": "2023", "x": 1}},
         "/parameters/x: is not allowed here"),
        ("POST", "/reports", [], "/: must be an object"),
        ("POST", "/reports", {**SEED_REQUEST, "callbackUrl": "ftp://x"},
         "/callbackUrl: must match ^[Hh][Tt][Tt][Pp][Ss]?://"),
        # an enum of the branch the discriminator chose, not the discriminator itself
        ("POST", "/reports", {**SEED_REQUEST, "callbackUrl": "http://h/", "callbackEvents": "x"},
         "/callbackEvents: must be one of 'terminal', 'all'"),
        ("GET", "/reports?limit=0", None, "query parameter limit: must be at least 1"),
        ("GET", "/reports?status=FOO", None,
         "query parameter status: must be one of 'PENDING', 'PROCESSING', 'DONE', 'ERROR', "
         "'CANCELLED'"),
        ("GET", "/reports?limit=%EF%BC%95", None,
         "query parameter limit: must be ASCII digits, not '\uff15'"),  # a fullwidth 5
    ],
)  # fmt: skip
async def test_a_rejection_names_the_member_and_the_constraint_in_words(
    client: httpx.AsyncClient, method: str, url: str, body: object, detail: str
) -> None:
    """Issue 15: details read as Python reprs naming no field, or a multi-line jsonschema
    dump. They name the member by JSON pointer (or the parameter) and say what it must be."""
    response = await client.request(method, url, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == detail


async def test_a_request_beyond_the_in_flight_limit_is_told_to_come_back() -> None:
    """Two requests under way with a limit of two: a third gets 503 server-busy with
    Retry-After at once; once one ends, the next is answered."""
    release, both_in = asyncio.Event(), asyncio.Event()
    entered = []

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        entered.append(scope["path"])
        if len(entered) == 2:
            both_in.set()
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})

    limited = InFlightLimit(slow, limit=2)
    transport = httpx.ASGITransport(app=limited)
    async with httpx.AsyncClient(transport=transport, base_url="http://limit.test") as http:
        under_way = [asyncio.create_task(http.get("/reports")) for _ in range(2)]
        await asyncio.wait_for(both_in.wait(), 5)
        busy = await http.get("/reports")
        assert (busy.status_code, busy.headers["retry-after"]) == (503, "1")
        assert busy.json()["type"] == PROBLEM_TYPES["server-busy"].uri
        release.set()
        assert [r.status_code for r in await asyncio.gather(*under_way)] == [200, 200]
        assert (await http.get("/reports")).status_code == 200
