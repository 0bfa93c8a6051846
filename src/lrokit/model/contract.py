"""The target's OpenAPI contract, used to validate what the monitor answers (MONITOR-2) and to
say where a job's result is."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml
from jsonschema.exceptions import SchemaError
from openapi_schema_validator import OAS30Validator
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT4

from lrokit.model.exchange import Exchange
from lrokit.model.profile import Profile

try:  # libyaml's safe loader when PyYAML was built with it: ten times the pure-Python speed
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # PyYAML without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]

_SPEC_URI = "urn:lrokit:contract"
_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_DEPTH = 32  # $ref and schema steps followed at most: a cycle ends there


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
            template = self.template(path)
            if template not in cache:
                cache[template] = self._validator(template, profile, registry)
            return cache[template]

        def validate(exchange: Exchange) -> list[tuple[str, str]]:
            validator = validator_for(exchange.url)
            if validator is None:
                return []
            try:
                errors = list(validator.iter_errors(exchange.json()))
            except (Unresolvable, SchemaError):  # a $ref to another document: not read
                return []
            return [("/".join(map(str, e.absolute_path)) or "(body)", e.message) for e in errors][
                :5
            ]

        return validate

    def template(self, path: str) -> str:
        """The path template of the document that ``path`` matches, or ""."""
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
            pointer = f"/paths/{escape_token(template)}/get/responses/200/content/"
            pointer += f"{escape_token(profile.media_type)}/schema"
            content[profile.media_type]["schema"]
        except (KeyError, TypeError):
            return None
        return OAS30Validator({"$ref": f"{_SPEC_URI}#{pointer}"}, registry=registry)

    def fitted(self, profile: Profile) -> Profile:
        """``profile`` with its result where this contract puts it: the profile's result link
        is dropped, leaving the result at the profile's template, when no status schema has
        that link but an OpenAPI link leads to the result operation at the template; else the
        profile is kept (a status schema has the link, in either form: a string or an object
        with ``href``; or the contract does not say where the result is).

        What is read: the status schemas, the ``profile.media_type`` schemas of the 200
        answers of the GET operations whose schema has the profile's state field (the monitor,
        as :meth:`monitor_validator` reads it); their properties along the result link
        (through ``$ref``, ``allOf``, ``oneOf``, ``anyOf``); and the OpenAPI ``links`` (by
        ``operationId`` or a local ``operationRef``) of those 200 answers and of every answer
        with an initiation status (202), to a GET at the result template from a status path."""
        statuses = self._status_answers(profile)
        if profile.result_link is None or not statuses:
            return profile
        place = profile.result_link.removesuffix(".href")
        if any(self._property(schema, place) is not None for _, _, schema in statuses):
            return profile
        initiation = {str(status) for status in profile.initiation_status}
        answers = [ok for _, ok, _ in statuses] + [
            self.resolve(answer)
            for _, _, operation in self._operations()
            for code, answer in _responses(operation).items()
            if str(code) in initiation
        ]
        results = {_shape(url) for path, _, _ in statuses if (url := profile.result_url(path))}
        if any(_shape(path) in results for path in self._linked_gets(answers)):
            return replace(profile, result_link=None)
        return profile

    def _operations(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every operation: its path template, method and node."""
        paths = self.document.get("paths")
        for path, item in (paths if isinstance(paths, dict) else {}).items():
            item = self.resolve(item)
            for method, operation in (item if isinstance(item, dict) else {}).items():
                if method in _METHODS and isinstance(operation, dict):
                    yield str(path), method, operation

    def _status_answers(self, profile: Profile) -> list[tuple[str, Any, Any]]:
        """The status operations (GETs whose 200 body has the state field): each one's path,
        its 200 answer and that answer's ``profile.media_type`` schema."""
        found = []
        for path, method, operation in self._operations():
            responses = _responses(operation)
            ok = self.resolve(responses.get("200", responses.get(200)))
            content = ok.get("content") if isinstance(ok, dict) else None
            media = content.get(profile.media_type) if isinstance(content, dict) else None
            schema = media.get("schema") if isinstance(media, dict) else None
            if method == "get" and self._property(schema, profile.state_field) is not None:
                found.append((path, ok, schema))
        return found

    def _linked_gets(self, answers: list[Any]) -> list[str]:
        """The paths of the GET operations the OpenAPI links of ``answers`` lead to."""
        by_id = {
            str(o["operationId"]): (p, m) for p, m, o in self._operations() if "operationId" in o
        }
        found = []
        for answer in answers:
            links = answer.get("links") if isinstance(answer, dict) else None
            for link in (links if isinstance(links, dict) else {}).values():
                link = self.resolve(link)
                ref = link.get("operationRef") if isinstance(link, dict) else None
                if isinstance(link, dict) and "operationId" in link:
                    target = by_id.get(str(link["operationId"]))
                elif isinstance(ref, str) and ref.startswith("#/paths/"):
                    path, _, method = ref.removeprefix("#/paths/").partition("/")
                    target = (_unescape(path), method)
                else:
                    target = None
                if target is not None and target[1] == "get":
                    found.append(target[0])
        return found

    def _property(self, schema: Any, dotted: str, depth: int = 0) -> Any:
        """The schema of the property at ``dotted`` in ``schema``, or None where the schema
        declares none (a branch of ``allOf``, ``oneOf`` or ``anyOf`` may declare it)."""
        schema = self.resolve(schema)
        if not isinstance(schema, dict) or depth > _DEPTH:
            return None
        name, _, rest = dotted.partition(".")
        properties = schema.get("properties")
        found = properties.get(name) if isinstance(properties, dict) else None
        if found is not None:
            return self._property(found, rest, depth + 1) if rest else self.resolve(found)
        for key in ("allOf", "oneOf", "anyOf"):
            branches = schema.get(key)
            for branch in branches if isinstance(branches, list) else ():
                found = self._property(branch, dotted, depth + 1)
                if found is not None:
                    return found
        return None

    def resolve(self, node: Any) -> Any:
        """``node`` with its ``$ref`` followed: None where it leads nowhere or out of the
        document (another document is not read)."""
        for _ in range(_DEPTH):
            ref = node.get("$ref") if isinstance(node, dict) else None
            if not isinstance(ref, str):
                return node
            if not ref.startswith("#/"):
                return None
            node = self.document
            for token in ref.removeprefix("#/").split("/"):
                node = node.get(_unescape(token)) if isinstance(node, dict) else None
        return None


def _responses(operation: dict[str, Any]) -> dict[Any, Any]:
    responses = operation.get("responses")
    return responses if isinstance(responses, dict) else {}


def _shape(path: str) -> str:
    """A path template with its parameters unnamed: ``/reports/{}/download``."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def escape_token(token: str) -> str:
    """A JSON Pointer reference token (RFC 6901 §3): ``~`` and ``/`` escaped."""
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
