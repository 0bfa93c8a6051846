"""The server under test, reached through a client that bounds everything it does.

Every request has a timeout, every response body is read at most ``max_body`` bytes far, the
run has a request budget, and redirects are never followed blindly: a server that hangs,
drips, loops or answers 50 MB cannot hang or exhaust the tester.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx

from lrokit.model.exchange import SECRET_HEADERS, Exchange, origin
from lrokit.model.profile import api_url


class BudgetExhausted(Exception):
    """The run sent as many requests as it may."""


@dataclass
class TargetConfig:
    """Where the server is and how far the tester may go with it."""

    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)  # e.g. auth; redacted in reports
    query: Mapping[str, str] = field(default_factory=dict)  # added to each URL's own query
    timeout: float = 10.0  # seconds per request, connect to last byte
    max_body: int = 1024 * 1024  # bytes read of any response body
    max_requests: int = 500
    max_wait: float = 60.0  # seconds a job may take to reach a terminal state
    time_scale: float = 1.0  # multiplies every Retry-After wait (tests use << 1)
    allow_cross_origin: bool = False


@cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's CAs; SSL_CERT_FILE and SSL_CERT_DIR honoured),
    built once per process: building it reads the CA bundle, some 25 ms a client otherwise."""
    return httpx.create_ssl_context()


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
        self._secret = SECRET_HEADERS | {name.lower() for name in config.headers}

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
    ) -> Exchange:
        """Send one request within the limits and record the exchange."""
        if len(self.exchanges) >= self.config.max_requests:
            raise BudgetExhausted(f"the run's budget of {self.config.max_requests} requests")
        if not self.same_origin(url) and not self.config.allow_cross_origin:
            raise ValueError(f"refusing to send a request to another origin: {url}")
        request = self._client.build_request(
            method, _with_query(url, self.config.query), headers=headers, content=content, json=json
        )
        recorded_url = _redact_query(str(request.url))
        sent = tuple(
            (k.lower(), "[redacted]" if k.lower() in self._secret else v)
            for k, v in request.headers.multi_items()
        )
        started = self.elapsed
        try:
            try:
                exchange = await asyncio.wait_for(
                    self._send(label, request, recorded_url, sent, started), self.config.timeout
                )
            except httpx.RemoteProtocolError:
                # The server closed a kept-alive connection as it was reused; an idempotent
                # request may be retried once on a new one (RFC 9112 §9.3.1).
                if method not in ("GET", "HEAD"):
                    raise
                exchange = await asyncio.wait_for(
                    self._send(label, request, recorded_url, sent, started), self.config.timeout
                )
        except (httpx.HTTPError, TimeoutError) as exc:
            reason = (
                "timed out" if isinstance(exc, TimeoutError | httpx.TimeoutException) else str(exc)
            )
            exchange = Exchange(
                label,
                method,
                recorded_url,
                sent,
                None,
                at=started,
                error=reason or type(exc).__name__,
            )
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
        try:
            chunks: list[bytes] = []
            size, truncated = 0, False
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > self.config.max_body:
                    truncated = True
                    break
            body = b"".join(chunks)[: self.config.max_body]
        finally:
            await response.aclose()
        return Exchange(
            label,
            request.method,
            url,
            sent,
            response.status_code,
            tuple(
                (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in response.headers.raw
            ),
            body,
            truncated,
            at,
        )

    async def wait(self, seconds: float, limit: float) -> None:
        """Sleep a Retry-After wait, scaled by ``time_scale``, at most ``limit`` seconds."""
        await asyncio.sleep(max(0.0, min(seconds * self.config.time_scale, limit)))


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
