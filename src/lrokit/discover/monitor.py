"""How a job is followed: the initiation and monitor tables of a profile, read from the
long-running operation's initiating response and its status operation.

* ``initiation.status`` is the initiating status; ``monitor_header`` the pointer header the
  response declares. An Azure operation that declares none takes the one its
  ``final-state-via`` names. Without a header the monitor path is built from the status
  operation's path (``initiation.monitor_template``): its id parameter becomes
  ``{body:member}`` as the OpenAPI link's ``$response.body#/member`` says, else the member the
  job was found by (``run_id``, ``name``); ``initiation.id_segment`` is where that parameter
  is in the path, counted from the end.
* The state is the status body's state enum (:func:`lrokit.lint.longrunning.find_state`),
  each value classified by its name (:mod:`lrokit.lint.states`): the first success, failure
  and cancelled values are ``success``, ``failure`` and ``cancelled``; a terminal state goes
  nowhere; a non-terminal one may move to every other (the document does not order them);
  a value whose name says nothing is written non-terminal and named for a person to decide.
* Dialects without a state enum are read as their standard says: a
  ``google.longrunning.Operation`` by ``done``, ``error`` and ``response`` (AIP-151); a
  status operation that answers 303 See Other by the HTTP status, its Location the result
  (JSON:API); an Azure Resource Manager operation polled at Location by the HTTP status (202
  while it runs), at Azure-AsyncOperation by the ARM operation resource's states, at
  Operation-Location by the Azure guidelines' states, where the document does not describe
  the monitor.
* The result is a link member (``links.download.href``, ``resourceLocation``, ``reportURL``
  …), an embedded member (``result``, ``outputs``, ``response``, ``…Result``), or a GET at
  the monitor's path and ``/results``, ``/result``, ``/download``, ``/output(s)`` (or at the
  parent of a ``…/status`` monitor whose body has outputs): ``{monitor}/results``. The error
  is the ``error`` (``errors``, ``exception``, else OGC's ``message``) member; its members
  are the required string members of its schema.
* ``features.wait``: the status operation takes a ``Prefer`` header that its description, or
  the operation's, says asks for the read to be held (``wait=N``, RFC 7240 §4.3).
* ``features.stream``: the status operation's 200 response declares ``text/event-stream``
  content (Server-Sent Events, WHATWG HTML §9.2.5): the status may be streamed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lrokit.discover.notes import Note
from lrokit.discover.specs import Spec
from lrokit.discover.submission import parameters
from lrokit.lint.document import Document, pointer
from lrokit.lint.longrunning import (
    Body,
    LongRunning,
    Monitor,
    Operation,
    State,
    declared_at,
    find_state,
    is_json,
    json_body,
    member,
    members,
    operations,
    response,
    responses,
    tokens,
    types,
)
from lrokit.lint.states import Kind, classify

#: final-state-via (AutoRest) -> the header a client polls.
_AZURE_HEADERS = {
    "azure-async-operation": "Azure-AsyncOperation",
    "operation-location": "Operation-Location",
    "location": "Location",
    "original-uri": "Azure-AsyncOperation",
}
_FIELDS = {
    "progress_field": ("progress", "percentComplete", "progressPercent", "percentDone"),
    "created_field": ("createdAt", "created", "createdDateTime", "createTime", "creationTime"),
    "started_field": ("startedAt", "started", "startTime", "startDateTime", "startedDateTime"),
    "finished_field": (
        "finishedAt",
        "finished",
        "endTime",
        "endDateTime",
        "completedAt",
        "completedDateTime",
        "finishedDateTime",
    ),
    "estimate_field": ("estimatedTimeRemaining", "estimatedSecondsRemaining", "etaSeconds"),
}
_NUMERIC = frozenset({"progress_field", "estimate_field"})
_FIELD_WORDS = {
    "progress_field": "the job's progress",
    "created_field": "when the job was created",
    "started_field": "when the job started",
    "finished_field": "when the job ended",
    "estimate_field": "the seconds the job is expected still to take",
}
_LINK_NAMES = (
    "resourceLocation",
    "download",
    "downloadUrl",
    "downloadURL",
    "resultUrl",
    "resultURL",
    "resultsUrl",
    "reportURL",
    "reportUrl",
    "outputUrl",
)
_LINKS_MEMBERS = ("download", "result", "results", "output", "outputs", "content")
_RESULT_NAMES = ("result", "results", "response", "output", "outputs")
_RESULT_PATHS = ("results", "result", "download", "outputs", "output")
_ERROR_NAMES = ("error", "errors", "exception", "failure", "problem")
#: What a Prefer header's description says when it asks for a read to be held (RFC 7240 §4.3).
_WAIT = re.compile(r"\bwait\s*=", re.IGNORECASE)


@dataclass
class Following:
    """The initiation and monitor tables, the error media type and the notes of all."""

    initiation: dict[str, Any] = field(default_factory=dict)
    monitor: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, Any] = field(default_factory=dict)
    features: dict[str, bool] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    #: The status operation polled, when the document describes it.
    status: Operation | None = None

    def note(self, key: str, text: str, at: str | None = None, **more: Any) -> None:
        self.notes.append(Note(key, text, at, **more))


def infer_following(spec: Spec, lr: LongRunning) -> Following:
    """The initiation and monitor tables of ``lr``."""
    return _Inference(spec, lr).run()


class _Inference:
    def __init__(self, spec: Spec, lr: LongRunning) -> None:
        self.spec = spec
        self.doc = spec.doc
        self.lr = lr
        self.out = Following()
        self.header, self.header_at = lr.header, lr.header_at
        self.options_at = pointer(
            *tokens(lr.operation.pointer), "x-ms-long-running-operation-options"
        )
        if self.header is None and lr.azure is not None:
            via = str(lr.azure.get("final-state-via", "")).lower()
            if via in _AZURE_HEADERS:
                self.header, self.header_at = (
                    _AZURE_HEADERS[via],
                    f"{self.options_at}/final-state-via",
                )
        self.monitor: Monitor | None = lr.monitor
        self.arm_location = lr.azure is not None and self.header == "Location"
        if self.arm_location:
            self.monitor = None  # ARM's Location answers 202, then the final answer
        if (
            lr.azure is not None
            and self.header in ("Azure-AsyncOperation", "Operation-Location")
            and (self.monitor is None or "operation" not in self.monitor.operation.path.lower())
        ):
            # An Azure operation resource: a GET with "operation" in its path reporting a state,
            # never the resource the operation acts on (whose provisioningState is another one).
            self.monitor = self._operation_resource() or (
                self.monitor if self.header == "Operation-Location" else None
            )

    def _operation_resource(self) -> Monitor | None:
        for op in operations(self.doc):
            ok = response(self.doc, op, "200") if op.method == "get" else None
            body = json_body(self.doc, *ok) if ok else None
            state = find_state(self.doc, body.schema, body.at) if body else None
            if state is not None and "operation" in op.path.lower():
                why = f"GET {op.path} is an operation resource reporting a state"
                return Monitor(op, why, op.pointer, body, state)
        return None

    def run(self) -> Following:
        self._initiation()
        body = self.monitor.body if self.monitor else None
        if body is None and self.monitor is None and self.lr.azure is None:
            body = self.lr.body  # the initiating body is the status document
        if self.monitor is not None:
            self.out.status = self.monitor.operation
            self.out.note(
                "",
                f"the status operation: {self.monitor.why}",
                self.monitor.at,
            )
        elif not self.arm_location:
            self.out.note("", "no status operation is described", missing=True)
        self._wait()
        self._stream()
        if self.lr.google:
            self._google(body)
        elif self.arm_location:
            self._arm_location()
        elif self.monitor is not None and self._see_other() is not None:
            self._see_other_states(body)
        else:
            self._states(body)
        if body is not None:
            self.out.monitor["media_type"] = body.media_type.split(";")[0].strip()
            self.out.note("monitor.media_type", "the status body's media type", body.content_at)
            if not self.lr.google:
                self._fields(body)
                self._error(body)
            self._result_members(body)
        self._result_paths()
        self._errors()
        return self.out

    def _wait(self) -> None:
        """``features.wait``: the status operation takes a ``Prefer`` header that its
        description, or the operation's, says asks for the read to be held (``wait=``)."""
        out = self.out
        out.features["wait"] = False
        if self.monitor is None:
            out.note("features.wait", "no status operation is described, so no held reads")
            return
        op = self.monitor.operation
        prefer = next(
            (
                (param, at)
                for param, at in parameters(self.spec, op)
                if str(param["name"]).lower() == "prefer" and param.get("in") == "header"
            ),
            None,
        )
        if prefer is None:
            out.note("features.wait", "the status operation declares no Prefer header")
            return
        said = " ".join(str(node.get("description", "")) for node in (prefer[0], op.node))
        if _WAIT.search(said) is None:
            out.note("features.wait", "the status operation's Prefer says nothing of wait=N")
            return
        out.features["wait"] = True
        out.note(
            "features.wait",
            "the status operation takes Prefer: wait=N (RFC 7240 §4.3): a read may be held",
            prefer[1],
        )

    def _stream(self) -> None:
        """``features.stream``: the status operation's 200 response declares
        ``text/event-stream`` content (WHATWG HTML §9.2.5)."""
        out = self.out
        out.features["stream"] = False
        if self.monitor is None:
            out.note("features.stream", "no status operation is described, so no status stream")
            return
        ok = response(self.doc, self.monitor.operation, "200")
        content = ok[0].get("content") if ok is not None else None
        media = [str(t).split(";")[0].strip().lower() for t in content or {}]
        if ok is None or not isinstance(content, dict) or "text/event-stream" not in media:
            out.note("features.stream", "the status operation's 200 declares no text/event-stream")
            return
        out.features["stream"] = True
        out.note(
            "features.stream",
            "the status operation's 200 declares text/event-stream: the status may be streamed "
            "(Server-Sent Events, WHATWG HTML §9.2)",
            pointer(*tokens(ok[1]), "content"),
        )

    # -- initiation ----------------------------------------------------------------------
    def _initiation(self) -> None:
        out, lr = self.out, self.lr
        out.initiation["status"] = list(lr.statuses)
        out.note("initiation.status", "the initiating response", lr.response_at)
        if self.header is not None:
            out.initiation["monitor_header"] = self.header
            how = "declared" if lr.header else "named by final-state-via"
            out.note("initiation.monitor_header", f"the pointer header {how}", self.header_at)
        elif lr.azure is not None:
            out.initiation["monitor_header"] = "Location"
            out.note(
                "initiation.monitor_header",
                "the operation declares no pointer header: ARM sends Azure-AsyncOperation "
                "or Location; set the one the service sends",
                self.options_at,
                missing=True,
            )
        else:
            out.initiation["monitor_header"] = "Location"
            out.note(
                "initiation.monitor_header",
                "the initiating response declares no pointer header: the monitor is built from "
                "its body (monitor_template); a Location the server sends anyway is read first",
                lr.response_at,
            )
            self._template()
        if self.monitor is not None:
            segments = self.monitor.operation.path.rstrip("/").split("/")
            params = [i for i, s in enumerate(segments) if s.startswith("{")]
            if params and params[-1] - len(segments) != -1:
                out.initiation["id_segment"] = params[-1] - len(segments)
                out.note(
                    "initiation.id_segment",
                    f"the job id is {segments[params[-1]]} in {self.monitor.operation.path}",
                    self.monitor.operation.pointer,
                )

    def _template(self) -> None:
        """``initiation.monitor_template`` from the status operation's path."""
        out, lr = self.out, self.lr
        if self.monitor is None:
            out.note(
                "initiation.monitor_template",
                "the initiating response declares no pointer header and no status operation "
                "is found: say where the monitor is",
                lr.response_at,
                missing=True,
                suggestion='monitor_template = "/jobs/{body:id}"',
            )
            return
        path = self.spec.base_path + self.monitor.operation.path
        given = self._link_parameters()
        unknown = []
        for segment in self.monitor.operation.path.split("/"):
            for name in _placeholders(segment):
                if name in given:
                    value = given[name]
                elif name == lr.id_member or (lr.id_member and len(given) == 0 and _only(path)):
                    value = f"{{body:{lr.id_member}}}"
                else:
                    unknown.append(name)
                    continue
                path = path.replace("{" + name + "}", value)
        out.initiation["monitor_template"] = path
        source = "the link's parameters" if given else f"the body's {lr.id_member!r}"
        out.note(
            "initiation.monitor_template",
            f"no pointer header: the monitor is GET {self.monitor.operation.path}, filled from "
            f"{source}",
            self.monitor.at,
            missing=bool(unknown),
        )
        for name in unknown:
            out.note(
                "initiation.monitor_template",
                f"the path parameter {name} of the monitor is not in the initiating answer: "
                "replace it",
                self.monitor.operation.pointer,
                missing=True,
            )

    def _link_parameters(self) -> dict[str, str]:
        """The link's parameters, as placeholders: ``$response.body#/id`` is
        ``{body:id}``, ``$response.header.X`` is ``{header:X}``."""
        if self.monitor is None:
            return {}
        link = self.doc.at(self.monitor.at)
        params = link.get("parameters") if isinstance(link, dict) else None
        found = {}
        for name, expression in (params if isinstance(params, dict) else {}).items():
            expression = str(expression)
            if expression.startswith("$response.body#/"):
                dotted = ".".join(tokens(expression.removeprefix("$response.body#")))
                found[str(name).split(".")[-1]] = f"{{body:{dotted}}}"
            elif expression.startswith("$response.header."):
                found[str(name).split(".")[-1]] = (
                    f"{{header:{expression.removeprefix('$response.header.')}}}"
                )
        return found

    # -- states --------------------------------------------------------------------------
    def _states(self, body: Body | None) -> None:
        out, lr = self.out, self.lr
        state: State | None = self.monitor.state if self.monitor else None
        if state is None and lr.body is not None and lr.azure is None:
            state = find_state(self.doc, lr.body.schema, lr.body.at)  # the 202 body
        if state is None and lr.azure is not None:
            self._azure_defaults()
            return
        if state is None:
            named = find_state(self.doc, body.schema, body.at, enum=False) if body else None
            out.monitor["state_field"] = named.field if named else "status"
            if named:
                out.note("monitor.state_field", "the member named as a state", named.member_at)
            out.note(
                "monitor.states",
                "the document gives no enum of the job's states: these are placeholders; "
                "write the states the API reports",
                named.member_at if named else None,
                missing=True,
            )
            self._table(("running", "succeeded", "failed"), None, guessed=True)
            return
        out.monitor["state_field"] = state.field
        out.note(
            "monitor.state_field", "the member whose enum reads as the job's state", state.member_at
        )
        self._table(state.values, f"{state.at}/enum")

    def _table(self, values: tuple[str, ...], at: str | None, *, guessed: bool = False) -> None:
        """states, success, failure, cancelled and transitions from the enum ``values``."""
        out = self.out
        kinds = {value: classify(value) for value in values}
        out.monitor["states"] = list(values)
        if not guessed:
            out.note("monitor.states", "the enum", at)
        chosen: dict[str, str] = {}
        for key, kind in (
            ("success", Kind.SUCCESS),
            ("failure", Kind.FAILURE),
            ("cancelled", Kind.CANCELLED),
        ):
            value = next((v for v in values if kinds[v] is kind), None)
            if value is not None:
                chosen[key] = value
                if not guessed:
                    out.note(f"monitor.{key}", f"{value!r} names a {kind} state", at)
            elif key != "success":
                out.note(f"monitor.{key}", f"no state's name says {kind}", at)
        unknown = [v for v in values if kinds[v] is Kind.UNKNOWN]
        if "success" not in chosen:
            guess = unknown[0] if unknown else values[-1]
            chosen["success"] = guess
            kinds[guess] = Kind.SUCCESS
            unknown = [v for v in unknown if v != guess]
            out.note(
                "monitor.success",
                f"no state's name says success: {guess!r} is a guess",
                at,
                missing=True,
            )
        for key in ("success", "failure", "cancelled"):
            if key in chosen:
                out.monitor[key] = chosen[key]
        out.monitor["transitions"] = {
            value: [] if kinds[value].terminal else [v for v in values if v != value]
            for value in values
        }
        out.note(
            "monitor.transitions",
            "the document does not order the states: a terminal state goes nowhere, every "
            "other state may move to any other; strike the moves the API never makes",
        )
        if unknown:
            out.note(
                "monitor.transitions",
                "the names "
                + ", ".join(map(repr, unknown))
                + " do not say whether the job ended: written as non-terminal; give a "
                "terminal one an empty list",
                at,
                missing=True,
            )

    def _azure_defaults(self) -> None:
        """The states of an Azure monitor the document does not describe."""
        out = self.out
        out.monitor["state_field"] = "status"
        if self.header == "Azure-AsyncOperation":
            values: tuple[str, ...] = ("InProgress", "Succeeded", "Failed", "Canceled")
            source = "the ARM operation resource (azure-resource-manager-rpc async-api-reference)"
            out.monitor.update(
                id_field="name",
                progress_field="percentComplete",
                started_field="startTime",
                finished_field="endTime",
                error_field="error",
                error_members=["code", "message"],
            )
            out.errors["media_type"] = "application/json"
        else:
            values = ("NotStarted", "Running", "Succeeded", "Failed", "Canceled")
            source = "the status monitor of the Azure REST API guidelines"
            out.monitor.update(
                id_field="id", error_field="error", error_members=["code", "message"]
            )
        out.note(
            "monitor.state_field",
            f"the document does not describe the monitor: {source}",
            self.options_at,
        )
        self._table(values, None)

    def _google(self, body: Body | None) -> None:
        """A google.longrunning.Operation: the state from done, error and response."""
        out = self.out
        at = body.at if body else None
        out.monitor.update(
            state_field="done",
            id_field="name",
            error_field="error",
            result_field="response",
            states=["RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"],
            success="SUCCEEDED",
            failure="FAILED",
            cancelled="CANCELLED",
            state_rules=[
                {"state": "RUNNING", "equals": {"done": False}},
                {"state": "CANCELLED", "equals": {"done": True, "error.code": 1}},
                {"state": "FAILED", "present": "error", "equals": {"done": True}},
                {"state": "SUCCEEDED", "present": "response", "equals": {"done": True}},
            ],
            transitions={
                "RUNNING": ["SUCCEEDED", "FAILED", "CANCELLED"],
                "SUCCEEDED": [],
                "FAILED": [],
                "CANCELLED": [],
            },
        )
        out.note(
            "monitor.state_rules",
            "a google.longrunning.Operation (AIP-151): running while done is false, then "
            "error (code 1: CANCELLED) or response",
            at,
        )
        error = member(self.doc, body.schema, body.at, "error") if body else None
        if error is not None:
            required = _required_strings(self.doc, *error)
            named = required or (["message"] if "message" in members(self.doc, *error) else [])
            out.monitor["error_members"] = named
            out.note("monitor.error_members", "the members of the Operation's error", error[1])
        metadata = member(self.doc, body.schema, body.at, "metadata") if body else None
        if metadata is not None:
            found = _named(self.doc, *metadata, _FIELDS["progress_field"])
            if found is not None:
                out.monitor["progress_field"] = f"metadata.{found[0]}"
                out.note("monitor.progress_field", "the metadata's progress", found[1])

    def _see_other(self) -> str | None:
        """The pointer of the status operation's 303 response, if it declares one."""
        if self.monitor is None:
            return None
        found = response(self.doc, self.monitor.operation, "303")
        return found[1] if found else None

    def _see_other_states(self, body: Body | None) -> None:
        """The job answers 200 while pending, then 303 See Other to the result (JSON:API)."""
        out, at = self.out, self._see_other()
        named = find_state(self.doc, body.schema, body.at, enum=False) if body else None
        out.monitor["state_field"] = named.field if named else "status"
        rules: list[dict[str, Any]] = [
            {"state": "Pending", "status": [200]},
            {"state": "Done", "status": [303]},
        ]
        if named:
            out.note("monitor.state_field", "the member named as a state", named.member_at)
            # The initiating answer's body, read without a status, reports a pending job.
            rules.append({"state": "Pending", "present": named.field})
        out.monitor.update(
            states=["Pending", "Done"],
            success="Done",
            state_rules=rules,
            transitions={"Pending": ["Done"], "Done": []},
            result_header="Location",
        )
        out.note(
            "monitor.state_rules",
            "the status operation answers 303 See Other when the job is done: the state is "
            "the HTTP status (200 pending, 303 done), the result is the 303's Location",
            at,
        )
        out.note("monitor.failure", "a 303 job names no failure outcome")

    def _arm_location(self) -> None:
        """An ARM operation polled at Location: 202 while it runs, then the final answer."""
        out = self.out
        out.monitor.update(
            state_field="status",
            error_field="error",
            error_members=["code", "message"],
            states=["InProgress", "Succeeded", "Failed"],
            success="Succeeded",
            failure="Failed",
            state_rules=[
                {"state": "InProgress", "status": [202]},
                {"state": "Succeeded", "status": [200, 204]},
                {"state": "Failed", "status": [400, 409, 500]},
            ],
            transitions={"InProgress": ["Succeeded", "Failed"], "Succeeded": [], "Failed": []},
        )
        out.errors["media_type"] = "application/json"
        out.features["repoint"] = True
        out.note("features.repoint", "every 202 of ARM's Location carries Location again")
        out.note(
            "monitor.state_rules",
            "ARM's Location pattern (azure-resource-manager-rpc async-api-reference): the "
            "Location answers 202 while the operation runs, then its final answer",
            self.header_at,
        )

    # -- members -------------------------------------------------------------------------
    def _fields(self, body: Body) -> None:
        out = self.out
        declared = members(self.doc, body.schema, body.at)
        if self.monitor is not None:
            params = _placeholders(self.monitor.operation.path)
            names = [p for p in reversed(params) if p in declared] + ["id", "jobID", "name"]
        else:
            names = ["id", "jobID", "jobId", "name"]
        id_field = next((n for n in names if n in declared), None)
        if id_field is not None and "id_field" not in out.monitor:
            out.monitor["id_field"] = id_field
            out.note(
                "monitor.id_field",
                "the member naming the job",
                declared_at(self.doc, body.schema, body.at, id_field),
            )
        for key, candidates in _FIELDS.items():
            if key in out.monitor:
                continue
            found = _named(self.doc, body.schema, body.at, candidates)
            if found is None:
                continue
            wanted = {"integer", "number"} if key in _NUMERIC else {"string"}
            schema, _ = self.doc.resolve(*declared[found[0]])
            if types(schema) and not types(schema) & wanted:
                continue
            out.monitor[key] = found[0]
            out.note(f"monitor.{key}", f"the member named as {_FIELD_WORDS[key]}", found[1])

    def _error(self, body: Body) -> None:
        out = self.out
        if "error_field" in out.monitor:
            return
        declared = members(self.doc, body.schema, body.at)
        name = next((n for n in _ERROR_NAMES if n in declared), None)
        if name is None and "message" in declared:
            name = "message"  # OGC statusInfo: the message says what went wrong
        if name is None:
            out.note(
                "monitor.error_field", "the status body has no error member", body.at, missing=True
            )
            return
        schema, at = declared[name]
        out.monitor["error_field"] = name
        out.note(
            "monitor.error_field",
            "the error member"
            if name != "message"
            else "no error member: the message says what went wrong (OGC statusInfo)",
            declared_at(self.doc, body.schema, body.at, name),
        )
        required = _required_strings(self.doc, schema, at)
        out.monitor["error_members"] = required
        out.note(
            "monitor.error_members",
            "the error's required string members"
            if required
            else "the error is no object "
            "with required string members: any non-empty error is accepted",
            at,
        )

    def _result_members(self, body: Body) -> None:
        out = self.out
        declared = members(self.doc, body.schema, body.at)
        links = declared.get("links")
        if links is not None and "result_link" not in out.monitor:
            schema, at = links
            if "array" in types(schema):
                out.note(
                    "monitor.result_link",
                    "the links are an array (a link by its rel cannot be named by a dotted "
                    "path): the result is looked for at a result path",
                    declared_at(self.doc, body.schema, body.at, "links"),
                )
            else:
                found = _named(self.doc, schema, at, _LINKS_MEMBERS)
                if found is not None:
                    dotted = f"links.{found[0]}" + _href(
                        self.doc, member(self.doc, schema, at, found[0])
                    )
                    out.monitor["result_link"] = dotted
                    out.note("monitor.result_link", "the link to the result", found[1])
        if "result_link" not in out.monitor:
            found = _named(self.doc, body.schema, body.at, _LINK_NAMES)
            if found is not None:
                dotted = found[0] + _href(self.doc, declared[found[0]])
                out.monitor["result_link"] = dotted
                out.note("monitor.result_link", "the member linking the result", found[1])
        if "result_field" not in out.monitor:
            names = list(_RESULT_NAMES) + [n for n in declared if n.endswith("Result")]
            for name in names:
                if name not in declared:
                    continue
                schema, at = declared[name]
                schema, _ = self.doc.resolve(schema, at)
                if types(schema) & {"string"} and not types(schema) & {"object", "array"}:
                    continue  # a string is a link, not a result
                out.monitor["result_field"] = name
                out.note(
                    "monitor.result_field",
                    "the member embedding the result",
                    declared_at(self.doc, body.schema, body.at, name),
                )
                break

    def _result_paths(self) -> None:
        """A GET at the monitor's path and a result segment, or the parent of a /status."""
        out = self.out
        if self.monitor is None or "result_template" in out.monitor:
            return
        monitor = self.monitor.operation
        gets = {op.shape: op for op in operations(self.doc) if op.method == "get"}
        for segment in _RESULT_PATHS:
            found = gets.get(f"{monitor.shape}/{segment}")
            if found is not None:
                out.monitor["result_template"] = f"{{monitor}}/{segment}"
                out.note("monitor.result_template", f"GET {found.path}", found.pointer)
                return
        if monitor.shape.endswith("/status"):
            parent = gets.get(monitor.shape.removesuffix("/status"))
            ok = response(self.doc, parent, "200") if parent else None
            body = json_body(self.doc, *ok) if ok else None
            declared = members(self.doc, body.schema, body.at) if body else {}
            name = next(
                (n for n in ("outputs", "output", "results", "result") if n in declared), None
            )
            if parent is not None and name is not None:
                out.monitor["result_template"] = "{monitor}/.."
                out.note(
                    "monitor.result_template",
                    f"GET {parent.path} reports the job with its {name}",
                    declared_at(self.doc, body.schema, body.at, name) if body else None,
                )
                return
        if not any(k in out.monitor for k in ("result_link", "result_field", "result_header")):
            out.note(
                "monitor.result_link",
                "the status body has no result member and no result operation is found",
                missing=True,
            )

    def _errors(self) -> None:
        """``errors.media_type``: the error answers' media type, where it is not RFC 9457."""
        out = self.out
        if "media_type" in out.errors:
            out.note("errors.media_type", "Azure errors are {error: {code, message}} in JSON")
            return
        ops = [self.lr.operation] + ([self.monitor.operation] if self.monitor else [])
        media: dict[str, str] = {}
        for op in ops:
            for code, node, at in responses(self.doc, op):
                if code == "default" or code[:1] in ("4", "5"):
                    if self.spec.swagger:
                        produces = op.node.get("produces") or self.doc.data.get("produces")
                        first = produces[0] if isinstance(produces, list) and produces else None
                        media.setdefault(str(first or "application/json"), at)
                    content = node.get("content")
                    for name in content if isinstance(content, dict) else {}:
                        media.setdefault(str(name).split(";")[0].strip().lower(), at)
        if not media or "application/problem+json" in media:
            return
        chosen = next((m for m in media if is_json(m)), next(iter(media)))
        out.errors["media_type"] = chosen
        out.note("errors.media_type", "the error answers' media type (not RFC 9457)", media[chosen])


def _placeholders(text: str) -> list[str]:
    return re.findall(r"\{([^{}]+)\}", text)


def _only(path: str) -> bool:
    return len(_placeholders(path)) == 1


def _named(doc: Document, schema: Any, at: str, names: tuple[str, ...]) -> tuple[str, str] | None:
    """The first of ``names`` the schema declares, and its pointer."""
    declared = members(doc, schema, at)
    return next(((n, declared_at(doc, schema, at, n) or at) for n in names if n in declared), None)


def _href(doc: Document, found: tuple[Any, str] | None) -> str:
    """``.href`` when the link member is an object with ``href``."""
    if found is None:
        return ""
    return ".href" if "href" in members(doc, *found) else ""


def _required_strings(doc: Document, schema: Any, at: str) -> list[str]:
    """The required members of an object schema (and of its ``allOf``) that are strings."""
    schema, at = doc.resolve(schema, at)
    if not isinstance(schema, dict):
        return []
    required: list[str] = []
    stack = [(schema, at)]
    while stack:
        node, node_at = stack.pop(0)
        node, node_at = doc.resolve(node, node_at)
        if not isinstance(node, dict):
            continue
        required += [str(r) for r in node.get("required") or [] if str(r) not in required]
        stack += [(b, f"{node_at}/allOf/{i}") for i, b in enumerate(node.get("allOf") or [])]
    declared = members(doc, schema, at)
    return [
        name
        for name in declared
        if name in required and types(doc.resolve(*declared[name])[0]) == {"string"}
    ]
