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


@dataclass(frozen=True)
class Rule:
    """One checkable requirement."""

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
    "SPEC": "Specification",
}
LINT_FAMILY = "SPEC"  # judged on the OpenAPI document by ``lrokit lint``

M, S = Level.MUST, Level.SHOULD
RFC, CONTRACT, PROFILE, OPENAPI = Basis.RFC, Basis.CONTRACT, Basis.PROFILE, Basis.OPENAPI

_RULES = (
    # -- initiation ------------------------------------------------------------------------
    Rule(
        "ACCEPT-1",
        M,
        CONTRACT,
        "A valid submission MUST be answered with the profile's initiation status (202).",
        "RFC 9110 §15.3.3",
        "The 202 (Accepted) status code indicates that the request has been accepted for "
        "processing, but the processing has not been completed.",
    ),
    Rule(
        "ACCEPT-2",
        S,
        RFC,
        "The initiating response SHOULD describe the request's current status: a JSON body "
        "carrying the job's state.",
        "RFC 9110 §15.3.3",
        "The representation sent with this response ought to describe the request's current "
        "status and point to (or embed) a status monitor.",
    ),
    Rule(
        "ACCEPT-3",
        M,
        PROFILE,
        "A submission that cannot start (malformed or invalid input) MUST be refused "
        "synchronously with a 4xx and MUST NOT create a job.",
        "Google AIP-151 Errors; Azure #lro-valid-inputs-synchronously",
        "Errors that prevent a long-running operation from starting must return an error response.",
    ),
    # -- monitor pointer -------------------------------------------------------------------
    Rule(
        "LOCATION-1",
        M,
        PROFILE,
        "The initiating response MUST carry the monitor pointer header (Location).",
        "RFC 7240 §4.1 example; OData 4.01 §11.6; ARM async API",
        "The 202 Accepted response ... MUST include a Location header pointing to a status "
        "monitor resource.",
    ),
    Rule(
        "LOCATION-2",
        M,
        RFC,
        "The pointer MUST be a single field line with a single URI-reference.",
        "RFC 9110 §10.2.2",
        "Location = URI-reference ... multiple Location field lines ... is not interoperable.",
    ),
    Rule(
        "LOCATION-3",
        S,
        PROFILE,
        "The pointer, resolved against the request URI, SHOULD stay on the request's origin "
        "(same scheme, host and port) and carry no fragment.",
        "RFC 9110 §10.2.2; RFC 3986 §5",
        "If the Location value is a relative reference, the final value is computed by "
        "resolving it against the target URI.",
    ),
    Rule(
        "LOCATION-4",
        M,
        PROFILE,
        "The monitor MUST be readable at once: a GET right after the initiating response "
        "answers 200, never 404.",
        "Azure #lro-status-monitor-get-returns-200; OData 4.01 §11.6",
        "DO support the GET method on the status monitor endpoint that returns a 200-OK.",
    ),
    Rule(
        "LOCATION-5",
        M,
        PROFILE,
        "Each submission MUST get its own monitor URL.",
        "OData 4.01 §11.6",
        "The status monitor resource URL MUST differ from any other resource URL.",
    ),
    Rule(
        "LOCATION-6",
        M,
        PROFILE,
        "Where the monitor answers 202 while the job runs, every such answer MUST carry the "
        "pointer again; the client follows the newest.",
        "OData 4.01 §11.6; ARM async API step 4",
        "If the asynchronous processing has not finished, the service responds with 202 "
        "Accepted and MUST again include a Location header",
    ),
    # -- Retry-After -----------------------------------------------------------------------
    Rule(
        "RETRY-1",
        M,
        RFC,
        "A Retry-After field MUST be one value: delay-seconds (1*DIGIT) or an IMF-fixdate.",
        "RFC 9110 §10.2.3, §5.6.7",
        "Retry-After = HTTP-date / delay-seconds; delay-seconds = 1*DIGIT",
    ),
    Rule(
        "RETRY-2",
        M,
        CONTRACT,
        "The initiating response and every non-terminal monitor response MUST carry Retry-After.",
        "Azure #lro-status-monitor-retry-after; openapi.yaml",
        "DO include a Retry-After header in the response to GET requests to the status "
        "monitor if the operation is not complete.",
    ),
    Rule(
        "RETRY-3",
        M,
        CONTRACT,
        "A terminal monitor response MUST NOT carry Retry-After: there is nothing left to "
        "wait for.",
        "RFC 9110 §10.2.3; openapi.yaml",
        "how long the user agent ought to wait before making a follow-up request",
    ),
    Rule(
        "RETRY-4",
        S,
        PROFILE,
        "Retry-After SHOULD advise a sane wait: within the profile's bounds (0 to 600 s by "
        "default), and an HTTP-date SHOULD NOT lie in the past.",
        "ARM async API (10 s to 10 min); JSON:API asynchronous processing",
        "Retry-After ... with a minimum of 10 seconds and a maximum of 10 minutes.",
    ),
    # -- status monitor --------------------------------------------------------------------
    Rule(
        "MONITOR-1",
        M,
        PROFILE,
        "A GET of the monitor MUST answer 200 while the job exists, whatever its outcome: "
        "a failed job is a successful read of a failed state.",
        "ARM async API; Azure #lro-status-monitor-get-returns-200",
        "If the response status code is a 4xx or 5xx value, it indicates a failure in "
        "reading the status but not in the underlying operation.",
    ),
    Rule(
        "MONITOR-2",
        M,
        CONTRACT,
        "Monitor bodies MUST be JSON objects that validate against the status schema.",
        "openapi.yaml ReportStatus; Azure #lro-status-monitor-structure",
        "The status monitor resource ... MUST include id and status.",
    ),
    Rule(
        "MONITOR-3",
        M,
        PROFILE,
        "The state field MUST hold one of the profile's documented states.",
        "Azure Considerations step 4; Google AIP-216",
        "should be represented as one of a fixed set of string values in a field named status",
    ),
    Rule(
        "MONITOR-4",
        M,
        PROFILE,
        "The job's id MUST be stable across polls and MUST equal the id in the monitor URL "
        "(its last path segment, unless the profile places it elsewhere).",
        "Azure #lro-status-monitor-includes-all-fields; ARM operation resource",
        "id ... should match what is used to GET the operation resource",
    ),
    # -- lifecycle -------------------------------------------------------------------------
    Rule(
        "LIFECYCLE-1",
        M,
        PROFILE,
        "Observed states MUST follow the profile's transitions: a state never moves back.",
        "Google AIP-216; OGC 18-062r2 statusCode",
        "accepted → running → successful | failed | dismissed",
    ),
    Rule(
        "LIFECYCLE-2",
        M,
        PROFILE,
        "Terminal states MUST be absorbing: later polls show the same state, error and "
        "finish time.",
        "Google operations.proto `done`; Azure Considerations step 5",
        "If true, the operation is completed, and either error or response is available.",
    ),
    Rule(
        "LIFECYCLE-3",
        M,
        CONTRACT,
        "progress, when present, MUST be an integer within 0..100 that never decreases.",
        "openapi.yaml ReportStatus.progress; OGC statusInfo.progress",
        "progress: integer, minimum 0, maximum 100",
    ),
    Rule(
        "LIFECYCLE-4",
        S,
        PROFILE,
        "Timestamps SHOULD be ordered created ≤ started ≤ finished, with finished present "
        "only once terminal.",
        "OGC 18-062r2 /rec/core/job-status; Microsoft REST guidelines §13.2.5",
        "finished: SHOULD be set when the job is finished",
    ),
    Rule(
        "LIFECYCLE-5",
        M,
        CONTRACT,
        "A job MUST reach a terminal state within the run's wait budget (--max-wait).",
        "RFC 9110 §15.3.3; openapi.yaml",
        "The 202 response is intentionally noncommittal.",
    ),
    # -- result ----------------------------------------------------------------------------
    Rule(
        "RESULT-1",
        M,
        CONTRACT,
        "Once done, the job MUST link its result, and the link MUST resolve to a 2xx with a "
        "non-empty body.",
        "OGC /rec/core/job-links; Microsoft REST guidelines §13.2.5",
        "the service MUST include the target resource location in the status upon "
        "operation completion",
    ),
    Rule(
        "RESULT-2",
        M,
        PROFILE,
        "A failed job MUST expose a structured error (type, title, and a code) and no result.",
        "Azure #lro-status-monitor-structure; Google operations.proto oneof result",
        "If done == true, exactly one of error or response is set.",
    ),
    Rule(
        "RESULT-3",
        S,
        CONTRACT,
        "Asking for the result of a job that is not done SHOULD be refused with a 4xx "
        "problem, never an empty 200.",
        "OGC /req/core/job-results-exception/result-not-ready",
        "If the job is not finished, the response SHALL have HTTP status code 404 ... "
        "result-not-ready",
    ),
    # -- cancel ----------------------------------------------------------------------------
    Rule(
        "CANCEL-1",
        M,
        CONTRACT,
        "Cancelling a job that is not terminal MUST be accepted (200 or 202) and the job "
        "MUST end CANCELLED within the wait budget.",
        "RFC 9110 §9.3.5; OData 4.01 §11.6",
        "A 202 (Accepted) status code if the action will likely succeed but has not yet been "
        "enacted",
    ),
    Rule(
        "CANCEL-2",
        S,
        CONTRACT,
        "Cancelling a cancelled job again SHOULD be harmless: a 2xx that changes nothing.",
        "RFC 9110 §9.2.2",
        "the intended effect on the server of multiple identical requests ... is the same",
    ),
    Rule(
        "CANCEL-3",
        S,
        CONTRACT,
        "Cancelling a finished job SHOULD be refused with 409 and MUST NOT change its state.",
        "RFC 9110 §15.5.10",
        "The 409 (Conflict) status code indicates that the request could not be completed "
        "due to a conflict with the current state of the target resource.",
    ),
    # -- problem details -------------------------------------------------------------------
    Rule(
        "PROBLEM-1",
        M,
        CONTRACT,
        "Every 4xx and 5xx response MUST be application/problem+json.",
        "RFC 9457 §3; openapi.yaml",
        "application/problem+json",
    ),
    Rule(
        "PROBLEM-2",
        M,
        RFC,
        "Problem members MUST have their types: type and instance strings (URI-references), "
        "title and detail strings, status an integer.",
        "RFC 9457 §3.1",
        'The "status" member is a JSON number ... The "title" member is a JSON string.',
    ),
    Rule(
        "PROBLEM-3",
        M,
        RFC,
        "A problem's status member MUST equal the response's HTTP status code.",
        "RFC 9457 §3.1.2",
        "Generators MUST use the same status code in the actual HTTP response.",
    ),
    Rule(
        "PROBLEM-4",
        M,
        PROFILE,
        "A monitor for an unknown job id MUST answer 404.",
        "OGC /req/core/job-exception-no-such-job",
        "If the job does not exist, the response SHALL have HTTP status code 404.",
    ),
    Rule(
        "PROBLEM-5",
        M,
        RFC,
        "A submission whose body is not well-formed JSON MUST be answered 400.",
        "RFC 9110 §15.5.1",
        "the server cannot or will not process the request due to ... malformed request syntax",
    ),
    Rule(
        "PROBLEM-6",
        M,
        RFC,
        "A method the resource does not support MUST be answered 405 with an Allow field "
        "listing the methods it does support.",
        "RFC 9110 §15.5.6",
        "The origin server MUST generate an Allow header field in a 405 response containing "
        "a list of the target resource's currently supported methods.",
    ),
    Rule(
        "PROBLEM-7",
        S,
        RFC,
        "A submission in a media type the server does not accept SHOULD be answered 415.",
        "RFC 9110 §15.5.16",
        "The 415 (Unsupported Media Type) status code indicates that the origin server is "
        "refusing to service the request because the content is in a format not supported",
    ),
    Rule(
        "PROBLEM-8",
        S,
        RFC,
        "A monitor request whose Accept admits no available media type SHOULD be answered 406.",
        "RFC 9110 §15.5.7, §12.5.1",
        "the target resource does not have a current representation that would be "
        "acceptable to the user agent",
    ),
    Rule(
        "PROBLEM-9",
        S,
        RFC,
        "Error bodies SHOULD NOT expose implementation internals such as stack traces.",
        "RFC 9457 §5",
        "they ought not to expose implementation details such as stack dumps",
    ),
    # -- idempotency -----------------------------------------------------------------------
    Rule(
        "IDEMPOTENCY-1",
        S,
        PROFILE,
        "Repeating a submission with the same Idempotency-Key and body SHOULD answer with "
        "the same job and monitor, and create no second job.",
        "draft-ietf-httpapi-idempotency-key-header §2.6",
        "the resource server SHOULD respond with the result of the previously completed operation",
    ),
    Rule(
        "IDEMPOTENCY-2",
        S,
        PROFILE,
        "Reusing an Idempotency-Key with a different body SHOULD be refused with a 4xx "
        "problem (422).",
        "draft-ietf-httpapi-idempotency-key-header §2.7",
        "If there is an attempt to reuse an idempotency key with a different request "
        "payload, the resource server SHOULD reply with a HTTP 422 status code",
    ),
    Rule(
        "IDEMPOTENCY-3",
        S,
        PROFILE,
        "Concurrent submissions with one Idempotency-Key SHOULD create exactly one job.",
        "draft-ietf-httpapi-idempotency-key-header §2.6",
        "the resource server SHOULD reply with an HTTP 409 status code ... if the request "
        "is still being processed",
    ),
    # -- HTTP hygiene ----------------------------------------------------------------------
    Rule(
        "HTTP-1",
        S,
        RFC,
        "Monitor responses SHOULD forbid stale caching: Cache-Control no-store, no-cache, or "
        "a max-age not beyond the advised Retry-After.",
        "RFC 9110 §15.3.1; RFC 9111 §4.2.2",
        "A 200 response is heuristically cacheable",
    ),
    Rule(
        "HTTP-2",
        M,
        RFC,
        "HEAD on the monitor MUST send no content and SHOULD send the same status and "
        "header fields as GET.",
        "RFC 9110 §9.3.2",
        "The HEAD method is identical to GET except that the server MUST NOT send content "
        "in the response.",
    ),
    Rule(
        "HTTP-3",
        M,
        RFC,
        "A server whose responses vary with Prefer MUST list Prefer in Vary.",
        "RFC 7240 §2",
        "a Vary header field MUST be included in the response listing the Prefer header "
        "field regardless of whether the client actually used Prefer in the request",
    ),
    Rule(
        "HTTP-4",
        M,
        RFC,
        "Unknown preferences in Prefer MUST be ignored, not refused.",
        "RFC 7240 §2",
        "A server that does not recognize or is unable to comply with particular preference "
        "tokens ... MUST ignore those tokens and continue processing instead of signaling an "
        "error.",
    ),
    Rule(
        "HTTP-5",
        M,
        RFC,
        "2xx, 3xx and 4xx responses MUST carry a Date field (needed to read an HTTP-date "
        "Retry-After).",
        "RFC 9110 §6.6.1",
        "An origin server with a clock ... MUST generate a Date header field in all 2xx "
        "(Successful), 3xx (Redirection), and 4xx (Client Error) responses",
    ),
    # -- specification (lrokit lint) -------------------------------------------------------
    Rule(
        "SPEC-1",
        M,
        OPENAPI,
        "The document MUST be a valid OpenAPI 3.0 or 3.1 description.",
        "OpenAPI 3.0.3 §4.7.1; OpenAPI 3.1.0 §4.8.1",
        "This is the root object of the OpenAPI document.",
    ),
    Rule(
        "SPEC-2",
        M,
        PROFILE,
        "Every 202 response MUST declare the monitor pointer header (Location, or the profile's).",
        "RFC 9110 §15.3.3; OpenAPI 3.0.3 §4.7.17",
        "The representation sent with this response ought to describe the request's current "
        "status and point to (or embed) a status monitor.",
    ),
    Rule(
        "SPEC-3",
        M,
        CONTRACT,
        "Every 202 response MUST declare the Retry-After header.",
        "RFC 9110 §10.2.3; openapi.yaml",
        "Servers send the Retry-After header field to indicate how long the user agent ought "
        "to wait before making a follow-up request.",
    ),
    Rule(
        "SPEC-4",
        M,
        RFC,
        "A Retry-After header's schema MUST admit both forms: delay-seconds (an integer) and "
        "an HTTP-date (a string).",
        "RFC 9110 §10.2.3; OpenAPI 3.0.3 §4.7.21",
        "Retry-After = HTTP-date / delay-seconds",
    ),
    Rule(
        "SPEC-5",
        M,
        PROFILE,
        "The status schema (the 202 body or the linked status operation's 200 body) MUST "
        "have the profile's state property, with an enum listing every terminal state.",
        "Azure Considerations step 4; Google AIP-216; OpenAPI 3.0.3 §4.7.24",
        "should be represented as one of a fixed set of string values in a field named status",
    ),
    Rule(
        "SPEC-6",
        M,
        CONTRACT,
        "Every 4xx, 5xx and default response MUST declare application/problem+json content.",
        "RFC 9457 §3; openapi.yaml",
        "application/problem+json",
    ),
    Rule(
        "SPEC-7",
        S,
        RFC,
        "A problem schema SHOULD declare the members type, title, status, detail and instance.",
        "RFC 9457 §3.1",
        "A problem details object can have the following members",
    ),
    Rule(
        "SPEC-8",
        S,
        OPENAPI,
        "A submission's 202 response SHOULD declare an OpenAPI link to the status operation "
        "(a GET whose 200 body carries the state).",
        "OpenAPI 3.0.3 §4.7.20",
        "The Link object represents a possible design-time link for a response.",
    ),
    Rule(
        "SPEC-9",
        S,
        CONTRACT,
        "The result operation SHOULD be described: a GET linked from the 202 or the status "
        "response, or at the profile's result path.",
        "OGC /rec/core/job-links; Microsoft REST guidelines §13.2.5",
        "the service MUST include the target resource location in the status upon "
        "operation completion",
    ),
    Rule(
        "SPEC-10",
        S,
        CONTRACT,
        "Where the profile can cancel, the cancel operation SHOULD be described: the profile's "
        "cancel method on the monitor (or its cancel path), or a link to it.",
        "RFC 9110 §9.3.5; OData 4.01 §11.6",
        "The DELETE method requests that the origin server remove the association between "
        "the target resource and its current functionality.",
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
