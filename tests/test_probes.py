"""Each request has one purpose, and the tester's own actions are never blamed on the server.

Every server here was once misjudged: a probe rode on the job whose lifecycle was followed;
an operation without a body was sent one (and a body probe) and blamed for taking them; a
monitor path with several ids was probed in one; a dialect whose cancel removes the job was
blamed for the 404 that followed; a body well-formed but against the schema was never sent.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx
import orjson
import pytest
from starlette.requests import Request
from starlette.responses import Response

from lrokit.model.contract import Contract, load_contract
from lrokit.model.profile import Profile, load_profile
from lrokit.model.requests import (
    invalid_body,
    parameter_segments,
    request_media_types,
    takes_body,
)
from lrokit.runner.run import Report, run
from lrokit.runner.target import TargetConfig
from lrokit.runner.verdicts import Outcome
from lrokit.server.http.app import contract_path
from tests.fauxservers.server import FauxServer

pytestmark = pytest.mark.anyio

CANONICAL = load_profile("canonical")
VALID = CANONICAL.body.document if CANONICAL.body else None
CONTRACT = load_contract(str(contract_path()))
LIFECYCLE = ("LIFECYCLE-1", "LIFECYCLE-2", "LIFECYCLE-5", "MONITOR-1", "LOCATION-4")


async def check(
    app: Any, profile: Profile = CANONICAL, contract: Contract | None = CONTRACT
) -> Report:
    config = TargetConfig("http://faux.test", time_scale=0.001, max_wait=3.0)
    return await run(config, profile, contract=contract, transport=httpx.ASGITransport(app=app))


def outcomes(report: Report) -> dict[str, Outcome]:
    return {v.rule.id: v.outcome for v in report.verdicts}


# -- probes on requests of their own ------------------------------------------------------


class Recording(FauxServer):
    """Conformant; keeps the headers of every submission."""

    def __init__(self, breaks: str | None = None) -> None:
        super().__init__(breaks)
        self.submitted: list[dict[str, str]] = []

    async def submit(self, request: Request) -> Response:
        self.submitted.append(dict(request.headers))
        return await super().submit(request)


async def test_the_main_job_is_submitted_plainly_and_the_preference_probe_apart() -> None:
    server = Recording()
    report = await check(server)
    assert all(o is not Outcome.FAIL for o in outcomes(report).values())
    prefers = [h.get("prefer", "") for h in server.submitted]
    assert sum("x-lrokit-unknown-preference" in p for p in prefers) == 1
    assert "" in prefers  # the main submission carries no Prefer


async def test_a_server_refusing_an_unknown_preference_still_shows_its_lifecycle() -> None:
    """It once hid the whole lifecycle: the probe rode on the main job."""
    report = await check(FauxServer(breaks="HTTP-4"))
    seen = outcomes(report)
    assert seen["HTTP-4"] is Outcome.FAIL
    assert all(seen[r] is Outcome.PASS for r in LIFECYCLE), seen


# -- an operation without a body -----------------------------------------------------------


class Bodiless(FauxServer):
    """A long-running action that takes no input: it answers any submission 202, body or not,
    with the same job (as an export of everything would)."""

    async def submit(self, request: Request) -> Response:
        body = await request.body()
        self.bodies_seen = getattr(self, "bodies_seen", 0) + bool(body)
        job = {
            "id": f"{len(self.jobs):032x}",
            "state": "PENDING",
            "progress": 0,
            "reads": 0,
            "terminal_reads": 0,
            "parameters": {},
            "outcome": "DONE",
        }
        self.jobs[job["id"]] = job
        return self.accepted(job, request.headers.get("prefer", ""))


BODILESS = dataclasses.replace(CANONICAL, body=None, failing_body=None, other_body=None)


async def test_an_operation_without_a_body_is_sent_none_and_no_body_probe() -> None:
    server = Bodiless()
    report = await check(server, BODILESS, contract=None)
    seen = outcomes(report)
    assert getattr(server, "bodies_seen", 0) == 0
    for rule_id in ("ACCEPT-3", "PROBLEM-5", "PROBLEM-7"):
        (verdict,) = [v for v in report.verdicts if v.rule.id == rule_id]
        assert verdict.outcome is Outcome.SKIP, verdict
        assert "takes no body" in verdict.reason
    assert seen["ACCEPT-1"] is Outcome.PASS
    assert not [r for r, o in seen.items() if o in (Outcome.FAIL, Outcome.UNOBSERVED)], seen


def test_the_contract_says_whether_an_operation_takes_a_body() -> None:
    assert takes_body(CONTRACT, "POST", "/reports") is True
    assert takes_body(CONTRACT, "DELETE", "/reports/abc") is False
    assert takes_body(CONTRACT, "POST", "/nowhere") is None
    document = json.loads(json.dumps(CONTRACT.document))
    del document["paths"]["/reports"]["post"]["requestBody"]
    assert takes_body(Contract(document, "edited"), "POST", "/reports") is False


def test_a_swagger_2_form_operation_takes_a_multipart_body() -> None:
    """WES 1.0's Swagger: RunWorkflow's fields are formData parameters, consumed as
    multipart/form-data (the document's global consumes says application/json)."""
    swagger = {
        "swagger": "2.0",
        "consumes": ["application/json"],
        "paths": {
            "/runs": {
                "post": {
                    "consumes": ["multipart/form-data"],
                    "parameters": [{"in": "formData", "name": "workflow_url", "type": "string"}],
                    "responses": {"200": {"description": "RunId"}},
                },
                "get": {"responses": {"200": {"description": "the runs"}}},
            }
        },
    }
    contract = Contract(swagger, "wes")
    assert takes_body(contract, "POST", "/runs") is True
    assert takes_body(contract, "GET", "/runs") is False
    assert request_media_types(contract, "POST", "/runs") == {"multipart/form-data"}
    assert request_media_types(contract, "GET", "/runs") is None


# -- a body well-formed but against the schema ----------------------------------------------


class SyntaxOnly(FauxServer):
    """Refuses bodies that are not JSON, but accepts any JSON: the schema is never checked."""

    async def submit(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return self.problem(400, "Malformed", "/reports")
        if isinstance(body, dict) and "reportType" not in body:
            body["reportType"] = "yearly-sales"  # takes what it can, creates a job anyway
        return await super().submit(_with_body(request, orjson.dumps(body)))


def _with_body(request: Request, body: bytes) -> Request:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


def test_an_invalid_body_breaks_the_schema_but_not_json() -> None:
    valid = VALID
    invalid = invalid_body(CONTRACT, "POST", "/reports", valid)
    assert isinstance(invalid, dict)
    assert invalid != valid
    assert invalid_body(CONTRACT, "POST", "/nowhere", valid) is None


async def test_a_server_accepting_a_body_against_its_schema_fails_accept_3() -> None:
    report = await check(SyntaxOnly())
    (verdict,) = [v for v in report.verdicts if v.rule.id == "ACCEPT-3"]
    assert verdict.outcome is Outcome.FAIL, verdict
    assert verdict.violations[0].received == "status 202"
    without_contract = await check(SyntaxOnly(), contract=None)  # no schema: not sent
    assert outcomes(without_contract)["ACCEPT-3"] is Outcome.PASS


# -- a monitor with several ids ------------------------------------------------------------


class Tenanted:
    """FauxServer under /tenants/{tenant}/..., answering for any tenant: an unknown tenant's
    monitor should not find the job."""

    def __init__(self) -> None:
        self.inner = FauxServer()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/tenants/"):
            rest = path.split("/", 3)[3] if path.count("/") >= 3 else ""
            scope = {**scope, "path": "/" + rest, "raw_path": ("/" + rest).encode()}

        async def prefixed(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, b"/tenants/acme" + v if k.lower() == b"location" else v)
                    for k, v in message["headers"]
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.inner(scope, receive, prefixed)


def tenanted_contract() -> Contract:
    document = json.loads(json.dumps(CONTRACT.document))
    paths = document["paths"]
    (monitor,) = [p for p in paths if p.startswith("/reports/{") and p.count("/") == 2]
    document["paths"] = {
        "/tenants/{tenant}/reports": paths["/reports"],
        "/tenants/{tenant}" + monitor: paths[monitor],
    }
    return Contract(document, "tenanted")


def test_every_parameter_segment_of_a_monitor_is_found() -> None:
    assert parameter_segments(tenanted_contract(), "/tenants/acme/reports/r1") == [-3, -1]


async def test_a_monitor_found_under_any_tenant_fails_problem_4() -> None:
    profile = dataclasses.replace(CANONICAL, submit_path="/tenants/acme/reports")
    report = await check(Tenanted(), profile, tenanted_contract())
    (verdict,) = [v for v in report.verdicts if v.rule.id == "PROBLEM-4"]
    assert verdict.outcome is Outcome.FAIL, verdict
    assert [v.received for v in verdict.violations] == ["status 200"]
    assert "/tenants/" in verdict.violations[0].where


# -- a cancel that removes the job ---------------------------------------------------------


class RemovesOnCancel(FauxServer):
    """Cancelling removes the job (OGC dismiss): its monitor answers 404 afterwards."""

    def cancel(self, job: dict[str, Any]) -> Response:
        if job["state"] in ("DONE", "ERROR"):
            return super().cancel(job)
        del self.jobs[job["id"]]
        return self.status_response({**job, "state": "CANCELLED", "terminal_reads": 1})


async def test_a_dialect_whose_cancel_removes_the_job_is_not_blamed_for_the_404() -> None:
    removing = dataclasses.replace(CANONICAL, cancel_may_remove=True)
    report = await check(RemovesOnCancel(), removing)
    seen = outcomes(report)
    for rule_id in ("CANCEL-1", "CANCEL-2", *LIFECYCLE):
        assert seen[rule_id] is Outcome.PASS, (rule_id, seen[rule_id], report.verdicts)


async def test_where_a_cancel_must_not_remove_the_job_it_is_cancel_1_that_fails() -> None:
    report = await check(RemovesOnCancel())
    seen = outcomes(report)
    assert seen["CANCEL-1"] in (Outcome.FAIL, Outcome.UNOBSERVED), seen
    assert all(seen[r] is Outcome.PASS for r in LIFECYCLE), seen  # never MONITOR-1's


def test_a_request_schema_in_another_document_gives_no_invalid_body() -> None:
    """pygeoapi's contract refers its request schema to schemas.opengis.net: it is not read,
    and the run goes on (it once ended in a traceback)."""
    document = json.loads(json.dumps(CONTRACT.document))
    post = document["paths"]["/reports"]["post"]
    post["requestBody"]["content"]["application/json"]["schema"] = {
        "$ref": "https://schemas.example.invalid/execute.yaml"
    }
    edited = Contract(document, "edited")
    assert invalid_body(edited, "POST", "/reports", VALID) is None
