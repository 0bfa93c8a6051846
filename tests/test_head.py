"""HEAD over the network: content a server sends after the header section of a response to HEAD
is seen and fails HTTP-2; a status or fields other than GET's warn on HTTP-6; reading on stays
within the request's timeout, a short window and a byte cap.

httpx never reads content on HEAD (h11 ends the response at its header section) and ASGI servers
drop what an app sends on HEAD (``httpx.ASGITransport`` and uvicorn alike), so the servers that
send it are written by hand here, on raw asyncio sockets on 127.0.0.1, stopped after each test.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from lrokit.checks import NotObserved, load_all
from lrokit.model.exchange import Exchange
from lrokit.model.profile import load_profile
from lrokit.model.recording import Recording
from lrokit.runner import target as target_module
from lrokit.runner.run import run
from lrokit.runner.target import HEAD_CONTENT_CAP, HEAD_WINDOW, Target, TargetConfig, _proxied
from lrokit.runner.verdicts import Outcome, judge
from tests.fauxservers.server import FauxServer
from tests.live import ThreadServer
from tests.test_checks_unit import MONITOR, exchange

pytestmark = pytest.mark.anyio

PROFILE = load_profile("canonical")
#: Whatever a server does, a HEAD (or a run) taking longer than this has hung.
HANG = 10.0
FIELDS = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: no-store\r\n"
GET = FIELDS + b"Content-Length: 5\r\n\r\nhello"
HEAD = FIELDS + b"Content-Length: 5\r\n\r\n"  # a conformant answer: GET's header section


class RawServer:
    """``async with RawServer(head) as url``: HTTP/1.1 written by hand, one request a
    connection. A HEAD is answered with the bytes ``head``, any other request with ``GET``;
    then the connection is closed, or with ``hang`` held open until the client leaves. On exit
    the server stops and every connection is closed."""

    def __init__(self, head: bytes, *, hang: bool = False, tls: ssl.SSLContext | None = None):
        self.head, self.hang, self.tls = head, hang, tls
        self.requests: list[bytes] = []
        self.handlers: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0, ssl=self.tls)
        port = self.server.sockets[0].getsockname()[1]
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{port}"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(request)
            writer.write(self.head if request.startswith(b"HEAD ") else GET)
            await writer.drain()
            if self.hang:
                await reader.read()  # until the client leaves
        except (OSError, asyncio.IncompleteReadError):
            pass  # the client left first
        finally:
            writer.close()

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        if self.handlers:
            _, stuck = await asyncio.wait(self.handlers, timeout=HANG)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
        await self.server.wait_closed()


async def observe(url: str, **config: Any) -> Recording:
    """HEAD, then GET, on ``url`` through a Target over the network, as a run sends them."""
    target = Target(TargetConfig(url, **config))
    try:
        rec = Recording()
        rec.head = await asyncio.wait_for(target.head("head", url), HANG)
        rec.head_get = await target.request("head-get", "GET", url)
    finally:
        await target.aclose()
    return rec


def outcomes(rec: Recording) -> dict[str, Outcome]:
    verdicts = judge(rec, PROFILE, only=("HTTP-2", "HTTP-6"))
    return {v.rule.id: v.outcome for v in verdicts if v.rule.id in ("HTTP-2", "HTTP-6")}


@pytest.mark.parametrize(
    ("framing", "content"),
    [
        (b"Content-Length: 5\r\n", b"hello"),
        (b"", b"hello"),  # no framing at all: content until the connection closes
        (b"Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"),
    ],
    ids=["content-length", "unframed", "chunked"],
)
async def test_content_sent_on_head_fails_http_2(framing: bytes, content: bytes) -> None:
    async with RawServer(FIELDS + framing + b"\r\n" + content) as base:
        rec = await observe(f"{base}/reports/r1")
    assert rec.head is not None
    assert (rec.head.status, rec.head.body, rec.head.truncated) == (200, content, False)
    assert outcomes(rec) == {"HTTP-2": Outcome.FAIL, "HTTP-6": Outcome.PASS}


async def test_a_conformant_head_passes_http_2_and_http_6() -> None:
    async with RawServer(HEAD) as base:
        rec = await observe(f"{base}/reports/r1")
    assert outcomes(rec) == {"HTTP-2": Outcome.PASS, "HTTP-6": Outcome.PASS}


async def test_the_conformant_fauxserver_under_uvicorn_passes_http_2_and_http_6() -> None:
    body = {"reportType": "yearly-sales", "parameters": {"year": "2023"}}
    with ThreadServer(FauxServer()) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            location = (await client.post("/reports", json=body)).headers["location"]
        rec = await observe(f"{base}{location}")
    assert rec.head is not None
    assert (rec.head.status, rec.head.body) == (200, b"")
    assert outcomes(rec) == {"HTTP-2": Outcome.PASS, "HTTP-6": Outcome.PASS}


async def test_a_run_sends_its_head_with_target_head(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wiring: the run reads the monitor with ``Target.head``, the one way to see content
    after the header section; over the network, against the conformant fauxserver."""
    labels: list[str] = []
    original = Target.head

    async def spy(self: Target, label: str, url: str) -> Exchange:
        labels.append(label)
        return await original(self, label, url)

    monkeypatch.setattr(Target, "head", spy)
    with ThreadServer(FauxServer()) as base:
        config = TargetConfig(base, time_scale=0.001, max_wait=3.0)
        report = await asyncio.wait_for(run(config, PROFILE), 3 * HANG)
    assert labels == ["head"]
    verdicts = {v.rule.id: v.outcome for v in report.verdicts}
    assert (verdicts["HTTP-2"], verdicts["HTTP-6"]) == (Outcome.PASS, Outcome.PASS)


async def test_head_with_another_status_than_get_warns_on_http_6_alone() -> None:
    with ThreadServer(FauxServer(breaks="HTTP-6")) as base:
        config = TargetConfig(base, time_scale=0.001, max_wait=3.0)
        report = await asyncio.wait_for(run(config, PROFILE), 3 * HANG)
    blamed = {
        v.rule.id: v.outcome
        for v in report.verdicts
        if v.outcome in (Outcome.FAIL, Outcome.WARN, Outcome.ERROR, Outcome.UNOBSERVED)
    }
    assert blamed == {"HTTP-6": Outcome.WARN}


async def test_asgi_transport_drops_content_sent_on_head() -> None:
    """Why the fauxservers need ``WireASGITransport`` to break HTTP-2 in process."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hello"})

    target = Target(TargetConfig("http://t.test"), httpx.ASGITransport(app=app))
    head = await target.head("head", "http://t.test/reports/1")
    await target.aclose()
    assert (head.status, head.body) == (200, b"")


# -- bounded -------------------------------------------------------------------------------


async def test_a_server_holding_the_connection_after_the_header_section() -> None:
    """Read on for the window, not for the request's timeout: the content is what came."""
    async with RawServer(HEAD, hang=True) as base:
        started = time.monotonic()
        rec = await observe(f"{base}/reports/r1", timeout=5.0)
        seconds = time.monotonic() - started
    assert rec.head is not None
    assert (rec.head.status, rec.head.body) == (200, b"")
    assert HEAD_WINDOW <= seconds < HEAD_WINDOW + 2.0


async def test_a_server_that_sends_no_header_section_times_out() -> None:
    async with RawServer(FIELDS, hang=True) as base:  # a header section never finished
        started = time.monotonic()
        rec = await observe(f"{base}/reports/r1", timeout=0.5)
        seconds = time.monotonic() - started
    assert rec.head is not None
    assert (rec.head.status, rec.head.error) == (None, "timed out")
    assert seconds < 2.0


@pytest.mark.parametrize(("max_body", "cap"), [(1024 * 1024, HEAD_CONTENT_CAP), (100, 100)])
async def test_the_content_read_is_capped(max_body: int, cap: int) -> None:
    async with RawServer(HEAD + b"x" * (1024 * 1024)) as base:
        rec = await observe(f"{base}/reports/r1", max_body=max_body)
    assert rec.head is not None
    assert (rec.head.body, rec.head.truncated) == (b"x" * cap, True)
    assert outcomes(rec)["HTTP-2"] is Outcome.FAIL


async def test_head_to_a_port_nobody_listens_on_is_recorded_without_a_response() -> None:
    async with RawServer(HEAD) as base:
        pass  # stopped: its port is now closed
    rec = await observe(f"{base}/reports/r1")
    assert rec.head is not None
    assert rec.head.status is None
    assert rec.head.error


# -- as any request: fields, query, redaction, TLS -----------------------------------------


async def test_head_sends_the_configured_fields_and_query_and_records_them_redacted() -> None:
    seen: list[Exchange] = []
    server = RawServer(HEAD)
    async with server as base:
        config = TargetConfig(
            base, headers={"Authorization": "Bearer s3cret"}, query={"api-key": "k3y"}
        )
        target = Target(config, observer=seen.append)
        exchange = await target.head("head", f"{base}/reports/r1?page=2")
        await target.aclose()
    [request] = server.requests
    assert request.startswith(b"HEAD /reports/r1?page=2&api-key=k3y HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer s3cret\r\n" in request
    assert b"\r\nConnection: close\r\n" in request
    assert seen == target.exchanges == [exchange]
    assert dict(exchange.request_headers)["authorization"] == "[redacted]"
    assert exchange.url == f"{base}/reports/r1?page=2&api-key=[redacted]"


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
            *("-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


async def test_head_over_tls_with_the_targets_tls_context(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = certificate
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    trusted = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(target_module, "tls_context", lambda: trusted)
    async with RawServer(FIELDS + b"Content-Length: 5\r\n\r\nhello", tls=served) as base:
        rec = await observe(f"{base}/reports/r1")
    assert rec.head is not None
    assert rec.head_get is not None
    assert (rec.head.status, rec.head.body) == (200, b"hello")
    assert rec.head_get.body == b"hello"  # the GET went over the same TLS context
    assert outcomes(rec) == {"HTTP-2": Outcome.FAIL, "HTTP-6": Outcome.PASS}


async def test_through_a_proxy_head_content_is_not_judged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The raw connection would bypass the proxy the environment sets: HEAD goes through
    httpx instead, and HTTP-2 is not observed (a MUST: the run does not pass on it)."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert _proxied("http://example.test/reports/1")
    monkeypatch.setenv("NO_PROXY", "example.test")
    assert not _proxied("http://example.test/reports/1")
    head = exchange("HEAD", MONITOR, 200, label="head-proxied")
    rec = Recording(head=head, head_get=exchange("GET", MONITOR, 200))
    with pytest.raises(NotObserved, match="NO_PROXY"):
        list(load_all()["HTTP-2"].run(rec, load_profile("canonical")))
