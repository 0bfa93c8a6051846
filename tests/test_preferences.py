"""RFC 7240 Prefer parsing."""

from __future__ import annotations

import pytest

from lrokit.server.http.preferences import parse_prefer


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["respond-async"], {"respond-async": ""}),
        (["Respond-Async, WAIT=10"], {"respond-async": "", "wait": "10"}),
        (["wait=1, wait=600"], {"wait": "1"}),  # the first instance counts (RFC 7240 §2)
        (["wait=1", "respond-async"], {"wait": "1", "respond-async": ""}),  # lines join
        (['foo="a, b; c"; p=1, bar'], {"foo": "a, b; c", "bar": ""}),
        (["return=minimal; foo=bar"], {"return": "minimal"}),
        ([",,;;", "=x", "bad name=1"], {}),
        ([], {}),
    ],
)
def test_parse_prefer(values: list[str], expected: dict[str, str]) -> None:
    assert parse_prefer(values) == expected
