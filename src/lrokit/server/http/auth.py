"""Bearer tokens, and the principal a request acts for (RFC 6750, RFC 9110 §11).

With a token table (``lrokit serve --tokens FILE``), every operation the contract secures
needs ``Authorization: Bearer TOKEN`` with a known token: without one the answer is 401
``unauthorized`` with a ``WWW-Authenticate`` challenge (RFC 9110 §15.5.2: a 401 MUST carry
one), before anything reads the body or the store. The principal the token names goes into the
request's scope under :data:`PRINCIPAL`; the handlers give a job to the principal that submits
it, and to any other principal it does not exist (OWASP API1:2023, broken object-level
authorisation). Without a token table the server is open and no request has a principal.

This is an ASGI middleware in front of both paths (the fast path and connexion's stack), so
both authenticate alike; connexion's own security middleware, which would need a bearer-info
function per scheme and answers 401 without the challenge, is not used.
"""

from __future__ import annotations

import hashlib
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from lrokit.server.http.context import route_path
from lrokit.server.http.fastpath import template_pattern
from lrokit.server.http.problems import instance_of, problem_response

#: The key of the authenticated principal in an ASGI scope.
PRINCIPAL = "lrokit.principal"
REALM = "lrokit"
#: RFC 6750 §2.1 ``b64token``.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
#: Fewer characters than this could be guessed: a token is a password.
MIN_TOKEN_LENGTH = 16
_PRINCIPAL = re.compile(r"[^\s\x00-\x1f\x7f]{1,128}")


class TokenFileError(ValueError):
    """A token file no server should start with; the message is one line naming the place."""


def read_tokens(path: Path) -> tuple[dict[str, str], bool]:
    """The token table of a file of lines ``TOKEN PRINCIPAL`` (``#`` starts a comment), and
    whether the file is readable by other users than its owner (a leak the caller warns of).

    Raise :class:`TokenFileError` for a file that cannot be read, a line of another shape, a
    token that is not an RFC 6750 ``b64token`` of at least :data:`MIN_TOKEN_LENGTH`
    characters, a token given twice, or no token at all.
    """
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise TokenFileError(f"cannot read the token file {path}: {reason}") from exc
    tokens: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        where = f"{path}:{number}"
        if len(fields) != 2:
            raise TokenFileError(f"{where}: expected 'TOKEN PRINCIPAL', found {len(fields)} fields")
        token, principal = fields
        if not _B64TOKEN.fullmatch(token):
            raise TokenFileError(
                f"{where}: a token may hold only A-Z a-z 0-9 - . _ ~ + / and a final ="
            )
        if len(token) < MIN_TOKEN_LENGTH:
            raise TokenFileError(
                f"{where}: a token needs {MIN_TOKEN_LENGTH} characters or more, so it cannot "
                "be guessed (e.g. `openssl rand -hex 16`)"
            )
        if not _PRINCIPAL.fullmatch(principal):
            raise TokenFileError(f"{where}: a principal is 1 to 128 printable characters")
        if token in lines:
            raise TokenFileError(f"{where}: the token of line {lines[token]} is given again")
        tokens[token], lines[token] = principal, number
    if not tokens:
        raise TokenFileError(f"the token file {path} holds no token: nobody could sign in")
    return tokens, bool(mode & (stat.S_IRWXG | stat.S_IRWXO))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class Authentication:
    """ASGI middleware: a request to a secured operation acts for the principal its bearer
    token names, or is answered 401.

    Tokens are looked up by their SHA-256 digest, so the time a lookup takes tells nothing
    about how much of a guessed token was right. ``secured`` says whether a method and path
    (below the root path) need a token.
    """

    def __init__(
        self,
        app: ASGIApp,
        tokens: Mapping[str, str],
        secured: list[tuple[re.Pattern[str], frozenset[str]]],
    ) -> None:
        self.app = app
        self.principals = {_digest(token): principal for token, principal in tokens.items()}
        self.secured = secured

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._needs_token(scope):
            await self.app(scope, receive, send)
            return
        value = next((v for k, v in scope["headers"] if k.lower() == b"authorization"), None)
        scheme, _, token = (value or b"").decode("latin-1").strip().partition(" ")
        if value is None or scheme.lower() != "bearer":
            # RFC 6750 §3.1: no authentication information, so no error code.
            detail = "This operation needs `Authorization: Bearer TOKEN`."
            challenge = f'Bearer realm="{REALM}"'
        else:
            principal = self.principals.get(_digest(token.strip()))
            if principal is not None:
                await self.app({**scope, PRINCIPAL: principal}, receive, send)
                return
            detail = "The bearer token is not valid here."
            challenge = f'Bearer realm="{REALM}", error="invalid_token"'
        response = problem_response(
            "unauthorized", detail, instance_of(scope), {"WWW-Authenticate": challenge}
        )
        await response(scope, receive, send)

    def _needs_token(self, scope: Scope) -> bool:
        path = route_path(scope)
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        return any(method in methods and p.fullmatch(path) for p, methods in self.secured)


def secured_operations(contract: Mapping[str, Any]) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Each path template of ``contract`` as a pattern, with the methods whose effective
    security requirement (the operation's ``security``, else the document's) asks for a
    credential: non-empty, and without the empty alternative ``{}`` that lets anyone in."""
    default = contract.get("security", [])
    table = []
    for template, item in contract["paths"].items():
        methods = frozenset(
            method.upper()
            for method, operation in item.items()
            if isinstance(operation, Mapping)
            and "operationId" in operation
            and (requirements := operation.get("security", default))
            and {} not in requirements
        )
        if methods:
            table.append((template_pattern(template), methods))
    return table


def requiring_credentials(contract: dict[str, Any]) -> dict[str, Any]:
    """The contract as a server with tokens serves it: the empty alternative ``{}`` (OpenAPI
    3.0.3 §4.7.30, "no credential needed"), which the canonical contract offers for a server
    run open, is dropped from every security requirement, so the document says what the
    server enforces."""

    def strict(requirements: list[Any]) -> list[Any]:
        return [requirement for requirement in requirements if requirement]

    served = {**contract, "paths": dict(contract["paths"])}
    if "security" in contract:
        served["security"] = strict(contract["security"])
    for template, item in contract["paths"].items():
        served["paths"][template] = {
            method: (
                {**operation, "security": strict(operation["security"])}
                if isinstance(operation, Mapping) and operation.get("security")
                else operation
            )
            for method, operation in item.items()
        }
    return served
