"""An OpenAPI document as read for linting: its data, its source and where each node is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import yaml

from lrokit.model.contract import read_source

try:  # libyaml's safe loader when PyYAML was built with it
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # PyYAML without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]


class SpecError(ValueError):
    """The document cannot be read or is not OpenAPI 3.0/3.1; the message says why."""


def escape(token: object) -> str:
    """One JSON pointer reference token (RFC 6901 §3)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens: object) -> str:
    """The JSON pointer of ``tokens``."""
    return "".join(f"/{escape(token)}" for token in tokens)


@dataclass(frozen=True)
class Document:
    """A parsed OpenAPI document and the 1-based line of each JSON pointer in its source."""

    data: dict[str, Any]
    source: str
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """``3.0`` or ``3.1`` (``2.0`` for Swagger 2.0, which only ``lrokit init`` reads)."""
        return str(self.data.get("openapi") or self.data.get("swagger") or "")[:3]

    def line(self, at: str) -> int | None:
        """The line of ``at``, or of its nearest ancestor found in the source."""
        while at:
            if at in self.lines:
                return self.lines[at]
            at = at.rsplit("/", 1)[0]
        return self.lines.get("")

    def at(self, at: str) -> Any:
        """The node at JSON pointer ``at``, or None where there is none."""
        node: Any = self.data
        for token in at.split("/")[1:]:
            key = token.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict):
                node = node.get(key)
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                return None
        return node

    def resolve(self, node: Any, at: str) -> tuple[Any, str]:
        """Follow local ``$ref``s from ``node`` (at ``at``): the node referred to and its
        pointer. A reference outside the document resolves to None."""
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not ref.startswith("#") or ref in seen:
                return None, at
            seen.add(ref)
            at = ref[1:]
            node = self.at(at)
        return node, at


def _lines(node: yaml.Node, at: str, line: int, into: dict[str, int]) -> None:
    """Record ``line`` for ``at`` (a member's line is its key's), then ``node``'s children."""
    into[at] = line
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                _lines(value, f"{at}/{escape(key.value)}", key.start_mark.line + 1, into)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, f"{at}/{index}", item.start_mark.line + 1, into)


def read_document(source: str, *, timeout: float = 10.0) -> Document:
    """Read a YAML or JSON document that is a mapping from a path or an http(s) URL, whatever
    it describes (``load_document`` requires OpenAPI 3; ``lrokit init`` reads Swagger 2.0
    too)."""
    try:
        loader = SafeLoader(read_source(source, timeout=timeout))
        try:  # one parse: the node tree gives the lines, its construction the data
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except (OSError, UnicodeDecodeError, httpx.HTTPError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError(f"cannot read {source}: {first}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{source} is not an OpenAPI document (not a mapping)")
    lines: dict[str, int] = {}
    if root is not None:
        _lines(root, "", root.start_mark.line + 1, lines)
    return Document(data, source, lines)


def load_document(source: str, *, timeout: float = 10.0) -> Document:
    """Read an OpenAPI 3.0 or 3.1 document (YAML or JSON) from a path or an http(s) URL."""
    document = read_document(source, timeout=timeout)
    if not str(document.data.get("openapi", "")).startswith(("3.0", "3.1")):
        raise SpecError(f"{source} is not an OpenAPI 3.0 or 3.1 document (no openapi: 3.x)")
    return document
