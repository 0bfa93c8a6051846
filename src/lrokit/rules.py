"""The rules registry: every requirement lrokit checks, with a stable id, level, basis and citation.

Ids are never reused. The level is the rule's own (BCP 14 words where the source uses them;
RFC 9110's "ought to" counts as SHOULD). The basis says honestly where a rule comes from:
``rfc`` (an RFC obligation), ``contract`` (lrokit's canonical contract, ``openapi.yaml``),
``profile`` (a convention of the async dialects, e.g. Location on a 202, which RFC 9110 does
not define) or ``openapi`` (the OpenAPI Specification). ``docs/rules.md`` and ``lrokit rules``
are generated from this module.

The ``SPEC`` family judges an OpenAPI document (``lrokit lint``), not a running server:
``RUNTIME_RULES`` are the others, the rules ``lrokit check`` judges.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass


class Level(enum.StrEnum):
    """How binding a rule is. A failed MUST fails the run; a failed SHOULD warns."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"


class Basis(enum.StrEnum):
    """Where a rule comes from."""

    RFC = "rfc"
    CONTRACT = "contract"
    PROFILE = "profile"
    OPENAPI = "openapi"


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One checkable requirement, declared with keyword arguments: three adjacent strings
    (text, citation, quote) are too easy to swap by position."""

    id: str
    level: Level
    basis: Basis
    text: str  # the rule in normative words
    citation: str  # source and section
    quote: str  # a short quote of the source

    @property
    def family(self) -> str:
        """The id's prefix: ``ACCEPT``, ``RETRY`` …"""
        return self.id.rsplit("-", 1)[0]


FAMILIES: Mapping[str, str] = {
    "ACCEPT": "Initiation",
    "LOCATION": "Monitor pointer",
    "RETRY": "Retry-After",
    "MONITOR": "Status monitor",
    "LIFECYCLE": "Lifecycle",
    "RESULT": "Result and failure",
    "CANCEL": "Cancellation",
    "PROBLEM": "Problem details",
    "IDEMPOTENCY": "Idempotency",
    "HTTP": "HTTP hygiene",
    "TENANCY": "Tenancy",
    "WAIT": "Held reads",
    "STREAM": "Status stream",
    "WEBHOOK": "Completion webhooks",
    "SPEC": "Specification",
}
LINT_FAMILY = "SPEC"  # judged on the OpenAPI document by ``lrokit lint``

M, S = Level.MUST, Level.SHOULD
RFC, CONTRACT, PROFILE, OPENAPI = Basis.RFC, Basis.CONTRACT, Basis.PROFILE, Basis.OPENAPI

_RULES = (
    # -- initiation ------------------------------------------------------------------------
    Rule(
        id="ACCEPT-1",
        level=M,
        basis=CONTRACT,
        text="A valid submission MUST be answered with the profile's initiation status (202).",
        citation="RFC 9110 §15.3.3",
        quote="The 202 (Accepted) status code indicates that the request has been accepted for "
        "processing, but the processing has not been completed.",
    ),
    Rule(
        id="ACCEPT-2",
        level=S,
        basis=RFC,
        text="The initiating response SHOULD describe the request's current status: a JSON body "
        "carrying the job's state.",
        citation="RFC 9110 §15.3.3",
        quote="The representation sent with this response ought to describe the request's current "
        "status and point to (or embed) a status monitor.",
    ),
    Rule(
        id="ACCEPT-3",
        level=M,
        basis=PROFILE,
        text="A submission that cannot start (malformed or invalid input) MUST be refused "
        "synchronously with a 4xx and MUST NOT create a job.",
        citation="Google AIP-151 Errors; Azure #lro-valid-inputs-synchronously",
        quote="Errors that prevent a long-running operation from starting must return an error "
        "response.",
    ),
    Rule(
        id="ACCEPT-4",
        level=S,
        basis=PROFILE,
        text="The initiating response SHOULD come at once, within the profile's bound (2 s by "
        "default): the work is done later, not while the client waits.",
        citation="RFC 9110 §15.3.3",
        quote="Its purpose is to allow a server to accept a request for some other process ... "
        "without requiring that the user agent's connection to the server persist until the "
        "process is completed.",
    ),
    # -- monitor pointer -------------------------------------------------------------------
    Rule(
        id="LOCATION-1",
        level=M,
        basis=PROFILE,
        text="The initiating response MUST carry the monitor pointer header (Location).",
        citation="RFC 7240 §4.1 example; OData 4.01 §11.6; ARM async API",
        quote="The 202 Accepted response ... MUST include a Location header pointing to a status "
        "monitor resource.",
    ),
    Rule(
        id="LOCATION-2",
        level=M,
        basis=RFC,
        text="The pointer MUST be a single field line with a single URI-reference.",
        citation="RFC 9110 §10.2.2",
        quote="Location = URI-reference ... multiple Location field lines ... is not "
        "interoperable.",
    ),
    Rule(
        id="LOCATION-3",
        level=S,
        basis=PROFILE,
        text="The pointer, resolved against the request URI, SHOULD stay on the request's origin "
        "(same scheme, host and port) and carry no fragment.",
        citation="RFC 9110 §10.2.2; RFC 3986 §5",
        quote="If the Location value is a relative reference, the final value is computed by "
        "resolving it against the target URI.",
    ),
    Rule(
        id="LOCATION-4",
        level=M,
        basis=PROFILE,
        text="The monitor MUST be readable at once: a GET right after the initiating response "
        "answers 200, never 404.",
        citation="Azure #lro-status-monitor-get-returns-200; OData 4.01 §11.6",
        quote="DO support the GET method on the status monitor endpoint that returns a 200-OK.",
    ),
    Rule(
        id="LOCATION-5",
        level=M,
        basis=PROFILE,
        text="Each submission MUST get its own monitor URL.",
        citation="OData 4.01 §11.6",
        quote="The status monitor resource URL MUST differ from any other resource URL.",
    ),
    Rule(
        id="LOCATION-6",
        level=M,
        basis=PROFILE,
        text="Where the monitor answers 202 while the job runs, every such answer MUST carry the "
        "pointer again; the client follows the newest.",
        citation="OData 4.01 §11.6; ARM async API step 4",
        quote="If the asynchronous processing has not finished, the service responds with 202 "
        "Accepted and MUST again include a Location header",
    ),
    # -- Retry-After -----------------------------------------------------------------------
    Rule(
        id="RETRY-1",
        level=M,
        basis=RFC,
        text="A Retry-After field MUST be one value: delay-seconds (1*DIGIT) or an IMF-fixdate.",
        citation="RFC 9110 §10.2.3, §5.6.7",
        quote="Retry-After = HTTP-date / delay-seconds; delay-seconds = 1*DIGIT",
    ),
    Rule(
        id="RETRY-2",
        level=M,
        basis=CONTRACT,
        text="The initiating response and every non-terminal monitor response MUST carry "
        "Retry-After.",
        citation="Azure #lro-status-monitor-retry-after; openapi.yaml",
        quote="DO include a Retry-After header in the response to GET requests to the status "
        "monitor if the operation is not complete.",
    ),
    Rule(
        id="RETRY-3",
        level=M,
        basis=CONTRACT,
        text="A terminal monitor response MUST NOT carry Retry-After: there is nothing left to "
        "wait for.",
        citation="RFC 9110 §10.2.3; openapi.yaml",
        quote="how long the user agent ought to wait before making a follow-up request",
    ),
    Rule(
        id="RETRY-4",
        level=S,
        basis=PROFILE,
        text="Retry-After SHOULD advise a sane wait: within the profile's bounds (0 to 600 s by "
        "default), and an HTTP-date SHOULD NOT lie in the past.",
        citation="ARM async API (10 s to 10 min); JSON:API asynchronous processing",
        quote="Retry-After ... with a minimum of 10 seconds and a maximum of 10 minutes.",
    ),
    Rule(
        id="RETRY-5",
        level=S,
        basis=PROFILE,
        text="Retry-After SHOULD be plausible for the job: a client waiting as advised SHOULD "
        "need no more polls of one job, over the job's observed duration, than the profile's "
        "bound (30 by default).",
        citation="RFC 9110 §10.2.3",
        quote='Servers send the "Retry-After" header field to indicate how long the user agent '
        "ought to wait before making a follow-up request.",
    ),
    # -- status monitor --------------------------------------------------------------------
    Rule(
        id="MONITOR-1",
        level=M,
        basis=PROFILE,
        text="A GET of the monitor MUST answer 200 while the job exists, whatever its outcome: a "
        "failed job is a successful read of a failed state.",
        citation="ARM async API; Azure #lro-status-monitor-get-returns-200",
        quote="If the response status code is a 4xx or 5xx value, it indicates a failure in "
        "reading the status but not in the underlying operation.",
    ),
    Rule(
        id="MONITOR-2",
        level=M,
        basis=CONTRACT,
        text="Monitor bodies MUST be JSON objects that validate against the status schema.",
        citation="openapi.yaml ReportStatus; Azure #lro-status-monitor-structure",
        quote="The status monitor resource ... MUST include id and status.",
    ),
    Rule(
        id="MONITOR-3",
        level=M,
        basis=PROFILE,
        text="The state field MUST hold one of the profile's documented states.",
        citation="Azure Considerations step 4; Google AIP-216",
        quote="should be represented as one of a fixed set of string values in a field named "
        "status",
    ),
    Rule(
        id="MONITOR-4",
        level=M,
        basis=PROFILE,
        text="The job's id MUST be stable across polls and MUST equal the id in the monitor URL "
        "(its last path segment, unless the profile places it elsewhere).",
        citation="Azure #lro-status-monitor-includes-all-fields; ARM operation resource",
        quote="id ... should match what is used to GET the operation resource",
    ),
    # -- lifecycle -------------------------------------------------------------------------
    Rule(
        id="LIFECYCLE-1",
        level=M,
        basis=PROFILE,
        text="Observed states MUST follow the profile's transitions: a state never moves back.",
        citation="Google AIP-216; OGC 18-062r2 statusCode",
        quote="accepted → running → successful | failed | dismissed",
    ),
    Rule(
        id="LIFECYCLE-2",
        level=M,
        basis=PROFILE,
        text="Terminal states MUST be absorbing: later polls show the same state, error and "
        "finish time.",
        citation="Google operations.proto `done`; Azure Considerations step 5",
        quote="If true, the operation is completed, and either error or response is available.",
    ),
    Rule(
        id="LIFECYCLE-3",
        level=M,
        basis=CONTRACT,
        text="progress, when present, MUST be an integer within 0..100 that never decreases.",
        citation="openapi.yaml ReportStatus.progress; OGC statusInfo.progress",
        quote="progress: integer, minimum 0, maximum 100",
    ),
    Rule(
        id="LIFECYCLE-4",
        level=S,
        basis=PROFILE,
        text="Timestamps SHOULD be ordered created ≤ started ≤ finished, with finished present "
        "only once terminal.",
        citation="OGC 18-062r2 /rec/core/job-status; Microsoft REST guidelines §13.2.5",
        quote="finished: SHOULD be set when the job is finished",
    ),
    Rule(
        id="LIFECYCLE-5",
        level=M,
        basis=CONTRACT,
        text="A job MUST reach a terminal state within the run's wait budget (--max-wait).",
        citation="RFC 9110 §15.3.3; openapi.yaml",
        quote="The 202 response is intentionally noncommittal.",
    ),
    Rule(
        id="LIFECYCLE-6",
        level=S,
        basis=PROFILE,
        text="A job SHOULD end about when the server estimated: no read SHOULD find it still "
        "running once twice its estimate (at least 2 s) has passed since the estimate.",
        citation="openapi.yaml ReportStatus.estimatedTimeRemaining (a profile names its own field)",
        quote="Seconds until the report is expected to be DONE; only while PROCESSING.",
    ),
    # -- result ----------------------------------------------------------------------------
    Rule(
        id="RESULT-1",
        level=M,
        basis=CONTRACT,
        text="Once done, the job MUST link its result, and the link MUST resolve to a 2xx with a "
        "non-empty body.",
        citation="OGC /rec/core/job-links; Microsoft REST guidelines §13.2.5",
        quote="the service MUST include the target resource location in the status upon operation "
        "completion",
    ),
    Rule(
        id="RESULT-2",
        level=M,
        basis=PROFILE,
        text="A failed job MUST expose a structured error (type, title, and a code) and no result.",
        citation="Azure #lro-status-monitor-structure; Google operations.proto oneof result",
        quote="If done == true, exactly one of error or response is set.",
    ),
    Rule(
        id="RESULT-3",
        level=S,
        basis=CONTRACT,
        text="Asking for the result of a job that is not done SHOULD be refused with a 4xx "
        "problem, never an empty 200.",
        citation="OGC /req/core/job-results-exception/result-not-ready",
        quote="If the job is not finished, the response SHALL have HTTP status code 404 ... "
        "result-not-ready",
    ),
    Rule(
        id="RESULT-4",
        level=M,
        basis=CONTRACT,
        text="A result MUST be in a media type its request accepted (the profile's result media "
        "types, which the request lists in Accept) or be refused with 406: RFC 9110 lets a "
        "server disregard Accept, the contract does not.",
        citation="RFC 9110 §12.5.1; openapi.yaml downloadReport",
        quote="the origin server can either honor the header field by sending a 406 (Not "
        "Acceptable) response or disregard the header field",
    ),
    # -- cancel ----------------------------------------------------------------------------
    Rule(
        id="CANCEL-1",
        level=M,
        basis=CONTRACT,
        text="Cancelling a job that is not terminal MUST be accepted (200 or 202) and the job "
        "MUST end CANCELLED within the wait budget.",
        citation="RFC 9110 §9.3.5; OData 4.01 §11.6",
        quote="A 202 (Accepted) status code if the action will likely succeed but has not yet "
        "been enacted",
    ),
    Rule(
        id="CANCEL-2",
        level=S,
        basis=CONTRACT,
        text="Cancelling a cancelled job again SHOULD be harmless: a 2xx that changes nothing.",
        citation="RFC 9110 §9.2.2",
        quote="the intended effect on the server of multiple identical requests ... is the same",
    ),
    Rule(
        id="CANCEL-3",
        level=S,
        basis=CONTRACT,
        text="Cancelling a finished job SHOULD be refused with 409 and MUST NOT change its state.",
        citation="RFC 9110 §15.5.10",
        quote="The 409 (Conflict) status code indicates that the request could not be completed "
        "due to a conflict with the current state of the target resource.",
    ),
    # -- problem details -------------------------------------------------------------------
    Rule(
        id="PROBLEM-1",
        level=M,
        basis=CONTRACT,
        text="Every 4xx and 5xx response MUST be application/problem+json.",
        citation="RFC 9457 §3; openapi.yaml",
        quote="application/problem+json",
    ),
    Rule(
        id="PROBLEM-2",
        level=M,
        basis=RFC,
        text="Problem members MUST have their types: type and instance strings (URI-references), "
        "title and detail strings, status an integer.",
        citation="RFC 9457 §3.1",
        quote='The "status" member is a JSON number ... The "title" member is a JSON string.',
    ),
    Rule(
        id="PROBLEM-3",
        level=M,
        basis=RFC,
        text="A problem's status member MUST equal the response's HTTP status code.",
        citation="RFC 9457 §3.1.2",
        quote="Generators MUST use the same status code in the actual HTTP response.",
    ),
    Rule(
        id="PROBLEM-4",
        level=M,
        basis=PROFILE,
        text="A monitor for an unknown job id MUST answer 404.",
        citation="OGC /req/core/job-exception-no-such-job",
        quote="If the job does not exist, the response SHALL have HTTP status code 404.",
    ),
    Rule(
        id="PROBLEM-5",
        level=M,
        basis=RFC,
        text="A submission whose body is not well-formed in its media type (JSON that does not "
        "parse, a multipart body cut short) MUST be answered 400.",
        citation="RFC 9110 §15.5.1",
        quote="the server cannot or will not process the request due to ... malformed request "
        "syntax",
    ),
    Rule(
        id="PROBLEM-6",
        level=M,
        basis=RFC,
        text="A method the resource does not support MUST be answered 405 with an Allow field "
        "listing the methods it does support.",
        citation="RFC 9110 §15.5.6",
        quote="The origin server MUST generate an Allow header field in a 405 response containing "
        "a list of the target resource's currently supported methods.",
    ),
    Rule(
        id="PROBLEM-7",
        level=S,
        basis=RFC,
        text="A submission in a media type the server does not accept SHOULD be answered 415.",
        citation="RFC 9110 §15.5.16",
        quote="The 415 (Unsupported Media Type) status code indicates that the origin server is "
        "refusing to service the request because the content is in a format not supported",
    ),
    Rule(
        id="PROBLEM-8",
        level=S,
        basis=CONTRACT,
        text="A monitor request whose Accept admits no available media type SHOULD be answered "
        "406 (RFC 9110 lets a server disregard Accept; the contract answers 406).",
        citation="RFC 9110 §15.5.7, §12.5.1",
        quote="the target resource does not have a current representation that would be "
        "acceptable to the user agent",
    ),
    Rule(
        id="PROBLEM-9",
        level=S,
        basis=RFC,
        text="Error bodies SHOULD NOT expose implementation internals such as stack traces.",
        citation="RFC 9457 §5",
        quote="they ought not to expose implementation details such as stack dumps",
    ),
    # -- idempotency -----------------------------------------------------------------------
    Rule(
        id="IDEMPOTENCY-1",
        level=S,
        basis=PROFILE,
        text="Repeating a submission with the same Idempotency-Key and body SHOULD answer with "
        "the same job and monitor, and create no second job.",
        citation="draft-ietf-httpapi-idempotency-key-header §2.6",
        quote="the resource server SHOULD respond with the result of the previously completed "
        "operation",
    ),
    Rule(
        id="IDEMPOTENCY-2",
        level=S,
        basis=PROFILE,
        text="Reusing an Idempotency-Key with a different body SHOULD be refused with a 4xx "
        "problem (422).",
        citation="draft-ietf-httpapi-idempotency-key-header §2.7",
        quote="If there is an attempt to reuse an idempotency key with a different request "
        "payload, the resource server SHOULD reply with a HTTP 422 status code",
    ),
    Rule(
        id="IDEMPOTENCY-3",
        level=S,
        basis=PROFILE,
        text="Concurrent submissions with one Idempotency-Key SHOULD create exactly one job.",
        citation="draft-ietf-httpapi-idempotency-key-header §2.6",
        quote="the resource server SHOULD reply with an HTTP 409 status code ... if the request "
        "is still being processed",
    ),
    # -- HTTP hygiene ----------------------------------------------------------------------
    Rule(
        id="HTTP-1",
        level=S,
        basis=RFC,
        text="Monitor responses SHOULD forbid stale caching: Cache-Control no-store, no-cache, or "
        "a max-age not beyond the advised Retry-After.",
        citation="RFC 9110 §15.3.1; RFC 9111 §4.2.2",
        quote="A 200 response is heuristically cacheable",
    ),
    Rule(
        id="HTTP-2",
        level=M,
        basis=RFC,
        text="A response to HEAD on the monitor MUST NOT carry content: nothing follows its "
        "header section.",
        citation="RFC 9110 §9.3.2",
        quote="The HEAD method is identical to GET except that the server MUST NOT send content "
        "in the response.",
    ),
    Rule(
        id="HTTP-3",
        level=M,
        basis=RFC,
        text="A server whose responses vary with Prefer MUST list Prefer in Vary.",
        citation="RFC 7240 §2",
        quote="a Vary header field MUST be included in the response listing the Prefer header "
        "field regardless of whether the client actually used Prefer in the request",
    ),
    Rule(
        id="HTTP-4",
        level=M,
        basis=RFC,
        text="Unknown preferences in Prefer MUST be ignored, not refused.",
        citation="RFC 7240 §2",
        quote="A server that does not recognize or is unable to comply with particular preference "
        "tokens ... MUST ignore those tokens and continue processing instead of signaling an "
        "error.",
    ),
    Rule(
        id="HTTP-5",
        level=M,
        basis=RFC,
        text="2xx, 3xx and 4xx responses MUST carry a Date field (needed to read an HTTP-date "
        "Retry-After).",
        citation="RFC 9110 §6.6.1",
        quote="An origin server with a clock ... MUST generate a Date header field in all 2xx "
        "(Successful), 3xx (Redirection), and 4xx (Client Error) responses",
    ),
    Rule(
        id="HTTP-6",
        level=S,
        basis=RFC,
        text="A response to HEAD on the monitor SHOULD have the status and header fields a GET "
        "gets (compared: the status, Content-Type and Cache-Control).",
        citation="RFC 9110 §9.3.2",
        quote="The server SHOULD send the same header fields in response to a HEAD request as it "
        "would have sent if the request method had been GET.",
    ),
    Rule(
        id="HTTP-7",
        level=M,
        basis=RFC,
        text="A response's Content-Type MUST be its content's media type: content labelled JSON "
        "(application/json, +json) MUST parse as JSON, and JSON MUST NOT be labelled HTML or "
        "XML.",
        citation="RFC 9110 §8.3",
        quote='The "Content-Type" header field indicates the media type of the associated '
        "representation",
    ),
    # -- tenancy (with a second principal: --other-header) -----------------------------------
    Rule(
        id="TENANCY-1",
        level=M,
        basis=CONTRACT,
        text="Another principal MUST NOT read a job's status monitor: its GET is refused with a "
        "4xx, never answered with the job.",
        citation="OWASP API Security Top 10 2023 API1; openapi.yaml",
        quote="Every API endpoint that receives an ID of an object, and performs any action on "
        "the object, should implement object-level authorization checks.",
    ),
    Rule(
        id="TENANCY-2",
        level=M,
        basis=CONTRACT,
        text="Another principal MUST NOT download a done job's result: its GET of the result is "
        "refused with a 4xx.",
        citation="OWASP API Security Top 10 2023 API1; openapi.yaml",
        quote="Unauthorized access to other users' objects can result in data disclosure to "
        "unauthorized parties",
    ),
    Rule(
        id="TENANCY-3",
        level=M,
        basis=CONTRACT,
        text="Another principal MUST NOT cancel a job: its cancel is refused with a 4xx and the "
        "job goes on, not cancelled.",
        citation="OWASP API Security Top 10 2023 API1; openapi.yaml",
        quote="The checks should validate that the logged-in user has permissions to perform "
        "the requested action on the requested object.",
    ),
    Rule(
        id="TENANCY-4",
        level=M,
        basis=CONTRACT,
        text="A listing of jobs MUST NOT show another principal a job that is not its own.",
        citation="OWASP API Security Top 10 2023 API1; openapi.yaml listReports",
        quote="Using another API endpoint, the attacker can get the list of all hosted shop names.",
    ),
    Rule(
        id="TENANCY-5",
        level=S,
        basis=CONTRACT,
        text="Another principal's read of a job's monitor SHOULD get the answer an id nobody "
        "created gets (the same status, and the same problem type), so that the job's existence "
        "is not disclosed.",
        citation="RFC 9110 §15.5.4, §15.5.5; openapi.yaml",
        quote='An origin server that wishes to "hide" the current existence of a forbidden '
        "target resource MAY instead respond with a status code of 404 (Not Found).",
    ),
    Rule(
        id="TENANCY-6",
        level=M,
        basis=RFC,
        text="A request without credentials (a submission, a read of a job's monitor) MUST be "
        "answered 401 with a WWW-Authenticate challenge, never served.",
        citation="RFC 9110 §15.5.2, §11.6.1; RFC 6750 §3",
        quote="The server generating a 401 response MUST send a WWW-Authenticate header field "
        "containing at least one challenge applicable to the target resource.",
    ),
    # -- held reads (Prefer: wait on the monitor) --------------------------------------------
    Rule(
        id="WAIT-1",
        level=M,
        basis=CONTRACT,
        text="A read of the monitor with Prefer: wait=N MUST be answered within N seconds (and "
        "1 s, or the slowest plain read of the monitor, for the network): a hold never outlasts "
        "what the client asked for.",
        citation="RFC 7240 §4.3; openapi.yaml getReport",
        quote='The "wait" preference can be used to establish an upper bound on the length of '
        "time, in seconds, the client expects it will take the server to process the request "
        "once it has been received.",
    ),
    Rule(
        id="WAIT-2",
        level=S,
        basis=CONTRACT,
        text="A held read SHOULD be answered as soon as the job's state changes (within 1 s, or "
        "the slowest plain read, of a plain read seeing the change), not when the wait runs out.",
        citation="openapi.yaml getReport",
        quote="the answer comes as soon as its status changes, or when the time is up",
    ),
    Rule(
        id="WAIT-3",
        level=M,
        basis=CONTRACT,
        text="A read with Prefer: wait=N of a job that is not terminal MUST be held and say so: "
        "Preference-Applied: wait=M, M the seconds allowed (at most N). RFC 7240 lets a server "
        "ignore a preference and leaves Preference-Applied optional; the contract does not.",
        citation="RFC 7240 §3; openapi.yaml getReport",
        quote="The Preference-Applied response header MAY be included within a response message "
        "as an indication as to which Prefer tokens were honored by the server and applied to "
        "the processing of a request.",
    ),
    Rule(
        id="WAIT-4",
        level=S,
        basis=CONTRACT,
        text="A read with Prefer: wait of a job that is already terminal SHOULD be answered at "
        "once (within 1 s, or the slowest plain read): there is nothing left to wait for.",
        citation="openapi.yaml getReport",
        quote="A terminal report is answered at once.",
    ),
    # -- the status stream (Server-Sent Events on the monitor) ------------------------------
    Rule(
        id="STREAM-1",
        level=M,
        basis=CONTRACT,
        text="A read of the monitor with Accept: text/event-stream MUST be answered 200 "
        "text/event-stream, an event stream whose status events each carry, as data, a JSON "
        "status document that reports the job's state; at least one.",
        citation="WHATWG HTML §9.2.5; openapi.yaml getReport",
        quote="This event stream format's MIME type is text/event-stream.",
    ),
    Rule(
        id="STREAM-2",
        level=M,
        basis=CONTRACT,
        text="The states a status stream sends MUST follow the profile's transitions, progress "
        "never decreasing, and end with the terminal state a plain read then finds; the server "
        "MUST then end the stream.",
        citation="openapi.yaml getReport",
        quote="an event `status` whose `data` is the status document, at once and on every "
        "change of state or progress; ... the stream ends after the terminal event.",
    ),
    Rule(
        id="STREAM-3",
        level=S,
        basis=CONTRACT,
        text="Every event of a status stream SHOULD carry an id of its own, and a read of the "
        "stream with Last-Event-ID set to the last id received SHOULD NOT be sent that "
        "snapshot again.",
        citation="WHATWG HTML §9.2.4; openapi.yaml getReport",
        quote="each event's `id` names the snapshot it carries (state, progress, cancel "
        "requested), so a client reconnecting with `Last-Event-ID` is not sent again what it "
        "has",
    ),
    # -- completion webhooks (with --callbacks: a receiver of the run's own) -----------------
    Rule(
        id="WEBHOOK-1",
        level=M,
        basis=CONTRACT,
        text="A submission that names a callback URL MUST get a delivery there once its job is "
        "over: a POST reaches that URL within the wait budget after the job's terminal state "
        "is polled.",
        citation="OpenAPI 3.0.3 §4.7.18; openapi.yaml createReport callbacks",
        quote="A map of possible out-of band callbacks related to the parent operation. Each "
        "value in the map is a Path Item Object that describes a set of requests that may be "
        "initiated by the API provider and the expected responses.",
    ),
    Rule(
        id="WEBHOOK-2",
        level=M,
        basis=CONTRACT,
        text="Every delivery MUST carry webhook-id, webhook-timestamp and a webhook-signature "
        "with a v1 signature that verifies under the server's secret (--webhook-secret): the "
        "base64 HMAC-SHA256 of id.timestamp.body.",
        citation="Standard Webhooks 1.0.0 §Signature scheme, §Webhook headers",
        quote="The content to be signed is therefore: `{msg_id}.{timestamp}.{payload}`.",
    ),
    Rule(
        id="WEBHOOK-3",
        level=M,
        basis=CONTRACT,
        text="A delivery's webhook-timestamp MUST be the time of its attempt: Unix seconds "
        "within 5 minutes of the receiver's clock when it arrives, the tolerance a receiver "
        "holds it to against replays.",
        citation="Standard Webhooks 1.0.0 §Webhook metadata, §Verifying signatures",
        quote="Make sure to verify the `webhook-timestamp` header has a timestamp that is "
        "within some allowable tolerance of the current timestamp to prevent replay attacks.",
    ),
    Rule(
        id="WEBHOOK-4",
        level=M,
        basis=CONTRACT,
        text="A delivery's body MUST be its job's status document: JSON (valid against the "
        "contract's status schema where one is known) with the job's id, and, where it reports "
        "the job over, the terminal state its monitor reports.",
        citation="openapi.yaml createReport callbacks (CallbackUrl); Standard Webhooks 1.0.0 "
        "§Payload structure",
        quote="Where the server POSTs the report's status document when the report ends",
    ),
    Rule(
        id="WEBHOOK-5",
        level=M,
        basis=CONTRACT,
        text="A delivery the receiver failed (500) MUST be sent again, not at once (0.1 s later "
        "at least) and within the wait budget, with the same webhook-id and the same body.",
        citation="Standard Webhooks 1.0.0 §Webhook metadata, §Deliverability and reliability; "
        "openapi.yaml createReport callbacks",
        quote="The unique identifier is a unique identifier associated with a specific event "
        "triggered, and it remains the same no matter how many times a webhook that has failed "
        "is retried.",
    ),
    Rule(
        id="WEBHOOK-6",
        level=S,
        basis=RFC,
        text="After the receiver answers 503 with Retry-After: 1, the next attempt at the "
        "delivery SHOULD NOT come before that second has passed.",
        citation="RFC 9110 §10.2.3; Standard Webhooks 1.0.0 §Delivery success and failure",
        quote='Servers send the "Retry-After" header field to indicate how long the user agent '
        "ought to wait before making a follow-up request.",
    ),
    Rule(
        id="WEBHOOK-7",
        level=M,
        basis=CONTRACT,
        text="After the receiver answers 410 Gone, the server MUST NOT deliver to that URL "
        "again: nothing arrives there within the observation window (three times the "
        "redelivery gap seen, 1 to 10 s).",
        citation="RFC 9110 §15.5.11; Standard Webhooks 1.0.0 §Delivery success and failure; "
        "openapi.yaml createReport callbacks",
        quote="410 Gone: This is an indication by the server that it's no longer interested in "
        "receiving webhooks from this source. Sender should disable the webhook endpoint, and "
        "stop sending it messages.",
    ),
    Rule(
        id="WEBHOOK-8",
        level=M,
        basis=CONTRACT,
        text="The server MUST deliver only to the URL a submission gave, and only that job's "
        "events: every request the receiver gets is at a URL the run handed out, carrying the "
        "job it was handed out for.",
        citation="OpenAPI 3.0.3 §4.7.18; openapi.yaml createReport callbacks",
        quote="The key that identifies the Path Item Object is a runtime expression that can be "
        "evaluated in the context of a runtime HTTP request/response to identify the URL to be "
        "used for the callback request.",
    ),
    # -- specification (lrokit lint) -------------------------------------------------------
    Rule(
        id="SPEC-1",
        level=M,
        basis=OPENAPI,
        text="The document MUST be a valid OpenAPI 3.0 or 3.1 description.",
        citation="OpenAPI 3.0.3 §4.7.1; OpenAPI 3.1.0 §4.8.1",
        quote="This is the root object of the OpenAPI document.",
    ),
    Rule(
        id="SPEC-2",
        level=M,
        basis=PROFILE,
        text="Every 202 response MUST declare the monitor pointer header (Location, or the "
        "profile's).",
        citation="RFC 9110 §15.3.3; OpenAPI 3.0.3 §4.7.17",
        quote="The representation sent with this response ought to describe the request's current "
        "status and point to (or embed) a status monitor.",
    ),
    Rule(
        id="SPEC-3",
        level=M,
        basis=CONTRACT,
        text="Every 202 response MUST declare the Retry-After header.",
        citation="RFC 9110 §10.2.3; openapi.yaml",
        quote="Servers send the Retry-After header field to indicate how long the user agent "
        "ought to wait before making a follow-up request.",
    ),
    Rule(
        id="SPEC-4",
        level=M,
        basis=RFC,
        text="A Retry-After header's schema MUST admit both forms: delay-seconds (an integer) and "
        "an HTTP-date (a string).",
        citation="RFC 9110 §10.2.3; OpenAPI 3.0.3 §4.7.21",
        quote="Retry-After = HTTP-date / delay-seconds",
    ),
    Rule(
        id="SPEC-5",
        level=M,
        basis=PROFILE,
        text="The status schema (the 202 body or the linked status operation's 200 body) MUST "
        "have the profile's state property, with an enum listing every terminal state.",
        citation="Azure Considerations step 4; Google AIP-216; OpenAPI 3.0.3 §4.7.24",
        quote="should be represented as one of a fixed set of string values in a field named "
        "status",
    ),
    Rule(
        id="SPEC-6",
        level=M,
        basis=CONTRACT,
        text="Every 4xx, 5xx and default response MUST declare application/problem+json content.",
        citation="RFC 9457 §3; openapi.yaml",
        quote="application/problem+json",
    ),
    Rule(
        id="SPEC-7",
        level=S,
        basis=RFC,
        text="A problem schema SHOULD declare the members type, title, status, detail and "
        "instance.",
        citation="RFC 9457 §3.1",
        quote="A problem details object can have the following members",
    ),
    Rule(
        id="SPEC-8",
        level=S,
        basis=OPENAPI,
        text="A submission's 202 response SHOULD declare an OpenAPI link to the status operation "
        "(a GET whose 200 body carries the state).",
        citation="OpenAPI 3.0.3 §4.7.20",
        quote="The Link object represents a possible design-time link for a response.",
    ),
    Rule(
        id="SPEC-9",
        level=S,
        basis=CONTRACT,
        text="The result operation SHOULD be described: a GET linked from the 202 or the status "
        "response, or at the profile's result path.",
        citation="OGC /rec/core/job-links; Microsoft REST guidelines §13.2.5",
        quote="the service MUST include the target resource location in the status upon operation "
        "completion",
    ),
    Rule(
        id="SPEC-10",
        level=S,
        basis=CONTRACT,
        text="Where the profile can cancel, the cancel operation SHOULD be described: the "
        "profile's cancel method on the monitor (or its cancel path), or a link to it.",
        citation="RFC 9110 §9.3.5; OData 4.01 §11.6",
        quote="The DELETE method requests that the origin server remove the association between "
        "the target resource and its current functionality.",
    ),
    Rule(
        id="SPEC-11",
        level=M,
        basis=PROFILE,
        text="The document MUST describe at least one long-running operation: a 202 or 201 "
        "response that declares the monitor pointer header or links its status operation, an "
        "operation flagged x-ms-long-running-operation, or an answer naming a job whose status "
        "a GET reports.",
        citation="RFC 9110 §15.3.3; OpenAPI 3.0.3 §4.7.20; AutoRest x-ms-long-running-operation",
        quote="The 202 (Accepted) status code indicates that the request has been accepted for "
        "processing, but the processing has not been completed.",
    ),
)

RULES: Mapping[str, Rule] = {rule.id: rule for rule in _RULES}
assert len(RULES) == len(_RULES), "duplicate rule id"
RUNTIME_RULES: Mapping[str, Rule] = {rule.id: rule for rule in _RULES if rule.family != LINT_FAMILY}


def by_family() -> Iterator[tuple[str, list[Rule]]]:
    """Rules grouped by family, in registry order."""
    for family, title in FAMILIES.items():
        yield title, [rule for rule in _RULES if rule.family == family]


def render_markdown() -> str:
    """``docs/rules.md``: the registry as a document."""
    lines = [
        "# Conformance rules",
        "",
        "Generated from `src/lrokit/rules.py` (`lrokit rules --markdown > docs/rules.md`); do "
        "not edit by hand. Levels: a failed MUST fails a run; a failed SHOULD warns (fails "
        "with `--strict`). Basis: `rfc` is an RFC obligation, `contract` lrokit's canonical "
        "contract, `profile` a convention of the asynchronous dialects, `openapi` the OpenAPI "
        "Specification. The Specification rules are judged on the OpenAPI document by "
        "`lrokit lint`, the others on a running server by `lrokit check`.",
        "",
    ]
    for title, rules in by_family():
        lines += [
            f"## {title}",
            "",
            "| id | level | basis | rule | source |",
            "|---|---|---|---|---|",
        ]
        for rule in rules:
            lines.append(
                f"| {rule.id} | {rule.level} | {rule.basis} | {rule.text} | "
                f"{rule.citation}: “{rule.quote}” |"
            )
        lines.append("")
    return "\n".join(lines)
