"""An Azure data-plane long-running operation, from the Azure REST API Guidelines (vNext):

- ``#lro-returns-202``: the initiating POST answers 202 Accepted;
- ``#lro-returns-operation-location``: with ``Operation-Location``, the absolute URL of the
  status monitor (carrying the request's ``api-version``);
- ``#lro-status-monitor-structure``: the monitor is ``{id, status, error, result}``, status one
  of NotStarted, Running, Succeeded, Failed, Canceled; ``error`` when Failed, ``result`` for a
  POST action that Succeeded;
- ``#lro-status-monitor-retry-after``: Retry-After on every monitor GET while not complete;
- ``#rest-error-response-body-structure`` / ``#rest-error-code-header``: errors are
  ``{"error": {"code", "message"}}`` with ``x-ms-error-code``.

``slow=True`` makes a job take twice as many polls, to show verdicts do not depend on timing.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.dialects._base import DialectServer

RUNNING = ("NotStarted", "Running")


class AzureServer(DialectServer):
    def routes(self) -> list[Route]:
        return [
            Route("/analyze", self.submit, methods=["POST"]),
            Route("/operations/{id}", self.monitor, methods=["GET"]),
        ]

    @staticmethod
    def error(status: int, code: str, message: str) -> Response:
        body = json.dumps({"error": {"code": code, "message": message}})
        headers = {"x-ms-error-code": code}
        return Response(body, status, headers=headers, media_type="application/json")

    def document(self, operation: dict[str, Any], code: int) -> dict[str, Any]:
        doc: dict[str, Any] = {"id": operation["id"], "status": operation["status"]}
        if self.breaks == "MONITOR-2" and code == 200:  # the monitor names its state otherwise
            doc = {"id": operation["id"], "state": operation["status"]}
        if operation["status"] == "Failed":
            doc["error"] = {"code": "InvalidInput", "message": "The input cannot be analyzed."}
        if operation["status"] == "Succeeded":
            doc["result"] = {"words": 2, "language": "en"}
        return doc

    def status(self, operation: dict[str, Any], code: int = 200) -> Response:
        headers = {"Cache-Control": "no-store"}
        if operation["status"] in RUNNING and not (self.breaks == "RETRY-2" and code == 200):
            headers["Retry-After"] = "/bar" if self.breaks == "RETRY-1" else "1"
        return self.json(self.document(operation, code), code, **headers)

    async def submit(self, request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("application/json"):
            return self.error(415, "UnsupportedMediaType", "The body must be application/json.")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return self.error(400, "InvalidRequestContent", "The body is not JSON.")
        if not isinstance(body, dict) or not isinstance(body.get("input"), str):
            return self.error(400, "InvalidRequestContent", "input is required.")
        operation = {
            "id": uuid.uuid4().hex,
            "status": "NotStarted",
            "outcome": "Failed" if body["input"] == "fail" else "Succeeded",
        }
        self.jobs[operation["id"]] = operation
        monitor = str(request.url_for("monitor", id=operation["id"]))
        if "api-version" in request.query_params:
            monitor += f"?api-version={request.query_params['api-version']}"
        response = self.status(operation, 201 if self.breaks == "ACCEPT-1" else 202)
        if self.breaks != "LOCATION-1":
            response.headers["Operation-Location"] = monitor
        return response

    async def monitor(self, request: Request) -> Response:
        operation = self.jobs.get(request.path_params["id"])
        if operation is None:
            return self.error(404, "NotFound", "No such operation.")
        if not self.acceptable(request):
            return self.error(406, "NotAcceptable", "Only application/json is available.")
        if self.breaks == "LIFECYCLE-5":
            operation["status"] = "Running"
        elif operation["status"] in RUNNING:
            operation["status"] = self.step(
                operation, ("NotStarted", "Running", operation["outcome"])
            )
        return self.status(operation)
