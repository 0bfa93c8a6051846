"""Connections with bounds: uvicorn's HTTP protocol (httptools) with deadlines for a
request's head and body and limits on its header fields.

uvicorn closes an idle kept-alive connection, but never one whose request is incomplete, nor
one that sends nothing: at the common 1,024 file-descriptor limit, 1,100 slow connections
made every other client fail (issue 15). Here a request's line and header fields MUST arrive
within ``header_timeout`` seconds of the connection or of the request's first byte, else the
connection gets 408 and is closed (RFC 9110 §15.5.9); its body, once the head is in, MUST
arrive within ``body_timeout`` seconds, else the same (the application's answer, if it has
none yet, is dropped: it could not have read the whole request). More than
``max_header_count`` fields or ``max_header_bytes`` bytes of them are not kept: the request
is answered 431 (RFC 6585 §5) by :class:`~lrokit.server.http.middleware.StrictRequest`, as
a problem, and the connection closed. A request that is not well-formed HTTP/1.1, which
uvicorn answered with a plain-text 400, is answered with a problem too. A reverse proxy is
the usual front; the server stays safe without one.

uvicorn offers no such hooks, so this subclasses its protocol (uvicorn 0.30 and later).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from lrokit.server.problems import problem_body

#: The scope extensions that tell the application the head broke a limit.
REFUSED = "lrokit.header_fields_refused"
TARGET_REFUSED = "lrokit.target_refused"
#: The header fields a request may have, and their bytes in all (names and values).
MAX_HEADER_COUNT = 100
MAX_HEADER_BYTES = 16 * 1024
#: The longest request target kept (RFC 9112 §3 recommends supporting 8,000 octets at least).
MAX_TARGET_BYTES = 8 * 1024


class BoundedHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for the request head and bounded
    header fields (configure it with :func:`bounded_http`)."""

    header_timeout = 10.0
    body_timeout = 30.0
    max_header_count = MAX_HEADER_COUNT
    max_header_bytes = MAX_HEADER_BYTES
    max_target_bytes = MAX_TARGET_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._count = self._bytes = 0
        self._refused = self._target_too_long = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout, self._head_expired)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._count = self._bytes = 0
        self._refused = self._target_too_long = False
        self._arm(self.header_timeout, self._head_expired)

    def on_url(self, url: bytes) -> None:
        if self._target_too_long:
            return
        if len(self.url) + len(url) > self.max_target_bytes:
            # RFC 9112 §3: a target longer than the server parses MUST be answered 414. It is
            # not kept: the request goes on as "/" only to be answered so.
            self._target_too_long = True
            self.url = b"/"
            return
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count += 1
        self._bytes += len(name) + len(value)
        if self._count > self.max_header_count or self._bytes > self.max_header_bytes:
            self._refused = True  # the fields beyond the limit are not kept
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        if self._target_too_long:
            self.scope.setdefault("extensions", {})[TARGET_REFUSED] = {
                "detail": f"a request target longer than {self.max_target_bytes} bytes"
            }
            self.keep_alive = False
        if self._refused:
            self.scope.setdefault("extensions", {})[REFUSED] = {
                "detail": f"more than {self.max_header_count} header fields or "
                f"{self.max_header_bytes} bytes of them"
            }
            self.keep_alive = False
        super().on_headers_complete()
        self._arm(self.body_timeout, self._body_expired)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self, seconds: float, expire: Callable[[], None]) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _head_expired(self) -> None:
        """The head did not arrive in time: 408 and close. No request cycle exists yet, so
        nothing else writes on this connection."""
        self._deadline = None
        if not self.transport.is_closing():
            self._answer(
                b"408 Request Timeout",
                "request-timeout",
                f"The request's line and header fields did not arrive within "
                f"{self.header_timeout:g} s.",
            )

    def _body_expired(self) -> None:
        """The body did not arrive in time: 408 and close, unless the application has begun
        its answer (then the connection is only closed). Whatever the application sends
        later is dropped, as for a client that went away."""
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()
            return
        if self.cycle is not None:
            self.cycle.disconnected = True
        self._answer(
            b"408 Request Timeout",
            "request-timeout",
            f"The request body did not arrive within {self.body_timeout:g} s.",
        )

    def send_400_response(self, msg: str) -> None:
        """A request that is not HTTP/1.1 (a bad request line, chunking, Content-Length with
        Transfer-Encoding) answered as every error is: a problem, not uvicorn's text. A target
        too long for the parser itself is still a 414."""
        if self._target_too_long:
            detail = f"The request target is longer than {self.max_target_bytes} bytes."
            self._answer(b"414 URI Too Long", "uri-too-long", detail)
            return
        self._answer(b"400 Bad Request", "malformed-http", f"{msg.rstrip('.')}: see RFC 9112.")

    def _answer(self, status: bytes, slug: str, detail: str) -> None:
        """Write a problem as the connection's last response and close it."""
        body = orjson.dumps(problem_body(slug, detail))
        fields = b"".join(  # Date (and Server, where configured), as uvicorn sends them
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        )
        head = (
            b"HTTP/1.1 " + status + b"\r\n" + fields + b"content-type: application/problem+json"
            b"\r\nconnection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        self.transport.write(head + body)
        self.transport.close()


def bounded_http(
    header_timeout: float, body_timeout: float, max_header_count: int, max_header_bytes: int
) -> type:
    """:class:`BoundedHttp` with these bounds, for ``uvicorn.run(http=...)``."""
    return type(
        "BoundedHttp",
        (BoundedHttp,),
        {
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "max_header_count": max_header_count,
            "max_header_bytes": max_header_bytes,
        },
    )
