"""Server settings: one frozen value built by the CLI from flags and ``LROKIT_*`` variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: Rows of the sample sales dataset generated on first start.
DEFAULT_ROWS = 1_000_000


@dataclass(frozen=True)
class Settings:
    """How the reference server runs. Every field has a safe default for a local demo."""

    db: Path = field(default_factory=lambda: Path("lrokit-data") / "jobs.sqlite3")
    store: str | None = None  # postgresql://… to share jobs between processes; else SQLite at db
    dataset: Path | None = None  # default: ``sales.sqlite3`` beside ``db``
    dataset_rows: int = DEFAULT_ROWS
    workers: int = 2
    pace: float = 0.0  # seconds a report takes at least; 0 = as fast as the data allows
    retry_after_min: int = 1
    retry_after_max: int = 10
    lease_seconds: float = 30.0
    max_attempts: int = 3  # attempts that lose their worker before a job ends WORKER_LOST
    backoff: float = 1.0  # seconds; a retry waits a random 0..backoff * 2**(attempt-1), <= 60
    retention: float = 7 * 24 * 3600.0  # seconds a finished job stays readable; then 410
    poll_interval: float = 0.5  # how often idle workers look for work they were not told of
    progress_interval: float = 0.1  # seconds between a worker's progress records (unpaced)
    max_body_bytes: int = 64 * 1024
    validate_responses: bool = False
    fast_path: bool = True  # answer valid hot requests by compiled validators (fastpath.py)
    ui: bool = True  # serve Swagger UI at /ui
    header_timeout: float = 10.0  # seconds a request's line and header fields may take
    body_timeout: float = 30.0  # seconds a request's body may take once its head is in
    keep_alive_timeout: int = 5  # seconds an idle kept-alive connection stays open
    max_in_flight: int = 512  # requests answered at once; 503 server-busy beyond
    max_prefer_wait: int = 30  # seconds a monitor read with Prefer: wait may be held; 0: never
    # Bearer token -> principal: each principal sees only its own reports. None: open to anyone.
    tokens: Mapping[str, str] | None = field(default=None, hash=False)
    # Webhooks: the hosts and networks callbacks may go to (none: submissions with a
    # callbackUrl are refused), the whsec_ secret they are signed with, the retry schedule's
    # base, how long an event is retried, and how long one attempt may take.
    callback_allow: tuple[str, ...] = ()
    webhook_secret: str | None = field(default=None, repr=False)
    callback_backoff: float = 2.0
    callback_period: float = 24 * 3600.0
    callback_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise ValueError("workers must be >= 0")
        if self.pace < 0:
            raise ValueError("pace must be >= 0")
        if not 0 <= self.retry_after_min <= self.retry_after_max:
            raise ValueError("need 0 <= retry_after_min <= retry_after_max")
        if self.lease_seconds <= 0 or self.poll_interval <= 0 or self.progress_interval <= 0:
            raise ValueError("lease_seconds, poll_interval and progress_interval must be > 0")
        if self.max_attempts < 1 or self.backoff < 0 or self.retention <= 0:
            raise ValueError("need max_attempts >= 1, backoff >= 0 and retention > 0")
        if self.max_body_bytes < 1024:
            raise ValueError("max_body_bytes must be >= 1024")
        if self.store is not None and not self.store.startswith(("postgresql://", "postgres://")):
            raise ValueError("store must be a postgresql:// URL (leave it out for SQLite)")
        if min(self.header_timeout, self.body_timeout, self.keep_alive_timeout) <= 0:
            raise ValueError("need header_timeout, body_timeout and keep_alive_timeout > 0")
        if self.max_in_flight < 1 or self.max_prefer_wait < 0:
            raise ValueError("need max_in_flight >= 1 and max_prefer_wait >= 0")
        if self.tokens is not None and not self.tokens:
            raise ValueError("tokens: give at least one, or None for a server open to anyone")
        if self.callback_allow and self.webhook_secret is None:
            raise ValueError(
                "callbacks need a webhook secret (--webhook-secret or LROKIT_WEBHOOK_SECRET):"
                " receivers cannot trust unsigned ones"
            )
        if min(self.callback_backoff, self.callback_period, self.callback_timeout) <= 0:
            raise ValueError("need callback_backoff, callback_period and callback_timeout > 0")
        if self.dataset_rows < 1:
            raise ValueError("dataset_rows must be >= 1")

    @property
    def dataset_path(self) -> Path:
        """Where the sample sales dataset lives."""
        return self.dataset if self.dataset is not None else self.db.parent / "sales.sqlite3"
