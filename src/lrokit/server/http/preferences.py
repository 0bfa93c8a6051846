"""RFC 7240 ``Prefer`` request header parsing.

Written by hand because no maintained library parses ``Prefer``: it is not a Structured
Field (RFC 8941), so ``http-sfv`` rejects ordinary values such as ``wait=10``.
"""

from __future__ import annotations

from collections.abc import Iterable


def parse_prefer(values: Iterable[str]) -> dict[str, str]:
    """The preferences of all ``Prefer`` field lines, by lower-cased name.

    Names compare case-insensitively and values case-sensitively; a preference that appears
    again is ignored, the first instance counts (RFC 7240 §2). Parameters after ``;`` are
    dropped. Malformed members are skipped: preferences are hints and never an error.
    """
    prefs: dict[str, str] = {}
    for value in values:
        for member in _split(value, ","):
            name, _, raw = next(iter(_split(member, ";")), "").partition("=")
            name = name.strip().lower()
            if not name or not all(c.isalnum() or c in "!#$%&'*+-.^_`|~" for c in name):
                continue
            raw = raw.strip()
            if len(raw) >= 2 and raw[0] == raw[-1] == '"':
                raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            prefs.setdefault(name, raw)
    return prefs


def _split(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside double-quoted strings."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == sep and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]
