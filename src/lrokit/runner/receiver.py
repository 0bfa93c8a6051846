"""The run's webhook receiver (``--callbacks``): an HTTP server of the standard library on
127.0.0.1, on a thread of its own, that records every request it gets and answers each URL
it handed out by that URL's script (a failure, a pause asked for, then 200; or 410 Gone).

It is bounded as the client is: a body is read :data:`MAX_BODY` bytes far, at most
:data:`MAX_REQUESTS` requests are recorded (more are answered 503, not kept), and a
connection silent for :data:`CONNECTION_TIMEOUT` seconds is closed. Each URL it hands out is
unguessable (128 random bits in its path), so that a request at any other URL is a delivery
the server made up. The tester needs no extra for it: ``http.server`` is the standard library.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from lrokit.model.recording import Delivery
from lrokit.runner.setup import SetupFailed

#: Where the receiver listens, whatever URL the server is given to reach it (--callback-url).
HOST = "127.0.0.1"
#: Bytes of a request's body read at most.
MAX_BODY = 1024 * 1024
#: Requests recorded at most.
MAX_REQUESTS = 200
#: Seconds a connection may stay silent before the receiver closes it.
CONNECTION_TIMEOUT = 5.0


class ReceiverUnavailable(SetupFailed):
    """The receiver cannot listen where it was asked to (a usage error, exit 2)."""


@dataclass(frozen=True)
class Answer:
    """What the receiver answers one request: a status, and a Retry-After with it."""

    status: int
    retry_after: str | None = None


TAKEN = Answer(200)


@dataclass
class _Script:
    """A handed-out URL's answers: ``first`` in order, then ``then`` to every request after."""

    first: Sequence[Answer]
    then: Answer
    used: int = 0

    def next(self) -> Answer:
        answer = self.first[self.used] if self.used < len(self.first) else self.then
        self.used += 1
        return answer


class Receiver:
    """Listens on 127.0.0.1 (the port of ``public``, or one of its own) until closed. URLs
    it hands out are under ``public`` (the URL the server reaches it at) when given, else
    ``http://127.0.0.1:PORT``. Times are ``clock``'s: the run's."""

    def __init__(self, public: str | None, clock: Callable[[], float]) -> None:
        parts = urlsplit(public) if public is not None else None
        port = (parts.port or 0) if parts is not None else 0
        try:
            self._server = _Server((HOST, port), _Handler)
        except OSError as exc:
            raise ReceiverUnavailable(
                f"--callbacks: cannot listen on {HOST}:{port}: {exc.strerror or exc}"
            ) from None
        self._server.receiver = self
        self.base = (
            public.rstrip("/")
            if public is not None
            else f"http://{HOST}:{self._server.server_address[1]}"
        )
        self._prefix = urlsplit(self.base).path
        self.clock = clock
        self._changed = threading.Condition()
        self._scripts: dict[str, _Script] = {}
        self.deliveries: list[Delivery] = []
        self._closed = False
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="lrokit-receiver",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        """Stop listening, and end every wait on the receiver; connections still open end
        with their timeout (daemon threads)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=CONNECTION_TIMEOUT)

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def hand_out(self, first: Sequence[Answer], then: Answer = TAKEN) -> tuple[str, str]:
        """A URL of its own and its path: its requests are answered ``first`` in order, then
        ``then``."""
        path = f"{self._prefix}/lrokit-hook-{secrets.token_urlsafe(16)}"
        with self._changed:
            self._scripts[path] = _Script(tuple(first), then)
        return urlsplit(self.base)._replace(path=path).geturl(), path

    def at(self, path: str) -> list[Delivery]:
        """The requests at ``path`` so far, in order."""
        with self._changed:
            return [d for d in self.deliveries if d.path == path]

    def everything(self) -> list[Delivery]:
        """Every request so far, at any URL, in order."""
        with self._changed:
            return list(self.deliveries)

    async def until(self, path: str, count: int, deadline: float) -> list[Delivery]:
        """The requests at ``path`` once there are ``count`` of them, or when the run's clock
        reaches ``deadline``, whichever is first."""
        remaining = deadline - self.clock()
        if remaining > 0 and len(self.at(path)) < count:
            await asyncio.to_thread(self._wait, lambda: len(self.at(path)) >= count, remaining)
        return self.at(path)

    def _wait(self, ready: Callable[[], bool], seconds: float) -> None:
        """Block until ``ready()`` or the receiver is closed, ``seconds`` at most."""
        with self._changed:
            self._changed.wait_for(lambda: self._closed or ready(), timeout=seconds)

    def record(self, make: Callable[[Answer], Delivery], path: str) -> Answer | None:
        """Answer a request at ``path`` by its script (404 at a URL never handed out) and keep
        it; None, not kept, once :data:`MAX_REQUESTS` are."""
        with self._changed:
            if len(self.deliveries) >= MAX_REQUESTS:
                return None
            script = self._scripts.get(path)
            answer = script.next() if script is not None else Answer(404)
            self.deliveries.append(make(answer))
            self._changed.notify_all()
            return answer


class _Server(ThreadingHTTPServer):
    receiver: Receiver


class _Handler(BaseHTTPRequestHandler):
    """Reads one request within the bounds, has the receiver record and answer it."""

    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = CONNECTION_TIMEOUT

    def _receive(self) -> None:
        try:
            declared = max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            declared = 0
        body = self.rfile.read(min(declared, MAX_BODY)) if self.command != "HEAD" else b""
        truncated = declared > MAX_BODY
        receiver = self.server.receiver
        headers = tuple((name.lower(), value) for name, value in self.headers.items())
        at, wall = receiver.clock(), time.time()

        def delivery(answer: Answer) -> Delivery:
            return Delivery(
                self.command,
                self.path,
                headers,
                body,
                at,
                wall,
                answer.status,
                answer.retry_after,
                truncated,
            )

        answer = receiver.record(delivery, self.path) or Answer(503, "60")
        self.send_response(answer.status)
        if answer.retry_after is not None:
            self.send_header("Retry-After", answer.retry_after)
        self.send_header("Content-Length", "0")
        if truncated:  # the rest of its body is still on the connection
            self.close_connection = True
            self.send_header("Connection", "close")
        self.end_headers()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET = do_HEAD = _receive

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the recording, not standard error, says what came."""
