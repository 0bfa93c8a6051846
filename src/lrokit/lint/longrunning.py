"""Which operations of an API description are long-running, and which operation is their
status monitor: one reading, shared by ``lrokit lint`` (SPEC-11: a document describes none)
and ``lrokit init`` (:mod:`lrokit.discover` writes a check file for each one found).

It reads OpenAPI 3.0 and 3.1 documents and Swagger 2.0 (the form of the Azure REST API
specifications); only local ``$ref`` are followed. An operation other than a GET is
long-running when the document says so in one of these ways, tried in this order:

1. it is flagged ``x-ms-long-running-operation: true`` (Azure, AutoRest);
2. a 202 or 201 response declares a pointer header (Operation-Location,
   Azure-AsyncOperation, Location, Content-Location);
3. a 202 or 201 response has an OpenAPI link to a GET operation, the status operation;
4. a 202 response's body carries a job state (it is the status document itself);
5. a 200, 201 or 202 response's body is a ``google.longrunning.Operation`` (AIP-151): a
   ``name`` and a boolean ``done``;
6. a POST's 200 or 201 body has an id member (``id``, ``name``, ``…_id``, ``…Id``) and a GET
   at ``…/{member}`` or ``…/{member}/status`` answers a body that carries a job state (the
   dialects that declare no pointer header, such as GA4GH WES).

A 201 found by 2 or 3 counts only when its body or its status operation carries a job state:
a 201 with Location to a plain created resource is not a job. An operation on the path of
another one's status operation (a DELETE of the monitor that answers 202 is the cancel), or
an action ``…:cancel`` or ``…/cancel`` beside it, is not counted unless it is flagged as in 1.

A body carries a job state when a member at most three levels deep (through ``$ref``,
``allOf``, ``oneOf`` and ``anyOf``) is a string enum that :func:`lrokit.lint.states.
is_state_enum` reads as a job's states; a member named ``status`` or ``state`` is preferred,
then the shallowest. The status operation is, in order: the GET a link of the initiating
response leads to whose body carries a state; the GET of rule 6; else the best scored GET
whose path ends in a parameter (or ``/status``) and whose body carries a state or is the
initiating response's own schema (see :meth:`_Finder.monitor`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from lrokit.lint.document import Document, pointer
from lrokit.lint.states import is_state_enum

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: The headers that point at a status monitor, in the order one is chosen when several are.
POINTER_HEADERS = ("Operation-Location", "Azure-AsyncOperation", "Location", "Content-Location")
#: Members of a state, by preference.
STATE_NAMES = ("status", "state", "provisioningState", "jobStatus", "runStatus", "phase")
_DEPTH = 3  # members looked for this many levels deep
_WORDS = ("operation", "job", "run", "task", "status", "execution")
_ID = re.compile(r"^(id|name|.+_id|.+Id|.+ID)$")


@dataclass(frozen=True)
class Operation:
    """One operation of the document: where it is and what it is."""

    path: str
    method: str  # lower case
    node: dict[str, Any]

    @property
    def pointer(self) -> str:
        return pointer("paths", self.path, self.method)

    @property
    def shape(self) -> str:
        """The path with parameter names dropped: ``/reports/{}``."""
        return shape(self.path)

    @property
    def title(self) -> str:
        """``POST /reports``."""
        return f"{self.method.upper()} {self.path}"


@dataclass(frozen=True)
class Body:
    """The JSON schema of a request or response body."""

    schema: dict[str, Any]  # resolved
    at: str  # its pointer
    media_type: str
    content_at: str  # the pointer of its media type (Swagger 2.0: of its response)


@dataclass(frozen=True)
class State:
    """A job's state in a status body: the member (dotted) and its values."""

    field: str
    values: tuple[str, ...]  # the enum; () where the member has none
    at: str  # the pointer of the member's schema (resolved: where the enum is)
    member_at: str  # the pointer of the member's declaration


@dataclass(frozen=True)
class Monitor:
    """The status operation of a long-running operation."""

    operation: Operation
    why: str  # how it was found, in words
    at: str  # the pointer it was found by: a link, or the operation
    body: Body | None  # its 200 JSON body
    state: State | None


@dataclass(frozen=True)
class LongRunning:
    """A long-running operation, what shows it and where its status is polled."""

    operation: Operation
    statuses: tuple[int, ...]  # the initiating status codes
    why: str  # the rule that found it, in words
    at: str  # the pointer of what shows it
    response_at: str  # the pointer of the (first) initiating response
    header: str | None  # the pointer header declared, as written
    header_at: str | None
    body: Body | None  # the initiating response's JSON body
    monitor: Monitor | None
    azure: Mapping[str, Any] | None  # x-ms-long-running-operation-options when flagged
    id_member: str | None = None  # the body member the monitor path is built from (5, 6)
    google: bool = False  # the body is a google.longrunning.Operation


def shape(path: str) -> str:
    """A path template with its parameters unnamed: ``/reports/{}/download``."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def operations(doc: Document) -> list[Operation]:
    """Every operation of ``doc``, in document order."""
    found = []
    paths = doc.data.get("paths")
    for path, item in (paths if isinstance(paths, dict) else {}).items():
        item, _ = doc.resolve(item, pointer("paths", path))
        for method, node in (item if isinstance(item, dict) else {}).items():
            if method in METHODS and isinstance(node, dict):
                found.append(Operation(str(path), method, node))
    return found


def responses(doc: Document, op: Operation) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Each response of ``op``: its code as written, the response (resolved) and its
    pointer."""
    declared = op.node.get("responses")
    for code, response in (declared if isinstance(declared, dict) else {}).items():
        response, at = doc.resolve(response, pointer(*tokens(op.pointer), "responses", code))
        if isinstance(response, dict):
            yield str(code), response, at


def external_answers(doc: Document) -> list[str]:
    """The 201 and 202 responses that are references to other documents (``$ref`` to a URL
    or a file), which lrokit does not follow: where an operation's initiation is described
    only there, it cannot be found here. Each as ``METHOD PATH -> REF``."""
    found = []
    for op in operations(doc):
        declared = op.node.get("responses")
        for code, answer in (declared if isinstance(declared, dict) else {}).items():
            ref = answer.get("$ref") if isinstance(answer, dict) else None
            if str(code) in ("201", "202") and isinstance(ref, str) and not ref.startswith("#"):
                found.append(f"{op.method.upper()} {op.path} -> {ref}")
    return found


def unseen(doc: Document) -> str:
    """Why a document may describe long-running operations that were not found: its
    initiating responses are in other documents (empty when none is)."""
    external = external_answers(doc)
    if not external:
        return ""
    return (
        f"; 201/202 responses that are references to other documents, which lrokit does not "
        f"follow: {len(external)} (e.g. {external[0]}); aim with flags instead (lrokit check "
        "URL --profile NAME --submit 'METHOD PATH' --data JSON)"
    )


def response(doc: Document, op: Operation, code: str) -> tuple[dict[str, Any], str] | None:
    """The response of ``op`` with status ``code`` and its pointer, if declared."""
    return next(((r, at) for c, r, at in responses(doc, op) if c == code), None)


def tokens(at: str) -> list[str]:
    """The reference tokens of pointer ``at``, unescaped."""
    return [t.replace("~1", "/").replace("~0", "~") for t in at.split("/")[1:]]


def is_json(media_type: str) -> bool:
    """``application/json`` or a ``+json`` type."""
    base = media_type.split(";")[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


def json_body(doc: Document, node: dict[str, Any], at: str) -> Body | None:
    """The JSON schema of a response (or an OpenAPI 3 request body) ``node`` at ``at``: its
    first JSON content (OpenAPI 3), or its ``schema`` (Swagger 2.0)."""
    if "schema" in node and "content" not in node:  # Swagger 2.0
        schema, schema_at = doc.resolve(node["schema"], f"{at}/schema")
        return Body(schema, schema_at, "application/json", at) if isinstance(schema, dict) else None
    content = node.get("content")
    for media, entry in (content if isinstance(content, dict) else {}).items():
        if is_json(str(media)) and isinstance(entry, dict) and "schema" in entry:
            media_at = pointer(*tokens(at), "content", media)
            schema, schema_at = doc.resolve(entry["schema"], f"{media_at}/schema")
            if isinstance(schema, dict):
                return Body(schema, schema_at, str(media), media_at)
    return None


def declared_headers(doc: Document, node: dict[str, Any], at: str) -> dict[str, tuple[str, str]]:
    """The headers a response declares, by lower-case name: the name as written and its
    pointer."""
    headers = node.get("headers")
    return {
        str(name).lower(): (str(name), pointer(*tokens(at), "headers", name))
        for name in (headers if isinstance(headers, dict) else {})
    }


def members(doc: Document, schema: Any, at: str) -> dict[str, tuple[Any, str]]:
    """The members an object schema declares, each with its (resolved) schema and pointer:
    its ``properties`` and those of its ``allOf``, ``oneOf`` and ``anyOf`` branches (the
    first declaration of a name wins)."""
    return {name: (found[0], found[1]) for name, found in _declared(doc, schema, at).items()}


def declared_at(doc: Document, schema: Any, at: str, name: str) -> str | None:
    """The pointer of member ``name``'s declaration (``…/properties/name``), where
    :func:`members` gives the schema it refers to."""
    found = _declared(doc, schema, at).get(name)
    return found[2] if found else None


def _declared(doc: Document, schema: Any, at: str) -> dict[str, tuple[Any, str, str]]:
    found: dict[str, tuple[Any, str, str]] = {}
    _members(doc, schema, at, found, 0)
    return found


def _members(
    doc: Document, schema: Any, at: str, into: dict[str, tuple[Any, str, str]], depth: int
) -> None:
    schema, at = doc.resolve(schema, at)
    if not isinstance(schema, dict) or depth > 8:
        return
    properties = schema.get("properties")
    for name, member in (properties if isinstance(properties, dict) else {}).items():
        if name not in into:
            place = pointer(*tokens(at), "properties", name)
            into[str(name)] = (*doc.resolve(member, place), place)
    for keyword in ("allOf", "oneOf", "anyOf"):
        branches = schema.get(keyword)
        for index, branch in enumerate(branches if isinstance(branches, list) else ()):
            _members(doc, branch, pointer(*tokens(at), keyword, index), into, depth + 1)


def member(doc: Document, schema: Any, at: str, dotted: str) -> tuple[Any, str] | None:
    """The schema of member ``dotted`` (``a.b``) and its pointer; None where none is
    declared."""
    name, _, rest = dotted.partition(".")
    found = members(doc, schema, at).get(name)
    if found is None or not rest:
        return found
    return member(doc, *found, rest)


def types(schema: Any) -> set[str]:
    """The JSON types a schema names (``type`` as a string or a list)."""
    if not isinstance(schema, dict):
        return set()
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    return {str(t) for t in declared} if isinstance(declared, list) else set()


def find_state(doc: Document, schema: Any, at: str, *, enum: bool = True) -> State | None:
    """The job state in a body schema: a string enum read as states (with ``enum=False``, a
    member named as a state, enum or not), preferred by name (:data:`STATE_NAMES`, then a
    name with ``status`` or ``state`` in it), then by depth."""
    candidates: list[tuple[tuple[int, int], State]] = []
    todo: list[tuple[str, Any, str, int]] = [("", schema, at, 0)]
    while todo:
        prefix, node, node_at, depth = todo.pop(0)
        for name, (sub, sub_at, place) in _declared(doc, node, node_at).items():
            dotted = f"{prefix}{name}"
            values = _enum(doc, sub, sub_at)
            named = name in STATE_NAMES or "status" in name.lower() or "state" in name.lower()
            if is_state_enum(values) or (not enum and named and _stringy(doc, sub, sub_at)):
                rank = STATE_NAMES.index(name) if name in STATE_NAMES else len(STATE_NAMES)
                rank += 0 if named else 10
                candidates.append(
                    ((rank, depth), State(dotted, tuple(map(str, values)), sub_at, place))
                )
            elif depth + 1 < _DEPTH and isinstance(sub, dict):
                todo.append((f"{dotted}.", sub, sub_at, depth + 1))
    return min(candidates, key=lambda c: c[0])[1] if candidates else None


def _enum(doc: Document, schema: Any, at: str) -> list[object]:
    """The values of a string enum (through ``$ref`` and a one-branch ``allOf``)."""
    schema, at = doc.resolve(schema, at)
    if not isinstance(schema, dict):
        return []
    if isinstance(schema.get("enum"), list):
        return [v for v in schema["enum"] if v is not None]
    branches = schema.get("allOf")
    if isinstance(branches, list) and len(branches) == 1:
        return _enum(doc, branches[0], f"{at}/allOf/0")
    return []


def _stringy(doc: Document, schema: Any, at: str) -> bool:
    schema, _ = doc.resolve(schema, at)
    return isinstance(schema, dict) and (types(schema) <= {"string", "null"})


def is_google_operation(doc: Document, body: Body | None) -> bool:
    """Whether a body is a ``google.longrunning.Operation``: a string ``name`` and a boolean
    ``done`` (AIP-151)."""
    if body is None:
        return False
    found = members(doc, body.schema, body.at)
    name, done = found.get("name"), found.get("done")
    return (
        name is not None
        and done is not None
        and "boolean" in types(done[0])
        and types(name[0]) <= {"string"}
    )


def id_members(doc: Document, body: Body | None) -> list[str]:
    """The top-level members of a body that name a job: scalars named ``id``, ``name``,
    ``…_id``, ``…Id``, ``…ID``."""
    if body is None:
        return []
    return [
        name
        for name, (schema, _) in members(doc, body.schema, body.at).items()
        if _ID.match(name) and types(schema) <= {"string", "integer"}
    ]


def find_long_running(doc: Document) -> list[LongRunning]:
    """The long-running operations of ``doc``, in document order (the module's rules)."""
    ops = operations(doc)
    finder = _Finder(doc, ops)
    found = [lr for op in ops if op.method != "get" and (lr := finder.judge(op)) is not None]
    kept = []
    for lr in found:
        others = [o.monitor.operation.shape for o in found if o is not lr and o.monitor]
        if lr.azure is None and _beside(lr.operation, others):
            continue
        kept.append(lr)
    return kept


def _beside(op: Operation, monitors: list[str]) -> bool:
    """Whether ``op`` acts on one of the ``monitors`` paths: the path itself, or a
    ``:cancel`` or ``/cancel`` action on it or on its parent (``…/{id}/status``)."""
    own = op.shape
    for monitor in monitors:
        parent = monitor.rsplit("/", 1)[0] if monitor.endswith("/status") else monitor
        if own in (monitor, f"{monitor}:cancel", f"{monitor}/cancel", f"{parent}/cancel"):
            return True
    return False


class _Finder:
    """The rules of the module over one document."""

    def __init__(self, doc: Document, ops: list[Operation]) -> None:
        self.doc = doc
        self.ops = ops
        self.gets = [op for op in ops if op.method == "get"]
        self._status: dict[str, tuple[Body | None, State | None]] = {}

    def status(self, get: Operation) -> tuple[Body | None, State | None]:
        """A GET's 200 JSON body and the job state it carries."""
        if get.pointer not in self._status:
            ok = response(self.doc, get, "200")
            body = json_body(self.doc, *ok) if ok else None
            state = find_state(self.doc, body.schema, body.at) if body else None
            self._status[get.pointer] = (body, state)
        return self._status[get.pointer]

    def linked(self, node: dict[str, Any], at: str) -> list[tuple[Operation, str]]:
        """The operations the OpenAPI links of response ``node`` lead to, each with the
        link's pointer (by ``operationId`` or a local ``operationRef``)."""
        by_id = {str(op.node.get("operationId")): op for op in self.ops}
        by_ref = {f"#{op.pointer}": op for op in self.ops}
        found = []
        links = node.get("links")
        for name, link in (links if isinstance(links, dict) else {}).items():
            link, link_at = self.doc.resolve(link, pointer(*tokens(at), "links", name))
            if not isinstance(link, dict):
                continue
            target = by_id.get(str(link.get("operationId"))) or by_ref.get(
                str(link.get("operationRef"))
            )
            if target is not None:
                found.append((target, link_at))
        return found

    def judge(self, op: Operation) -> LongRunning | None:
        """``op`` as a long-running operation, or None."""
        flag = op.node.get("x-ms-long-running-operation") is True
        options = op.node.get("x-ms-long-running-operation-options")
        azure = (options if isinstance(options, dict) else {}) if flag else None
        initiating = sorted(  # 202 before 201
            (r for r in responses(self.doc, op) if r[0] in ("202", "201")), key=lambda r: r[0]
        )[::-1]
        if flag:
            return self._azure(op, initiating, azure or {})
        for code, node, at in initiating:
            found = self._initiating(op, code, node, at)
            if found is not None:
                return found
        return self._google(op) or self._by_id(op)

    def _azure(
        self, op: Operation, initiating: list[tuple[str, dict[str, Any], str]], options: Any
    ) -> LongRunning:
        """Rule 1: flagged by ``x-ms-long-running-operation``."""
        if initiating:
            code, node, at = initiating[0]
        else:  # a flagged operation that declares only its final answer
            ok = response(self.doc, op, "200")
            code, (node, at) = "200", ok or ({}, pointer(*tokens(op.pointer), "responses"))
        header, header_at = self._pointer_header(node, at)
        body = json_body(self.doc, node, at)
        return LongRunning(
            operation=op,
            statuses=tuple(sorted(int(c) for c, _, _ in initiating)) or (int(code),),
            why="it is flagged x-ms-long-running-operation: true",
            at=pointer(*tokens(op.pointer), "x-ms-long-running-operation"),
            response_at=at,
            header=header,
            header_at=header_at,
            body=body,
            monitor=self.monitor(op, node, at, body, None),
            azure=options,
        )

    def _pointer_header(self, node: dict[str, Any], at: str) -> tuple[str | None, str | None]:
        declared = declared_headers(self.doc, node, at)
        for name in POINTER_HEADERS:
            if name.lower() in declared:
                return declared[name.lower()]
        return None, None

    def _initiating(
        self, op: Operation, code: str, node: dict[str, Any], at: str
    ) -> LongRunning | None:
        """Rules 2, 3 and 4 over one 202 or 201 response."""
        header, header_at = self._pointer_header(node, at)
        body = json_body(self.doc, node, at)
        monitor = self.monitor(op, node, at, body, None)
        state = find_state(self.doc, body.schema, body.at) if body else None
        links = [(o, a) for o, a in self.linked(node, at) if o.method == "get"]
        if code == "201" and state is None and (monitor is None or monitor.state is None):
            return None  # a created resource, not a job
        if header is not None and header_at is not None:
            why, evidence = f"its {code} response declares {header}", header_at
        elif links:
            why = f"its {code} response links the GET {links[0][0].path}"
            evidence = links[0][1]
        elif code == "202" and state is not None:
            why, evidence = f"its 202 body carries the job state {state.field!r}", state.member_at
        else:
            return None
        return LongRunning(
            operation=op,
            statuses=(int(code),),
            why=why,
            at=evidence,
            response_at=at,
            header=header,
            header_at=header_at,
            body=body,
            monitor=monitor,
            azure=None,
        )

    def _google(self, op: Operation) -> LongRunning | None:
        """Rule 5: a body that is a google.longrunning.Operation."""
        for code, node, at in responses(self.doc, op):
            if code not in ("200", "201", "202"):
                continue
            body = json_body(self.doc, node, at)
            if not is_google_operation(self.doc, body):
                continue
            monitor = self.monitor(op, node, at, body, "name")
            return LongRunning(
                operation=op,
                statuses=(int(code),),
                why=f"its {code} body is a google.longrunning.Operation (name, done)",
                at=body.at if body else at,
                response_at=at,
                header=None,
                header_at=None,
                body=body,
                monitor=monitor,
                azure=None,
                id_member="name",
                google=True,
            )
        return None

    def _by_id(self, op: Operation) -> LongRunning | None:
        """Rule 6: a POST whose 200 or 201 body names a job that a GET reports on."""
        if op.method != "post":
            return None
        for code, node, at in responses(self.doc, op):
            if code not in ("200", "201"):
                continue
            body = json_body(self.doc, node, at)
            for name in id_members(self.doc, body):
                monitor = self._at_member(op, name)
                if monitor is not None and body is not None:
                    return LongRunning(
                        operation=op,
                        statuses=(int(code),),
                        why=f"its {code} body names the job in {name!r}, and "
                        f"GET {monitor.operation.path} reports its state",
                        at=declared_at(self.doc, body.schema, body.at, name) or body.at,
                        response_at=at,
                        header=None,
                        header_at=None,
                        body=body,
                        monitor=monitor,
                        azure=None,
                        id_member=name,
                    )
        return None

    def _at_member(self, op: Operation, name: str) -> Monitor | None:
        """The GET at ``…/{name}/status`` or ``…/{name}`` whose body carries a state (a
        member ``id`` must be under the POST's own path)."""
        found = []
        for get in self.gets:
            segments = get.path.rstrip("/").split("/")
            last = segments[-2] if segments[-1] == "status" else segments[-1]
            if not (last.startswith("{") and last.endswith("}")):
                continue
            under = get.path.startswith(op.path.rstrip("/") + "/")
            if last[1:-1] != name or (name == "id" and not under):
                continue
            body, state = self.status(get)
            if state is not None:
                found.append((segments[-1] != "status", get, body, state))
        if not found:
            return None
        _, get, body, state = min(found, key=lambda f: f[0])  # …/status first
        return Monitor(
            get, f"GET {get.path} reports the job named by {name!r}", get.pointer, body, state
        )

    def monitor(
        self,
        op: Operation,
        node: dict[str, Any],
        at: str,
        body: Body | None,
        member_name: str | None,
    ) -> Monitor | None:
        """The status operation of ``op`` whose initiating response is ``node``: a linked
        GET whose body carries a state; else the best of the GETs whose path ends in a
        parameter (or ``/status``) and whose body carries a state, or is the initiating
        body's own schema. A GET scores 4 for the same schema, 3 when its path is under
        the operation's, 2 for a state, 1 for ``/status``, 1 for a word like ``operation``
        or ``job`` in its path, 1 for each leading segment it shares with the operation's
        path (at most 2); the highest wins if it scores 3 or more (the first on a tie).
        For a google.longrunning.Operation (``member_name`` ``name``), the GET whose body is
        an Operation too, a parameter named ``name`` first."""
        for get, link_at in self.linked(node, at):
            if get.method == "get":
                got, state = self.status(get)
                if state is not None or (
                    member_name == "name" and is_google_operation(self.doc, got)
                ):
                    return Monitor(
                        get, f"a link of the response leads to GET {get.path}", link_at, got, state
                    )
        if member_name == "name":
            return self._google_monitor()
        best: tuple[int, Operation] | None = None
        own = op.shape.rstrip("/").split("/")
        for get in self.gets:
            segments = get.shape.rstrip("/").split("/")
            last = segments[-2] if segments[-1] == "status" and len(segments) > 2 else segments[-1]
            if last != "{}":
                continue
            got, state = self.status(get)
            same = body is not None and got is not None and body.at == got.at
            if state is None and not same:
                continue
            shared = 0
            for mine, theirs in zip(own, segments[:-1], strict=False):
                if mine != theirs:
                    break
                shared += 1
            score = (
                4 * same
                + 3 * get.shape.startswith(op.shape.rstrip("/") + "/")
                + 2 * (state is not None)
                + (segments[-1] == "status")
                + any(w in get.path.lower() for w in _WORDS)
                + min(max(shared - 1, 0), 2)  # the empty first segment is shared by all
            )
            if score >= 3 and (best is None or score > best[0]):
                best = (score, get)
        if best is None:
            return None
        get = best[1]
        got, state = self.status(get)
        return Monitor(get, f"GET {get.path} answers the job's status", get.pointer, got, state)

    def _google_monitor(self) -> Monitor | None:
        found = []
        for get in self.gets:
            ok = response(self.doc, get, "200")
            got = json_body(self.doc, *ok) if ok else None
            if is_google_operation(self.doc, got) and get.path.rstrip("/").endswith("}"):
                found.append((not get.path.rstrip("/").endswith("{name}"), get, got))
        if not found:
            return None
        _, get, got = min(found, key=lambda f: f[0])
        return Monitor(get, f"GET {get.path} answers the Operation", get.pointer, got, None)
