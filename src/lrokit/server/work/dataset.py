"""The deterministic sample sales dataset that reports are computed from.

The dataset is one SQLite file with a ``sales`` table and a ``meta`` table. It is
generated from ``(rows, seed)`` alone: the same pair always yields the same rows.
Sales are dated from ``FIRST_YEAR``-01-01 to ``LAST_YEAR``-12-31, ids follow date
order, and every region, category, product and channel is one of the constants below.
"""

from __future__ import annotations

import calendar
import fcntl
import operator
import os
import random
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path
from typing import TypeVar

from lrokit.server.settings import DEFAULT_ROWS

__all__ = [
    "CATEGORIES",
    "CHANNELS",
    "FIRST_YEAR",
    "LAST_YEAR",
    "PRODUCTS",
    "REGIONS",
    "SCHEMA_VERSION",
    "DatasetInfo",
    "connect_readonly",
    "ensure_dataset",
]

FIRST_YEAR = 2019
LAST_YEAR = 2025
SCHEMA_VERSION = 1
"""Version of the schema and of the generator; bump it whenever either changes."""

REGIONS: tuple[str, ...] = (
    "north-america",
    "south-america",
    "europe",
    "africa",
    "asia-pacific",
    "middle-east",
)
CATEGORIES: tuple[str, ...] = ("hardware", "software", "services", "accessories")
CHANNELS: tuple[str, ...] = ("online", "retail", "partner")

# category -> (product, list price in cents at FIRST_YEAR, relative popularity)
_CATALOGUE: dict[str, tuple[tuple[str, int, int], ...]] = {
    "hardware": (
        ("laptop", 119_900, 30),
        ("desktop", 89_900, 14),
        ("workstation", 249_900, 4),
        ("monitor", 27_900, 24),
        ("tablet", 49_900, 16),
        ("phone", 69_900, 20),
        ("printer", 19_900, 8),
        ("router", 12_900, 10),
        ("server", 599_900, 2),
        ("nas", 89_900, 3),
    ),
    "software": (
        ("office-suite", 14_900, 26),
        ("antivirus", 4_900, 22),
        ("backup", 7_900, 10),
        ("database", 199_900, 2),
        ("crm", 39_900, 5),
        ("erp", 149_900, 2),
        ("design-suite", 59_900, 6),
        ("ide", 19_900, 8),
        ("vpn", 5_900, 14),
        ("os-license", 13_900, 18),
    ),
    "services": (
        ("installation", 9_900, 16),
        ("support-basic", 19_900, 14),
        ("support-premium", 79_900, 5),
        ("training", 49_900, 6),
        ("consulting", 150_000, 3),
        ("migration", 250_000, 2),
        ("managed-backup", 29_900, 7),
        ("security-audit", 350_000, 1),
        ("cloud-hosting", 59_900, 6),
        ("extended-warranty", 14_900, 12),
    ),
    "accessories": (
        ("keyboard", 7_900, 40),
        ("mouse", 3_900, 50),
        ("headset", 9_900, 30),
        ("webcam", 6_900, 20),
        ("dock", 19_900, 14),
        ("charger", 4_900, 36),
        ("cable", 1_900, 60),
        ("bag", 5_900, 18),
        ("stand", 4_900, 12),
        ("stylus", 8_900, 10),
    ),
}
PRODUCTS: dict[str, tuple[str, ...]] = {
    category: tuple(name for name, _, _ in items) for category, items in _CATALOGUE.items()
}
"""The fixed product list of each category, keyed by category."""

_REGION_WEIGHTS = (30, 9, 25, 6, 22, 8)
_CHANNEL_WEIGHTS = (45, 35, 20)
_MONTH_WEIGHTS = (80, 78, 92, 95, 98, 96, 90, 93, 102, 105, 120, 145)
_WEEKEND_WEIGHT = 0.7
_GROWTH = 1.09  # sales volume, per year
_INFLATION = 1.03  # list prices, per year
_QUANTITY_WEIGHTS = (40, 20, 12, 8, 6, 4, 3, 3, 2, 2)  # quantity 1..10
_VOLUME_PRICE_FACTORS = (1.0, 1.0, 0.95, 0.95, 0.95, 0.9, 0.9, 0.9, 0.9, 0.9)  # by quantity
_CHANNEL_PRICE_FACTORS = (1.0, 1.0, 0.85)  # by channel: partners buy at a discount

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sales (
    id INTEGER PRIMARY KEY,
    sold_on TEXT NOT NULL,
    region TEXT NOT NULL,
    category TEXT NOT NULL,
    product TEXT NOT NULL,
    channel TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price_cents INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL
);
"""
# sales_region_sold_on covers the per-region and per-month totals, so they never read the table.
_INDEXES = """
CREATE INDEX sales_sold_on ON sales (sold_on);
CREATE INDEX sales_region_sold_on ON sales (region, sold_on, channel, quantity, amount_cents);
"""
_INSERT = (
    "INSERT INTO sales (sold_on, region, category, product, channel,"
    " quantity, unit_price_cents, amount_cents) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_T = TypeVar("_T")


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset file and the ``(rows, seed)`` it was generated from."""

    path: Path
    rows: int
    seed: int


def ensure_dataset(path: Path, rows: int = DEFAULT_ROWS, seed: int = 1) -> DatasetInfo:
    """Return the dataset at ``path``, building it first unless it is already current.

    The file is current when its ``meta`` table records ``SCHEMA_VERSION``, ``rows``
    and ``seed``. A build writes a temporary file in the same directory and renames it
    onto ``path``, so ``path`` is always either absent, the old file or a complete new
    one; concurrent builders each leave a valid, identical file.
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, not {rows}")
    expected = {"schema_version": str(SCHEMA_VERSION), "rows": str(rows), "seed": str(seed)}
    if _meta(path) != expected:
        _build(path, expected, rows, seed)
    return DatasetInfo(path=path, rows=rows, seed=seed)


def connect_readonly(path: Path) -> sqlite3.Connection:
    """Open the dataset at ``path`` read-only; the connection may be used from any thread."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    return sqlite3.connect(uri, uri=True, check_same_thread=False)


def _meta(path: Path) -> dict[str, str] | None:
    """The ``meta`` table of the file at ``path``, or None if it is not a readable dataset."""
    if not path.is_file():
        return None
    try:
        with closing(connect_readonly(path)) as conn:
            return dict(conn.execute("SELECT key, value FROM meta"))
    except sqlite3.Error:
        return None


def _sweep(path: Path) -> int:
    """Remove the temporary files of builds of ``path`` that died (a kill during the first
    start left 32 MB behind for good): a live build holds a lock on its file, a dead one does
    not. The number removed."""
    removed = 0
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            fd = os.open(stale, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # its builder is alive
            continue
        else:
            stale.unlink(missing_ok=True)
            removed += 1
        finally:
            os.close(fd)
    return removed


def _build(path: Path, meta: dict[str, str], rows: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep(path)
    held, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    fcntl.flock(held, fcntl.LOCK_EX)  # alive while this lock is: no sweep removes it
    try:
        with closing(sqlite3.connect(name)) as conn:
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            conn.executescript(_SCHEMA)
            conn.execute("BEGIN")
            conn.executemany(_INSERT, _generate(rows, seed))
            conn.executescript(_INDEXES)  # commits the open transaction first
            conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta.items())
            conn.commit()
            conn.execute("ANALYZE")
        fd = os.open(name, os.O_RDWR)
        try:
            os.fsync(fd)  # the rename must never expose unwritten pages
        finally:
            os.close(fd)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    finally:
        os.close(held)


def _generate(rows: int, seed: int) -> Iterator[tuple[str, str, str, str, str, int, int, int]]:
    """Yield ``rows`` sales rows (without id) in date order, as inserted by ``_build``."""
    rng = random.Random(seed)
    # Powers by repeated multiplication, not **, so that results never depend on libm.
    years = LAST_YEAR - FIRST_YEAR + 1
    growth = list(accumulate([_GROWTH] * (years - 1), operator.mul, initial=1.0))
    inflation = list(accumulate([_INFLATION] * (years - 1), operator.mul, initial=1.0))
    first = date(FIRST_YEAR, 1, 1)
    days = [first + timedelta(n) for n in range((date(LAST_YEAR, 12, 31) - first).days + 1)]
    # Each day gets its share of the rows: seasonal, growing, quieter at weekends, jittered.
    day_weights = [
        _MONTH_WEIGHTS[d.month - 1]
        / calendar.monthrange(d.year, d.month)[1]
        * growth[d.year - FIRST_YEAR]
        * (_WEEKEND_WEIGHT if d.weekday() >= 5 else 1.0)
        * rng.uniform(0.8, 1.2)
        for d in days
    ]
    total = sum(day_weights)
    bounds = [0] + [round(rows * c / total) for c in accumulate(day_weights)]

    products = [(c, p, price, w) for c, items in _CATALOGUE.items() for p, price, w in items]
    product_weights = [w for _, _, _, w in products]
    # unit_prices[year][product][quantity - 1][channel], in cents
    unit_prices = [
        [
            [
                [
                    round(price * inflation[year] * volume * channel)
                    for channel in _CHANNEL_PRICE_FACTORS
                ]
                for volume in _VOLUME_PRICE_FACTORS
            ]
            for _, _, price, _ in products
        ]
        for year in range(years)
    ]

    def draw(population: Sequence[_T], weights: Sequence[float], k: int) -> list[_T]:
        return rng.choices(population, cum_weights=list(accumulate(weights)), k=k)

    for n, day in enumerate(days):
        k = bounds[n + 1] - bounds[n]
        sold_on = day.isoformat()
        prices = unit_prices[day.year - FIRST_YEAR]
        for region, c, p, quantity in zip(
            draw(REGIONS, _REGION_WEIGHTS, k),
            draw(range(len(CHANNELS)), _CHANNEL_WEIGHTS, k),
            draw(range(len(products)), product_weights, k),
            draw(range(1, 11), _QUANTITY_WEIGHTS, k),
            strict=True,
        ):
            category, product, _, _ = products[p]
            price = prices[p][quantity - 1][c]
            yield (
                sold_on,
                region,
                category,
                product,
                CHANNELS[c],
                quantity,
                price,
                quantity * price,
            )
