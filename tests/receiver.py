"""A webhook receiver for tests of the reference server's deliveries: an ASGI app (run it with
``tests.live.ThreadServer``) that records each delivery and answers as a test scripts it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

#: A scripted answer: status and header fields.
Answer = tuple[int, dict[str, str]]


@dataclass(frozen=True)
class Received:
    """One delivery as the receiver saw it."""

    at: float  # time.monotonic()
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """Answers 200 unless ``script[path]`` still holds answers (taken first to last)."""

    script: dict[str, list[Answer]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        with self._changed:
            answers = self.script.get(path)
            status, headers = answers.pop(0) if answers else (200, {})
            headers_in = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            self.received.append(Received(time.monotonic(), path, headers_in, body, status))
            self._changed.notify_all()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    def wait(
        self, enough: Callable[[list[Received]], bool], timeout: float = 15.0
    ) -> list[Received]:
        """The deliveries once ``enough`` holds of them; AssertionError after ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: enough(self.received), timeout):
                raise AssertionError(f"within {timeout} s, only: {self.received}")
            return list(self.received)

    def at(self, path: str) -> list[Received]:
        with self._changed:
            return [r for r in self.received if r.path == path]
