"""Request bodies of every common kind: JSON, a form (``application/x-www-form-urlencoded``)
and multipart (``multipart/form-data``, with files), as a profile, a check file or the command
line gives them, and their bytes on the wire.

The Content-Type a request states MUST be the media type of its content (RFC 9110 §8.3); a
multipart body MUST carry its boundary as the ``boundary`` parameter (RFC 7578 §4.1), so the
type comes with the encoding, never apart from it.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
import orjson

Encoding = Literal["json", "form", "multipart"]
ENCODINGS: tuple[Encoding, ...] = ("json", "form", "multipart")
MEDIA_TYPES: Mapping[Encoding, str] = {
    "json": "application/json",
    "form": "application/x-www-form-urlencoded",
    "multipart": "multipart/form-data",
}


class BodyError(ValueError):
    """A body that cannot be sent as given (a file that cannot be read, fields that are not a
    table); the message says which."""


@dataclass(frozen=True)
class Body:
    """One request body: ``value`` is the JSON document (``json``) or the fields by name
    (``form``, ``multipart``; a value that is not a string is sent as its JSON text), and
    ``files`` the multipart files by field name."""

    value: Any
    encoding: Encoding = "json"
    files: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.encoding]

    @property
    def document(self) -> Any:
        """The body as a JSON document, for a schema to judge; None for a form or multipart
        body (its schema is of fields, not of a document)."""
        return self.value if self.encoding == "json" else None

    def fields(self) -> list[tuple[str, str]]:
        """The form fields in order; a list value gives the field once per item."""
        if not isinstance(self.value, Mapping):
            raise BodyError(f"a {self.encoding} body is a table of fields, not {self.value!r}")
        pairs: list[tuple[str, str]] = []
        for name, value in self.value.items():
            for item in value if isinstance(value, list) else [value]:
                pairs.append((str(name), item if isinstance(item, str) else _json_text(item)))
        return pairs

    def encode(self) -> tuple[bytes, str]:
        """The content and its Content-Type."""
        if self.encoding == "json":
            return orjson.dumps(self.value), self.media_type
        if self.encoding == "form":
            return urlencode(self.fields()).encode(), self.media_type
        # httpx builds multipart content (boundary, part headers, file names): the library
        # that sends every other request of a run also encodes this one.
        parts: list[tuple[str, tuple[str | None, str | bytes, str | None]]] = [
            *((name, (None, value, None)) for name, value in self.fields()),
            *(
                (name, (path.name, _read(path), _file_type(path)))
                for name, paths in self.files.items()
                for path in paths
            ),
        ]
        if not parts:
            raise BodyError("a multipart body needs at least one field or file")
        request = httpx.Request("POST", "http://body.invalid/", files=parts)
        return request.read(), request.headers["content-type"]

    def with_member(self, dotted: str, value: str) -> Body:
        """This body with the member at ``dotted`` (``a.b``: member ``b`` of member ``a``,
        made where missing) set to ``value``; in a form or multipart body, the field of that
        name."""
        if self.encoding != "json" or not isinstance(self.value, Mapping):
            return replace(self, value={**dict(self.value), dotted: value})
        *outer, last = dotted.split(".")
        document = dict(self.value)
        inner = document
        for name in outer:
            below = inner.get(name)
            inner[name] = dict(below) if isinstance(below, Mapping) else {}
            inner = inner[name]
        inner[last] = value
        return replace(self, value=document)

    def describe(self) -> str:
        """How the body is sent, for a report: its media type and what it carries."""
        if self.encoding == "json":
            return f"{self.media_type} body"
        names = [name for name, _ in self.fields()]
        names += [f"{name}=@{path.name}" for name, paths in self.files.items() for path in paths]
        return f"{self.media_type} body ({', '.join(names) or 'no fields'})"


def body_from(
    value: Any,
    encoding: str = "json",
    files: Mapping[str, Any] | None = None,
    base: Path | None = None,
) -> Body:
    """A :class:`Body` from what a file or the command line says: the value, its encoding
    and, for multipart, files by field name (a path or a list of paths, relative to
    ``base``, the directory of the file that names them)."""
    if encoding not in ENCODINGS:
        raise BodyError(f"encoding {encoding!r} is not one of {', '.join(ENCODINGS)}")
    if files and encoding != "multipart":
        raise BodyError('files are sent in a multipart body only (encoding = "multipart")')
    resolved: dict[str, tuple[Path, ...]] = {}
    for name, paths in (files or {}).items():
        listed = paths if isinstance(paths, list) else [paths]
        resolved[str(name)] = tuple(
            (base / str(p)) if base is not None and not Path(str(p)).is_absolute() else Path(str(p))
            for p in listed
        )
    body = Body(value if value is not None else {}, encoding, resolved)
    if encoding != "json":
        body.fields()  # a table of fields, or the error now rather than mid-run
    for paths in resolved.values():
        for path in paths:
            if not path.is_file():
                raise BodyError(f"file {str(path)!r} is not a readable file")
    return body


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BodyError(f"cannot read {path}: {exc.strerror}") from None


def _file_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"
