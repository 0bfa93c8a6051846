"""Small ASGI apps, each hostile in one way and otherwise the conformant fauxserver.

The apps that misbehave at the transport (the 50 MB body, the drip, the hang) are meant to run
under a real uvicorn on 127.0.0.1 (``tests.live.ThreadServer``): httpx's in-process
``ASGITransport`` buffers a whole response before it returns one, so in process a drip looks
like a hang and 50 MB sit in the test's memory. Every loop here is bounded in count and time,
and stops as soon as the client goes away.
"""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import Any

import anyio
from starlette.responses import Response

from tests.fauxservers.server import FauxServer

Scope = dict[str, Any]
Receive = Any
Send = Any

#: How long any hostile answer may go on at most, whatever the client does.
HOSTILE_SECONDS = 60.0


def date_field() -> tuple[bytes, bytes]:
    return b"date", formatdate(usegmt=True).encode()


async def until_disconnect(receive: Receive, seconds: float = HOSTILE_SECONDS) -> None:
    """Wait, at most ``seconds``, for the client to go away (``http.disconnect``)."""
    with anyio.move_on_after(seconds):
        for _ in range(1000):  # a request body, then the disconnect: a few messages at most
            if (await receive())["type"] == "http.disconnect":
                return


# -- hostile in the job's life, in process ------------------------------------------------


class PendingForever(FauxServer):
    """(a) The job stays PENDING forever; every poll advises ``Retry-After: 1``."""

    def advance(self, job: dict[str, Any]) -> None:
        job["reads"] += 1  # and nothing else: no step is ever taken


class RetryAfterADay(FauxServer):
    """(g) Every answer of a job that is not terminal advises waiting a day."""

    def status_response(self, job: dict[str, Any], status: int = 200, **headers: str) -> Response:
        response = super().status_response(job, status, **headers)
        if "retry-after" in response.headers:
            response.headers["Retry-After"] = "86400"
        return response


class ZonelessDate(FauxServer):
    """(h) ``Date`` without a zone (``... 12:00:00``, once read as a naive time) and
    ``Retry-After`` as an IMF-fixdate one second after it: the tester must not crash when it
    measures one against the other."""

    def status_response(self, job: dict[str, Any], status: int = 200, **headers: str) -> Response:
        response = super().status_response(job, status, **headers)
        if "retry-after" in response.headers:
            response.headers["Retry-After"] = formatdate(time.time() + 1, usegmt=True)
        return response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def zoneless(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v.removesuffix(b" GMT") if k.lower() == b"date" else v)
                    for k, v in message["headers"]
                ]
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, zoneless)


# -- hostile monitors ----------------------------------------------------------------------


class HostileMonitor(FauxServer):
    """Conformant, except that a GET of a job's monitor is answered by :meth:`hostile`."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and self.is_monitor(scope["path"]):
            await self.hostile(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    def is_monitor(self, path: str) -> bool:
        prefix, _, job = path.rpartition("/")
        return prefix == "/reports" and job in self.jobs

    async def hostile(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError

    @staticmethod
    async def answer(
        send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class RedirectLoop(HostileMonitor):
    """(b) The monitor answers 302 to itself, forever."""

    async def hostile(self, scope: Scope, receive: Receive, send: Send) -> None:
        location = scope["path"].encode()
        headers = [date_field(), (b"location", location), (b"content-length", b"0")]
        await self.answer(send, 302, headers, b"")


class Garbage(HostileMonitor):
    """(f) The monitor answers 200 ``application/json`` with bytes that are not JSON."""

    BODY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR{{{\xff\xfe not json"

    async def hostile(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            date_field(),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.BODY)).encode()),
            (b"cache-control", b"no-store"),
        ]
        await self.answer(send, 200, headers, self.BODY)


class Streaming(HostileMonitor):
    """A monitor that streams its 200 answer with :meth:`stream`, stopped when the client
    disconnects (or after :data:`HOSTILE_SECONDS`)."""

    async def hostile(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as group:

            async def answer() -> None:
                headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await self.stream(send, scope["path"].rsplit("/", 1)[-1])
                await send({"type": "http.response.body", "body": b""})
                group.cancel_scope.cancel()

            group.start_soon(answer)
            await until_disconnect(receive)
            group.cancel_scope.cancel()

    async def stream(self, send: Send, job_id: str) -> None:
        raise NotImplementedError

    @staticmethod
    async def chunk(send: Send, data: bytes) -> None:
        await send({"type": "http.response.body", "body": data, "more_body": True})


class HugeBody(Streaming):
    """(c) The monitor answers a 50 MB JSON object, streamed in 64 KiB chunks (the padding is
    one constant chunk: the server never holds 50 MB either)."""

    SIZE = 50 * 1000 * 1000
    PAD = b"x" * (64 * 1024)

    async def stream(self, send: Send, job_id: str) -> None:
        head = b'{"id": "%s", "status": "PENDING", "padding": "' % job_id.encode()
        await self.chunk(send, head)
        sent = len(head)
        for _ in range(self.SIZE // len(self.PAD) + 1):
            if sent >= self.SIZE:
                break
            await self.chunk(send, self.PAD)
            sent += len(self.PAD)
        await self.chunk(send, b'"}')


class SlowDrip(Streaming):
    """(d) The monitor sends its (valid) status document four bytes every quarter second: a
    minute for 1 KiB."""

    BYTES, EVERY = 4, 0.25

    def __init__(self) -> None:
        super().__init__()
        self.dripped = 0  # bytes sent, all answers together

    async def stream(self, send: Send, job_id: str) -> None:
        document = b'{"id": "%s", "status": "PENDING", "padding": "%s"}' % (
            job_id.encode(),
            b"x" * 900,
        )
        steps = int(HOSTILE_SECONDS / self.EVERY)
        for start in range(0, min(len(document), steps * self.BYTES), self.BYTES):
            await self.chunk(send, document[start : start + self.BYTES])
            self.dripped += self.BYTES
            await anyio.sleep(self.EVERY)


class Hang(HostileMonitor):
    """(e) The monitor accepts the request and never answers it (until the client leaves)."""

    async def hostile(self, scope: Scope, receive: Receive, send: Send) -> None:
        await until_disconnect(receive)


# -- a real server -------------------------------------------------------------------------
