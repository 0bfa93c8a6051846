"""One whole profile per long-running operation of an API description, with what was inferred
from which JSON pointer and what was not: what ``lrokit init`` writes and ``lrokit check
--spec`` runs.

:func:`discover` is what ``lrokit init`` and ``lrokit check --spec`` run: the operations with
their notes by key, and the document (its base path, its server). :func:`infer_profiles` gives
the same as plain data for a caller that wants only that: each operation's name and profile
data (a mapping the profile loader validates) and the notes, one line each.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from lrokit.discover.cancel import infer_cancel
from lrokit.discover.examples import Examples
from lrokit.discover.monitor import infer_following
from lrokit.discover.notes import Note
from lrokit.discover.specs import Spec, read_spec
from lrokit.discover.submission import infer_submission
from lrokit.lint.document import SpecError
from lrokit.lint.longrunning import LongRunning, find_long_running, unseen
from lrokit.model.callbacks import callback_targets
from lrokit.model.profile import Profile, builtin_profiles, load_profile


class NoLongRunningOperation(SpecError):
    """The document describes no long-running operation (lint's SPEC-11)."""


@dataclass(frozen=True)
class Inferred:
    """One long-running operation as a profile."""

    name: str  # [a-z0-9][a-z0-9-]*, unique in the document
    data: dict[str, Any]  # a whole profile: name, description, submit, initiation, monitor …
    notes: tuple[Note, ...]
    long_running: LongRunning


@dataclass(frozen=True)
class Discovery:
    """What one document says of its long-running operations."""

    spec: Spec
    operations: tuple[Inferred, ...]
    notes: tuple[Note, ...]  # of the document as a whole


def infer_profiles(
    source: str, *, timeout: float = 10.0
) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """For the API description at ``source`` (a path or an http(s) URL; OpenAPI 3.0/3.1 or
    Swagger 2.0): each long-running operation's name and whole profile data, ready for the
    profile loader, and notes, one line each, saying what was inferred from which JSON
    pointer and what was not (``NOT INFERRED``). Raises
    :class:`lrokit.lint.document.SpecError` when the document cannot be read, and
    :class:`NoLongRunningOperation` (a ``SpecError``) when it describes no long-running
    operation."""
    found = discover(read_spec(source, timeout=timeout))
    notes = [str(note) for note in found.notes]
    for inferred in found.operations:
        notes += [f"{inferred.name}: {note}" for note in inferred.notes]
    return [(i.name, i.data) for i in found.operations], notes


def discover(spec: Spec) -> Discovery:
    """The long-running operations of ``spec``, each as a whole profile with its notes; raises
    :class:`NoLongRunningOperation` when there is none."""
    found = find_long_running(spec.doc)
    if not found:
        raise NoLongRunningOperation(
            f"{spec.source} describes no long-running operation (no 202 or 201 response with a "
            "pointer header or a link to a status operation, no x-ms-long-running-operation, "
            f"no answer naming a job that a GET reports on){unseen(spec.doc)}"
        )
    notes = [Note("", f"read as {spec.dialect}: {spec.title}")]
    if spec.base_path:
        notes.append(Note("", f"the operations' paths are under {spec.base_path}", spec.base_at))
    examples = Examples(spec.doc)
    names: set[str] = set()
    inferred = []
    for lr in found:
        name = _unique(operation_name(lr), names)
        data, op_notes = _profile(spec, lr, name, examples)
        inferred.append(Inferred(name, data, tuple(op_notes), lr))
    return Discovery(spec, tuple(inferred), tuple(notes))


def operation_name(lr: LongRunning) -> str:
    """A name from the operationId (``createReport`` -> ``create-report``), else from the
    method and path (``post-reports``)."""
    op = lr.operation
    raw = str(op.node.get("operationId") or "")
    if not raw:
        raw = f"{op.method} " + re.sub(r"\{[^}]*\}", " ", op.path)
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", raw)
    name = re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")
    return name or op.method


def _unique(name: str, taken: set[str]) -> str:
    chosen, number = name, 2
    while chosen in taken:
        chosen, number = f"{name}-{number}", number + 1
    taken.add(chosen)
    return chosen


def _profile(
    spec: Spec, lr: LongRunning, name: str, examples: Examples
) -> tuple[dict[str, Any], list[Note]]:
    op = lr.operation
    notes = [Note("", f"{op.title} is long-running: {lr.why}", lr.at)]
    submission = infer_submission(spec, lr, examples)
    following = infer_following(spec, lr)
    cancelling = infer_cancel(spec.doc, following.status, following.monitor.get("cancelled"))
    summary = op.node.get("summary") or str(op.node.get("description") or "").strip()
    description = str(summary).splitlines()[0] if summary else op.title
    data: dict[str, Any] = {
        "name": name,
        "description": description,
        "submit": submission.submit,
        "initiation": following.initiation,
        "monitor": following.monitor,
    }
    if cancelling.cancel:
        data["cancel"] = cancelling.cancel
    if following.errors:
        data["errors"] = following.errors
    data["features"] = {
        "cancel": cancelling.enabled,
        "idempotency": submission.features.get("idempotency", False),
        "prefer": submission.features.get("prefer", False),
        **following.features,
    }
    notes += following.notes[:1] + submission.notes + following.notes[1:] + cancelling.notes
    members = callback_members(op.node)
    if members:
        data["callbacks"] = {"member": members[0] if len(members) == 1 else list(members)}
        data["features"]["callbacks"] = True
        at = f"{op.pointer}/callbacks"
        said = "the operation's callbacks go to the URL a submission gives in this member"
        notes.append(Note("callbacks.member", said, at))
        said = "the operation describes callbacks (lrokit check --callbacks judges them)"
        notes.append(Note("features.callbacks", said, at))
    dialect = matching_dialect(data)
    if dialect is not None:
        data, said, supplied = _as_dialect(data, dialect, submission.declared_body)
        notes = [n for n in notes if not (n.missing and n.key in supplied)]
        notes.append(Note("", said))
    return data, notes


def callback_members(operation: Mapping[str, Any]) -> tuple[str, ...]:
    """The body members, dotted, that an operation's OpenAPI ``callbacks`` take their URL
    from by a ``{$request.body#/a/b}`` runtime expression (OpenAPI 3.0.3 §4.7.18, §4.7.20.4);
    a member under an array, or with a dot in its name, is not one a profile can name."""
    body, _ = callback_targets(operation)
    found = []
    for member in sorted(body):
        names = [t.replace("~1", "/").replace("~0", "~") for t in member.strip("/").split("/")]
        if all(name and "." not in name and not name.isdigit() for name in names):
            found.append(".".join(names))
    return tuple(found)


def matching_dialect(data: Mapping[str, Any]) -> str | None:
    """The built-in profile whose dialect an inferred operation speaks: the same outcome
    states (success, failure, cancelled) and states that one of the two lists in full (a
    dialect's version may add or drop a state, as WES 1.1 added PREEMPTED); among several,
    the one with the very same states, then the same pointer header, then the same initiating
    status. None when none matches or the tie stays (the inference alone then says what to
    check)."""
    monitor, initiation = data.get("monitor", {}), data.get("initiation", {})
    outcomes = tuple(monitor.get(key) for key in ("success", "failure", "cancelled"))
    states = set(monitor.get("states", ()))
    candidates = []
    for name in sorted(builtin_profiles()):
        profile = _builtin(name)
        nested = states <= set(profile.states) or set(profile.states) <= states
        if (profile.success, profile.failure, profile.cancelled) == outcomes and nested:
            candidates.append(profile)
    narrowing = (
        lambda p: set(p.states) == states,
        lambda p: p.monitor_header == initiation.get("monitor_header"),
        lambda p: set(p.initiation_status) == set(initiation.get("status", ())),
    )
    for narrower in narrowing:
        if len(candidates) > 1:
            candidates = [p for p in candidates if narrower(p)] or candidates
    return candidates[0].name if len(candidates) == 1 else None


@cache
def _builtin(name: str) -> Profile:
    """A built-in profile, read and validated once however many operations are matched."""
    return load_profile(name)


def _as_dialect(
    data: dict[str, Any], dialect: str, declared_body: bool
) -> tuple[dict[str, Any], str, set[str]]:
    """``data`` laid over ``dialect``, the built-in profile it matches, so that the rules are
    judged as that dialect states them (its levels, wording and citations); and the note that
    says so. A body the document does not give (generated from its schema, or none) gives way
    to the dialect's, for the same operation (method and path), with its files and failing
    body."""
    profile = _builtin(dialect)
    said = (
        f"the operation speaks the {dialect} dialect (its initiation and outcome states match): "
        f"the rules are judged as {dialect} states them"
    )
    laid = {**data, "extends": dialect}
    submit = dict(data.get("submit", {}))
    same_operation = (submit.get("method"), submit.get("path")) == (
        profile.submit_method,
        profile.submit_path,
    )
    supplied: set[str] = set()
    if same_operation and profile.failing_body is not None:
        supplied.add("submit.failing_body")
    if not declared_body and same_operation and profile.body is not None:
        for key in ("body", "other_body", "encoding"):
            submit.pop(key, None)
        laid["submit"] = submit
        supplied |= {"submit.body", "submit.files"}
        said += f"; the document gives no example body, so {dialect}'s is sent"
    return laid, said, supplied
