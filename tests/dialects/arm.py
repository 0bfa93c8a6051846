"""An Azure Resource Manager action with the Location pattern, from the ARM async API
reference: ``POST .../widgets/w1/export`` answers 202 with an absolute Location and
``Retry-After: 10`` and no body; the Location answers 202 again (Location, Retry-After) while
the operation runs, then 200 with the export's body, or 400 with the operation's error."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.dialects._base import DialectServer

PREFIX = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
    "/providers/Microsoft.Example"
)


class ArmServer(DialectServer):
    def routes(self) -> list[Route]:
        return [
            Route(PREFIX + "/widgets/w1/export", self.export, methods=["POST"]),
            Route(PREFIX + "/locations/westus/operationResults/{id}", self.result, methods=["GET"]),
        ]

    def error(self, status: int, code: str, message: str) -> Response:
        return self.json({"error": {"code": code, "message": message}}, status)

    def running(self, request: Request, job_id: str, *, again: bool) -> Response:
        headers = {"Retry-After": "5" if self.breaks == "RETRY-4" else "10"}
        headers["Cache-Control"] = "no-store"
        if not (again and self.breaks == "LOCATION-6"):
            headers["Location"] = str(request.url_for("result", id=job_id))
        return Response(
            status_code=200 if self.breaks == "ACCEPT-1" and not again else 202, headers=headers
        )

    async def export(self, request: Request) -> Response:
        body = await self.body(request)
        if isinstance(body, Response):
            return self.error(body.status_code, "InvalidRequestContent", "A JSON body is needed.")
        job_id = uuid.uuid4().hex
        self.jobs[job_id] = {"outcome": "failed" if body.get("format") == "fail" else "done"}
        return self.running(request, job_id, again=False)

    async def result(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["id"])
        if job is None:
            return self.error(404, "NotFound", "No such operation.")
        if not self.acceptable(request):
            return self.error(406, "NotAcceptable", "Only application/json.")
        script = (
            ("running",) if self.breaks == "LIFECYCLE-5" else ("running", "running", job["outcome"])
        )
        state = job.get("state", "running")
        if state == "running" and request.method == "GET":  # HEAD reads, it does not move on
            state = job["state"] = self.step(job, script)
        if state == "running":
            return self.running(request, request.path_params["id"], again=True)
        if state == "failed":
            return self.error(400, "ExportFailed", "The widget cannot be exported.")
        return self.json(
            {"exportedUri": "https://example.invalid/w1.json"}, **{"Cache-Control": "no-store"}
        )
