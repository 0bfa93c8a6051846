"""The server under test, reached through a client that bounds everything it does.

Every request has a timeout, every response body is read at most ``max_body`` bytes far, the
run has a request budget, and redirects are never followed blindly: a server that hangs,
drips, loops or answers 50 MB cannot hang or exhaust the tester.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import h11
import httpx

from lrokit.model.exchange import SECRET_HEADERS, Exchange, origin
from lrokit.model.profile import api_url


class BudgetExhausted(Exception):
    """The run sent as many requests as it may."""


@dataclass(frozen=True)
class Principal:
    """Whom a request speaks for: the configured header fields, without the ``without``
    names (lower-case), with ``fields`` laid over them. The default is the run's own."""

    fields: Mapping[str, str] = field(default_factory=dict)
    without: frozenset[str] = frozenset()


OWN = Principal()


@dataclass
class TargetConfig:
    """Where the server is and how far the tester may go with it."""

    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)  # e.g. auth; redacted in reports
    # Another principal's credentials (--other-header): their names are the fields that carry
    # credentials; redacted in reports. Empty: the run has one principal.
    other_headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)  # added to each URL's own query
    timeout: float = 10.0  # seconds per request, connect to last byte
    max_body: int = 1024 * 1024  # bytes read of any response body
    max_requests: int = 500
    max_wait: float = 60.0  # seconds a job may take to reach a terminal state
    time_scale: float = 1.0  # multiplies every Retry-After wait (tests use << 1)
    allow_cross_origin: bool = False
    # Completion webhooks (--callbacks): receive them, at callback_url when the server must
    # reach the receiver elsewhere than 127.0.0.1; the server's signing secret, never shown.
    callbacks: bool = False
    callback_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)

    @property
    def credentials(self) -> frozenset[str]:
        """The names of the fields that carry credentials: those ``other_headers`` gives."""
        return frozenset(name.lower() for name in self.other_headers)

    def other(self) -> Principal:
        """The other principal: its credentials instead of the run's (a field it gives empty
        is not sent at all)."""
        given = {name: value for name, value in self.other_headers.items() if value}
        return Principal(given, self.credentials)

    def anonymous(self) -> Principal:
        """No principal: the configured fields without those that carry credentials."""
        return Principal(without=self.credentials)


@cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's CAs; SSL_CERT_FILE and SSL_CERT_DIR honoured),
    built once per process: building it reads the CA bundle, some 25 ms a client otherwise."""
    return httpx.create_ssl_context()


#: Seconds a response to HEAD is read on after its header section, for content it must not have.
HEAD_WINDOW = 0.5
#: Bytes of such content read at most (within ``max_body``): one byte is already a breach.
HEAD_CONTENT_CAP = 64 * 1024


class Target:
    """An HTTP client for one server under test; records every exchange."""

    def __init__(
        self,
        config: TargetConfig,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: Callable[[Exchange], None] | None = None,
    ) -> None:
        self.config = config
        self.observer = observer
        self.exchanges: list[Exchange] = []
        self._client = httpx.AsyncClient(
            transport=transport,
            verify=tls_context(),
            timeout=config.timeout,
            follow_redirects=False,
            headers=dict(config.headers),
        )
        self._started = time.monotonic()
        self._secret = SECRET_HEADERS | {n.lower() for n in config.headers} | config.credentials
        self._in_process = transport is not None  # tests' ASGI and mock transports: no socket

    async def aclose(self) -> None:
        await self._client.aclose()

    def url(self, reference: str, base: str | None = None) -> str:
        """The URL of ``reference``: a reference the server sent is resolved against
        ``base``, the URL of the response that carried it (RFC 3986 §5); without ``base``,
        it is a path of the API the profile gives, under the target's base URL and its
        path (``api_url``)."""
        if base is None:
            return api_url(self.config.base_url, reference)
        return urljoin(base, reference)

    def same_origin(self, url: str) -> bool:
        return origin(url) == origin(self.config.base_url)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    async def request(
        self,
        label: str,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        json: object = None,
        principal: Principal = OWN,
        held: float = 0.0,
    ) -> Exchange:
        """Send one request within the limits, as ``principal``, and record the exchange. A
        request that asks the server to hold it (``Prefer: wait``) has ``held`` seconds more
        than the run's timeout."""
        timeout = self.config.timeout + held
        request, recorded_url, sent = self._prepare(
            method, url, headers, content, json, principal, timeout
        )
        started = self.elapsed
        try:
            try:
                exchange = await asyncio.wait_for(
                    self._send(label, request, recorded_url, sent, started), timeout
                )
            except httpx.RemoteProtocolError:
                # The server closed a kept-alive connection as it was reused; an idempotent
                # request may be retried once on a new one (RFC 9112 §9.3.1).
                if method not in ("GET", "HEAD"):
                    raise
                exchange = await asyncio.wait_for(
                    self._send(label, request, recorded_url, sent, started), timeout
                )
        except (httpx.HTTPError, TimeoutError) as exc:
            timed_out = isinstance(exc, TimeoutError | httpx.TimeoutException)
            exchange = _unanswered(label, method, recorded_url, sent, started, exc, timed_out)
        return self._record(exchange)

    def _prepare(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        json: object = None,
        principal: Principal = OWN,
        timeout: float | None = None,
    ) -> tuple[httpx.Request, str, tuple[tuple[str, str], ...]]:
        """The request to send, within the budget and the origin, as ``principal`` and within
        ``timeout`` (the run's, unless given), with the URL and fields it is recorded with
        (secrets redacted)."""
        if len(self.exchanges) >= self.config.max_requests:
            raise BudgetExhausted(f"the run's budget of {self.config.max_requests} requests")
        if not self.same_origin(url) and not self.config.allow_cross_origin:
            raise ValueError(f"refusing to send a request to another origin: {url}")
        request = self._client.build_request(
            method,
            _with_query(url, self.config.query),
            headers=headers,
            content=content,
            json=json,
            timeout=timeout or self.config.timeout,
        )
        for name in principal.without:
            request.headers.pop(name, None)
        request.headers.update(principal.fields)
        sent = tuple(
            (k.lower(), "[redacted]" if k.lower() in self._secret else v)
            for k, v in request.headers.multi_items()
        )
        return request, _redact_query(str(request.url)), sent

    def _record(self, exchange: Exchange) -> Exchange:
        exchange = replace(exchange, seconds=self.elapsed - exchange.at)
        self.exchanges.append(exchange)
        if self.observer is not None:
            self.observer(exchange)
        return exchange

    async def _send(
        self,
        label: str,
        request: httpx.Request,
        url: str,
        sent: tuple[tuple[str, str], ...],
        at: float,
    ) -> Exchange:
        response = await self._client.send(request, stream=True)
        chunks: list[bytes] = []
        try:
            truncated = await self._read_into(response, chunks)
        finally:
            await response.aclose()
        return self._exchange(label, request.method, url, sent, response, chunks, truncated, at)

    async def _read_into(self, response: httpx.Response, chunks: list[bytes]) -> bool:
        """Append the response's content to ``chunks`` until it ends or passes ``max_body``
        bytes; whether it passed them. What came is in ``chunks`` even when reading is
        interrupted (a stream's time bound)."""
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > self.config.max_body:
                return True
        return False

    def _exchange(
        self,
        label: str,
        method: str,
        url: str,
        sent: tuple[tuple[str, str], ...],
        response: httpx.Response,
        chunks: list[bytes],
        truncated: bool,
        at: float,
    ) -> Exchange:
        """The exchange of a response whose content came as ``chunks`` (cut at ``max_body``)."""
        return Exchange(
            label,
            method,
            url,
            sent,
            response.status_code,
            tuple(
                (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in response.headers.raw
            ),
            b"".join(chunks)[: self.config.max_body],
            truncated,
            at,
        )

    async def stream(
        self, label: str, url: str, headers: Mapping[str, str], seconds: float
    ) -> tuple[Exchange, bool]:
        """Read a response that streams (Server-Sent Events) within the limits: the run's
        timeout until its header section, then ``seconds`` at most in all and ``max_body``
        bytes, and record what came as its body. Returns the exchange and whether the server
        ended the response within the bounds (False: the tester stopped reading it).

        An in-process transport (the tests' ASGI one) hands over a response only once it has
        ended, so there the header section cannot arrive before the end: the whole of
        ``seconds`` bounds it, not the run's timeout meant for the header section alone."""
        request, recorded_url, sent = self._prepare("GET", url, headers, timeout=seconds)
        started = self.elapsed
        chunks: list[bytes] = []
        truncated = ended = False
        try:
            async with asyncio.timeout(seconds if self._in_process else self.config.timeout):
                response = await self._client.send(request, stream=True)
        except (httpx.HTTPError, TimeoutError) as exc:
            timed_out = isinstance(exc, TimeoutError | httpx.TimeoutException)
            unanswered = _unanswered(label, "GET", recorded_url, sent, started, exc, timed_out)
            return self._record(unanswered), False
        try:
            async with asyncio.timeout(max(0.0, started + seconds - self.elapsed)):
                truncated = await self._read_into(response, chunks)
                ended = not truncated
        except (httpx.HTTPError, TimeoutError):
            pass  # what came before is recorded; the stream did not end as it should
        finally:
            await response.aclose()
        exchange = self._exchange(
            label, "GET", recorded_url, sent, response, chunks, truncated, started
        )
        return self._record(exchange), ended

    async def head(self, label: str, url: str) -> Exchange:
        """Send HEAD within the limits and record, as ``body``, what the server sends after
        the header section: the content a response to HEAD MUST NOT carry (RFC 9110 §9.3.2).

        httpx cannot show it: h11 ends a response to HEAD at its header section and reads no
        further (on a kept-alive connection the bytes would corrupt the next response). So the
        request goes out on a connection of its own (TLS with :func:`tls_context`), with the
        configured fields and query and ``Connection: close``; after the header section it is
        read on for ``HEAD_WINDOW`` seconds and ``HEAD_CONTENT_CAP`` bytes at most, within the
        request's timeout, then closed. It counts against the budget and is recorded, redacted,
        like any request. Where the environment sets a proxy for ``url``, the raw connection
        would bypass it: HEAD then goes through httpx, labelled ``LABEL-proxied``, and its
        content is not judged.

        Given a transport of its own (the tests' in-process ones have no socket), it sends HEAD
        with :meth:`request` and records what the transport delivers: ``httpx.MockTransport``
        delivers content sent on HEAD; ``httpx.ASGITransport`` drops it, as uvicorn does."""
        if self._in_process:
            return await self.request(label, "HEAD", url)
        if _proxied(url):  # the raw connection would bypass it: HEAD through httpx, unjudged
            return await self.request(f"{label}-proxied", "HEAD", url)
        request, recorded_url, sent = self._prepare("HEAD", url, {"Connection": "close"})
        started = self.elapsed
        cap = min(self.config.max_body, HEAD_CONTENT_CAP)
        try:
            response, content = await self._head_raw(request, cap)
            exchange = Exchange(
                label,
                "HEAD",
                recorded_url,
                sent,
                response.status_code,
                tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers),
                content[:cap],
                len(content) > cap,
                started,
            )
        except (OSError, h11.ProtocolError) as exc:  # a TimeoutError is an OSError
            timed_out = isinstance(exc, TimeoutError)
            exchange = _unanswered(label, "HEAD", recorded_url, sent, started, exc, timed_out)
        return self._record(exchange)

    async def _head_raw(self, request: httpx.Request, cap: int) -> tuple[h11.Response, bytes]:
        """The response head to ``request`` (a HEAD) and at most ``cap + 1`` bytes after it."""
        url = request.url
        tls = tls_context() if url.scheme == "https" else None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.timeout
        async with asyncio.timeout_at(deadline):
            reader, writer = await asyncio.open_connection(
                url.raw_host.decode("ascii"), url.port or (443 if tls else 80), ssl=tls
            )
        try:
            async with asyncio.timeout_at(deadline):
                response, content = await _send_head(reader, writer, request)
            with contextlib.suppress(OSError):  # the window closed, or the connection did
                async with asyncio.timeout_at(min(deadline, loop.time() + HEAD_WINDOW)):
                    while len(content) <= cap:
                        chunk = await reader.read(cap + 1 - len(content))
                        if not chunk:
                            break
                        content += chunk
        finally:
            writer.transport.abort()  # nothing more to send or to wait for (no TLS goodbye)
        return response, bytes(content)

    async def wait(self, seconds: float, limit: float) -> None:
        """Sleep a Retry-After wait, scaled by ``time_scale``, at most ``limit`` seconds."""
        await asyncio.sleep(max(0.0, min(seconds * self.config.time_scale, limit)))


def _unanswered(
    label: str,
    method: str,
    url: str,
    sent: tuple[tuple[str, str], ...],
    at: float,
    exc: BaseException,
    timed_out: bool,
) -> Exchange:
    """The record of a request that got no response, saying why."""
    reason = "timed out" if timed_out else str(exc)
    return Exchange(label, method, url, sent, None, at=at, error=reason or type(exc).__name__)


def _proxied(url: str) -> bool:
    """Whether the environment sends requests to ``url`` through a proxy (httpx honours
    ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY``, as urllib reads them)."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    return not bypass(parts.netloc, proxies)


async def _send_head(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: httpx.Request
) -> tuple[h11.Response, bytearray]:
    """Send ``request`` (a HEAD); return the final response's head and the bytes read past it.
    1xx responses are skipped; a 101 switches away from HTTP and is an error here."""
    connection = h11.Connection(h11.CLIENT)
    head = h11.Request(method="HEAD", target=request.url.raw_path, headers=request.headers.raw)
    writer.write(connection.send(head))
    await writer.drain()
    while True:
        event = connection.next_event()
        if isinstance(event, h11.Response):
            return event, bytearray(connection.trailing_data[0])
        if event is h11.NEED_DATA:
            connection.receive_data(await reader.read(HEAD_CONTENT_CAP))
        elif not isinstance(event, h11.InformationalResponse):
            raise h11.RemoteProtocolError(f"no final response to HEAD ({event})")


def _with_query(url: str, query: Mapping[str, str]) -> str:
    """``url`` with the configured ``query`` added: the parameters the URL has MUST be kept,
    as written and in order (they are part of the resource a reference names, RFC 3986 §3.4),
    and the configured ones follow. A configured name the URL already carries is not added
    again: the URL's value is kept, since a server that wrote it into a reference meant that
    value for that resource, and a name sent twice is read differently by different servers."""
    parts = urlsplit(url)
    present = {name for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
    added = urlencode([(k, v) for k, v in query.items() if k not in present])
    if not added:
        return url
    return urlunsplit(parts._replace(query=f"{parts.query}&{added}" if parts.query else added))


_SECRET_QUERY = re.compile(r"key|token|secret|sig|password|auth|code", re.IGNORECASE)


def _redact_query(url: str) -> str:
    """``url`` with the values of secret-looking query parameters replaced."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = [
        (k, "[redacted]" if _SECRET_QUERY.search(k) else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(pairs, safe="[]")))
