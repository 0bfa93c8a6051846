"""What a rejected request is told: the member that is wrong, by JSON pointer (RFC 6901) or
parameter name, and the constraint in plain words (``/parameters/year: must be a string``),
in one bounded line; never the validator's report with the whole input in Python's words.

Connexion validates every request (the fast path defers every rejection to it); these are
its validators with the wording replaced, plugged in through ``validator_map``. Where a body
is one of several schemas (``oneOf``), the branch the body meant is the one whose
discriminating member (an ``enum`` or ``const``) it matches; when it matches none, the
discriminator is what is wrong, and the answer lists every value it may take.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator
from connexion.utils import is_null, is_nullable
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, ValidationError

FORMATS = Draft4Validator.FORMAT_CHECKER
#: The longest value an explanation quotes.
QUOTED_MAX = 40
_CHOICE = frozenset({"oneOf", "anyOf"})
_DISCRIMINATING = frozenset({"enum", "const"})


def explain(error: ValidationError) -> str:
    """``POINTER: what it must be`` for the error that decides (see the module's text)."""
    path, words = _decisive(error)
    return f"{pointer(path)}: {words}"


def pointer(path: Iterable[Any]) -> str:
    """The JSON pointer of ``path`` (RFC 6901: ``~`` and ``/`` escaped); ``/`` for the whole
    document, as a reader expects."""
    tokens = [str(t).replace("~", "~0").replace("/", "~1") for t in path]
    return "/" + "/".join(tokens)


def _decisive(error: ValidationError) -> tuple[list[Any], str]:
    if error.validator in _CHOICE and error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for inner in error.context:
            branches.setdefault(inner.relative_schema_path[0], []).append(inner)
        # The discriminator: the member whose enum or const most branches refuse (a branch
        # may also refuse another enum of its own, such as callbackEvents).
        refused = Counter(
            path
            for errors in branches.values()
            for path in {tuple(e.absolute_path) for e in errors if e.validator in _DISCRIMINATING}
        )
        if refused:
            key = refused.most_common(1)[0][0]
            discriminators = [
                e
                for e in error.context
                if e.validator in _DISCRIMINATING and tuple(e.absolute_path) == key
            ]
            chosen = {id(e) for e in discriminators}
            meant = [
                errors for errors in branches.values() if not any(id(e) in chosen for e in errors)
            ]
            if len(meant) == 1:
                first = min(meant[0], key=lambda e: (len(e.absolute_path), list(e.absolute_path)))
                return _decisive(first)
            if not meant:
                allowed: list[Any] = []
                for e in discriminators:
                    given: Any = e.validator_value
                    values = given if e.validator == "enum" else [given]
                    allowed += [v for v in values if v not in allowed]
                return list(key), f"must be one of {_listed(allowed)}"
        mistyped = [e for e in error.context if e.validator == "type" and not e.absolute_path]
        if len(mistyped) == len(branches):  # the document itself is of no branch's type
            return list(error.absolute_path), f"must be {_a(mistyped[0].validator_value)}"
    return _plain(error)


def _plain(error: ValidationError) -> tuple[list[Any], str]:
    """The error's member and its constraint in words."""
    value: Any = error.validator_value
    path, instance = list(error.absolute_path), error.instance
    kind = error.validator
    if kind == "required" and isinstance(instance, Mapping):
        missing = next((name for name in value if name not in instance), None)
        return [*path, missing] if missing is not None else path, "is required"
    if kind == "additionalProperties" and isinstance(instance, Mapping):
        known = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        extra = next((name for name in instance if name not in known), None)
        return [*path, extra] if extra is not None else path, "is not allowed here"
    words: Callable[[], str] | None = {
        "type": lambda: f"must be {_a(value)}",
        "enum": lambda: f"must be one of {_listed(value)}",
        "const": lambda: f"must be {_quoted(value)}",
        "minimum": lambda: f"must be at least {value}",
        "maximum": lambda: f"must be at most {value}",
        "minLength": lambda: f"must be at least {value} characters long",
        "maxLength": lambda: f"must be at most {value} characters long",
        "minItems": lambda: f"must have at least {value} items",
        "maxItems": lambda: f"must have at most {value} items",
        "pattern": lambda: f"must match {value}",
        "format": lambda: f"must be a valid {value}",
        "uniqueItems": lambda: "must not repeat an item",
    }.get(str(kind))
    if words is not None:
        return path, words()
    message = error.message if len(error.message) <= 120 else error.message[:119] + "…"
    return path, message


def _a(types: Any) -> str:
    names = types if isinstance(types, list) else [types]
    spelled = [("an " if t in ("integer", "object", "array") else "a ") + str(t) for t in names]
    return " or ".join(spelled)


def _quoted(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= QUOTED_MAX else text[: QUOTED_MAX - 1] + "…"


def _listed(values: Iterable[Any]) -> str:
    return ", ".join(_quoted(v) for v in values)


class ExplainedJSONBody(JSONRequestBodyValidator):  # type: ignore[misc]  # untyped base
    """Connexion's JSON body validator, its rejection explained (:func:`explain`)."""

    def _validate(self, body: Any) -> dict[str, Any] | None:
        if not self._nullable and body is None:
            raise BadRequestProblem(detail="/: a request body is required")
        validator = Draft4RequestValidator(
            self._schema, format_checker=Draft4Validator.FORMAT_CHECKER
        )
        errors = list(validator.iter_errors(body))
        if errors:
            raise BadRequestProblem(detail=explain(errors[0]))
        return None


class ExplainedParameters(ParameterValidator):  # type: ignore[misc]  # untyped base
    """Connexion's parameter validator, its rejection naming the parameter."""

    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: dict[str, Any], param_name: str | None = None
    ) -> str | None:
        name = param.get("name", param_name)
        if is_nullable(param) and is_null(value):
            return None
        if value is not None:
            schema = copy.deepcopy(param).get("schema", param)
            errors = list(
                Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER).iter_errors(
                    value
                )
            )
            if errors:
                _, words = _decisive(errors[0])
                return f"{parameter_type} parameter {name}: {words}"
            return None
        if param.get("required"):
            return f"{parameter_type} parameter {name}: is required"
        return None


def validator_map() -> dict[str, Any]:
    """Connexion's validators, with the body's JSON and the parameters explained."""
    body = MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": ExplainedJSONBody})
    return {**VALIDATOR_MAP, "body": body, "parameter": ExplainedParameters}
