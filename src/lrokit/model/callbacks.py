"""Request members a server may call back, kept from naming real hosts in generated data.

A generic fuzzer run against a real OGC API - Processes server filled its ``subscriber``
callback URIs with invented host names, and the server tried to POST to them: a tester must
never make a target call the internet. Wherever lrokit generates a request (the schema layer
of ``--deep``), a URI member that a server may call back is pointed at a host under
``.invalid``, which RFC 6761 §6.4 reserves never to resolve. Such members are those an
operation's OpenAPI ``callbacks`` name by a ``$request.body#/…`` or ``$request.query.…``
runtime expression (OpenAPI 3.0.3 §4.7.18, §4.7.20.4), and those named like one (callback,
webhook, subscriber, notify, hook; OGC's ``successUri``, ``inProgressUri``, ``failedUri``),
with every string beneath them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import quote

#: The host every defanged callback URI names (RFC 6761 §6.4: never resolves).
SAFE_HOST = "lrokit-callback.invalid"
CALLBACK_NAME = re.compile(
    r"callback|webhook|subscriber|notif|hook|(success|failed|inprogress)uri", re.I
)
_BODY_EXPRESSION = re.compile(r"\$request\.body#(/[^}]*)")
_QUERY_EXPRESSION = re.compile(r"\$request\.query\.([^}]+)")


def callback_targets(operation: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    """The body members (JSON pointers) and query parameters an operation's ``callbacks``
    take their URLs from."""
    expressions = [
        str(expression)
        for callback in (operation.get("callbacks") or {}).values()
        if isinstance(callback, Mapping)
        for expression in callback
    ]
    body = {m for e in expressions for m in _BODY_EXPRESSION.findall(e)}
    query = {m for e in expressions for m in _QUERY_EXPRESSION.findall(e)}
    return frozenset(body), frozenset(query)


def safe_url(member: str) -> str:
    """The URI a defanged member gets: under :data:`SAFE_HOST`, naming the member."""
    return f"http://{SAFE_HOST}/{quote(member, safe='')}"


def contract_words(document: Any) -> frozenset[str]:
    """Every string a schema of ``document`` enumerates (``enum``): words its authors chose,
    never a host a generator made up, so :func:`defang` leaves them be."""
    words: set[str] = set()
    todo = [document]
    while todo:
        node = todo.pop()
        if isinstance(node, Mapping):
            enum = node.get("enum")
            if isinstance(enum, list):
                words.update(w for w in enum if isinstance(w, str))
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return frozenset(words)


def defang(
    value: Any,
    pointers: Collection[str] = frozenset(),
    keep: Collection[str] = frozenset(),
    *,
    _at: str = "",
) -> Any:
    """``value`` with every string at one of ``pointers``, or under a member named like a
    callback, replaced by :func:`safe_url`, unless it is one of ``keep`` (the contract's own
    words: :func:`contract_words`; ``callbackEvents: all`` is named like a callback and is
    none); anything else as it was (a copy where changed)."""
    if _at in pointers or (_at and CALLBACK_NAME.search(_at.rsplit("/", 1)[-1])):
        return _all_strings_safe(value, _at.rsplit("/", 1)[-1], keep)
    if isinstance(value, dict):
        return {
            key: defang(item, pointers, keep, _at=f"{_at}/{_escape(str(key))}")
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            defang(item, pointers, keep, _at=f"{_at}/{index}") for index, item in enumerate(value)
        ]
    return value


def _all_strings_safe(value: Any, member: str, keep: Collection[str]) -> Any:
    if isinstance(value, str):
        return value if value in keep else safe_url(member)
    if isinstance(value, dict):
        return {key: _all_strings_safe(item, str(key), keep) for key, item in value.items()}
    if isinstance(value, list):
        return [_all_strings_safe(item, member, keep) for item in value]
    return value


def _escape(key: str) -> str:
    """A key as a JSON pointer token (RFC 6901 §3)."""
    return key.replace("~", "~0").replace("/", "~1")
