"""What a target's contract says of the requests a run sends: whether an operation takes a
body, a body that is well-formed JSON but breaks the operation's request schema, and which
segments of a path are parameters (ids).

Only what the document states is used; where it says nothing, every function answers None
and the run does what the profile alone says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from jsonschema.exceptions import SchemaError
from openapi_schema_validator import OAS30Validator
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT4

from lrokit.model.bodies import ENCODINGS, MEDIA_TYPES, Body, Encoding
from lrokit.model.contract import Contract, escape_token
from lrokit.model.profile import Profile

_URI = "urn:lrokit:requests"


def _operation(contract: Contract, method: str, path: str) -> Mapping[str, Any] | None:
    template = contract.template(path)
    operation = contract.document.get("paths", {}).get(template, {}).get(method.lower())
    return operation if isinstance(operation, Mapping) else None


def takes_body(contract: Contract, method: str, path: str) -> bool | None:
    """Whether the operation at ``method path`` takes a request body: an OpenAPI 3
    ``requestBody``, or a Swagger 2.0 ``body`` or ``formData`` parameter; None when the
    contract does not describe the operation."""
    operation = _operation(contract, method, path)
    if operation is None:
        return None
    if contract.resolve(operation.get("requestBody")) is not None:
        return True
    parameters = operation.get("parameters")
    return any(
        isinstance(p := contract.resolve(parameter), Mapping)
        and p.get("in") in ("body", "formData")
        for parameter in (parameters if isinstance(parameters, list) else [])
    )


def request_media_types(contract: Contract | None, method: str, path: str) -> frozenset[str] | None:
    """The media types the operation's request body is declared in (lower case, without
    parameters); None when the contract does not say (no contract, no operation, no
    ``content``)."""
    if contract is None:
        return None
    operation = _operation(contract, method, path)
    body = contract.resolve(operation.get("requestBody")) if operation is not None else None
    content = body.get("content") if isinstance(body, Mapping) else None
    if operation is not None and "requestBody" not in operation:  # Swagger 2.0: consumes
        content = operation.get("consumes") or contract.document.get("consumes")
        if takes_body(contract, method, path) is not True:
            content = None
    if not isinstance(content, Mapping | list) or not content:
        return None
    return frozenset(str(k).split(";")[0].strip().lower() for k in content)


def fitted_encoding(contract: Contract | None, profile: Profile) -> tuple[Profile, str | None]:
    """``profile`` with its bodies in the encoding the contract declares for the submission,
    and a note saying so: a JSON table sent as a form or as multipart fields when the
    operation takes only those (a client MUST send content in a media type the operation
    accepts, RFC 9110 §15.5.16); else ``profile`` as it is, and no note."""
    body = profile.body
    declared = request_media_types(contract, profile.submit_method, profile.submit_path)
    if body is None or declared is None or body.media_type in declared:
        return profile, None
    encoding: Encoding | None = next(
        (e for e in ENCODINGS if e != "json" and MEDIA_TYPES[e] in declared), None
    )
    if encoding is None or body.encoding != "json" or not isinstance(body.value, Mapping):
        return profile, None

    def fit(b: Body | None) -> Body | None:
        return b if b is None or not isinstance(b.value, Mapping) else Body(b.value, encoding)

    fitted = replace(
        profile,
        body=fit(profile.body),
        failing_body=fit(profile.failing_body),
        other_body=fit(profile.other_body),
    )
    return fitted, (
        f"the contract takes only {', '.join(sorted(declared))} at {profile.submit_method} "
        f"{profile.submit_path}: the bodies are sent as {MEDIA_TYPES[encoding]} fields"
    )


def unsupported_media_type(declared: frozenset[str] | None) -> str:
    """A media type the operation does not take, for a 415 probe (RFC 9110 §15.5.16):
    ``text/plain``, unless it is declared (or a range covering it is), then a type no one
    registers."""
    covered = declared or frozenset()
    if not covered & {"text/plain", "text/*", "*/*"}:
        return "text/plain"
    return "application/x-lrokit-unsupported"


def invalid_body(contract: Contract, method: str, path: str, valid: object) -> object | None:
    """``valid``, a body the operation accepts, made to break its JSON request schema while
    staying well-formed JSON: a member removed, or given a value of another JSON type, at the
    top or one level down; the first such body the schema itself rejects (so a schema with
    ``oneOf`` or discriminators is honoured). None when the contract gives no schema for the
    operation, when it rejects ``valid`` too, or when no such change breaks it."""
    validator = _request_validator(contract, method, path)
    if validator is None or not isinstance(valid, Mapping):
        return None
    try:
        if not validator.is_valid(valid):
            return None
        return next((c for c in _changes(valid) if not validator.is_valid(c)), None)
    except (Unresolvable, SchemaError):  # a $ref to another document, a schema not well made
        return None


def _changes(valid: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Bodies one change away from ``valid``: each member removed, each given another type,
    then the same one level down."""
    found: list[dict[str, Any]] = []
    for name, value in valid.items():
        found.append({k: v for k, v in valid.items() if k != name})
        found.append({**valid, name: _other_type(value)})
    for name, value in valid.items():
        if isinstance(value, Mapping):
            found += [{**valid, name: inner} for inner in _changes(value)[:4]]
    return found


def _other_type(value: object) -> object:
    """A JSON value of another type than ``value``."""
    return "not a string" if not isinstance(value, str) else 12345


def _request_validator(contract: Contract, method: str, path: str) -> OAS30Validator | None:
    """A validator of the operation's ``application/json`` request body schema."""
    operation = _operation(contract, method, path)
    if operation is None or "requestBody" not in operation:
        return None
    pointer = f"/paths/{escape_token(contract.template(path))}/{method.lower()}/requestBody"
    body = operation["requestBody"]
    if isinstance(body, Mapping) and isinstance(body.get("$ref"), str):
        pointer = body["$ref"].removeprefix("#")
        body = contract.resolve(body)
    content = body.get("content", {}) if isinstance(body, Mapping) else {}
    if not isinstance(content, Mapping) or "application/json" not in content:
        return None
    registry: Registry[Any] = Registry().with_resource(
        _URI, DRAFT4.create_resource(contract.document)
    )
    schema = {"$ref": f"{_URI}#{pointer}/content/application~1json/schema"}
    return OAS30Validator(schema, registry=registry)


def parameter_segments(contract: Contract, path: str) -> list[int]:
    """The positions, counted from the end (-1: the last), of the segments of ``path`` that
    its template in the contract makes parameters (``/operations/{id}``); empty when no
    template matches."""
    template = contract.template(path)
    if not template:
        return []
    segments = template.rstrip("/").split("/")
    return [i - len(segments) for i, s in enumerate(segments) if re.fullmatch(r"\{[^/]+\}", s)]
