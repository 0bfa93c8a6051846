"""The request fuzzer of ``tests/fuzzing.py`` against the reference server with tokens on:
1,000 generated requests (``LROKIT_FUZZ_CASES`` for more), none answered 5xx, every 4xx a
bounded problem with the fields its status needs."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import TEST_ROWS
from tests.fuzzing import fuzz, fuzzed_server


def test_no_request_gets_a_5xx_and_every_refusal_is_a_problem(
    tmp_path: Path, dataset_path: Path
) -> None:
    count = int(os.environ.get("LROKIT_FUZZ_CASES", "1000"))
    chosen = int(os.environ.get("LROKIT_FUZZ_SEED", "20261203"))
    with fuzzed_server(tmp_path, dataset_path, TEST_ROWS) as (client, job):
        tally = fuzz(client, job, count, chosen)
    assert tally.cases >= count * 0.9, tally
    assert not [status for status in tally.statuses if status >= 500]
    # The cases reach past the edge: some are answered by the operations themselves.
    assert {200, 202, 400, 401, 404, 405} <= set(tally.statuses), tally.statuses
