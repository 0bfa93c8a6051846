"""Tenancy on the reference server (``lrokit serve --tokens FILE``): a report exists only for
the principal that submitted it (OWASP API1:2023), on both stores and both request paths; a
request without a valid bearer token is 401 with a challenge (RFC 9110 §15.5.2, RFC 6750 §3)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lrokit.server.http.auth import TokenFileError, read_tokens
from lrokit.server.jobs.store import JobStore
from lrokit.server.settings import Settings
from tests.conftest import serve_in_process
from tests.helpers import ALICE, BOB, SEED_REQUEST, TOKENS, bearer
from tests.live import LROKIT

pytestmark = pytest.mark.anyio

FAILING = {"reportType": "yearly-sales", "parameters": {"year": "1999"}}


@pytest.fixture(params=[True, False], ids=["fast-path", "connexion"])
async def http(
    request: pytest.FixtureRequest, settings: Settings, job_store: JobStore | None
) -> AsyncIterator[httpx.AsyncClient]:
    tenanted = dataclasses.replace(settings, tokens=TOKENS, fast_path=request.param)
    async with serve_in_process(tenanted, store=job_store) as client:
        yield client


async def submit(
    http: httpx.AsyncClient, token: str, body: Any = SEED_REQUEST, **headers: str
) -> httpx.Response:
    response = await http.post("/reports", json=body, headers={**bearer(token), **headers})
    assert response.status_code == 202, response.text
    return response


async def finished(http: httpx.AsyncClient, location: str, token: str) -> dict[str, Any]:
    for _ in range(400):  # bounded: the test dataset finishes a report in well under 10 s
        status = (await http.get(location, headers=bearer(token))).json()
        if status["status"] in ("DONE", "ERROR", "CANCELLED"):
            return dict(status)
        await asyncio.sleep(0.02)
    raise AssertionError(f"{location} did not finish")


def without_id(response: httpx.Response) -> tuple[int, str, str, str]:
    """What a response tells, with the id it names taken out."""
    body = response.json()
    return (
        response.status_code,
        response.headers["content-type"],
        body["type"],
        body["title"],
    )


async def test_a_report_exists_only_for_the_principal_that_submitted_it(
    http: httpx.AsyncClient,
) -> None:
    location = (await submit(http, ALICE)).headers["location"]
    assert (await http.get(location, headers=bearer(ALICE))).status_code == 200
    await finished(http, location, ALICE)
    unknown = "/reports/" + "0" * 32
    for path in (location, f"{location}/download"):
        theirs = await http.get(path, headers=bearer(BOB))
        none = await http.get(path.replace(location, unknown), headers=bearer(BOB))
        assert theirs.status_code == 404, theirs.text
        assert without_id(theirs) == without_id(none)
        assert theirs.json()["detail"] == none.json()["detail"].replace("0" * 32, location[9:])
        assert (await http.head(path, headers=bearer(BOB))).status_code == 404
    assert (await http.get(f"{location}/download", headers=bearer(ALICE))).status_code == 200


async def test_another_principal_cannot_cancel_a_report(http: httpx.AsyncClient) -> None:
    location = (await submit(http, ALICE)).headers["location"]
    refused = await http.delete(location, headers=bearer(BOB))
    assert refused.status_code == 404, refused.text
    status = (await http.get(location, headers=bearer(ALICE))).json()
    assert "cancelRequested" not in status
    assert status["status"] != "CANCELLED"
    assert (await http.delete(location, headers=bearer(ALICE))).status_code in (200, 202, 409)


async def test_a_listing_holds_only_the_principals_own_reports(http: httpx.AsyncClient) -> None:
    mine = {(await submit(http, ALICE)).json()["id"] for _ in range(3)}
    theirs = (await submit(http, BOB)).json()["id"]
    alice = (await http.get("/reports", params={"limit": 2}, headers=bearer(ALICE))).json()
    listed = {item["id"] for item in alice["items"]}
    nxt = alice["links"]["next"]["href"]
    listed |= {i["id"] for i in (await http.get(nxt, headers=bearer(ALICE))).json()["items"]}
    assert listed == mine
    bob = (await http.get("/reports", headers=bearer(BOB))).json()
    assert [item["id"] for item in bob["items"]] == [theirs]
    stolen = await http.get(nxt, headers=bearer(BOB))  # a cursor is no key to others' pages
    assert stolen.json()["items"] == []


async def test_idempotency_keys_are_each_principals_own(http: httpx.AsyncClient) -> None:
    first = await submit(http, ALICE, **{"Idempotency-Key": "order-1"})
    other = await submit(http, BOB, FAILING, **{"Idempotency-Key": "order-1"})
    assert other.json()["id"] != first.json()["id"]  # a new report, not a 422 naming Alice's
    again = await submit(http, BOB, FAILING, **{"Idempotency-Key": "order-1"})
    assert again.json()["id"] == other.json()["id"]
    reused = await http.post(
        "/reports", json=FAILING, headers={**bearer(ALICE), "Idempotency-Key": "order-1"}
    )
    assert reused.status_code == 422
    assert first.json()["id"] in reused.json()["detail"]
    assert other.json()["id"] not in reused.json()["detail"]


@pytest.mark.parametrize(
    ("authorization", "challenge"),
    [
        (None, 'Bearer realm="lrokit"'),
        ("Basic YWxpY2U6c2VjcmV0", 'Bearer realm="lrokit"'),
        ("Bearer not-a-token-we-know", 'Bearer realm="lrokit", error="invalid_token"'),
        ("Bearer", 'Bearer realm="lrokit", error="invalid_token"'),
    ],
)
async def test_without_a_valid_token_the_answer_is_401_with_a_challenge(
    http: httpx.AsyncClient, authorization: str | None, challenge: str
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    location = (await submit(http, ALICE)).headers["location"]
    for method, path in (
        ("POST", "/reports"),
        ("GET", "/reports"),
        ("GET", location),
        ("HEAD", location),
        ("DELETE", location),
        ("GET", f"{location}/download"),
    ):
        body = SEED_REQUEST if method == "POST" else None
        response = await http.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"] == challenge
        if method != "HEAD":
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["type"] == "/problems/unauthorized"
            assert ALICE not in response.text
    status = (await http.get(location, headers=bearer(ALICE))).json()
    assert status["status"] != "CANCELLED"


async def test_documentation_needs_no_token(http: httpx.AsyncClient) -> None:
    assert (await http.get("/problems/unauthorized")).status_code == 200
    assert (await http.get("/problems", headers={"Accept": "application/json"})).status_code == 200
    served = (await http.get("/openapi.json")).json()
    assert served["security"] == [{"bearerAuth": []}]


async def test_an_open_server_says_so_in_the_contract_it_serves(settings: Settings) -> None:
    async with serve_in_process(settings) as http:
        served = (await http.get("/openapi.json")).json()
        assert served["security"] == [{"bearerAuth": []}, {}]
        assert (await http.post("/reports", json=SEED_REQUEST)).status_code == 202


async def test_jobs_of_a_tenanted_server_stay_hidden_when_it_restarts_open(
    settings: Settings,
) -> None:
    async with serve_in_process(dataclasses.replace(settings, tokens=TOKENS)) as http:
        location = (await submit(http, ALICE)).headers["location"]
    async with serve_in_process(settings) as http:
        assert (await http.get(location)).status_code == 404
        assert (await http.get("/reports")).json()["items"] == []


# -- the token file -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no token"),
        ("# only a comment\n\n", "holds no token"),
        (f"{ALICE}\n", ":1: expected 'TOKEN PRINCIPAL', found 1 fields"),
        (f"{ALICE} alice extra\n", ":1: expected 'TOKEN PRINCIPAL', found 3 fields"),
        ("short alice\n", ":1: a token needs 16 characters or more"),
        ('bad"token"012345678 alice\n', ":1: a token may hold only"),
        (f"{ALICE} alice\n{ALICE} bob\n", ":2: the token of line 1 is given again"),
    ],
)
def test_a_bad_token_file_is_refused_in_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "tokens"
    path.write_text(text)
    with pytest.raises(TokenFileError, match=message.replace("(", r"\(")) as caught:
        read_tokens(path)
    assert "\n" not in str(caught.value)


def test_a_token_file_is_read_with_comments_and_its_mode_reported(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"# team tokens\n{ALICE} alice  # laptop\n\n{BOB}\tbob\n")
    path.chmod(0o600)
    assert read_tokens(path) == (TOKENS, False)
    path.chmod(0o644)
    assert read_tokens(path) == (TOKENS, True)


def test_serve_refuses_a_bad_token_file_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("short alice\n")
    for args, env in (
        (["--tokens", str(path)], {}),
        ([], {"LROKIT_TOKENS": str(path)}),
    ):
        run = subprocess.run(
            [LROKIT, "serve", "--db", str(tmp_path / "jobs.sqlite3"), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, **env},
        )
        assert run.returncode == 2, run.stderr
        assert "a token needs 16 characters or more" in run.stderr
        assert "Traceback" not in run.stderr
