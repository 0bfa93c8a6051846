"""The SPEC rules, judged on an OpenAPI document: each finding names its rule, a JSON pointer
into the document (RFC 6901) and a hint to fix it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from openapi_schema_validator import OAS30Validator, OAS31Validator
from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT4, DRAFT202012

from lrokit.lint.document import Document, SpecError, pointer
from lrokit.lint.longrunning import (
    METHODS,
    POINTER_HEADERS,
    Operation,
    find_long_running,
    unseen,
)
from lrokit.model.profile import Profile
from lrokit.rules import RULES, Rule

PROBLEM_MEMBERS = ("type", "title", "status", "detail", "instance")
#: What a Retry-After schema must admit (RFC 9110 §10.2.3): delay-seconds, an HTTP-date.
RETRY_AFTER_FORMS = (120, "Wed, 21 Oct 2015 07:28:00 GMT")
MAX_VALIDITY_ERRORS = 20
_URI = "urn:lrokit:lint"


@dataclass(frozen=True)
class Finding:
    """One breach of a SPEC rule at a place in the document."""

    rule: Rule
    pointer: str  # RFC 6901, into the document
    message: str  # what is wrong there
    hint: str  # how to fix it


def _finding(rule_id: str, at: str, message: str, hint: str) -> Finding:
    return Finding(RULES[rule_id], at, message, hint)


def lint(doc: Document, profile: Profile) -> list[Finding]:
    """Every SPEC finding of ``doc`` under ``profile``, in document order per rule; once
    per place (a shared component is reported once). An invalid document is reported by
    SPEC-1 alone: the other rules need a valid one to read."""
    findings = list(_validity(doc))
    if not findings:
        findings = list(_Linter(doc, profile).run())
    unique: dict[tuple[str, str, str], Finding] = {}
    for finding in findings:
        unique.setdefault((finding.rule.id, finding.pointer, finding.message), finding)
    return list(unique.values())


def _validity(doc: Document) -> Iterator[Finding]:
    """SPEC-1: the document MUST be a valid OpenAPI 3.0 or 3.1 description. A reference to
    another document that cannot be read leaves it unjudged: :class:`SpecError`, never a
    finding (the document may well be valid where its references are reachable)."""
    cls = OpenAPIV31SpecValidator if doc.version == "3.1" else OpenAPIV30SpecValidator
    try:
        errors = list(islice(cls(doc.data).iter_errors(), MAX_VALIDITY_ERRORS))
    except Unresolvable as exc:
        raise SpecError(
            f"{doc.source}: cannot be validated: its reference {exc.ref} cannot be read from "
            "here; bundle the document into one self-contained file first"
        ) from None
    for error in errors:
        message = str(error.message).strip().splitlines()[0]
        yield _finding(
            "SPEC-1",
            pointer(*error.path),
            message if len(message) <= 200 else message[:199] + "…",
            f"fix the document so that it validates against the OpenAPI {doc.version} schema",
        )


class _Linter:
    """The rules after SPEC-1, over a valid document."""

    def __init__(self, doc: Document, profile: Profile) -> None:
        self.doc = doc
        self.profile = profile
        self.operations = [
            Operation(path, method, op)
            for path, item in (doc.data.get("paths") or {}).items()
            for method, op in (doc.resolve(item, pointer("paths", path))[0] or {}).items()
            if method in METHODS and isinstance(op, dict)
        ]
        draft = DRAFT202012 if doc.version == "3.1" else DRAFT4
        self.registry: Registry[Any] = Registry().with_resource(
            _URI, draft.create_resource(doc.data)
        )
        self.validator = OAS31Validator if doc.version == "3.1" else OAS30Validator

    def run(self) -> Iterator[Finding]:
        accepted = [
            (op, *self.doc.resolve(response, pointer(*_tokens(op), "responses", code)))
            for op in self.operations
            for code, response in (op.node.get("responses") or {}).items()
            if str(code) == "202"
        ]
        for _op, response, at in accepted:
            if isinstance(response, dict):
                yield from self._headers(response, at)
        status_shapes = {
            status.shape
            for op, response, _ in accepted
            if isinstance(response, dict)
            for status in self._status_operations(response)
        }
        for op, response, at in accepted:
            if isinstance(response, dict) and self._initiates(op, status_shapes):
                yield from self._initiation(op, response, at)
        yield from self._errors()
        yield from self._long_running()

    # -- SPEC-11 -------------------------------------------------------------------------
    def _long_running(self) -> Iterator[Finding]:
        """SPEC-11: the document MUST describe a long-running operation, as
        :func:`lrokit.lint.longrunning.find_long_running` (which ``lrokit init`` reads too)
        finds them."""
        if find_long_running(self.doc):
            return
        yield _finding(
            "SPEC-11",
            "/paths" if "paths" in self.doc.data else "",
            "no operation is long-running: no 202 or 201 response declares a pointer header ("
            + ", ".join(POINTER_HEADERS)
            + ") or links a status operation, and no answer names a job a GET reports on"
            + unseen(self.doc),
            "describe the submission: a 202 response with headers: {Location: {schema: {type: "
            "string, format: uri-reference}}} and links: {GetStatus: {operationId: <the status "
            "GET, whose 200 body has the state enum>}}",
        )

    # -- SPEC-2, SPEC-3, SPEC-4 ----------------------------------------------------------
    def _headers(self, response: dict[str, Any], at: str) -> Iterator[Finding]:
        """SPEC-2: a 202 MUST declare the monitor header; SPEC-3: it MUST declare
        Retry-After; SPEC-4: Retry-After's schema MUST admit delay-seconds and HTTP-date."""
        headers = response.get("headers") or {}
        where = f"{at}/headers" if "headers" in response else at
        names = {str(name).lower(): name for name in headers}
        monitor = self.profile.monitor_header
        if monitor.lower() not in names:
            yield _finding(
                "SPEC-2",
                where,
                f"the 202 response declares no {monitor} header",
                f"declare headers: {{{monitor}: {{required: true, schema: {{type: string, "
                "format: uri-reference}}}} pointing at the status monitor",
            )
        if "retry-after" not in names:
            yield _finding(
                "SPEC-3",
                where,
                "the 202 response declares no Retry-After header",
                "declare headers: {Retry-After: {schema: {oneOf: [{type: integer, minimum: 0}, "
                "{type: string}]}}}",
            )
            return
        name = names["retry-after"]
        header, header_at = self.doc.resolve(headers[name], pointer(*_split(where), name))
        schema, schema_at = self._header_schema(header, header_at)
        if schema is None:
            return
        refused = [form for form in RETRY_AFTER_FORMS if not self._admits(schema_at, form)]
        if refused:
            yield _finding(
                "SPEC-4",
                schema_at,
                "the Retry-After schema refuses " + " and ".join(repr(f) for f in refused),
                "admit both forms: oneOf: [{type: integer, minimum: 0}, {type: string}] "
                "(delay-seconds or an HTTP-date)",
            )

    def _header_schema(self, header: Any, at: str) -> tuple[Any, str]:
        if not isinstance(header, dict):
            return None, at
        if "schema" in header:
            return self.doc.resolve(header["schema"], f"{at}/schema")
        for media, content in (header.get("content") or {}).items():
            if isinstance(content, dict) and "schema" in content:
                return self.doc.resolve(
                    content["schema"], pointer(*_split(at), "content", media, "schema")
                )
        return None, at

    def _admits(self, schema_at: str, instance: object) -> bool:
        validator = self.validator({"$ref": f"{_URI}#{schema_at}"}, registry=self.registry)
        return bool(validator.is_valid(instance))

    # -- SPEC-5, SPEC-8, SPEC-9, SPEC-10 -------------------------------------------------
    def _initiates(self, op: Operation, status_shapes: set[str]) -> bool:
        """Whether a 202 of ``op`` starts a job: not an answer of the monitor itself, nor of
        the profile's cancel when it differs from the submission's method."""
        if op.shape in status_shapes:
            return False
        cancel = (self.profile.cancel_method or "").lower()
        return not (op.method == cancel and cancel != self.profile.submit_method.lower())

    def _initiation(self, op: Operation, response: dict[str, Any], at: str) -> Iterator[Finding]:
        """SPEC-5: the status schema MUST have the state with its terminal values; SPEC-8:
        the 202 SHOULD link the status operation; SPEC-9 and SPEC-10: the result and
        cancel operations SHOULD be described."""
        statuses = self._status_operations(response)
        if not self.profile.state_rules:
            yield from self._states(response, at, statuses)
        if not statuses:
            where = f"{at}/links" if "links" in response else at
            yield _finding(
                "SPEC-8",
                where,
                f"no link of the 202 response of {op.method.upper()} {op.path} leads to a GET "
                f"whose 200 body has {self.profile.state_field!r}",
                "declare links: {GetStatus: {operationId: <the status GET>, parameters: "
                "{<id>: '$response.body#/id'}}}",
            )
            return
        status = statuses[0]
        linked = self._linked(response) + self._linked(_ok(self.doc, status) or {})
        if self.profile.result_template or self.profile.result_link:
            result_shape = self._shape_from(self.profile.result_template, status)
            if not any(
                o.method == "get" and (o.shape == result_shape or o in linked) and o != status
                for o in self.operations
            ):
                yield _finding(
                    "SPEC-9",
                    status.pointer,
                    f"no operation returns the result of the job monitored at {status.path}",
                    "describe the result: a GET "
                    + (f"at {result_shape} " if result_shape else "")
                    + "linked from the 202 or the status response",
                )
        cancel = (self.profile.cancel_method or "").lower()
        if cancel and "cancel" in self.profile.features:
            cancel_shape = self._shape_from(self.profile.cancel_template, status)
            if not any(
                o.method == cancel and (o.shape == cancel_shape or o in linked)
                for o in self.operations
            ):
                yield _finding(
                    "SPEC-10",
                    status.pointer,
                    f"no {cancel.upper()} operation cancels the job monitored at {status.path}",
                    f"describe the cancel: {cancel.upper()} {cancel_shape or status.path}",
                )

    def _states(
        self, response: dict[str, Any], at: str, statuses: list[Operation]
    ) -> Iterator[Finding]:
        """SPEC-5 over the 202's JSON body and the status operations' 200 bodies."""
        field = self.profile.state_field
        terminal = sorted(self.profile.terminal)
        schemas = [_json_schema(self.doc, response, at)]
        schemas += [_json_schema(self.doc, *_ok_at(self.doc, s)) for s in statuses]
        found = [
            state
            for schema, schema_at in schemas
            if schema is not None
            and (state := _property(self.doc, schema, schema_at, field)) is not None
        ]
        if not found:
            yield _finding(
                "SPEC-5",
                at,
                f"neither the 202 body nor a linked status body has a {field!r} property",
                f"give the status schema a {field!r} property with enum "
                f"[{', '.join(self.profile.states)}]",
            )
        for state, state_at in found:
            enum = state.get("enum") if isinstance(state, dict) else None
            missing = [s for s in terminal if not isinstance(enum, list) or s not in enum]
            if missing:
                yield _finding(
                    "SPEC-5",
                    state_at,
                    f"the {field!r} enum lacks the terminal states {', '.join(missing)}"
                    if isinstance(enum, list)
                    else f"the {field!r} property has no enum",
                    f"enum: [{', '.join(self.profile.states)}]",
                )

    def _status_operations(self, response: dict[str, Any]) -> list[Operation]:
        """The GET operations linked from ``response`` whose 200 JSON body has the state."""
        return [
            op
            for op in self._linked(response)
            if op.method == "get"
            and (
                self.profile.state_rules
                or (
                    (schema := _json_schema(self.doc, *_ok_at(self.doc, op)))[0] is not None
                    and _property(self.doc, *schema, self.profile.state_field) is not None
                )
            )
        ]

    def _linked(self, response: dict[str, Any]) -> list[Operation]:
        """The operations the links of ``response`` lead to (by operationId or a local
        operationRef)."""
        by_id = {str(op.node.get("operationId")): op for op in self.operations}
        by_ref = {f"#{op.pointer}": op for op in self.operations}
        found = []
        for link in (response.get("links") or {}).values():
            link, _ = self.doc.resolve(link, "")
            if not isinstance(link, dict):
                continue
            target = by_id.get(str(link.get("operationId"))) or by_ref.get(
                str(link.get("operationRef"))
            )
            if target is not None:
                found.append(target)
        return found

    @staticmethod
    def _shape_from(template: str | None, status: Operation) -> str | None:
        if template is None:
            return None
        return re.sub(r"\{[^}]*\}", "{}", template.replace("{monitor}", status.path))

    # -- SPEC-6, SPEC-7 ------------------------------------------------------------------
    def _errors(self) -> Iterator[Finding]:
        """SPEC-6: error responses MUST declare problem+json; SPEC-7: its schema SHOULD
        declare the RFC 9457 members."""
        media_type = self.profile.error_media_type
        for op in self.operations:
            for code, response in (op.node.get("responses") or {}).items():
                if not _is_error(str(code)):
                    continue
                response, at = self.doc.resolve(response, pointer(*_tokens(op), "responses", code))
                if not isinstance(response, dict):
                    continue
                content = response.get("content") or {}
                media = next((m for m in content if _base(m) == media_type), None)
                if media is None:
                    yield _finding(
                        "SPEC-6",
                        f"{at}/content" if "content" in response else at,
                        f"the {code} response declares "
                        + (", ".join(map(str, content)) if content else "no content"),
                        f"declare content: {{{media_type}: {{schema: {{$ref: "
                        "'#/components/schemas/Problem'}}}}",
                    )
                    continue
                media_at = pointer(*_split(at), "content", media)
                schema, schema_at = self.doc.resolve(
                    (content[media] or {}).get("schema"), f"{media_at}/schema"
                )
                members = _properties(self.doc, schema) if isinstance(schema, dict) else set()
                missing = [m for m in PROBLEM_MEMBERS if m not in members]
                if missing:
                    yield _finding(
                        "SPEC-7",
                        schema_at if isinstance(schema, dict) else media_at,
                        f"the problem schema lacks the members {', '.join(missing)}",
                        "declare properties type, title, status, detail, instance (RFC 9457 §3.1)",
                    )


def _tokens(op: Operation) -> tuple[str, str, str]:
    return ("paths", op.path, op.method)


def _split(at: str) -> list[str]:
    """The tokens of pointer ``at``, unescaped."""
    return [t.replace("~1", "/").replace("~0", "~") for t in at.split("/")[1:]]


def _base(media_type: str) -> str:
    return media_type.split(";")[0].strip().lower()


def _is_error(code: str) -> bool:
    return code == "default" or code[:1] in ("4", "5")


def _ok_at(doc: Document, op: Operation) -> tuple[Any, str]:
    """The 200 response of ``op``, resolved, and its pointer."""
    responses = op.node.get("responses") or {}
    key = next((c for c in responses if str(c) == "200"), "200")
    return doc.resolve(responses.get(key), pointer(*_tokens(op), "responses", key))


def _ok(doc: Document, op: Operation) -> dict[str, Any] | None:
    response = _ok_at(doc, op)[0]
    return response if isinstance(response, dict) else None


def _json_schema(doc: Document, response: Any, at: str) -> tuple[Any, str]:
    """The schema of ``response``'s JSON content (``application/json`` or ``+json``)."""
    if not isinstance(response, dict):
        return None, at
    for media, content in (response.get("content") or {}).items():
        base = _base(str(media))
        if (base == "application/json" or base.endswith("+json")) and isinstance(content, dict):
            return doc.resolve(
                content.get("schema"), pointer(*_split(at), "content", media, "schema")
            )
    return None, at


def _property(doc: Document, schema: Any, at: str, dotted: str) -> tuple[Any, str] | None:
    """The (resolved) schema of property ``dotted`` (``a.b``) of ``schema``, looked for in
    ``properties`` and in the members of ``allOf``/``anyOf``/``oneOf``; None if absent."""
    name, _, rest = dotted.partition(".")
    schema, at = doc.resolve(schema, at)
    if not isinstance(schema, dict):
        return None
    properties = schema.get("properties")
    if isinstance(properties, dict) and name in properties:
        found = doc.resolve(properties[name], pointer(*_split(at), "properties", name))
        return _property(doc, *found, rest) if rest else found
    for keyword in ("allOf", "anyOf", "oneOf"):
        for index, member in enumerate(schema.get(keyword) or []):
            hit = _property(doc, member, pointer(*_split(at), keyword, index), dotted)
            if hit is not None:
                return hit
    return None


def _properties(doc: Document, schema: dict[str, Any]) -> set[str]:
    """The property names ``schema`` declares, with those of its ``allOf`` members."""
    names = set(schema.get("properties") or {})
    for member in schema.get("allOf") or []:
        member, _ = doc.resolve(member, "")
        if isinstance(member, dict):
            names |= _properties(doc, member)
    return names
