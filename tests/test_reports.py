"""Tests of the sample sales dataset and of the report plans computed from it."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from lrokit.server.work import dataset
from lrokit.server.work.dataset import (
    CATEGORIES,
    CHANNELS,
    PRODUCTS,
    REGIONS,
    DatasetInfo,
    connect_readonly,
    ensure_dataset,
)
from lrokit.server.work.reports import (
    ERROR_CODES,
    REPORT_TYPES,
    ReportError,
    Step,
    plan_report,
    result_to_csv,
)

ROWS = 20_000


@pytest.fixture(scope="module")
def sales(tmp_path_factory: pytest.TempPathFactory) -> DatasetInfo:
    return ensure_dataset(tmp_path_factory.mktemp("dataset") / "sales.db", rows=ROWS, seed=7)


@pytest.fixture(scope="module")
def conn(sales: DatasetInfo) -> Iterator[sqlite3.Connection]:
    with closing(connect_readonly(sales.path)) as connection:
        yield connection


def run(report_type: str, parameters: dict[str, Any], path: Path) -> dict[str, Any]:
    """Run a report the way the server does: each step in order, then finish."""
    plan = plan_report(report_type, parameters)
    with closing(connect_readonly(path)) as connection:
        parts = [step.run(connection) for step in plan.steps]
    return plan.finish(parts)


def all_rows(path: Path) -> list[tuple[Any, ...]]:
    with closing(connect_readonly(path)) as connection:
        return connection.execute("SELECT * FROM sales ORDER BY id").fetchall()


def one(conn: sqlite3.Connection, sql: str, *args: Any) -> tuple[Any, ...]:
    row: tuple[Any, ...] = conn.execute(sql, args).fetchone()
    return row


# --- dataset ------------------------------------------------------------------------


def test_same_seed_builds_identical_rows_and_another_seed_differs(tmp_path: Path) -> None:
    first = all_rows(ensure_dataset(tmp_path / "a.db", rows=3_000, seed=1).path)
    again = all_rows(ensure_dataset(tmp_path / "b.db", rows=3_000, seed=1).path)
    other = all_rows(ensure_dataset(tmp_path / "c.db", rows=3_000, seed=2).path)
    assert len(first) == 3_000
    assert first == again
    assert first != other


def test_rows_have_the_documented_shape(conn: sqlite3.Connection) -> None:
    rows = conn.execute("SELECT * FROM sales ORDER BY id").fetchall()
    assert [row[0] for row in rows] == list(range(1, ROWS + 1))
    assert [row[1] for row in rows] == sorted(row[1] for row in rows)  # ids follow dates
    assert rows[0][1] >= "2019-01-01"
    assert rows[-1][1] <= "2025-12-31"
    for _, _, region, category, product, channel, quantity, price, amount in rows:
        assert region in REGIONS
        assert product in PRODUCTS[category]
        assert channel in CHANNELS
        assert quantity >= 1
        assert price > 0
        assert amount == quantity * price
    assert set(PRODUCTS) == set(CATEGORIES)
    assert 30 <= sum(len(products) for products in PRODUCTS.values()) <= 50


def test_sales_grow_over_the_years(conn: sqlite3.Connection) -> None:
    per_year = conn.execute(
        "SELECT substr(sold_on, 1, 4), COUNT(*) FROM sales GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert [year for year, _ in per_year] == [str(year) for year in range(2019, 2026)]
    assert per_year[-1][1] > 1.3 * per_year[0][1]


def test_ensure_dataset_reuses_a_current_file_and_rebuilds_otherwise(tmp_path: Path) -> None:
    path = tmp_path / "sales.db"
    info = ensure_dataset(path, rows=1_000, seed=3)
    assert info == DatasetInfo(path=path, rows=1_000, seed=3)
    built = path.stat()

    ensure_dataset(path, rows=1_000, seed=3)
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (built.st_ino, built.st_mtime_ns)

    ensure_dataset(path, rows=1_200, seed=3)
    assert path.stat().st_ino != built.st_ino
    assert len(all_rows(path)) == 1_200

    rows_seed_3 = all_rows(path)
    ensure_dataset(path, rows=1_200, seed=4)
    assert all_rows(path) != rows_seed_3
    with closing(connect_readonly(path)) as connection:
        meta = dict(connection.execute("SELECT key, value FROM meta"))
    assert meta == {"schema_version": str(dataset.SCHEMA_VERSION), "rows": "1200", "seed": "4"}
    assert os.listdir(tmp_path) == ["sales.db"]  # no temporary files left behind


def test_a_file_that_is_not_a_dataset_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "sales.db"
    path.write_bytes(b"not a database")
    ensure_dataset(path, rows=500)
    assert len(all_rows(path)) == 500


def test_a_failed_build_leaves_the_old_file_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sales.db"
    ensure_dataset(path, rows=500)
    before = all_rows(path)

    generate = dataset._generate

    def broken(rows: int, seed: int) -> Iterator[tuple[Any, ...]]:
        yield from list(generate(rows, seed))[:100]
        raise RuntimeError("crash mid-build")

    monkeypatch.setattr(dataset, "_generate", broken)
    with pytest.raises(RuntimeError, match="crash mid-build"):
        ensure_dataset(path, rows=600)
    assert all_rows(path) == before
    assert os.listdir(tmp_path) == ["sales.db"]


def test_ensure_dataset_rejects_an_empty_dataset(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rows"):
        ensure_dataset(tmp_path / "sales.db", rows=0)


def test_connect_readonly_cannot_write(conn: sqlite3.Connection) -> None:
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM sales")


# --- reports ------------------------------------------------------------------------


def test_step_names_follow_the_plan() -> None:
    assert [s.name for s in plan_report("yearly-sales", {"year": "2023"}).steps] == [
        f"aggregate-2023-{m:02d}" for m in range(1, 13)
    ]
    assert [
        s.name
        for s in plan_report("sales-by-region", {"from": "2023-01-01", "to": "2023-01-01"}).steps
    ] == [f"aggregate-{region}" for region in REGIONS]
    assert [s.name for s in plan_report("top-products", {"year": "2024"}).steps] == [
        f"aggregate-2024-Q{q}" for q in range(1, 5)
    ]


def test_yearly_sales_matches_the_data(sales: DatasetInfo, conn: sqlite3.Connection) -> None:
    result = run("yearly-sales", {"year": "2023"}, sales.path)
    assert result["reportType"] == "yearly-sales"
    assert result["parameters"] == {"year": "2023"}
    assert [c["name"] for c in result["columns"]] == ["month", "orders", "units", "revenue"]
    expected = conn.execute(
        "SELECT substr(sold_on, 1, 7), COUNT(*), SUM(quantity), SUM(amount_cents)"
        " FROM sales WHERE sold_on LIKE '2023-%' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert [(m, o, u, round(r * 100)) for m, o, u, r in result["rows"]] == expected
    assert [row[0] for row in result["rows"]] == [f"2023-{m:02d}" for m in range(1, 13)]

    orders, units, cents = one(
        conn,
        "SELECT COUNT(*), SUM(quantity), SUM(amount_cents) FROM sales WHERE sold_on LIKE ?",
        "2023-%",
    )
    summary = result["summary"]
    assert (summary["orders"], summary["units"]) == (orders, units)
    assert round(summary["revenue"] * 100) == cents
    assert round(sum(row[3] for row in result["rows"]) * 100) == cents
    assert summary["revenue"] == round(cents / 100, 2)


def test_yearly_sales_by_region_adds_up_to_all_regions(sales: DatasetInfo) -> None:
    total = run("yearly-sales", {"year": "2021"}, sales.path)["summary"]
    parts = [run("yearly-sales", {"year": "2021", "region": r}, sales.path) for r in REGIONS]
    assert sum(p["summary"]["orders"] for p in parts) == total["orders"]
    assert sum(p["summary"]["units"] for p in parts) == total["units"]
    assert round(sum(p["summary"]["revenue"] for p in parts) * 100) == round(total["revenue"] * 100)
    assert all(0 < p["summary"]["orders"] < total["orders"] for p in parts)


def test_sales_by_region_matches_the_data(sales: DatasetInfo, conn: sqlite3.Connection) -> None:
    parameters = {"from": "2023-01-01", "to": "2023-06-30", "channel": "online"}
    result = run("sales-by-region", parameters, sales.path)
    assert result["parameters"] == parameters
    assert [c["name"] for c in result["columns"]] == [
        "region",
        "orders",
        "units",
        "revenue",
        "share",
    ]
    assert [row[0] for row in result["rows"]] == list(REGIONS)
    expected = dict(
        (region, (orders, units, cents))
        for region, orders, units, cents in conn.execute(
            "SELECT region, COUNT(*), SUM(quantity), SUM(amount_cents) FROM sales"
            " WHERE sold_on >= '2023-01-01' AND sold_on <= '2023-06-30' AND channel = 'online'"
            " GROUP BY region"
        )
    )
    total_cents = sum(cents for _, _, cents in expected.values())
    for region, orders, units, revenue, share in result["rows"]:
        assert (orders, units, round(revenue * 100)) == expected[region]
        assert share == round(expected[region][2] / total_cents, 4)
    assert sum(row[4] for row in result["rows"]) == pytest.approx(1, abs=0.001)
    assert round(result["summary"]["revenue"] * 100) == total_cents
    assert result["summary"]["orders"] == sum(orders for orders, _, _ in expected.values())


def test_sales_by_region_dates_are_inclusive(sales: DatasetInfo, conn: sqlite3.Connection) -> None:
    day = one(conn, "SELECT sold_on FROM sales WHERE id = 1000")[0]
    result = run("sales-by-region", {"from": day, "to": day}, sales.path)
    assert (
        result["summary"]["orders"]
        == one(conn, "SELECT COUNT(*) FROM sales WHERE sold_on = ?", day)[0]
    )


@pytest.mark.parametrize("category", [None, "software"])
def test_top_products_ranks_by_revenue(
    sales: DatasetInfo, conn: sqlite3.Connection, category: str | None
) -> None:
    parameters: dict[str, Any] = {"year": "2024", "limit": 5}
    if category:
        parameters["category"] = category
    result = run("top-products", parameters, sales.path)
    assert [c["name"] for c in result["columns"]] == [
        "rank",
        "product",
        "category",
        "units",
        "revenue",
    ]
    where = "sold_on LIKE '2024-%'" + (" AND category = ?" if category else "")
    args = [category] if category else []
    expected = conn.execute(
        "SELECT product, category, SUM(quantity), SUM(amount_cents) FROM sales"
        f" WHERE {where} GROUP BY product ORDER BY SUM(amount_cents) DESC LIMIT 5",
        args,
    ).fetchall()
    assert [(p, c, u, round(r * 100)) for _, p, c, u, r in result["rows"]] == expected
    assert [row[0] for row in result["rows"]] == [1, 2, 3, 4, 5]
    if category:
        assert {row[2] for row in result["rows"]} == {category}
    orders, products, cents = one(
        conn,
        f"SELECT COUNT(*), COUNT(DISTINCT product), SUM(amount_cents) FROM sales WHERE {where}",
        *args,
    )
    summary = result["summary"]
    assert (summary["orders"], summary["products"]) == (orders, products)
    assert round(summary["revenue"] * 100) == cents


def test_top_products_limit_defaults_to_10_and_caps_at_the_products_sold(
    sales: DatasetInfo,
) -> None:
    assert len(run("top-products", {"year": "2022"}, sales.path)["rows"]) == 10
    everything = run("top-products", {"year": "2022", "limit": 100}, sales.path)
    assert len(everything["rows"]) == everything["summary"]["products"]
    assert everything["summary"]["products"] == sum(len(p) for p in PRODUCTS.values())
    revenues = [row[4] for row in everything["rows"]]
    assert revenues == sorted(revenues, reverse=True)


@pytest.mark.parametrize(
    ("report_type", "parameters", "step", "selection"),
    [
        ("yearly-sales", {"year": "1999"}, "aggregate-1999-12", "year 1999"),
        ("top-products", {"year": "2030"}, "aggregate-2030-Q4", "year 2030"),
        (
            "sales-by-region",
            {"from": "2026-01-01", "to": "2026-12-31"},
            "aggregate-middle-east",
            "2026-01-01 to 2026-12-31",
        ),
    ],
)
def test_an_input_without_sales_is_a_no_data_error(
    sales: DatasetInfo, report_type: str, parameters: dict[str, Any], step: str, selection: str
) -> None:
    with pytest.raises(ReportError) as caught:
        run(report_type, parameters, sales.path)
    error = caught.value
    assert error.code == "NO_DATA"
    assert error.code in ERROR_CODES
    assert error.title == "No data for the report's input"
    assert selection in error.detail
    assert error.failed_step == step
    assert error.retryable is False


def test_results_are_json_and_csv(sales: DatasetInfo) -> None:
    samples: dict[str, dict[str, Any]] = {
        "yearly-sales": {"year": "2020", "region": "europe"},
        "sales-by-region": {"from": "2019-01-01", "to": "2025-12-31"},
        "top-products": {"year": "2025", "category": "hardware", "limit": 3},
    }
    assert set(samples) == set(REPORT_TYPES)
    for report_type, parameters in samples.items():
        result = run(report_type, parameters, sales.path)
        assert json.loads(json.dumps(result)) == result
        assert set(result) == {"reportType", "parameters", "columns", "rows", "summary"}
        kinds = {"string": str, "integer": int, "number": float}
        for row in result["rows"]:
            assert len(row) == len(result["columns"])
            for value, column in zip(row, result["columns"], strict=True):
                assert type(value) is kinds[column["type"]]

        text = result_to_csv(result)
        assert text.count("\r\n") == len(result["rows"]) + 1
        assert text.endswith("\r\n")
        parsed = list(csv.reader(io.StringIO(text, newline="")))
        assert parsed[0] == [c["name"] for c in result["columns"]]
        assert parsed[1:] == [[str(v) for v in row] for row in result["rows"]]


def test_result_to_csv_quotes_per_rfc_4180() -> None:
    result = {
        "columns": [{"name": "product", "type": "string"}, {"name": "units", "type": "integer"}],
        "rows": [['say "hi", twice', 2], ["line\nbreak", 3]],
    }
    text = result_to_csv(result)
    assert text.startswith('product,units\r\n"say ""hi"", twice",2\r\n')
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["product", "units"],
        ['say "hi", twice', "2"],
        ["line\nbreak", "3"],
    ]


def test_an_unknown_report_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown report type"):
        plan_report("monthly-sales", {"year": "2023"})


@pytest.mark.parametrize(
    ("report_type", "parameters"),
    [
        ("yearly-sales", {}),
        ("yearly-sales", {"year": 2023}),
        ("yearly-sales", {"year": "23"}),
        ("yearly-sales", {"year": "２０２３"}),  # noqa: RUF001 - non-ASCII digits
        ("yearly-sales", {"year": "0000"}),
        ("yearly-sales", {"year": "0999"}),
        ("yearly-sales", {"year": "2023", "region": "mars"}),
        ("yearly-sales", {"year": "2023", "region": None}),
        ("yearly-sales", {"year": "2023", "colour": "blue"}),
        ("sales-by-region", {"from": "2023-01-01"}),
        ("sales-by-region", {"from": "2023-07-01", "to": "2023-06-30"}),
        ("sales-by-region", {"from": "2023-02-30", "to": "2023-06-30"}),
        ("sales-by-region", {"from": "20230101", "to": "2023-06-30"}),
        ("sales-by-region", {"from": "2023-01-01", "to": "2023-06-30", "channel": "fax"}),
        ("top-products", {"year": "2024", "limit": 0}),
        ("top-products", {"year": "2024", "limit": 101}),
        ("top-products", {"year": "2024", "limit": "10"}),
        ("top-products", {"year": "2024", "limit": True}),
        ("top-products", {"year": "2024", "limit": 10.0}),
        ("top-products", {"year": "2024", "category": "food"}),
    ],
)
def test_invalid_parameters_are_rejected(report_type: str, parameters: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        plan_report(report_type, parameters)


def test_parameters_must_be_a_mapping() -> None:
    with pytest.raises(ValueError, match="object"):
        plan_report("yearly-sales", ["year", "2023"])  # type: ignore[arg-type]


def test_step_weight_must_be_positive() -> None:
    with pytest.raises(ValueError, match="weight"):
        Step("aggregate", lambda conn: None, weight=0)


def test_a_build_killed_midway_leaves_no_file_for_good(tmp_path: Path) -> None:
    """Issue 15: a kill during the first start's build left its 32 MB temporary file behind
    for good. The next build removes a dead build's file, and never a live one's (which holds
    a lock on it)."""
    path = tmp_path / "sales.db"
    dead = tmp_path / ".sales.db.dead1234.tmp"
    dead.write_bytes(b"half a dataset")
    live = tmp_path / ".sales.db.live5678.tmp"
    live.write_bytes(b"a build under way")
    held = os.open(live, os.O_RDWR)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        ensure_dataset(path, rows=1_000, seed=3)
        assert not dead.exists()
        assert live.exists()
    finally:
        os.close(held)
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "sales.db"]
