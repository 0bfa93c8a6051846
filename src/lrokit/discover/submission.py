"""What a check sends to start a job: the submit table of a profile (method, path, encoding,
headers, bodies) and the features the submitting operation declares.

* The path is the operation's, under the document's base path; a path parameter takes its
  ``example``, its ``examples``' first value, its schema's ``example``, ``default`` or first
  ``enum`` value (Swagger 2.0: ``x-example``, ``default``, ``enum``); one with none is left
  as ``{name}`` for a person to replace.
* The request's media type gives the encoding: JSON (``application/json``, ``+json``) is
  ``json``, ``application/x-www-form-urlencoded`` is ``form``, ``multipart/form-data`` is
  ``multipart`` (Swagger 2.0: an ``in: body`` parameter is JSON, ``in: formData`` parameters
  are a form, multipart when one is a file or ``consumes`` says so). A form's or multipart
  body's fields are strings (an object or array member as JSON); a binary member is a file,
  which cannot be invented: the check file asks a person to name one in ``files``.
* A JSON type other than ``application/json`` is sent as the ``Content-Type`` header; a
  required header parameter with an example is sent too; a required query parameter is a note
  (``lrokit check --query``).
* ``features.idempotency``: the operation declares an ``Idempotency-Key`` header parameter.
  ``features.prefer``: it declares a ``Prefer`` header parameter, or it answers both 200 and
  the initiating status, so the asynchronous answer is asked for with ``Prefer:
  respond-async`` (RFC 7240 §4.1), which the submit headers then carry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lrokit.discover.examples import Example, Examples
from lrokit.discover.notes import Note
from lrokit.discover.specs import Spec
from lrokit.lint.document import pointer
from lrokit.lint.longrunning import LongRunning, Operation, is_json, responses, tokens

_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
#: Header parameters a check file does not set per operation.
_NOT_SENT = frozenset({"idempotency-key", "prefer", "authorization", "content-type", "accept"})


@dataclass
class Submission:
    """The submit table, the features found and the notes of both."""

    submit: dict[str, Any] = field(default_factory=dict)
    features: dict[str, bool] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    declared_body: bool = False  # the body is an example the document gives, and valid


@dataclass(frozen=True)
class _Request:
    """A request body as the document describes it."""

    media_type: str
    encoding: str  # json | form | multipart | "" (another media type)
    schema: Any
    schema_at: str | None
    media: dict[str, Any] | None  # the OpenAPI 3 media type object, for its examples
    media_at: str
    required: bool


def parameters(spec: Spec, op: Operation) -> Iterator[tuple[dict[str, Any], str]]:
    """The parameters of ``op`` (the path item's too, the operation's winning), resolved,
    with their pointers."""
    item_at = pointer("paths", op.path)
    item, _ = spec.doc.resolve(spec.doc.at(item_at), item_at)
    found: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
    for node, at in ((item, item_at), (op.node, op.pointer)):
        declared = node.get("parameters") if isinstance(node, dict) else None
        for index, param in enumerate(declared if isinstance(declared, list) else ()):
            param, param_at = spec.doc.resolve(param, pointer(*tokens(at), "parameters", index))
            if isinstance(param, dict) and "name" in param:
                found[(str(param["name"]).lower(), str(param.get("in")))] = (param, param_at)
    yield from found.values()


def parameter_value(spec: Spec, param: dict[str, Any], at: str) -> tuple[Any, str] | None:
    """A value of a parameter the document gives, and where."""
    schema, schema_at = spec.doc.resolve(param.get("schema"), f"{at}/schema")
    if "example" in param:
        return param["example"], f"{at}/example"
    if "x-example" in param:
        return param["x-example"], f"{at}/x-example"
    named = param.get("examples")
    for name, entry in (named if isinstance(named, dict) else {}).items():
        entry, entry_at = spec.doc.resolve(entry, pointer(*tokens(at), "examples", name))
        if isinstance(entry, dict) and "value" in entry:
            return entry["value"], f"{entry_at}/value"
    for node, node_at in ((schema, schema_at), (param, at)):  # Swagger 2.0: on the parameter
        if isinstance(node, dict):
            for key in ("example", "default"):
                if key in node:
                    return node[key], f"{node_at}/{key}"
            if isinstance(node.get("enum"), list) and node["enum"]:
                return node["enum"][0], f"{node_at}/enum/0"
    return None


def infer_submission(spec: Spec, lr: LongRunning, examples: Examples) -> Submission:
    """The submit table of ``lr`` and what its operation declares of the features."""
    op = lr.operation
    found = Submission()
    found.submit["method"] = op.method.upper()
    found.submit["path"] = _path(spec, op, found.notes)
    declared = {
        (str(p["name"]).lower(), str(p.get("in"))): (p, at) for p, at in parameters(spec, op)
    }
    headers: dict[str, str] = {}
    request = _request(spec, op)
    if request is not None:
        _body(spec, op, request, examples, found, headers)
    else:
        found.notes.append(
            Note("submit.body", "the operation declares no request body: none is sent")
        )
    for (name, where), (param, at) in declared.items():
        if where == "header" and param.get("required") and name not in _NOT_SENT:
            value = parameter_value(spec, param, at)
            if value is not None:
                headers[str(param["name"])] = str(value[0])
                found.notes.append(
                    Note("submit.headers", f"the required header {param['name']}", value[1])
                )
            else:
                found.notes.append(
                    Note(
                        "submit.headers",
                        f"the header {param['name']} is required and the document gives no value",
                        at,
                        missing=True,
                        suggestion=f'headers = {{ "{param["name"]}" = "VALUE" }}',
                    )
                )
        elif where == "query" and param.get("required"):
            value = parameter_value(spec, param, at)
            shown = f"{param['name']}={value[0]}" if value else f"{param['name']}=VALUE"
            found.notes.append(
                Note(
                    "submit.path",
                    f"the query parameter {param['name']} is required: run lrokit check with "
                    f"--query {shown}",
                    value[1] if value else at,
                    missing=value is None,
                )
            )
    idempotency = declared.get(("idempotency-key", "header"))
    found.features["idempotency"] = idempotency is not None
    found.notes.append(
        Note(
            "features.idempotency", "the operation takes an Idempotency-Key header", idempotency[1]
        )
        if idempotency
        else Note("features.idempotency", "the operation declares no Idempotency-Key header")
    )
    prefer = declared.get(("prefer", "header"))
    codes = {code for code, _, _ in responses(spec.doc, op)}
    # An Azure operation's 200 is its final answer, not a synchronous one Prefer avoids.
    both = (
        lr.azure is None
        and "200" in codes
        and any(str(s) in codes for s in lr.statuses if s != 200)
    )
    found.features["prefer"] = prefer is not None or both
    if both:
        headers["Prefer"] = "respond-async"
        found.notes.append(
            Note(
                "submit.headers",
                f"the operation answers 200 and {lr.statuses[0]}: the asynchronous answer is "
                "asked for with Prefer: respond-async (RFC 7240)",
                pointer(*tokens(op.pointer), "responses"),
            )
        )
    if prefer is not None:
        found.notes.append(
            Note("features.prefer", "the operation takes a Prefer header", prefer[1])
        )
    elif both:
        found.notes.append(
            Note("features.prefer", "the operation is asked for its asynchronous answer by Prefer")
        )
    else:
        found.notes.append(Note("features.prefer", "the operation declares no Prefer header"))
    if headers:
        found.submit["headers"] = headers
    return found


def _path(spec: Spec, op: Operation, notes: list[Note]) -> str:
    path = spec.base_path + op.path
    for param, at in parameters(spec, op):
        if param.get("in") != "path" or "{" + str(param["name"]) + "}" not in path:
            continue
        value = parameter_value(spec, param, at)
        if value is None:
            notes.append(
                Note(
                    "submit.path",
                    f"the path parameter {param['name']} has no example: replace "
                    f"{{{param['name']}}} in the path with a value that exists",
                    at,
                    missing=True,
                )
            )
            continue
        path = path.replace("{" + str(param["name"]) + "}", str(value[0]))
        notes.append(Note("submit.path", f"{param['name']} = {value[0]!r}", value[1]))
    return path


def _request(spec: Spec, op: Operation) -> _Request | None:
    """The request body ``op`` takes, or None."""
    if spec.swagger:
        return _swagger_request(spec, op)
    at = f"{op.pointer}/requestBody"
    body, at = spec.doc.resolve(op.node.get("requestBody"), at)
    if not isinstance(body, dict):
        return None
    content = body.get("content")
    content = content if isinstance(content, dict) else {}

    def rank(media: str) -> int:
        base = media.split(";")[0].strip().lower()
        return 0 if is_json(base) else 1 if base == _FORM else 2 if base == _MULTIPART else 3

    for media in sorted(content, key=lambda m: rank(str(m))):
        entry = content[media] if isinstance(content[media], dict) else {}
        media_at = pointer(*tokens(at), "content", media)
        schema, schema_at = spec.doc.resolve(entry.get("schema"), f"{media_at}/schema")
        encoding = ("json", "form", "multipart", "")[rank(str(media))]
        return _Request(
            str(media),
            encoding,
            schema,
            schema_at if schema is not None else None,
            entry,
            media_at,
            bool(body.get("required")),
        )
    return None


def _swagger_request(spec: Spec, op: Operation) -> _Request | None:
    consumes = op.node.get("consumes") or spec.doc.data.get("consumes") or []
    consumes = [str(c).lower() for c in consumes] if isinstance(consumes, list) else []
    form: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    form_at = None
    for param, at in parameters(spec, op):
        if param.get("in") == "body":
            schema, schema_at = spec.doc.resolve(param.get("schema"), f"{at}/schema")
            media = next((c for c in consumes if is_json(c)), "application/json")
            return _Request(media, "json", schema, schema_at, None, at, bool(param.get("required")))
        if param.get("in") == "formData":
            member = {k: v for k, v in param.items() if k not in ("name", "in", "required")}
            form["properties"][str(param["name"])] = member
            if param.get("required"):
                form["required"].append(str(param["name"]))
            form_at = form_at or at
    if form_at is None:
        return None
    files = any(m.get("type") == "file" for m in form["properties"].values())
    multipart = files or _MULTIPART in consumes
    return _Request(
        _MULTIPART if multipart else _FORM,
        "multipart" if multipart else "form",
        form,
        None,
        None,
        form_at,
        bool(form["required"]),
    )


def _binary(spec: Spec, schema: Any) -> bool:
    """A file member: ``format: binary``, Swagger's ``type: file``, a ``contentMediaType``, or
    an array of those."""
    schema, _ = spec.doc.resolve(schema, "")
    if not isinstance(schema, dict):
        return False
    if schema.get("format") == "binary" or schema.get("type") == "file":
        return True
    if "contentMediaType" in schema:
        return True
    return schema.get("type") == "array" and _binary(spec, schema.get("items"))


def _body(
    spec: Spec,
    op: Operation,
    request: _Request,
    examples: Examples,
    found: Submission,
    headers: dict[str, str],
) -> None:
    """The body, other body and files of ``request``."""
    if not request.encoding:
        found.notes.append(
            Note(
                "submit.body",
                f"the request is {request.media_type}, which a check file cannot send (json, "
                "form or multipart)",
                request.media_at,
                missing=True,
            )
        )
        return
    found.submit["encoding"] = request.encoding
    found.notes.append(
        Note("submit.encoding", f"the request body is {request.media_type}", request.media_at)
    )
    base = request.media_type.split(";")[0].strip()
    if request.encoding == "json" and base.lower() != "application/json":
        headers["Content-Type"] = base
    schema = request.schema
    files = _files(spec, schema, request.schema_at or request.media_at)
    for name, at in files:
        found.notes.append(
            Note(
                "submit.files",
                f"{name} is a file: name one (a path, or a list of paths) for the check to send",
                at,
                missing=True,
                suggestion=f'files = {{ {name} = "PATH" }}',
            )
        )
    declared = examples.declared(request.media, request.media_at, schema, request.schema_at)
    chosen: list[Example] = [e for e in declared if e.valid]
    found.declared_body = bool(chosen)
    if not chosen and schema is not None:
        generated = examples.generate(op.path, op.method, schema, request.schema_at)
        if isinstance(generated, Example):
            chosen.append(generated)
        else:
            found.notes.append(Note("submit.body", generated, missing=True))
    if not chosen and declared:
        chosen = declared[:1]  # an example that does not validate: better than none
    if not chosen:
        found.notes.append(
            Note(
                "submit.body",
                "the document gives no example and none was generated: write a valid request",
                request.schema_at or request.media_at,
                missing=True,
                suggestion="body = { }",
            )
        )
        return
    keys = ("body", "other_body")
    for key, example in zip(keys, _distinct(chosen), strict=False):
        value = example.value
        if request.encoding != "json" and isinstance(value, dict):
            value = {
                str(k): _field(v)
                for k, v in value.items()
                if v is not None and str(k) not in {n for n, _ in files}
            }
        found.submit[key] = value
        text = example.source
        if not example.valid:
            text += f", which does not validate ({example.problem}): fix it"
        elif example.at is None:
            text += ": valid, not meaningful; replace it with a request your API can do"
        found.notes.append(Note(f"submit.{key}", text, example.at, missing=not example.valid))
    found.notes.append(
        Note(
            "submit.failing_body",
            "a valid request whose job fails: the document cannot say",
            missing=True,
            suggestion="failing_body = { }",
        )
    )


def _distinct(examples: list[Example]) -> list[Example]:
    kept: list[Example] = []
    for example in examples:
        if all(example.value != k.value for k in kept):
            kept.append(example)
    return kept


def _files(spec: Spec, schema: Any, at: str) -> list[tuple[str, str]]:
    """The file members of a form's schema, with their pointers."""
    schema, at = spec.doc.resolve(schema, at)
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return [
        (str(name), pointer(*tokens(at), "properties", name))
        for name, member in (properties if isinstance(properties, dict) else {}).items()
        if _binary(spec, member)
    ]


def _field(value: Any) -> str:
    """A form field's text: a string as it is, ``true``/``false``, a number, else JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))
