"""The reference server passes every rule of the canonical profile, with nothing skipped."""

from __future__ import annotations

import dataclasses
from email.utils import formatdate
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from lrokit.model.contract import load_contract
from lrokit.model.profile import load_profile
from lrokit.runner.run import run
from lrokit.runner.target import TargetConfig
from lrokit.runner.verdicts import Outcome
from lrokit.server.http.app import contract_path, create_app
from lrokit.server.jobs.store import JobStore
from lrokit.server.settings import Settings
from tests.helpers import ALICE, BOB, TOKENS, bearer
from tests.test_conformance_fauxservers import canonical_rules, tenancy_rules

pytestmark = pytest.mark.anyio


def with_date(app: Any) -> Any:
    """Add the Date field uvicorn adds, for an app driven in-process."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        async def dated(message: Any) -> None:
            if message["type"] == "http.response.start":
                date = (b"date", formatdate(usegmt=True).encode())
                message = {**message, "headers": [date, *message.get("headers", [])]}
            await send(message)

        await app(scope, receive, dated)

    return wrapped


@pytest.mark.parametrize("tenanted", [False, True], ids=["open", "tokens"])
async def test_reference_server_conforms(
    settings: Settings, job_store: JobStore | None, tenanted: bool
) -> None:
    """Open, it passes every canonical rule; with tokens and a second principal given, every
    TENANCY rule too (each principal's jobs are its own)."""
    tokens = TOKENS if tenanted else None
    app = create_app(dataclasses.replace(settings, pace=1.0, tokens=tokens), store=job_store)
    headers = bearer(ALICE) if tenanted else {}
    others = bearer(BOB) if tenanted else {}
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=with_date(manager.app))
        config = TargetConfig(
            "http://testserver",
            time_scale=0.05,
            max_wait=30,
            headers=headers,
            other_headers=others,
        )
        report = await run(
            config,
            load_profile("canonical"),
            contract=load_contract(str(contract_path())),
            transport=transport,
        )
        # The run leaves nothing running: every job it started is over or asked to stop, so
        # the next run against the same server does not queue behind this one's.
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers
        ) as c:
            listed = (await c.get("/reports", params={"limit": 100})).json()["items"]
    running = [
        r["id"]
        for r in listed
        if r["status"] in ("PENDING", "PROCESSING") and not r.get("cancelRequested")
    ]
    assert running == [], listed
    passed = {v.rule.id for v in report.verdicts if v.outcome is Outcome.PASS}
    expected = {*canonical_rules(), *(tenancy_rules() if tenanted else ())}
    assert passed == expected, [
        (v.rule.id, v.outcome, v.reason, v.violations)
        for v in report.verdicts
        if v.outcome is not Outcome.PASS
    ]
    others = {v.outcome for v in report.verdicts if v.rule.id not in passed}
    assert others <= {Outcome.DISABLED}  # rules of other dialects only
    assert [n for n in report.notes if not n.startswith("clean-up: cancelled")] == []
