"""The bounded HTTP client of the tester: retries, redaction, budget, origin."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from lrokit.runner.target import OWN, BudgetExhausted, Target, TargetConfig

pytestmark = pytest.mark.anyio


def transport(answers: list[Exception | httpx.Response]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handle)


async def test_a_dropped_keep_alive_connection_is_retried_once_for_get() -> None:
    dropped = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    target = Target(TargetConfig("http://t.test"), transport([dropped, httpx.Response(200)]))
    exchange = await target.request("poll", "GET", "http://t.test/reports/1")
    await target.aclose()
    assert exchange.status == 200


async def test_a_dropped_connection_is_not_retried_for_post() -> None:
    dropped = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    target = Target(TargetConfig("http://t.test"), transport([dropped, httpx.Response(202)]))
    exchange = await target.request("submit", "POST", "http://t.test/reports")
    await target.aclose()
    assert exchange.status is None
    assert exchange.answer == "no response (Server disconnected without sending a response.)"


async def test_secrets_are_redacted_in_what_is_recorded() -> None:
    config = TargetConfig(
        "http://t.test",
        headers={"Authorization": "Bearer s3cret", "X-Tenant": "acme"},
        query={"api-key": "k3y", "api-version": "2024-01-01"},
    )
    target = Target(config, transport([httpx.Response(200)]))
    exchange = await target.request("poll", "GET", "http://t.test/reports/1")
    await target.aclose()
    sent = dict(exchange.request_headers)
    assert sent["authorization"] == "[redacted]"
    assert sent["x-tenant"] == "[redacted]"  # every header the user passed counts as secret
    assert "k3y" not in exchange.url
    assert "api-version=2024-01-01" in exchange.url


async def test_another_principal_and_none_send_their_own_credentials() -> None:
    """The fields ``other_headers`` names carry credentials: another principal's request has
    its values instead of the run's (none where it gives one empty), a request without
    credentials has none of them; every other field is the run's, and every one redacted."""
    sent: list[httpx.Headers] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers)
        return httpx.Response(200)

    config = TargetConfig(
        "http://t.test",
        headers={"Authorization": "Bearer a", "X-Api-Key": "ka", "X-Tenant": "acme"},
        other_headers={"Authorization": "Bearer b", "X-Api-Key": "", "X-Session": "sb"},
    )
    target = Target(config, httpx.MockTransport(handle))
    recorded = [
        await target.request("poll", "GET", "http://t.test/reports/1", principal=principal)
        for principal in (OWN, config.other(), config.anonymous())
    ]
    await target.aclose()
    names = ("authorization", "x-api-key", "x-session", "x-tenant")
    assert [tuple(headers.get(name) for name in names) for headers in sent] == [
        ("Bearer a", "ka", None, "acme"),
        ("Bearer b", None, "sb", "acme"),
        (None, None, None, "acme"),
    ]
    for exchange in recorded:
        assert {value for name, value in exchange.request_headers if name in names} == {
            "[redacted]"
        }


async def test_the_request_budget_and_the_origin_are_enforced() -> None:
    target = Target(TargetConfig("http://t.test", max_requests=1), transport([httpx.Response(200)]))
    await target.request("poll", "GET", "http://t.test/a")
    with pytest.raises(BudgetExhausted):
        await target.request("poll", "GET", "http://t.test/b")
    other = Target(TargetConfig("http://t.test"), transport([]))
    with pytest.raises(ValueError, match="another origin"):
        await other.request("poll", "GET", "http://elsewhere.test/a")
    await target.aclose()
    await other.aclose()


def recording(received: list[httpx.URL]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        received.append(request.url)
        return httpx.Response(200)

    return httpx.MockTransport(handle)


async def test_the_configured_query_is_added_to_the_query_a_url_has() -> None:
    received: list[httpx.URL] = []
    config = TargetConfig("http://t.test", query={"api-version": "2024-01-01", "b": "9"})
    target = Target(config, recording(received))
    await target.request("submit", "POST", "http://t.test/x:export?format=json&b=2&a=1")
    await target.request("poll", "GET", "http://t.test/ops/1")
    await target.request("result", "GET", "http://t.test/ops/1/result?page=2")
    await target.aclose()
    assert [url.query.decode() for url in received] == [
        "format=json&b=2&a=1&api-version=2024-01-01",  # b is the URL's: kept, not repeated
        "api-version=2024-01-01&b=9",
        "page=2&api-version=2024-01-01&b=9",
    ]
    assert [url.path for url in received] == ["/x:export", "/ops/1", "/ops/1/result"]


async def test_a_request_without_a_response_is_recorded_with_its_secrets_redacted() -> None:
    config = TargetConfig("http://t.test", query={"api-key": "k3y"})
    refused = httpx.ConnectError("Connection refused")
    target = Target(config, transport([refused]))
    exchange = await target.request("poll", "GET", "http://t.test/reports/1?sig=s1gnature")
    await target.aclose()
    assert exchange.status is None
    assert "k3y" not in exchange.url
    assert "s1gnature" not in exchange.url
    assert exchange.url.startswith("http://t.test/reports/1?")


async def test_a_held_request_has_its_hold_on_top_of_the_timeout() -> None:
    """A read asking the server to hold it (Prefer: wait) is not cut short by the run's
    timeout: it has the seconds of its hold besides, and no more."""

    async def slow(scope: object, receive: object, send: Any) -> None:
        await asyncio.sleep(0.3)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    target = Target(TargetConfig("http://t.test", timeout=0.2), httpx.ASGITransport(app=slow))
    plain = await target.request("poll", "GET", "http://t.test/reports/1")
    held = await target.request("wait-held", "GET", "http://t.test/reports/1", held=1)
    await target.aclose()
    assert (plain.status, plain.error) == (None, "timed out")
    assert held.status == 200


class Dripping(httpx.AsyncByteStream):
    """A body of ``chunks`` events, one every ``every`` seconds: an endless stream when
    ``chunks`` is large."""

    def __init__(self, chunks: int, every: float, size: int = 10) -> None:
        self.chunks, self.every, self.size = chunks, every, size

    async def __aiter__(self) -> Any:
        for _ in range(self.chunks):
            await asyncio.sleep(self.every)
            yield b": " + b"x" * (self.size - 3) + b"\n"


def streaming(body: Dripping) -> httpx.MockTransport:
    sse = {"Content-Type": "text/event-stream"}
    return httpx.MockTransport(lambda request: httpx.Response(200, headers=sse, stream=body))


async def test_a_stream_is_read_to_its_end_within_its_bounds() -> None:
    """A stream is read until the server ends it, or the seconds given run out, or the body cap
    is reached; what came is recorded, and whether the server ended it."""
    config = TargetConfig("http://t.test", max_body=100)
    url, accept = "http://t.test/reports/1", {"Accept": "text/event-stream"}
    ends = Target(config, streaming(Dripping(3, 0.01)))
    read, ended = await ends.stream("stream", url, accept, 2.0)
    assert (read.status, len(read.body), read.truncated, ended) == (200, 30, False, True)
    assert ("accept", "text/event-stream") in read.request_headers
    endless = Target(config, streaming(Dripping(10_000, 0.05)))
    read, ended = await endless.stream("stream", url, accept, 0.3)
    assert (read.status, read.truncated, ended) == (200, False, False)
    assert 0.3 <= read.seconds < 1.0
    assert 0 < len(read.body) <= 100
    flood = Target(config, streaming(Dripping(10_000, 0.0, size=40)))
    read, ended = await flood.stream("stream", url, accept, 2.0)
    assert (read.status, len(read.body), read.truncated, ended) == (200, 100, True, False)
    for target in (ends, endless, flood):
        await target.aclose()


async def test_an_in_process_stream_is_bounded_by_its_seconds_not_the_request_timeout() -> None:
    """httpx's ASGI transport hands a response over only once it ended: a stream of 0.6 s is
    read whole within its 2 s, though the run's timeout for a header section is 0.2 s."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        sse = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": sse})
        for _ in range(3):
            await asyncio.sleep(0.2)
            await send({"type": "http.response.body", "body": b": tick\n", "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    target = Target(TargetConfig("http://t.test", timeout=0.2), httpx.ASGITransport(app=app))
    read, ended = await target.stream(
        "stream", "http://t.test/reports/1", {"Accept": "text/event-stream"}, 2.0
    )
    await target.aclose()
    assert (read.status, read.body, ended) == (200, b": tick\n" * 3, True)


# -- HEAD: read on past the header section (HTTP-2) ----------------------------------------


async def test_head_through_a_transport_of_its_own_is_sent_by_request() -> None:
    """In process there is no socket to read on: what the transport delivers is recorded, and
    httpx.MockTransport delivers content sent on HEAD."""
    sent: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, content=b"hello")

    target = Target(TargetConfig("http://t.test"), httpx.MockTransport(handle))
    exchange = await target.head("head", "http://t.test/reports/1")
    await target.aclose()
    assert [r.method for r in sent] == ["HEAD"]
    assert (exchange.label, exchange.method, exchange.status) == ("head", "HEAD", 200)
    assert exchange.body == b"hello"
    assert target.exchanges == [exchange]


async def test_head_keeps_to_the_budget_and_the_origin() -> None:
    """Both are enforced before any connection is opened (nothing listens on port 9)."""
    spent = Target(TargetConfig("http://127.0.0.1:9", max_requests=0))
    with pytest.raises(BudgetExhausted):
        await spent.head("head", "http://127.0.0.1:9/reports/1")
    target = Target(TargetConfig("http://127.0.0.1:9"))
    with pytest.raises(ValueError, match="another origin"):
        await target.head("head", "http://elsewhere.test/reports/1")
    await spent.aclose()
    await target.aclose()
    assert spent.exchanges == target.exchanges == []
