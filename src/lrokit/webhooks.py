"""Standard Webhooks signatures (standardwebhooks.com, specification v1): sign a delivery,
and verify one as a receiver must.

A delivery carries ``webhook-id`` (the same on every redelivery of one message),
``webhook-timestamp`` (Unix seconds) and ``webhook-signature``: space-separated entries
``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` under the secret ``whsec_<base64 key>``.
A receiver MUST compare signatures in constant time and SHOULD refuse a timestamp outside a
tolerance (five minutes) to stop replays.

The signature is computed by ``standardwebhooks``, the specification's own library. Its
``verify`` is not used: it reads the time only from the system clock (a tester judging a
recorded delivery needs its own), and a malformed header makes it raise ``ValueError`` or
``binascii.Error`` instead of its verification error. So the headers are read here, and every
way a delivery can be wrong is a :class:`WebhookVerificationError` that says which.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

#: Seconds a delivery's timestamp may be away from the receiver's clock (the specification's).
TOLERANCE = 300.0


class WebhookVerificationError(Exception):
    """A delivery that does not verify; the message says why, in one line."""


def _signer(secret: str | bytes) -> Webhook:
    try:
        return Webhook(secret)
    except (ValueError, binascii.Error, RuntimeError, EmptyWebhookSecretError) as exc:
        raise WebhookVerificationError(f"the secret is not a whsec_ base64 key: {exc}") from exc


def signature_headers(
    secret: str | bytes, message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three header fields that sign ``body`` as message ``message_id`` at ``timestamp``."""
    signed = _signer(secret).sign(
        message_id, datetime.fromtimestamp(timestamp, UTC), body.decode("utf-8")
    )
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signed,
    }


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secret: str | bytes,
    *,
    now: float | None = None,
    tolerance: float = TOLERANCE,
) -> None:
    """Return if the delivery is signed with ``secret`` and timed within ``tolerance`` of
    ``now`` (default: the system clock); else raise :class:`WebhookVerificationError`."""
    fields = {name.lower(): value for name, value in headers.items()}
    missing = [
        n for n in ("webhook-id", "webhook-timestamp", "webhook-signature") if not fields.get(n)
    ]
    if missing:
        raise WebhookVerificationError(f"missing {', '.join(missing)}")
    stamp = fields["webhook-timestamp"].strip()
    if not stamp.isascii() or not stamp.isdigit():
        raise WebhookVerificationError(f"webhook-timestamp {stamp[:40]!r} is not Unix seconds")
    skew = int(stamp) - (time.time() if now is None else now)
    if abs(skew) > tolerance:
        when = "ahead of" if skew > 0 else "behind"
        raise WebhookVerificationError(
            f"webhook-timestamp is {abs(skew):.0f} s {when} the receiver's clock "
            f"(tolerance {tolerance:g} s)"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookVerificationError("the body is not UTF-8") from exc
    expected = _signer(secret).sign(
        fields["webhook-id"], datetime.fromtimestamp(int(stamp), UTC), text
    )
    wanted = base64.b64decode(expected.split(",", 1)[1])
    for entry in fields["webhook-signature"].split():
        version, _, value = entry.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(value, validate=True)
        except binascii.Error:
            continue
        if hmac.compare_digest(wanted, given):
            return
    raise WebhookVerificationError("no v1 signature matches the body under this secret")
