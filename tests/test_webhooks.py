"""lrokit.webhooks against the Standard Webhooks specification's published test vector, so
the signing code is checked against fixed values, not only against itself."""

from __future__ import annotations

import pytest

from lrokit.webhooks import WebhookVerificationError, signature_headers, verify

# The specification's test vector (standard-webhooks, spec/standard-webhooks.md).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MESSAGE = "msg_p5jXN8AQM9LWM0D4loKWxJek"
STAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
HEADERS = {"webhook-id": MESSAGE, "webhook-timestamp": str(STAMP), "webhook-signature": SIGNATURE}


def test_signing_reproduces_the_specifications_vector() -> None:
    assert signature_headers(SECRET, MESSAGE, STAMP, BODY) == HEADERS


def test_the_specifications_vector_verifies() -> None:
    verify(HEADERS, BODY, SECRET, now=STAMP + 10)
    verify({k.upper(): v for k, v in HEADERS.items()}, BODY, SECRET, now=STAMP)
    rotated = {**HEADERS, "webhook-signature": f"v1,bm90IGl0 v2,abc {SIGNATURE}"}
    verify(rotated, BODY, SECRET, now=STAMP)  # any one v1 entry may match


@pytest.mark.parametrize(
    ("headers", "body", "secret", "now", "reason"),
    [
        (HEADERS, b'{"test": 2432232315}', SECRET, STAMP, "no v1 signature matches"),
        ({**HEADERS, "webhook-id": "msg_other"}, BODY, SECRET, STAMP, "no v1 signature"),
        (HEADERS, BODY, "whsec_c2VjcmV0LW9mLWFub3RoZXI=", STAMP, "no v1 signature"),
        (HEADERS, BODY, SECRET, STAMP + 301, "301 s behind the receiver's clock"),
        (HEADERS, BODY, SECRET, STAMP - 400, "400 s ahead of the receiver's clock"),
        ({**HEADERS, "webhook-signature": "v1"}, BODY, SECRET, STAMP, "no v1 signature"),
        ({**HEADERS, "webhook-signature": "v1,%%%"}, BODY, SECRET, STAMP, "no v1 signature"),
        ({**HEADERS, "webhook-timestamp": "soon"}, BODY, SECRET, STAMP, "not Unix seconds"),
        ({"webhook-id": MESSAGE}, BODY, SECRET, STAMP, "missing webhook-timestamp"),
        (HEADERS, b"\xff", SECRET, STAMP, "not UTF-8"),
        (HEADERS, BODY, "whsec_%%%", STAMP, "not a whsec_ base64 key"),
    ],
)
def test_a_delivery_that_does_not_verify_says_why(
    headers: dict[str, str], body: bytes, secret: str, now: float, reason: str
) -> None:
    with pytest.raises(WebhookVerificationError, match=reason):
        verify(headers, body, secret, now=now)
