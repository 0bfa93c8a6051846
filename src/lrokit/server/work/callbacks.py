"""Webhook delivery: the workers send the outbox's events to their receivers, at least once.

An event is in the outbox from the transaction that wrote the job's new state (see
:func:`lrokit.server.jobs.rows.event_of`). A deliverer takes one due event under a lease,
POSTs it, and records the outcome:

- a 2xx answer ends it (``delivered``);
- 410 Gone ends it and every pending event for the same URL (``disabled``);
- any other answer, a connection that fails or an answer later than ``callback_timeout``
  is retried: attempt n waits ``base/2 + uniform(0, min(cap, base * 2**(n-1)))`` seconds
  (exponential backoff with full jitter above a floor, so that many events failing together
  spread out, and no retry comes at once), and at least the ``Retry-After`` of a 429 or 503
  answer (RFC 9110 §10.2.3; RFC 6585 §4);
- once an event is older than ``callback_period`` it is not tried again (``failed``).

Each attempt is signed anew (Standard Webhooks: ``webhook-timestamp`` is the attempt's time)
with the same ``webhook-id`` and body. The connection goes to an address the operator's
``--callback-allow`` admits, resolved now and pinned for the request (:mod:`egress`);
redirects are not followed, since the place they point to was never checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import httpx

from lrokit import __version__
from lrokit.server.egress import Egress, Refused, parse_target
from lrokit.server.jobs.job import CallbackState, Delivery
from lrokit.server.jobs.store import JobStore, StoreUnavailable
from lrokit.server.settings import Settings
from lrokit.webhooks import signature_headers

log = logging.getLogger("lrokit.callbacks")

#: The most seconds the jittered part of a retry's wait may reach.
BACKOFF_CAP = 600.0
#: Deliveries one process makes at once.
CONCURRENCY = 16
#: The most of a receiver's answer read (its body is only quoted in ``lastError``).
ANSWER_BYTES = 4096


def retry_delay(attempt: int, base: float, jitter: random.Random) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1, 2, …): a floor of ``base/2`` and
    a random part up to ``base * 2**(attempt-1)``, at most :data:`BACKOFF_CAP`."""
    return base / 2 + jitter.uniform(0, min(BACKOFF_CAP, base * 2 ** min(attempt - 1, 30)))


def _retry_after(response: httpx.Response) -> float | None:
    """The seconds of a 429 or 503 answer's ``Retry-After`` (delay-seconds or an HTTP-date),
    else None."""
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError, IndexError):
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    return None


class Deliverer:
    """Sends the outbox's due events, :data:`CONCURRENCY` at a time, until stopped."""

    def __init__(
        self, store: JobStore, settings: Settings, clock: Callable[[], float] = time.time
    ) -> None:
        assert settings.webhook_secret is not None, "callbacks need a secret (Settings checks)"
        self.store = store
        self.settings = settings
        self.clock = clock
        self.secret = settings.webhook_secret
        self.egress = Egress.parse(settings.callback_allow)
        # An attempt's lease outlasts the attempt: no one else takes an event being sent.
        self.lease = settings.callback_timeout + 5.0
        self._wakeup = asyncio.Event()
        self._jitter = random.Random()
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._sending: set[asyncio.Task[None]] = set()
        self._http = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment would connect where we did not check
            timeout=settings.callback_timeout,
            headers={"User-Agent": f"lrokit/{__version__} webhooks"},
        )

    def wake(self) -> None:
        """An event may be due: look now, not at the next poll."""
        self._wakeup.set()

    async def run(self) -> None:
        """Take due events and send each on a task of its own, until cancelled; look again
        at :meth:`wake` or every ``poll_interval`` seconds."""
        try:
            while True:
                await self._slots.acquire()
                try:
                    delivery = await self.store.claim_delivery(self.lease)
                except StoreUnavailable as exc:
                    self._slots.release()
                    log.warning("webhooks: the job store is unavailable (%s)", exc)
                    await self._idle(max(self.settings.poll_interval, 1.0))
                    continue
                if delivery is None:
                    self._slots.release()
                    await self._idle(self.settings.poll_interval)
                    continue
                task = asyncio.create_task(self._attempt(delivery), name=f"webhook {delivery.id}")
                self._sending.add(task)
                task.add_done_callback(self._sent)
        finally:
            for task in list(self._sending):
                task.cancel()
            await asyncio.gather(*self._sending, return_exceptions=True)
            await self._http.aclose()

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._slots.release()
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("webhooks: a delivery failed unexpectedly", exc_info=exc)

    async def _idle(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wakeup.wait()
        self._wakeup.clear()

    async def _attempt(self, delivery: Delivery) -> None:
        """Send ``delivery`` once and record how it went."""
        try:
            state, error, wait = await self._send(delivery)
        except asyncio.CancelledError:  # the server stops: try again soon, elsewhere or later
            with contextlib.suppress(StoreUnavailable):
                await asyncio.shield(
                    self.store.settle_delivery(
                        delivery, CallbackState.PENDING, "interrupted: the server stopped"
                    )
                )
            raise
        if state is CallbackState.PENDING:
            wait = max(
                wait or 0.0,
                retry_delay(delivery.attempts, self.settings.callback_backoff, self._jitter),
            )
            if self.clock() + wait - delivery.created_at > self.settings.callback_period:
                state = CallbackState.FAILED
                error = f"{error}; given up after {delivery.attempts} attempts"
        log.info(
            "webhook %s attempt %d: %s%s",
            delivery.id,
            delivery.attempts,
            state,
            f" ({error})" if error else "",
        )
        try:
            await self.store.settle_delivery(delivery, state, error, retry_in=wait or 0.0)
        except StoreUnavailable as exc:  # the lease runs out and the event is sent again
            log.warning("webhook %s: outcome not recorded (%s)", delivery.id, exc)

    async def _send(self, delivery: Delivery) -> tuple[CallbackState, str | None, float | None]:
        """One POST of ``delivery``: its outcome, why it failed, and the receiver's
        ``Retry-After`` in seconds."""
        try:
            target = parse_target(delivery.url)
            addresses = await self.egress.resolve(target)
        except Refused as exc:  # the URL may not be called now: nothing to try again
            return CallbackState.FAILED, f"refused: {exc}", None
        headers = {
            "Content-Type": "application/json",
            "Host": target.authority,
            **signature_headers(self.secret, delivery.id, int(self.clock()), delivery.body),
        }
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            # Pinned to the address just checked: a second DNS answer is never asked for.
            response = await self._http.post(
                target.url_at(addresses[0]),
                content=delivery.body,
                headers=headers,
                extensions=extensions,
            )
        except httpx.TimeoutException:
            return (
                CallbackState.PENDING,
                f"no answer within {self.settings.callback_timeout:g} s",
                None,
            )
        except httpx.HTTPError as exc:
            return CallbackState.PENDING, f"{type(exc).__name__}: {exc}"[:300], None
        status = response.status_code
        if 200 <= status < 300:
            return CallbackState.DELIVERED, None, None
        if status == 410:
            return CallbackState.DISABLED, "the receiver answered 410 Gone", None
        reason = f"the receiver answered {status}"
        if 300 <= status < 400:
            reason += " (a redirect, not followed)"
        return CallbackState.PENDING, reason, _retry_after(response)
