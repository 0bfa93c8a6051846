"""The target's OpenAPI contract, used to validate what the monitor answers (MONITOR-2)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml
from openapi_schema_validator import OAS30Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

from lrokit.model.exchange import Exchange
from lrokit.model.profile import Profile

try:  # libyaml's safe loader when PyYAML was built with it: ten times the pure-Python speed
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # PyYAML without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]

_SPEC_URI = "urn:lrokit:contract"


class ContractError(ValueError):
    """The contract cannot be read; the message says why."""


@dataclass(frozen=True)
class Contract:
    """An OpenAPI 3.0 document."""

    document: dict[str, Any]
    source: str

    def monitor_validator(self, profile: Profile) -> Callable[[Exchange], list[tuple[str, str]]]:
        """A function listing the schema errors of a monitor body as (JSON path, message);
        none where the contract has no JSON schema for the monitor's 200 answer."""
        registry: Registry[Any] = Registry().with_resource(
            _SPEC_URI, DRAFT4.create_resource(self.document)
        )
        cache: dict[str, OAS30Validator | None] = {}

        def validator_for(url: str) -> OAS30Validator | None:
            path = urlsplit(url).path
            template = self._template(path)
            if template not in cache:
                cache[template] = self._validator(template, profile, registry)
            return cache[template]

        def validate(exchange: Exchange) -> list[tuple[str, str]]:
            validator = validator_for(exchange.url)
            if validator is None:
                return []
            errors = validator.iter_errors(exchange.json())
            return [("/".join(map(str, e.absolute_path)) or "(body)", e.message) for e in errors][
                :5
            ]

        return validate

    def _template(self, path: str) -> str:
        for template in self.document.get("paths", {}):
            pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "/?$"
            if re.match(pattern, path):
                return str(template)
        return ""

    def _validator(
        self, template: str, profile: Profile, registry: Registry[Any]
    ) -> OAS30Validator | None:
        try:
            content = self.document["paths"][template]["get"]["responses"]["200"]["content"]
            pointer = f"/paths/{_escape(template)}/get/responses/200/content/"
            pointer += f"{_escape(profile.media_type)}/schema"
            content[profile.media_type]["schema"]
        except (KeyError, TypeError):
            return None
        return OAS30Validator({"$ref": f"{_SPEC_URI}#{pointer}"}, registry=registry)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def read_source(source: str, *, timeout: float = 10.0, max_bytes: int = 4 * 1024 * 1024) -> str:
    """The text of a document at a path or an http(s) URL (redirects not followed, at most
    ``max_bytes``); raises OSError, UnicodeDecodeError or httpx.HTTPError."""
    if source.startswith(("http://", "https://")):
        response = httpx.get(source, timeout=timeout, follow_redirects=False)
        response.raise_for_status()
        return response.content[:max_bytes].decode("utf-8")
    return Path(source).read_text(encoding="utf-8")


def load_contract(
    source: str, *, timeout: float = 10.0, max_bytes: int = 4 * 1024 * 1024
) -> Contract:
    """Read an OpenAPI document (YAML or JSON) from a path or an http(s) URL."""
    try:
        text = read_source(source, timeout=timeout, max_bytes=max_bytes)
        document = yaml.load(text, Loader=SafeLoader)
    except (OSError, UnicodeDecodeError, httpx.HTTPError, yaml.YAMLError) as exc:
        raise ContractError(f"cannot read the contract {source}: {exc}") from None
    if not isinstance(document, dict) or "paths" not in document:
        raise ContractError(f"{source} is not an OpenAPI document (no paths)")
    return Contract(document, source)
