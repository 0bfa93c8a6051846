"""The job model's ids."""

from __future__ import annotations

import time
import uuid

from lrokit.server.jobs.job import new_job_id


def test_job_ids_are_uuidv7_in_time_order_and_unique() -> None:
    first = new_job_id()
    time.sleep(0.002)
    later = [new_job_id() for _ in range(10_000)]
    parsed = uuid.UUID(first)
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    assert abs(int(first[:12], 16) / 1000 - time.time()) < 5  # milliseconds since the epoch
    assert all(first < other for other in later)  # made later, sorted later
    assert len(set(later)) == len(later)
    assert all(len(i) == 32 and set(i) <= set("0123456789abcdef") for i in later)
