"""ASGI middleware that makes every edge of the HTTP surface answer with a problem.

Connexion validates what the contract describes; these cover what it does not: bodies too
large (413), bodies that are not JSON at all (400, also working around connexion #1860, where
a non-UTF-8 body became a 500), content without a Content-Type (415: connexion validated
nothing and handed the handler raw bytes, a 500), and ``Accept`` headers that admit none of an
operation's media types (406).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import mimeparse
import orjson
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lrokit.server.http.connections import REFUSED, TARGET_REFUSED
from lrokit.server.http.problems import instance_of, problem_response

ROUTING = "connexion_routing"


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body already read, whole, then defers to ``receive``."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class BodyGuard:
    """Reject a request body over ``max_bytes`` with 413, content without a Content-Type with
    415, and a JSON body that does not parse (not UTF-8, not JSON, nested too deep) with 400,
    before any handler or validator sees it.

    The body is read at most ``max_bytes + 1`` bytes far, then replayed downstream whole.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and "content-type" not in headers:
            # Content without a media type is application/octet-stream at best (RFC 9110
            # §8.3), which no operation takes: 415, not a handler fed raw bytes.
            await problem_response(
                "unsupported-media-type",
                "The request has content but no Content-Type; send it as application/json.",
                instance_of(scope),
            )(scope, receive, send)
            return
        if body and _is_json(headers.get("content-type", "")):
            try:
                orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                await problem_response(
                    "malformed-request",
                    f"The request body is not valid JSON: {exc}.",
                    instance_of(scope),
                )(scope, receive, send)
                return
        await self.app(scope, replaying(body, receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            "request-too-large",
            f"The request body exceeds {self.max_bytes} bytes.",
            instance_of(scope),
            {"Connection": "close"},
        )
        await response(scope, receive, send)


#: Header fields a request MUST NOT repeat: each names one thing (RFC 9110 §5.3: a field
#: that is not a list cannot be combined; two values leave the server guessing).
SINGLETONS = ("content-type", "content-length", "idempotency-key", "authorization")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class StrictRequest:
    """Refuse with 400, before anything reads the request, what would otherwise be read
    leniently: a singleton header field given twice (which value counts is a guess), a query
    value with a control character (``cursor=5%0a`` passed a ``$``-anchored pattern and was
    copied into links), and an integer query parameter that is not ASCII digits (Python reads
    a fullwidth ``limit=%EF%BC%95`` and ``limit=5%0a`` as 5; the contract means ``[0-9]+``)."""

    def __init__(self, app: ASGIApp, integers: frozenset[str]) -> None:
        self.app = app
        self.integers = integers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self._refusal(scope) if scope["type"] == "http" else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        slug, detail, headers = refusal
        await problem_response(slug, detail, instance_of(scope), headers)(scope, receive, send)

    def _refusal(self, scope: Scope) -> tuple[str, str, dict[str, str]] | None:
        """The problem to answer instead of the application, if any: its slug, detail and
        header fields."""
        too_long = scope.get("extensions", {}).get(TARGET_REFUSED)
        if too_long is not None:  # the connection kept none of the target past its limit
            return "uri-too-long", f"The request has {too_long['detail']}.", {"Connection": "close"}
        too_many = scope.get("extensions", {}).get(REFUSED)
        if too_many is not None:  # the connection kept none of the fields past its limits
            detail = f"The request has {too_many['detail']}."
            return "header-fields-too-large", detail, {"Connection": "close"}
        names = [name.decode("latin-1").lower() for name, _ in scope["headers"]]
        twice = next((n for n in SINGLETONS if names.count(n) > 1), None)
        if twice is not None:
            detail = f"header {twice}: is given {names.count(twice)} times; send it once"
            return "invalid-request", detail, {}
        query = scope.get("query_string", b"").decode("latin-1")
        for name, value in parse_qsl(query, keep_blank_values=True):
            if _CONTROL.search(value):
                detail = f"query parameter {name[:40]}: must hold no control character"
                return "invalid-request", detail, {}
            if name in self.integers and not re.fullmatch(r"-?[0-9]{1,18}", value):
                shown = value[:20] + ("…" if len(value) > 20 else "")
                detail = f"query parameter {name}: must be ASCII digits, not {shown!r}"
                return "invalid-request", detail, {}
        return None


def integer_query_parameters(contract: Mapping[str, Any]) -> frozenset[str]:
    """The names of the query parameters the contract types as integers."""
    found = set()
    for item in contract.get("paths", {}).values():
        for operation in (v for v in item.values() if isinstance(v, dict)):
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") == "query" and schema.get("type") == "integer":
                    found.add(str(parameter["name"]))
    return frozenset(found)


#: What a browser is told about the pages that are not the API's JSON: Swagger UI and the
#: contract. Swagger UI's page starts itself with an inline script and styles, so the policy
#: allows inline ones from this origin only; nothing may frame the pages (clickjacking).
PAGE_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
        b"'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
    ),
)
#: Swagger UI's stock start-up script points at the petstore; the page lrokit serves does
#: not load it, so it is not served at all.
STOCK_INITIALIZER = "/ui/swagger-initializer.js"


class PageHeaders:
    """Security headers on Swagger UI (``/ui``) and the contract (``/openapi.json``), and a
    404 for Swagger UI's stock petstore initializer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == STOCK_INITIALIZER:
            await problem_response("not-found", f"Nothing is at {path}.", path)(
                scope, receive, send
            )
            return
        if not (path == "/openapi.json" or path == "/ui" or path.startswith("/ui/")):
            await self.app(scope, receive, send)
            return

        async def headed(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *PAGE_HEADERS]}
            await send(message)

        await self.app(scope, receive, headed)


class InFlightLimit:
    """Answer 503 ``server-busy`` with Retry-After (RFC 9110 §15.6.4) to a request that
    arrives while ``limit`` others are being answered: under a flood, the requests admitted
    keep their latency and the others are told when to come back, rather than all slowing
    down together until they time out."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            await problem_response(
                "server-busy",
                f"The server is answering {self.active} requests, its limit; try again.",
                instance_of(scope),
                {"Retry-After": "1"},
            )(scope, receive, send)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


class Negotiation:
    """Answer 406 when ``Accept`` admits none of the media types an operation's successful
    responses declare (RFC 9110 §12.5.1, §15.5.7). Runs after Connexion's routing, so it knows
    the operation. Problems are served whatever ``Accept`` says (RFC 9457 §3)."""

    def __init__(self, app: ASGIApp, produces: Mapping[str, list[str]]) -> None:
        self.app = app
        self.produces = produces

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            operation = scope.get("extensions", {}).get(ROUTING, {}).get("operation_id")
            offered = self.produces.get(operation or "")
            accept = Headers(scope=scope).get("accept")
            if offered and accept and not _acceptable(offered, accept):
                response = problem_response(
                    "not-acceptable",
                    f"Accept {accept!r} admits none of: {', '.join(offered)}.",
                    instance_of(scope),
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _acceptable(offered: list[str], accept: str) -> bool:
    try:
        return bool(mimeparse.best_match(offered, accept))
    except (ValueError, IndexError):  # an unparsable Accept is treated as absent
        return True


class ContractDocument:
    """``GET /openapi.json``: the contract as this server serves it, with a ``servers`` list
    that names the server the document was loaded from. Connexion's own answer lists one
    server with an empty URL, which Swagger UI shows as a blank choice. The URL stays
    relative (the root path, so it holds behind a proxy that rewrites the origin); the
    description says which origin the request reached."""

    def __init__(self, app: ASGIApp, contract: Mapping[str, Any]) -> None:
        self.app = app
        self.contract = contract

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/openapi.json":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)  # connexion answers 405 with its Allow
            return
        root = str(scope.get("root_path", "")).rstrip("/")
        host = (Headers(scope=scope).get("host") or "this host")[:255]
        origin = f"{scope.get('scheme', 'http')}://{host}{root}"
        served = {
            **self.contract,
            "servers": [{"url": f"{root}/", "description": f"this server ({origin})"}],
        }
        content = orjson.dumps(served)
        await Response(content, media_type="application/json")(scope, receive, send)
