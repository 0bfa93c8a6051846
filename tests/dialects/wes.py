"""A GA4GH WES 1.1.0 service (workflow-execution-service-schemas): ``POST
/ga4gh/wes/v1/runs`` answers 200 ``{run_id}`` and nothing else; ``GET
/ga4gh/wes/v1/runs/{run_id}/status`` answers ``{run_id, state}``; ``POST
/ga4gh/wes/v1/runs/{run_id}/cancel`` answers ``{run_id}`` and the run ends CANCELED; errors
are ``{msg, status_code}``."""

from __future__ import annotations

import uuid

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.dialects._base import DialectServer

BASE = "/ga4gh/wes/v1/runs"


class WesServer(DialectServer):
    def routes(self) -> list[Route]:
        return [
            Route(BASE, self.run, methods=["POST"]),
            Route(BASE + "/{id}/status", self.status, methods=["GET"]),
            Route(BASE + "/{id}/cancel", self.cancel, methods=["POST"]),
        ]

    def error(self, status: int, message: str) -> Response:
        return self.json({"msg": message, "status_code": status}, status)

    async def run(self, request: Request) -> Response:
        """RunWorkflow takes multipart/form-data (WES 1.1.0 RunRequest): anything else is an
        unsupported media type."""
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return self.error(415, "The request must be a multipart/form-data RunRequest.")
        # A multipart body cut short, or one without workflow_url: 400, "The request is
        # malformed." (a 422 where PROBLEM-5 is broken: refused, ACCEPT-3 holds, not 400).
        malformed = 422 if self.breaks == "PROBLEM-5" else 400
        try:
            async with request.form() as form:
                url, params = form.get("workflow_url"), str(form.get("workflow_params", ""))
        except HTTPException:
            return self.error(malformed, "The request is malformed.")
        if not isinstance(url, str):
            return self.error(malformed, "workflow_url is required.")
        run_id = uuid.uuid4().hex
        failing = '"exit_code": 1' in params
        self.jobs[run_id] = {"state": "QUEUED", "failing": failing}
        return self.json({"run_id": run_id})

    async def status(self, request: Request) -> Response:
        run = self.jobs.get(request.path_params["id"])
        if run is None:
            return self.error(404, "The requested run wasn't found.")
        if not self.acceptable(request):
            return self.error(406, "Only application/json.")
        if run["state"] not in ("COMPLETE", "EXECUTOR_ERROR", "CANCELED"):
            outcome = "EXECUTOR_ERROR" if run["failing"] else "COMPLETE"
            script = ("QUEUED", "INITIALIZING", "RUNNING", outcome)
            if self.breaks == "LIFECYCLE-1":
                script = ("QUEUED", "RUNNING", "QUEUED", "COMPLETE")
            run["state"] = self.step(run, script)
        starting = self.breaks == "MONITOR-3" and run["state"] == "INITIALIZING"
        state = "STARTING" if starting else run["state"]  # a word WES does not have
        doc = {"run_id": request.path_params["id"], "state": state}
        return self.json(doc, **{"Cache-Control": "no-store"})

    async def cancel(self, request: Request) -> Response:
        run = self.jobs.get(request.path_params["id"])
        if run is None:
            return self.error(404, "The requested run wasn't found.")
        if run["state"] not in ("COMPLETE", "EXECUTOR_ERROR") and self.breaks != "CANCEL-1":
            run["state"] = "CANCELED"
        return self.json({"run_id": request.path_params["id"]})
