"""RFC 9457 problem details: the registry of problem types this server emits, shared by every
room of the server (``http`` answers with them, ``work`` and ``jobs`` record them as a failed
job's ``error``).

Every 4xx and 5xx answer is ``application/problem+json`` with ``type``, ``title``, ``status``
(equal to the HTTP status, RFC 9457 §3.1.2), ``detail`` and ``instance``. A ``type`` is the
full-path reference ``/problems/<slug>``; resolved against the API it serves the type's page
(RFC 9457 §3.1.1, §4: a type documents its URI, title and status).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TYPE_PREFIX = "/problems/"


@dataclass(frozen=True)
class ProblemType:
    """A documented kind of problem: its URI slug, fixed title and HTTP status."""

    slug: str
    title: str
    status: int
    description: str

    @property
    def uri(self) -> str:
        """The ``type`` member's value."""
        return TYPE_PREFIX + self.slug

    def as_json(self) -> dict[str, Any]:
        """The type as a document: what its page says, for a program to read."""
        return {
            "type": self.uri,
            "title": self.title,
            "status": self.status,
            "description": self.description,
        }

    def as_markdown(self) -> str:
        """The type's page in Markdown."""
        return (
            f"# {self.title}\n\nType URI: `{self.uri}`, HTTP status {self.status}.\n\n"
            f"{self.description}\n"
        )


_TYPES = (
    ProblemType(
        "malformed-request",
        "Malformed request body",
        400,
        "The request body is not well-formed JSON: it does not parse, is not UTF-8, or nests "
        "deeper than the server accepts. Fix the body; sending it again unchanged fails again.",
    ),
    ProblemType(
        "invalid-request",
        "Request violates the contract",
        400,
        "A parameter, header or body member does not match the OpenAPI contract. `detail` "
        "names the member and the violated constraint.",
    ),
    ProblemType(
        "unauthorized",
        "Authentication required",
        401,
        "The operation needs `Authorization: Bearer TOKEN` with a token this server knows "
        "(RFC 6750). The `WWW-Authenticate` header says which: no error code when no token "
        "came, `invalid_token` when the token is not known. Nothing was read or changed.",
    ),
    ProblemType(
        "not-found",
        "Not found",
        404,
        "No resource exists at this path.",
    ),
    ProblemType(
        "report-not-found",
        "Report not found",
        404,
        "No report has this id. Ids are the last segment of the `Location` a submission "
        "answered with.",
    ),
    ProblemType(
        "report-expired",
        "Report expired",
        410,
        "The report finished longer ago than the server keeps reports (its retention), and "
        "it is gone for good, with its result. Submit it again to get a new one.",
    ),
    ProblemType(
        "method-not-allowed",
        "Method not allowed",
        405,
        "The resource does not support this method; the `Allow` header lists those it does.",
    ),
    ProblemType(
        "not-acceptable",
        "Not acceptable",
        406,
        "None of the media types in `Accept` can be produced for this resource. `detail` lists "
        "those that can.",
    ),
    ProblemType(
        "report-not-ready",
        "Report not ready",
        409,
        "The report has no result yet because it is still PENDING or PROCESSING. Poll its "
        "status monitor, honouring `Retry-After`, until it is DONE.",
    ),
    ProblemType(
        "report-failed",
        "Report failed",
        409,
        "The report ended in ERROR and has no result. Its status document's `error` member "
        "says why.",
    ),
    ProblemType(
        "report-cancelled",
        "Report cancelled",
        409,
        "The report was cancelled and has no result.",
    ),
    ProblemType(
        "report-finished",
        "Report already finished",
        409,
        "A DONE or ERROR report cannot be cancelled; the request changed nothing.",
    ),
    ProblemType(
        "request-too-large",
        "Request body too large",
        413,
        "The request body is larger than the server accepts; `detail` gives the limit.",
    ),
    ProblemType(
        "unsupported-media-type",
        "Unsupported media type",
        415,
        "The request body must be `application/json`.",
    ),
    ProblemType(
        "invalid-report-parameters",
        "Invalid report parameters",
        422,
        "The report parameters match the contract's schema but contradict each other, for "
        "example a date range whose `from` is after its `to`.",
    ),
    ProblemType(
        "idempotency-key-reused",
        "Idempotency key reused",
        422,
        "The `Idempotency-Key` was already used for a request with a different body "
        "(draft-ietf-httpapi-idempotency-key-header §2.7). Use a new key for a new request.",
    ),
    ProblemType(
        "callback-refused",
        "Callback URL refused",
        422,
        "The server may not call the submission's `callbackUrl`: it is not an `http` or "
        "`https` URL without credentials, its host is not allowed by the operator's "
        "`--callback-allow`, or it resolves to an address the server does not call (a "
        "private, loopback or link-local one that was not allowed by its network). Nothing "
        "was created. Give a URL the server may call, or leave `callbackUrl` out and poll.",
    ),
    ProblemType(
        "malformed-http",
        "Malformed HTTP request",
        400,
        "The request is not well-formed HTTP/1.1 (RFC 9112): an unknown method, a bad request "
        "line, broken chunking, or Content-Length beside Transfer-Encoding. The connection "
        "is closed.",
    ),
    ProblemType(
        "request-timeout",
        "Request too slow",
        408,
        "The request's line and header fields did not arrive within the server's header "
        "timeout (`lrokit serve --header-timeout`), or its body not within the body timeout "
        "(`--body-timeout`); nothing was done, and the connection is closed.",
    ),
    ProblemType(
        "uri-too-long",
        "Request target too long",
        414,
        "The request target (path and query) is longer than the server parses, 8 KiB "
        "(RFC 9112 §3). Nothing was done, and the connection is closed.",
    ),
    ProblemType(
        "header-fields-too-large",
        "Request header fields too large",
        431,
        "The request has more header fields, or more bytes of them, than the server keeps "
        "(100 fields, 16 KiB); the connection is closed.",
    ),
    ProblemType(
        "server-busy",
        "Server busy",
        503,
        "The server is answering as many requests as it takes at once (`lrokit serve "
        "--max-in-flight`). Send the request again after `Retry-After` seconds.",
    ),
    ProblemType(
        "store-unavailable",
        "Job store unavailable",
        503,
        "The job store cannot be reached or written just now (its database restarts, or its "
        "disk is full); nothing was decided. Send the same request again after `Retry-After` "
        "seconds: a submission with an `Idempotency-Key` is safe to repeat.",
    ),
    ProblemType(
        "internal-error",
        "Internal server error",
        500,
        "The server failed unexpectedly. The failure is logged; trying again later may work.",
    ),
    ProblemType(
        "no-data",
        "No data for the report's input",
        422,
        "Appears in the `error` member of a report that ended in ERROR (code `NO_DATA`): the "
        "report's input selects no sales at all, for example a year outside the sample data. "
        "Not retryable: the same input gives the same result.",
    ),
    ProblemType(
        "worker-lost",
        "Report worker lost",
        500,
        "Appears in the `error` member of a report that ended in ERROR (code `WORKER_LOST`): "
        "every attempt lost its worker (a crash, a kill) before finishing, as many times as "
        "the server tries. Retryable: the report itself did not fail.",
    ),
    ProblemType(
        "report-generation-failed",
        "Report generation failed",
        500,
        "Appears in the `error` member of a report that ended in ERROR (code `INTERNAL`): the "
        "generation failed unexpectedly at `failedStep`. Retryable: submitting again may work.",
    ),
)

PROBLEM_TYPES: Mapping[str, ProblemType] = {t.slug: t for t in _TYPES}


#: The longest ``detail`` a problem carries, and the longest ``instance``: a problem names
#: what is wrong, it does not echo the request back (a 12 KB id made a 36 KB answer).
DETAIL_MAX = 400
INSTANCE_MAX = 200


def problem_body(
    slug: str, detail: str, instance: str | None = None, **extensions: Any
) -> dict[str, Any]:
    """The problem document of type ``slug``. Its ``detail`` is one line, at most
    :data:`DETAIL_MAX` characters (a validator's multi-line report is cut to its first line);
    an ``instance`` longer than :data:`INSTANCE_MAX` is left out (RFC 9457 §3.1.5 makes it
    optional; a cut reference would identify nothing)."""
    kind = PROBLEM_TYPES[slug]
    body: dict[str, Any] = {"type": kind.uri, "title": kind.title, "status": kind.status}
    line = next((part for part in detail.strip().splitlines() if part.strip()), "")
    body["detail"] = line if len(line) <= DETAIL_MAX else line[: DETAIL_MAX - 1] + "…"
    if instance is not None and len(instance) <= INSTANCE_MAX:
        body["instance"] = instance
    body.update(extensions)
    return body


def worker_lost(job_id: str, attempts: int) -> dict[str, Any]:
    """The ``error`` of a job whose every attempt lost its worker: the work itself never
    failed, so it is retryable (the one place that writes it; both job stores use it)."""
    return problem_body(
        "worker-lost",
        f"Every attempt lost its worker before finishing ({attempts} attempts).",
        f"/reports/{job_id}",
        code="WORKER_LOST",
        retryable=True,
        failedStep="work",
    )


def render_markdown() -> str:
    """``docs/problems.md``: every problem type, generated from this registry."""
    lines = [
        "# Problem types",
        "",
        "Generated from `src/lrokit/server/problems.py`; do not edit by hand "
        "(`python -m lrokit.server.problems > docs/problems.md`).",
        "",
        "Every 4xx and 5xx answer of the reference server is `application/problem+json` "
        "(RFC 9457). A `type` is a full-path reference; resolved against the server it serves "
        "the page below.",
        "",
        "| type | status | title | meaning |",
        "|---|---|---|---|",
    ]
    for kind in _TYPES:
        lines.append(f"| `{kind.uri}` | {kind.status} | {kind.title} | {kind.description} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
