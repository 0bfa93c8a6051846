"""The request a handler is answering, whichever path routed it there.

Handlers read headers and the request target from here: connexion's stack sets it through
:class:`RequestScope`, the fast path (:mod:`lrokit.server.http.fastpath`) sets it itself.
"""

from __future__ import annotations

from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send

request_scope: ContextVar[Scope] = ContextVar("lrokit_request_scope")


def route_path(scope: Scope) -> str:
    """The request's path below the application's root path: what the contract's path
    templates match."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class RequestScope:
    """ASGI middleware: make the request's scope the handlers' ``request_scope``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = request_scope.set(scope)
        try:
            await self.app(scope, receive, send)
        finally:
            request_scope.reset(token)
