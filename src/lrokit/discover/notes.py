"""What an inference says about one value: where it was read from, or why it could not be."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Note:
    """One statement about an inferred profile key (``monitor.state_field``; ``""`` for the
    operation as a whole): what was inferred and the JSON pointer it was read from, or, when
    ``missing``, what could not be inferred and what a person must decide. ``suggestion`` is
    a TOML line the check file offers, commented out, for the person to fill in."""

    key: str
    text: str
    at: str | None = None
    missing: bool = False
    suggestion: str | None = None

    def __str__(self) -> str:
        where = f" (from {self.at})" if self.at is not None else ""
        head = f"{self.key}: " if self.key else ""
        return f"{head}{'NOT INFERRED: ' if self.missing else ''}{self.text}{where}"
