"""The check file ``lrokit init`` writes: TOML, with each inferred value preceded by a comment
saying what it is and the JSON pointer of the document it was read from, and each value that
could not be inferred written as a comment marked ``NOT INFERRED`` (with a line to fill in
where one helps).

The TOML is written by hand, since comments are the point and the standard library writes
none: strings as basic strings (JSON's escapes are TOML's, DEL escaped too), tables inline
(a body too long for one line becomes a table of its own), ``monitor.transitions`` a table.
TOML has no null: a null member of a body is left out, and a comment says so.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

from lrokit.discover.notes import Note
from lrokit.discover.profiles import Discovery, Inferred

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_WIDTH = 100
_INLINE_MAX = 96  # a body longer than this on one line becomes a table
#: The tables of an operation and the order of their keys; keys not named follow.
_ORDER: dict[str, tuple[str, ...]] = {
    "submit": (
        "method",
        "path",
        "encoding",
        "headers",
        "files",
        "body",
        "other_body",
        "failing_body",
    ),
    "initiation": ("status", "monitor_header", "monitor_template", "id_segment"),
    "monitor": (
        "state_field",
        "states",
        "success",
        "failure",
        "cancelled",
        "state_rules",
        "id_field",
        "progress_field",
        "created_field",
        "started_field",
        "finished_field",
        "estimate_field",
        "error_field",
        "error_members",
        "result_link",
        "result_field",
        "result_template",
        "result_header",
        "media_type",
        "transitions",
    ),
    "cancel": ("method", "template", "may_remove"),
    "errors": ("media_type",),
    "callbacks": ("member",),
    "features": ("cancel", "idempotency", "prefer", "repoint", "stream", "wait", "callbacks"),
}
#: Sub-tables written as tables of their own, after the keys of their table.
_TABLES = frozenset({"monitor.transitions"})


def render(
    found: Discovery,
    *,
    url: str | None,
    spec: str,
    command: str,
    headers: Iterable[tuple[str, str, str]] = (),
) -> str:
    """The check file for ``found``: ``url`` the API's base URL (None: left for a person),
    ``spec`` the document as the file refers to it, ``command`` the command that wrote it,
    ``headers`` the security schemes' headers (name, value, pointer) offered commented out."""
    lines = [
        f"# lrokit check file, written by `{command}`.",
        "# Each [[operations]] entry is a whole profile inferred from the API description (laid",
        "# over the built-in dialect it speaks, `profile = ...`, where it speaks one); the",
        "# comment above a value says where in the document (a JSON pointer) it was read. Values",
        "# marked NOT INFERRED are for you to decide. `lrokit check` reads this file (the same",
        "# keys may sit under [tool.lrokit] in pyproject.toml).",
    ]
    for note in found.notes:
        lines += _comment(str(note))
    lines.append("")
    if url is not None:
        lines.append(f"url = {_value(url)}  # base URL of the API; the URL argument of check wins")
    else:
        lines += _comment(
            "url: NOT INFERRED: the document declares no absolute server URL; give the API's "
            "base URL here or as the URL argument of lrokit check"
        )
        lines.append('# url = "http://127.0.0.1:8080"')
    lines.append(f"spec = {_value(spec)}  # the contract: a path relative to this file, or a URL")
    lines += ["", "[headers]  # sent on every request; ${NAME} is read from the environment"]
    offered = list(headers)
    for name, value, at in offered:
        lines += _comment(f"the security scheme at {at}")
        lines.append(f"# {_key(name)} = {_value(value)}")
    if not offered:
        lines.append('# Authorization = "Bearer ${API_TOKEN}"')
    for inferred in found.operations:
        lines += ["", *_operation(inferred)]
    return "\n".join(lines) + "\n"


def _operation(inferred: Inferred) -> list[str]:
    op = inferred.long_running.operation
    title = f"# -- {inferred.name}: {op.title} "
    lines = [title + "-" * max(_WIDTH - len(title), 4)]
    notes = [n for n in inferred.notes if not n.key]
    for note in notes:
        lines += _comment(_text(note))
    data = inferred.data
    lines += ["[[operations]]", f"name = {_value(data['name'])}"]
    if "extends" in data:  # the built-in dialect it speaks: its rules, as it states them
        lines.append(f"profile = {_value(data['extends'])}")
    lines.append(f"description = {_value(data.get('description', ''))}")
    for table in _ORDER:
        written = _table(table, data.get(table), inferred.notes)
        lines += ["", *written] if written else []
    return lines


def _table(table: str, values: Mapping[str, Any] | None, notes: tuple[Note, ...]) -> list[str]:
    values = values or {}
    mine = [n for n in notes if n.key.split(".", 1)[0] == table]
    if not values and not mine:
        return []
    lines = [f"[operations.{table}]"]
    keys = [k for k in _ORDER[table] if k in values] + [k for k in values if k not in _ORDER[table]]
    later: list[str] = []
    for key in keys:
        about = [n for n in mine if n.key == f"{table}.{key}"]
        value = values[key]
        if f"{table}.{key}" in _TABLES and isinstance(value, Mapping):
            later += ["", *_sub_table(f"operations.{table}.{key}", value, about)]
            continue
        dropped: list[bool] = []
        text = _value(value, dropped)
        if (
            table == "submit"
            and key.endswith("body")
            and isinstance(value, Mapping)
            and len(text) > _INLINE_MAX
        ):
            later += ["", *_sub_table(f"operations.{table}.{key}", value, about, dropped)]
            continue
        for note in about:
            lines += _comment(_text(note))
        if dropped:
            lines += _comment("null members are left out: TOML has no null")
        if isinstance(value, list) and len(text) > _INLINE_MAX:
            lines.append(f"{_key(key)} = [")
            lines += [f"  {_value(item)}," for item in value if item is not None]
            lines.append("]")
        else:
            lines.append(f"{_key(key)} = {text}")
    for note in mine:
        name = note.key.split(".", 1)[1] if "." in note.key else ""
        if name and name not in values:
            lines += _comment(_text(note, name))
            if note.suggestion:
                lines.append(f"# {note.suggestion}")
    return lines + later


def _sub_table(
    name: str, value: Mapping[str, Any], notes: list[Note], dropped: list[bool] | None = None
) -> list[str]:
    lines: list[str] = []
    for note in notes:
        lines += _comment(_text(note))
    if dropped:
        lines += _comment("null members are left out: TOML has no null")
    lines.append(f"[{name}]")
    for key, item in value.items():
        if item is not None:
            lines.append(f"{_key(str(key))} = {_value(item, [])}")
    return lines


def _text(note: Note, name: str = "") -> str:
    head = f"{name}: " if name else ""
    where = f" (from {note.at})" if note.at is not None else ""
    return f"{head}{'NOT INFERRED: ' if note.missing else ''}{note.text}{where}"


def _comment(text: str) -> list[str]:
    wrapped = textwrap.wrap(
        text,
        width=_WIDTH - 2,
        break_long_words=False,
        break_on_hyphens=False,
        subsequent_indent="  ",
    )
    return [f"# {line}" for line in wrapped]


def _key(key: str) -> str:
    return key if _BARE.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any, dropped: list[bool] | None = None) -> str:
    """``value`` as a TOML value on one line; a null member or item is left out (and
    ``dropped`` says so)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if item is None:
                if dropped is not None:
                    dropped.append(True)
                continue
            items.append(f"{_key(str(key))} = {_value(item, dropped)}")
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if isinstance(value, list | tuple):
        kept = [item for item in value if item is not None]
        if len(kept) != len(value) and dropped is not None:
            dropped.append(True)
        return "[" + ", ".join(_value(item, dropped) for item in kept) + "]"
    return _string(str(value))
