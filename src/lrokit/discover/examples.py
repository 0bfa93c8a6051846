"""Request bodies for a check file: the document's own examples, else a minimal valid body
generated from the operation's schema.

The document's examples come first, those that validate against the schema before those that
do not: OpenAPI 3 ``example`` and ``examples`` on the media type (``$ref`` to
``components/examples`` followed; an ``externalValue`` is not fetched), then ``example`` on
the schema (Swagger 2.0: on the body parameter's schema).

Without any, a body is generated the way the project does its schema layer, with schemathesis
(convention 6: it reads OpenAPI 3.0/3.1 and Swagger 2.0, references, ``nullable``,
``readOnly``, forms and multipart): ``hypothesis.find(operation.as_strategy(), lambda _:
True)`` shrinks to a minimal instance, so a document always gives the same body. Each member
that has an ``example`` or a ``default`` in the schema then takes it, where the body still
validates (a year ``"1000"`` becomes the example ``"2023"``). hypothesis-jsonschema would be
the lighter tool, but its releases do not run on the hypothesis the ``deep`` extra brings.
Generating needs that extra (schemathesis, hypothesis), imported here and only when needed;
without it the body is left for a person to fill in.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jsonschema.exceptions import SchemaError
from openapi_schema_validator import OAS30Validator, OAS31Validator
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT4, DRAFT202012

from lrokit.lint.document import Document, pointer
from lrokit.lint.longrunning import members, tokens

if TYPE_CHECKING:
    from schemathesis.schemas import BaseSchema

_URI = "urn:lrokit:discover"
_DEPTH = 6  # levels of a body whose members' examples are tried


@dataclass(frozen=True)
class Example:
    """A body and where it came from."""

    value: Any
    source: str  # in words: "the example 'yearlySales'", "a minimal valid body …"
    at: str | None  # its pointer, for the document's own examples
    valid: bool  # it validates against the request schema (True where there is none)
    problem: str | None = None  # why it does not validate


class Examples:
    """The examples of one document, validated against its schemas, and generated bodies."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        draft = DRAFT202012 if doc.version == "3.1" else DRAFT4
        self.registry: Registry[Any] = Registry().with_resource(
            _URI, draft.create_resource(doc.data)
        )
        self.validator = OAS31Validator if doc.version == "3.1" else OAS30Validator
        self._schema: BaseSchema | None = None

    def problem(self, schema_at: str | None, value: object) -> str | None:
        """Why ``value`` does not validate against the schema at ``schema_at``, or None."""
        if schema_at is None:
            return None
        validator = self.validator({"$ref": f"{_URI}#{schema_at}"}, registry=self.registry)
        try:
            error = next(iter(validator.iter_errors(value)), None)
        except (Unresolvable, SchemaError):  # a reference out of the document: not judged
            return None
        if error is None:
            return None
        where = "/".join(map(str, error.absolute_path))
        return f"{where or '(body)'}: {str(error.message)[:160]}"

    def declared(
        self, media: dict[str, Any] | None, media_at: str, schema: Any, schema_at: str | None
    ) -> list[Example]:
        """The document's own examples of a request body, valid ones first."""
        found: list[tuple[Any, str, str]] = []
        if media is not None:
            if "example" in media:
                found.append((media["example"], "the media type's example", f"{media_at}/example"))
            named = media.get("examples")
            for name, entry in (named if isinstance(named, dict) else {}).items():
                entry, at = self.doc.resolve(entry, pointer(*tokens(media_at), "examples", name))
                if isinstance(entry, dict) and "value" in entry:
                    found.append((entry["value"], f"the example {name!r}", f"{at}/value"))
        if isinstance(schema, dict) and "example" in schema and schema_at is not None:
            found.append((schema["example"], "the schema's example", f"{schema_at}/example"))
        examples = []
        for value, source, at in found:
            problem = self.problem(schema_at, value)
            examples.append(Example(value, source, at, problem is None, problem))
        return sorted(examples, key=lambda e: not e.valid)

    def generate(self, path: str, method: str, schema: Any, schema_at: str | None) -> Example | str:
        """A minimal valid body of the operation ``method path`` (a path of the document),
        whose request schema is ``schema`` at ``schema_at``; or why there is none."""
        try:
            from hypothesis import HealthCheck, Phase, find, settings
            from schemathesis import GenerationMode, openapi
        except ImportError:
            return "generating a body needs the deep extra: pip install 'lrokit[deep]'"
        config = settings(
            database=None,
            derandomize=True,
            deadline=None,
            max_examples=50,
            phases=[Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        try:
            if self._schema is None:
                self._schema = openapi.from_dict(copy.deepcopy(self.doc.data))
            operation = self._schema[path][method.upper()]
            strategy = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
            case = find(strategy, lambda _: True, settings=config)
        except Exception as exc:  # any failure of a third party's generation is a note
            first = (str(exc).strip().splitlines() or [""])[0][:160]
            return f"schemathesis could not generate one ({type(exc).__name__}: {first})"
        body = case.body
        if not isinstance(body, dict | list | str | int | float | bool):
            return "schemathesis generated no body (the request body is optional)"
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if not isinstance(v, bytes | bytearray)}
        if schema is None and schema_at is not None:
            schema = self.doc.at(schema_at)
        body, used = self._members_examples(body, schema, schema_at)
        problem = self.problem(schema_at, body)
        source = "a minimal valid body generated from the request schema (schemathesis)"
        if used:
            source += f", with the examples of {', '.join(used)}"
        return Example(body, source, None, problem is None, problem)

    def _members_examples(
        self, body: Any, schema: Any, schema_at: str | None
    ) -> tuple[Any, list[str]]:
        """``body`` with each of its members that has an ``example`` or ``default`` in the
        schema set to it, where the body still validates; and the members so set."""
        used: list[str] = []
        todo: list[tuple[tuple[str, ...], Any, str]] = [((), schema, schema_at or "")]
        while todo:
            path, node, at = todo.pop(0)
            for name, (sub, sub_at) in members(self.doc, node, at).items():
                place = (*path, name)
                if not isinstance(sub, dict):
                    continue
                value = next((sub[k] for k in ("example", "default") if k in sub), None)
                if value is not None and _at(body, place) not in (None, value):
                    trial = _with(body, place, value)
                    if self.problem(schema_at, trial) is None:
                        body = trial
                        used.append(".".join(place))
                        continue
                if len(place) < _DEPTH and isinstance(_at(body, place), dict):
                    todo.append((place, sub, sub_at))
        return body, used


def _at(body: Any, path: tuple[str, ...]) -> Any:
    """The member of ``body`` at ``path``, None where there is none."""
    for name in path:
        if not isinstance(body, dict) or name not in body:
            return None
        body = body[name]
    return body


def _with(body: Any, path: tuple[str, ...], value: Any) -> Any:
    """A copy of ``body`` with the member at ``path`` set to ``value``."""
    if not path:
        return value
    copied = dict(body)
    copied[path[0]] = _with(body.get(path[0], {}), path[1:], value)
    return copied
