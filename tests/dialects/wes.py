"""A GA4GH WES 1.1.0 service (workflow-execution-service-schemas): ``POST
/ga4gh/wes/v1/runs`` answers 200 ``{run_id}`` and nothing else; ``GET
/ga4gh/wes/v1/runs/{run_id}/status`` answers ``{run_id, state}``; ``POST
/ga4gh/wes/v1/runs/{run_id}/cancel`` answers ``{run_id}`` and the run ends CANCELED; errors
are ``{msg, status_code}``."""

from __future__ import annotations

import uuid

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
        body = await self.body(request)
        if isinstance(body, Response):
            return self.error(body.status_code, "The request must be a JSON RunRequest.")
        if not isinstance(body.get("workflow_url"), str):
            return self.error(400, "workflow_url is required.")
        run_id = uuid.uuid4().hex
        self.jobs[run_id] = {"state": "QUEUED"}
        return self.json({"run_id": run_id})

    async def status(self, request: Request) -> Response:
        run = self.jobs.get(request.path_params["id"])
        if run is None:
            return self.error(404, "The requested run wasn't found.")
        if not self.acceptable(request):
            return self.error(406, "Only application/json.")
        if run["state"] not in ("COMPLETE", "CANCELED"):
            script = ("QUEUED", "INITIALIZING", "RUNNING", "COMPLETE")
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
        if run["state"] != "COMPLETE" and self.breaks != "CANCEL-1":
            run["state"] = "CANCELED"
        return self.json({"run_id": request.path_params["id"]})
