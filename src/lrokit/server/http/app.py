"""The reference server's ASGI application, built from ``openapi.yaml`` by :func:`create_app`."""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from http import HTTPStatus
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import orjson
import yaml
from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import ConnexionMiddleware, MiddlewarePosition
from connexion.middleware.security import SecurityMiddleware
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException

from lrokit.server.http.auth import Authentication, requiring_credentials, secured_operations
from lrokit.server.http.context import RequestScope
from lrokit.server.http.fastpath import FastPath, compile_routes
from lrokit.server.http.handlers import ReportsAPI
from lrokit.server.http.middleware import (
    BodyGuard,
    ContractDocument,
    InFlightLimit,
    Negotiation,
    PageHeaders,
    StrictRequest,
    integer_query_parameters,
)
from lrokit.server.http.problems import (
    PROBLEM_JSON,
    UNAVAILABLE_DETAIL,
    UNAVAILABLE_RETRY_AFTER,
    instance_of,
)
from lrokit.server.http.validation import validator_map
from lrokit.server.jobs.backends import make_store
from lrokit.server.jobs.store import JobStore, StoreUnavailable
from lrokit.server.problems import problem_body
from lrokit.server.settings import Settings
from lrokit.server.work.supervisor import Supervisor
from lrokit.server.work.workers import WorkerPool

log = logging.getLogger("lrokit.server")

#: Seconds a thread may hold the GIL while another waits for it (CPython's default: 0.005).
SWITCH_INTERVAL = 0.0005
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SLUG_BY_STATUS = {
    400: "invalid-request",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "request-too-large",
    415: "unsupported-media-type",
    500: "internal-error",
}


def contract_path() -> Path:
    """Where the packaged contract lives (``openapi.yaml``, shipped inside the wheel)."""
    with as_file(files("lrokit") / "openapi.yaml") as path:
        return Path(path)


def load_contract() -> dict[str, Any]:
    """The contract as a document."""
    document: dict[str, Any] = yaml.safe_load(contract_path().read_text(encoding="utf-8"))
    return document


def produced_media_types(contract: Mapping[str, Any]) -> dict[str, list[str]]:
    """For each operationId, the media types its 2xx responses declare."""
    produces: dict[str, list[str]] = {}
    for item in contract["paths"].values():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            types = [
                media
                for code, response in operation["responses"].items()
                if str(code).startswith("2")
                for media in response.get("content", {})
            ]
            produces[operation["operationId"]] = list(dict.fromkeys(types))
    return produces


def allowed_methods(contract: Mapping[str, Any]) -> list[tuple[re.Pattern[str], str]]:
    """Each path template as a regex, with the ``Allow`` value of its resource."""
    table = []
    for template, item in contract["paths"].items():
        methods = [m.upper() for m in METHODS if m in item]
        if "GET" in methods and "HEAD" not in methods:
            methods.append("HEAD")  # every GET route also answers HEAD (RFC 9110 §9.3.2)
        pattern = re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$")
        table.append((pattern, ", ".join(methods)))
    return table


def _problem(
    slug: str, detail: str, instance: str, headers: dict[str, str] | None = None
) -> ConnexionResponse:
    body = problem_body(slug, detail, instance)
    return ConnexionResponse(
        status_code=body["status"], mimetype=PROBLEM_JSON, body=orjson.dumps(body), headers=headers
    )


def _instance(request: ConnexionRequest) -> str:
    return instance_of(request.scope)


def create_app(
    settings: Settings | None = None,
    *,
    store: JobStore | None = None,
    clock: Callable[[], float] = time.time,
    supervisor: Supervisor | None = None,
) -> AsyncApp:
    """Build the reference server: Connexion validates every request against the contract,
    thin handlers answer, and a pool of background workers generates the reports. With a
    ``supervisor`` (``serve --worker-processes``), its worker processes start once the store
    is open and stop before it closes."""
    settings = settings or Settings()
    contract = load_contract()
    if settings.tokens is None:
        log.warning(
            "no --tokens: anyone who reaches this server can list, read and cancel every report"
        )
    else:
        contract = requiring_credentials(contract)
    store = store if store is not None else make_store(settings, clock)
    pool = WorkerPool(store, settings, clock)
    api = ReportsAPI(store, settings, pool.notify, clock)
    operations = api.operations()
    allow_table = allowed_methods(contract)

    async def janitor() -> None:
        """Drop what expired jobs no longer need, now and then (their 410s stay)."""
        while True:
            try:
                if purged := await store.purge():
                    log.info("purged the results of %d expired jobs", purged)
            except Exception:  # the store is busy or gone: try again next time
                log.exception("purging expired jobs failed")
            await asyncio.sleep(min(300.0, settings.retention / 2))

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        await store.open()
        await pool.start()
        if supervisor is not None:
            await supervisor.start()
        cleaning = asyncio.create_task(janitor(), name="lrokit-janitor")
        where = "PostgreSQL" if settings.store else settings.db
        # What the server holds for its whole life (the parsed contract, Connexion's routes
        # and validators: some 70,000 objects) leaves the cyclic collector's view,
        # so a full collection no longer walks it: that took up to 40 ms in a burst of POSTs.
        gc.collect()
        gc.freeze()
        # The event loop shares the GIL with the store's threads: a write that waits for it
        # resumes within 0.5 ms rather than 5, which trims the tail of submission latency.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        log.info("lrokit reference server ready (jobs in %s)", where)
        try:
            yield
        finally:
            sys.setswitchinterval(interval)
            gc.unfreeze()
            cleaning.cancel()
            if supervisor is not None:
                await supervisor.stop()
            await pool.stop()
            await store.close()

    # Authentication is the middleware in front of both paths (see auth.py), not connexion's.
    middlewares = [
        m for m in ConnexionMiddleware.default_middlewares if m is not SecurityMiddleware
    ]
    app = AsyncApp(__name__, lifespan=lifespan, middlewares=middlewares)
    app.add_api(
        contract,
        resolver=Resolver(function_resolver=operations.__getitem__),
        strict_validation=True,
        validator_map=validator_map(),
        validate_responses=settings.validate_responses,
        pythonic_params=True,
        swagger_ui_options=SwaggerUIOptions(swagger_ui=settings.ui, swagger_ui_path="/ui"),
    )
    app.add_middleware(
        InFlightLimit, position=MiddlewarePosition.BEFORE_EXCEPTION, limit=settings.max_in_flight
    )
    app.add_middleware(
        StrictRequest,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        integers=integer_query_parameters(contract),
    )
    app.add_middleware(
        BodyGuard, position=MiddlewarePosition.BEFORE_EXCEPTION, max_bytes=settings.max_body_bytes
    )
    if settings.tokens is not None:
        app.add_middleware(
            Authentication,
            position=MiddlewarePosition.BEFORE_EXCEPTION,
            tokens=settings.tokens,
            secured=secured_operations(contract),
        )
    if settings.fast_path:
        app.add_middleware(
            FastPath,
            position=MiddlewarePosition.BEFORE_EXCEPTION,
            routes=compile_routes(contract, operations),
            validate_responses=settings.validate_responses,
        )
    app.add_middleware(
        Negotiation,
        position=MiddlewarePosition.BEFORE_VALIDATION,
        produces=produced_media_types(contract),
    )
    app.add_middleware(RequestScope, position=MiddlewarePosition.BEFORE_CONTEXT)
    app.add_middleware(PageHeaders, position=MiddlewarePosition.BEFORE_SWAGGER)
    app.add_middleware(
        ContractDocument, position=MiddlewarePosition.BEFORE_SWAGGER, contract=contract
    )

    def on_problem(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, ProblemException)
        if exc.status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc.detail)
        slug = _SLUG_BY_STATUS.get(exc.status, "internal-error")
        if exc.status >= 500:
            return _problem("internal-error", "The server failed unexpectedly.", _instance(request))
        return _problem(slug, str(exc.detail or exc.title), _instance(request))

    def on_http(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, HTTPException)
        instance = _instance(request)
        if exc.status_code == 405:
            path = str(request.scope["path"])
            allow = next((a for pattern, a in allow_table if pattern.match(path)), "")
            return _problem(
                "method-not-allowed",
                f"{request.method} is not supported here; use one of: {allow}.",
                instance,
                {"Allow": allow},
            )
        slug = _SLUG_BY_STATUS.get(exc.status_code)
        if slug is None or exc.status_code >= 500:
            return _problem("internal-error", "The server failed unexpectedly.", instance)
        detail = exc.detail if exc.detail != HTTPStatus(exc.status_code).phrase else None
        return _problem(slug, detail or f"Nothing is at {instance}.", instance)

    def on_malformed(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        return _problem(
            "malformed-request", f"The request body cannot be decoded: {exc}.", _instance(request)
        )

    def on_unavailable(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        path = request.url.path
        log.warning("%s %s: the job store is unavailable: %s", request.method, path, exc)
        return _problem(
            "store-unavailable",
            UNAVAILABLE_DETAIL,
            _instance(request),
            {"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
        )

    def on_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _problem("internal-error", "The server failed unexpectedly.", _instance(request))

    app.add_error_handler(ProblemException, on_problem)
    app.add_error_handler(HTTPException, on_http)
    app.add_error_handler(UnicodeDecodeError, on_malformed)
    app.add_error_handler(RecursionError, on_malformed)
    app.add_error_handler(StoreUnavailable, on_unavailable)
    app.add_error_handler(Exception, on_error)
    return app
