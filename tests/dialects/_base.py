"""What every faithful dialect server shares: the Date field a real HTTP server adds, the
HTTP basics where a dialect's text is silent (400, 404, 405, 406, 415), and jobs that move
one step per read (two with ``slow=True``)."""

from __future__ import annotations

import json
from email.utils import formatdate
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class DialectServer:
    """A Starlette app with ``routes()``; ``breaks`` names the one rule it gets wrong."""

    def __init__(self, breaks: str | None = None, *, slow: bool = False) -> None:
        self.breaks = breaks
        self.slow = slow
        self.jobs: dict[str, dict[str, Any]] = {}
        self.app = Starlette(
            routes=self.routes(), exception_handlers={405: self._method_not_allowed}
        )

    def routes(self) -> list[Route]:
        raise NotImplementedError

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def dated(message: Any) -> None:  # what the HTTP server in front adds
            if message["type"] == "http.response.start":
                date = (b"date", formatdate(usegmt=True).encode())
                message = {**message, "headers": [date, *message["headers"]]}
            await send(message)

        await self.app(scope, receive, dated if scope["type"] == "http" else send)

    async def _method_not_allowed(self, request: Request, exc: Exception) -> Response:
        allow = dict(getattr(exc, "headers", None) or {}).get("Allow", "")
        return self.method_not_allowed(request, allow)

    def method_not_allowed(self, request: Request, allow: str) -> Response:
        """A 405 in the dialect's error shape, with Allow (RFC 9110 §15.5.6)."""
        return self.json({"error": f"{request.method} is not allowed."}, 405, Allow=allow)

    def step(self, job: dict[str, Any], script: tuple[str, ...]) -> str:
        """Advance ``job`` one read along ``script`` (its last state is terminal)."""
        job["reads"] = job.get("reads", 0) + 1
        reads = job["reads"] // 2 if self.slow else job["reads"]
        return script[min(reads, len(script) - 1)]

    @staticmethod
    def json(body: object, status: int = 200, **headers: str) -> Response:
        return Response(json.dumps(body), status, headers=headers, media_type="application/json")

    async def body(self, request: Request) -> dict[str, Any] | Response:
        """The JSON object of a submission, or the error response to send instead."""
        if not request.headers.get("content-type", "").startswith("application/json"):
            return self.json({"error": "The body must be application/json."}, 415)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return self.json({"error": "The body is not JSON."}, 400)
        if not isinstance(body, dict):
            return self.json({"error": "The body must be an object."}, 400)
        return body

    def acceptable(self, request: Request) -> bool:
        accept = request.headers.get("accept", "*/*")
        return "json" in accept or "*/*" in accept
