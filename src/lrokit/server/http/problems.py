"""Problem types over HTTP: ``application/problem+json`` answers, the page a ``type`` URI
resolves to, and the ``instance`` of a request (RFC 9457 §3.1, §4). The types themselves are
the registry of :mod:`lrokit.server.problems`."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

import orjson
from starlette.responses import Response

from lrokit.server.problems import ProblemType, problem_body

PROBLEM_JSON = "application/problem+json"
_PATH_SAFE = "/!$&'()*+,;=:@-._~"


def instance_of(scope: Mapping[str, Any]) -> str:
    """The request target as a full-path URI reference (RFC 9457 §3.1.5): ASGI gives the path
    percent-decoded, so it is encoded again (RFC 3986 §2.1)."""
    return quote(str(scope.get("root_path", "")) + str(scope["path"]), safe=_PATH_SAFE)


def problem_response(
    slug: str,
    detail: str,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """An ``application/problem+json`` response whose status equals the type's status."""
    body = problem_body(slug, detail, instance, **extensions)
    return Response(
        orjson.dumps(body),
        status_code=body["status"],
        media_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


#: Seconds a client waits before trying again while the job store is unavailable.
UNAVAILABLE_RETRY_AFTER = 2
UNAVAILABLE_DETAIL = "The job store cannot be reached just now; nothing was decided."


def unavailable_response(instance: str) -> Response:
    """503 ``store-unavailable`` with Retry-After (RFC 9110 §15.6.4): an outage of the job
    store, which the client may wait out; never a 500, never a hang."""
    return problem_response(
        "store-unavailable",
        UNAVAILABLE_DETAIL,
        instance,
        {"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
    )


#: The media types a problem type's page comes in, the first for a browser's ``*/*``.
PAGE_TYPES = ("text/html", "application/json", "text/markdown")
_CODE = re.compile(r"`([^`]+)`")


def _prose(text: str) -> str:
    """Registry text as HTML: escaped, with its Markdown code spans as ``<code>``."""
    return _CODE.sub(r"<code>\1</code>", html.escape(text))


def render_html(kind: ProblemType) -> str:
    """The documentation page a problem ``type`` URI resolves to."""
    esc = html.escape
    return (
        "<!doctype html>\n<html lang=en><meta charset=utf-8>"
        f"<title>{esc(kind.title)} — lrokit problem type</title>\n"
        f"<h1>{esc(kind.title)}</h1>\n"
        f"<p>Type URI: <code>{esc(kind.uri)}</code><br>HTTP status: {kind.status}</p>\n"
        f"<p>{_prose(kind.description)}</p>\n"
        "<p>Problem details follow RFC 9457: <code>type</code>, <code>title</code>, "
        "<code>status</code>, <code>detail</code>, <code>instance</code>. "
        '<a href="/problems">Every problem type</a>.</p>\n</html>\n'
    )


def render_index_html(kinds: Iterable[ProblemType]) -> str:
    """``/problems``: every problem type, linked to its page."""
    rows = "".join(
        f'<tr><td><a href="{html.escape(kind.uri)}">{html.escape(kind.title)}</a></td>'
        f"<td>{kind.status}</td><td>{_prose(kind.description)}</td></tr>\n"
        for kind in kinds
    )
    return (
        "<!doctype html>\n<html lang=en><meta charset=utf-8>"
        "<title>Problem types — lrokit</title>\n<h1>Problem types</h1>\n"
        "<p>Every 4xx and 5xx answer is <code>application/problem+json</code> (RFC 9457); its "
        "<code>type</code> is one of these.</p>\n"
        f"<table><tr><th>type</th><th>status</th><th>meaning</th></tr>\n{rows}</table>\n</html>\n"
    )
