"""The fast path: hot operations routed and validated by validators compiled from the contract.

Every client of an async API polls its status monitor again and again, so
``GET /reports/{reportId}`` is the server's hot path, and submissions come in bursts.
Connexion answers each request through about ten nested ASGI layers and validates it with the
pure-Python ``jsonschema``: most of a request's CPU time goes there, not to the handler. This
ASGI middleware sits in front of that stack and, for each operation of ``openapi.yaml`` it can
compile, does the same work in one step: it matches the operation's method and path template,
validates the path and header parameters and the JSON body with validators compiled from the
operation's own schemas (jsonschema-rs, Draft 4, which connexion also uses for OpenAPI 3.0),
and calls the operation's handler, the very function connexion calls.

It answers only the requests it has validated in full and that need nothing more. A request
that fails a check, carries a query string, sends a body that is not plain JSON, needs content
negotiation beyond a plain ``Accept``, is a ``HEAD``, or repeats a header parameter goes on,
untouched, to connexion, which answers exactly as if this path did not exist: every request the
contract rejects still gets connexion's problem+json. An operation whose schemas use what the
compiled validators would judge differently from connexion (``nullable``, ``readOnly``,
``writeOnly``), or that has query, cookie or non-string parameters or a non-JSON body, is not
compiled and always takes the full stack. Security requirements are no reason to defer: the
authentication middleware in front of both paths (:mod:`lrokit.server.http.auth`) has enforced
them before a request gets here. With response validation on, the fast path checks
its responses as connexion's response validation does: media type, required headers, body.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs
import orjson
from connexion.decorators.parameter import pythonic
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from lrokit.server.http.context import request_scope, route_path
from lrokit.server.http.middleware import replaying
from lrokit.server.http.problems import instance_of, problem_response, unavailable_response
from lrokit.server.jobs.store import StoreUnavailable

log = logging.getLogger("lrokit.server")

Handler = Callable[..., Awaitable[Response]]
Check = Callable[[Any], bool]

METHODS = ("get", "put", "post", "delete", "patch")
#: Keywords connexion's OpenAPI 3.0 validators give a meaning plain JSON Schema does not.
OPENAPI_ONLY = frozenset({"nullable", "readOnly", "writeOnly"})
#: ``Content-Type`` values of a request body the fast path takes as JSON; others go to connexion.
PLAIN_JSON = frozenset({"application/json", "application/json; charset=utf-8"})


class NonConformingResponse(Exception):
    """A response the handler built does not conform to the contract."""


@dataclass(frozen=True)
class Parameter:
    """A path or header parameter: its name in the request, its handler argument, its check."""

    name: str
    argument: str
    required: bool
    valid: Check


@dataclass(frozen=True)
class ResponseSpec:
    """What the contract declares for one status of an operation."""

    media_types: frozenset[str]
    required_headers: frozenset[str]
    schemas: Mapping[str, Check]


@dataclass(frozen=True)
class Route:
    """One compiled operation."""

    operation_id: str
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    path: tuple[Parameter, ...]
    headers: Mapping[str, Parameter]  # by lower-case field name
    body: Check | None
    body_required: bool
    produces: frozenset[str]
    responses: Mapping[str, ResponseSpec] = field(default_factory=dict)


def _resolve(contract: Mapping[str, Any], node: Any) -> Any:
    """``node`` with a local ``$ref`` (``#/...``) followed, as often as it takes."""
    for _ in range(32):
        if not (isinstance(node, Mapping) and "$ref" in node):
            return node
        where = contract
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            where = where[part.replace("~1", "/").replace("~0", "~")]
        node = where
    raise ValueError("a $ref chain in the contract is too long")


def _keywords(contract: Mapping[str, Any], schema: Any) -> Iterator[str]:
    """Every keyword used by ``schema`` and every schema it references."""
    seen: set[int] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            if "$ref" in node:
                node = _resolve(contract, node)
            if id(node) in seen:
                continue
            seen.add(id(node))
            yield from (str(key) for key in node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _validator(contract: Mapping[str, Any], schema: Mapping[str, Any]) -> Check | None:
    """A compiled ``is_valid`` for ``schema`` (its ``$ref``s resolved in the contract), or None
    when the schema uses a keyword only OpenAPI 3.0 gives a meaning to."""
    if OPENAPI_ONLY.intersection(_keywords(contract, schema)):
        return None
    root = {"allOf": [schema], "components": contract.get("components", {})}
    check: Check = jsonschema_rs.Draft4Validator(root, validate_formats=True).is_valid
    return check


def _parameters(
    contract: Mapping[str, Any], item: Mapping[str, Any], operation: Mapping[str, Any]
) -> dict[tuple[str, str], Mapping[str, Any]]:
    merged: dict[tuple[str, str], Mapping[str, Any]] = {}
    for raw in [*item.get("parameters", []), *operation.get("parameters", [])]:
        parameter = _resolve(contract, raw)
        merged[(parameter["in"], parameter["name"])] = parameter
    return merged


def template_pattern(template: str) -> re.Pattern[str]:
    """A path template as a pattern to ``fullmatch``, each parameter a group."""
    parts = re.split(r"\{([^/{}]+)\}", template)
    regex = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<p{index // 2}>[^/]+)"
        for index, part in enumerate(parts)
    )
    return re.compile(regex)


def _responses(
    contract: Mapping[str, Any], operation: Mapping[str, Any]
) -> dict[str, ResponseSpec]:
    specs = {}
    for status, raw in operation.get("responses", {}).items():
        response = _resolve(contract, raw)
        content = response.get("content", {})
        schemas = {}
        for media, entry in content.items():
            if (media == "application/json" or media.endswith("+json")) and "schema" in entry:
                check = _validator(contract, entry["schema"])
                if check is not None:
                    schemas[media] = check
        required = frozenset(
            name.lower()
            for name, header in response.get("headers", {}).items()
            if _resolve(contract, header).get("required", False)
        )
        specs[str(status)] = ResponseSpec(frozenset(content), required, schemas)
    return specs


def compile_route(
    contract: Mapping[str, Any], template: str, method: str, handlers: Mapping[str, Handler]
) -> Route | None:
    """The fast route of one operation, or None when it must always take connexion's stack."""
    item = contract["paths"][template]
    operation = item[method]
    path: list[Parameter] = []
    headers: list[Parameter] = []
    for (where, name), parameter in _parameters(contract, item, operation).items():
        schema = _resolve(contract, parameter.get("schema", {}))
        if where not in ("path", "header") or schema.get("type") != "string":
            return None
        check = _validator(contract, parameter["schema"])
        if check is None:
            return None
        target = path if where == "path" else headers
        target.append(Parameter(name, pythonic(name), bool(parameter.get("required")), check))
    body: Check | None = None
    body_required = False
    if "requestBody" in operation:
        request_body = _resolve(contract, operation["requestBody"])
        content = request_body.get("content", {})
        if set(content) != {"application/json"} or "x-body-name" in request_body:
            return None
        body = _validator(contract, content["application/json"].get("schema", {}))
        if body is None:
            return None
        body_required = bool(request_body.get("required"))
    names = re.findall(r"\{([^/{}]+)\}", template)
    if sorted(names) != sorted(p.name for p in path):
        return None
    by_name = {p.name: p for p in path}
    produces = frozenset(
        media
        for status, raw in operation.get("responses", {}).items()
        if str(status).startswith("2")
        for media in _resolve(contract, raw).get("content", {})
    )
    return Route(
        operation_id=operation["operationId"],
        method=method.upper(),
        pattern=template_pattern(template),
        handler=handlers[operation["operationId"]],
        path=tuple(by_name[name] for name in names),
        headers={p.name.lower(): p for p in headers},
        body=body,
        body_required=body_required,
        produces=produces,
        responses=_responses(contract, operation),
    )


def compile_routes(contract: Mapping[str, Any], handlers: Mapping[str, Handler]) -> list[Route]:
    """The fast routes of every operation of ``contract`` that can have one."""
    routes = []
    for template, item in contract["paths"].items():
        for method in METHODS:
            if method in item and (route := compile_route(contract, template, method, handlers)):
                routes.append(route)
    return routes


class FastPath:
    """ASGI middleware: answer a request of a compiled route whose every check passes; hand
    anything else to ``app`` (connexion's stack) as it came."""

    def __init__(self, app: ASGIApp, routes: list[Route], validate_responses: bool = False) -> None:
        self.app = app
        self.routes: dict[str, list[Route]] = {}
        for route in routes:
            self.routes.setdefault(route.method, []).append(route)
        self.validate_responses = validate_responses

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routes = self.routes.get(scope["method"]) if scope["type"] == "http" else None
        if not routes or scope.get("query_string"):
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        matched = [(r, m) for r in routes if (m := r.pattern.fullmatch(path))]
        if len(matched) != 1:
            await self.app(scope, receive, send)
            return
        route, match = matched[0]
        arguments = self._arguments(route, match, scope)
        if arguments is not None and route.body is not None:
            body, receive = await _read_body(receive)
            parsed = self._body(route, scope, body)
            if parsed is _DEFER:
                arguments = None
            elif parsed is not _ABSENT:
                arguments["body"] = parsed
        if arguments is None:
            await self.app(scope, receive, send)
            return
        token = request_scope.set(scope)
        try:
            response = await route.handler(**arguments)
            if self.validate_responses:
                _check_response(route, response)
        except StoreUnavailable as exc:
            log.warning("%s %s: the job store is unavailable: %s", scope["method"], path, exc)
            response = unavailable_response(instance_of(scope))
        except Exception:
            log.exception("%s %s failed", scope["method"], scope["path"])
            response = problem_response(
                "internal-error", "The server failed unexpectedly.", instance_of(scope)
            )
        finally:
            request_scope.reset(token)
        await response(scope, receive, send)

    @staticmethod
    def _arguments(route: Route, match: re.Match[str], scope: Scope) -> dict[str, Any] | None:
        """The handler's path arguments, or None if a parameter or ``Accept`` needs connexion."""
        arguments: dict[str, Any] = {}
        for parameter, value in zip(route.path, match.groups(), strict=True):
            if not parameter.valid(value):
                return None
            arguments[parameter.argument] = value
        accept: str | None = None
        seen: set[str] = set()
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1").lower()
            if name == "accept":
                if accept is not None:
                    return None
                accept = raw_value.decode("latin-1").strip()
            elif name in route.headers:
                if name in seen or not route.headers[name].valid(raw_value.decode("latin-1")):
                    return None
                seen.add(name)
        if any(p.required and name not in seen for name, p in route.headers.items()):
            return None
        if accept not in (None, "*/*") and accept not in route.produces:
            return None
        return arguments

    @staticmethod
    def _body(route: Route, scope: Scope, body: bytes) -> Any:
        """The parsed body, ``_ABSENT`` when there is none and none is required, or ``_DEFER``."""
        if not body:
            return _DEFER if route.body_required else _ABSENT
        types = [v for k, v in scope["headers"] if k.lower() == b"content-type"]
        if len(types) != 1 or types[0].decode("latin-1").lower() not in PLAIN_JSON:
            return _DEFER
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _DEFER
        assert route.body is not None
        return parsed if route.body(parsed) else _DEFER


_DEFER = object()
_ABSENT = object()


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a ``receive`` that replays it to whoever reads next."""
    chunks = []
    for _ in range(1 << 20):  # bounded: the body guard in front caps the size anyway
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    return body, replaying(body, receive)


def _check_response(route: Route, response: Response) -> None:
    """Raise :class:`NonConformingResponse` unless ``response`` is one the contract allows."""
    spec = route.responses.get(str(response.status_code)) or route.responses.get("default")
    if spec is None:
        raise NonConformingResponse(f"{route.operation_id}: status {response.status_code}")
    media = (response.media_type or "").split(";", 1)[0].strip().lower()
    if response.status_code < 400 and route.produces and media not in route.produces:
        raise NonConformingResponse(f"{route.operation_id}: media type {media!r}")
    missing = spec.required_headers - {k.lower() for k in response.headers}
    if missing:
        raise NonConformingResponse(f"{route.operation_id}: headers missing: {sorted(missing)}")
    check = spec.schemas.get(media)
    if check is not None and not check(orjson.loads(response.body)):
        raise NonConformingResponse(f"{route.operation_id}: body does not match its schema")
