"""The requests a run sends before it checks anything (``--setup``, a check file's
``[[setup]]``): what the operation needs to exist, e.g. its parent resource.

They are the user's requests, not the server's test: each MUST be answered below 400, or the
run stops before it starts with :class:`SetupFailed` (a usage error, exit 2), naming the step
and the answer. They are not judged and not counted among the run's exchanges.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from lrokit.runner.overrides import SetupStep
from lrokit.runner.target import Target, TargetConfig


class SetupFailed(RuntimeError):
    """A setup step was not answered, or was refused; the message names the step."""


async def prepare(
    config: TargetConfig,
    steps: Iterable[SetupStep],
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """Send ``steps`` in order, each after the one before it succeeded; the number sent."""
    target = Target(config, transport)
    sent = 0
    try:
        for step in steps:
            content, headers = None, dict(step.headers or {})
            if step.body is not None:
                content, headers["Content-Type"] = step.body.encode()
            exchange = await target.request(
                "setup", step.method, target.url(step.path), content=content, headers=headers
            )
            sent += 1
            if exchange.status is None or exchange.status >= 400:
                said = exchange.body[:200].decode("utf-8", "replace").strip()
                more = f": {said}" if said else ""
                raise SetupFailed(f"setup {step.describe()}: {exchange.describe()}{more}")
    finally:
        await target.aclose()
    return sent
