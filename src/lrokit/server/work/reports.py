"""Report types, each planned as a sequence of steps over the sales dataset.

``plan_report`` validates a report's parameters and returns a ``ReportPlan``. The runner
calls each step's ``run`` in order, with a read-only dataset connection, then passes the
partial results to ``finish``, which returns the result document::

    {"reportType": str, "parameters": {...as given}, "columns": [{"name", "type"}],
     "rows": [[...], ...], "summary": {"orders": int, "units": int, "revenue": number, ...}}

Money is in currency units rounded to 2 places. Every step is one indexed query, so the
runner may record progress, check for cancellation and pace the job between steps. A step
builds its query when it runs, so planning stays cheap: the submit handler plans a report to
validate it on every request.
"""

from __future__ import annotations

import calendar
import csv
import io
import math
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property, partial
from types import MappingProxyType
from typing import Any

from lrokit.server.work.dataset import CATEGORIES, CHANNELS, FIRST_YEAR, LAST_YEAR, REGIONS

__all__ = [
    "ERROR_CODES",
    "REPORT_TYPES",
    "ReportError",
    "ReportPlan",
    "Step",
    "plan_report",
    "result_to_csv",
]

REPORT_TYPES: tuple[str, ...] = ("yearly-sales", "sales-by-region", "top-products")

ERROR_CODES: Mapping[str, str] = MappingProxyType(
    {
        "NO_DATA": "The report's input selects no sales, so there is nothing to report.",
    }
)
"""Every ``ReportError.code``, with what it means."""

_Totals = tuple[int, int, int]  # orders, units, amount in cents

_COLUMNS: dict[str, list[tuple[str, str]]] = {  # report type -> (name, type) of each column
    "yearly-sales": [
        ("month", "string"),
        ("orders", "integer"),
        ("units", "integer"),
        ("revenue", "number"),
    ],
    "sales-by-region": [
        ("region", "string"),
        ("orders", "integer"),
        ("units", "integer"),
        ("revenue", "number"),
        ("share", "number"),
    ],
    "top-products": [
        ("rank", "integer"),
        ("product", "string"),
        ("category", "string"),
        ("units", "integer"),
        ("revenue", "number"),
    ],
}


class ReportError(Exception):
    """A report that cannot be produced from its input; ends the job in ERROR."""

    def __init__(
        self, code: str, title: str, detail: str, failed_step: str, *, retryable: bool = False
    ) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code  # a key of ERROR_CODES
        self.title = title  # the same for every error with this code
        self.detail = detail  # what about this input went wrong
        self.failed_step = failed_step  # name of the step the job failed in
        self.retryable = retryable  # whether the same request may succeed later


@dataclass(frozen=True)
class Step:
    """One unit of a report's work: a query whose partial result ``finish`` consumes."""

    name: str
    run: Callable[[sqlite3.Connection], Any]
    weight: float = 1.0  # share of the total work, for progress; positive

    def __post_init__(self) -> None:
        if not (math.isfinite(self.weight) and self.weight > 0):
            raise ValueError(f"step weight must be positive and finite, not {self.weight}")


@dataclass(frozen=True)
class ReportPlan:
    """The steps of one report and how to turn their partial results into its document."""

    report_type: str
    parameters: Mapping[str, Any]
    build: Callable[[], Sequence[Step]]  # the steps, built when they are first needed
    finish: Callable[[list[Any]], dict[str, Any]]  # may raise ReportError

    @cached_property
    def steps(self) -> Sequence[Step]:
        """The steps, in order; built once, on first use (planning only to validate, as the
        submit handler does, builds none)."""
        return self.build()


def plan_report(report_type: str, parameters: Mapping[str, Any]) -> ReportPlan:
    """Plan a report; raise ValueError for an unknown type or invalid parameters."""
    planner = _PLANNERS.get(report_type)
    if planner is None:
        raise ValueError(f"unknown report type {report_type!r}; expected one of {REPORT_TYPES}")
    if not isinstance(parameters, Mapping):
        raise ValueError("parameters must be an object")
    return planner(dict(parameters))


def result_to_csv(result: Mapping[str, Any]) -> str:
    """Render a result document's rows as RFC 4180 CSV, after a header of column names."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(column["name"] for column in result["columns"])
    writer.writerows(result["rows"])
    return out.getvalue()


# --- yearly-sales -------------------------------------------------------------------


def _plan_yearly_sales(parameters: dict[str, Any]) -> ReportPlan:
    _check_names(parameters, required={"year"}, optional={"region"})
    year = _year(parameters)
    region = _choice(parameters, "region", REGIONS)
    months = range(1, 13)

    def steps() -> list[Step]:
        return [
            Step(f"aggregate-{year:04d}-{m:02d}", partial(_month_totals, year, m, region))
            for m in months
        ]

    def finish(parts: list[Any]) -> dict[str, Any]:
        totals: list[_Totals] = parts
        orders, units, cents = _sum(totals)
        if orders == 0:
            where = f" in region {region}" if region else ""
            raise _no_data(f"year {year:04d}{where}", plan.steps)
        return _result(
            "yearly-sales",
            parameters,
            [
                [f"{year:04d}-{m:02d}", o, u, _money(c)]
                for m, (o, u, c) in zip(months, totals, strict=True)
            ],
            {"orders": orders, "units": units, "revenue": _money(cents)},
        )

    plan = ReportPlan("yearly-sales", parameters, steps, finish)
    return plan


# --- sales-by-region ----------------------------------------------------------------


def _plan_sales_by_region(parameters: dict[str, Any]) -> ReportPlan:
    _check_names(parameters, required={"from", "to"}, optional={"channel"})
    first, last = _date(parameters, "from"), _date(parameters, "to")
    if first > last:
        raise ValueError(f"from ({first}) is after to ({last})")
    channel = _choice(parameters, "channel", CHANNELS)

    def steps() -> list[Step]:
        return [
            Step(f"aggregate-{r}", partial(_totals, first, last, {"region": r, "channel": channel}))
            for r in REGIONS
        ]

    def finish(parts: list[Any]) -> dict[str, Any]:
        totals: list[_Totals] = parts
        orders, units, cents = _sum(totals)
        if orders == 0:
            where = f" on channel {channel}" if channel else ""
            raise _no_data(f"dates {first} to {last}{where}", plan.steps)
        return _result(
            "sales-by-region",
            parameters,
            [
                [r, o, u, _money(c), round(c / cents, 4)]
                for r, (o, u, c) in zip(REGIONS, totals, strict=True)
            ],
            {"orders": orders, "units": units, "revenue": _money(cents)},
        )

    plan = ReportPlan("sales-by-region", parameters, steps, finish)
    return plan


# --- top-products -------------------------------------------------------------------


def _plan_top_products(parameters: dict[str, Any]) -> ReportPlan:
    _check_names(parameters, required={"year"}, optional={"limit", "category"})
    year = _year(parameters)
    limit = parameters.get("limit", 10)
    if type(limit) is not int or not 1 <= limit <= 100:
        raise ValueError(f"limit must be an integer from 1 to 100, not {limit!r}")
    category = _choice(parameters, "category", CATEGORIES)

    def steps() -> list[Step]:
        return [
            Step(f"aggregate-{year:04d}-Q{q}", partial(_quarter_products, year, q, category))
            for q in range(1, 5)
        ]

    def finish(parts: list[Any]) -> dict[str, Any]:
        products: dict[tuple[str, str], list[int]] = {}  # (product, category) -> totals
        for part in parts:
            for product, product_category, o, u, c in part:
                total = products.setdefault((product, product_category), [0, 0, 0])
                total[0] += o
                total[1] += u
                total[2] += c
        orders, units, cents = _sum(products.values())
        if orders == 0:
            where = f" in category {category}" if category else ""
            raise _no_data(f"year {year:04d}{where}", plan.steps)
        # By revenue, then units, descending; ties broken by product name.
        ranked = sorted(products.items(), key=lambda item: (-item[1][2], -item[1][1], item[0]))
        return _result(
            "top-products",
            parameters,
            [
                [rank, product, product_category, u, _money(c)]
                for rank, ((product, product_category), (_, u, c)) in enumerate(
                    ranked[:limit], start=1
                )
            ],
            {"orders": orders, "units": units, "revenue": _money(cents), "products": len(products)},
        )

    plan = ReportPlan("top-products", parameters, steps, finish)
    return plan


_PLANNERS: dict[str, Callable[[dict[str, Any]], ReportPlan]] = {
    "yearly-sales": _plan_yearly_sales,
    "sales-by-region": _plan_sales_by_region,
    "top-products": _plan_top_products,
}


# --- queries ------------------------------------------------------------------------


def _where(first: date, last: date, **equal: str | None) -> tuple[str, list[str]]:
    """A WHERE clause for sales from ``first`` to ``last`` (inclusive) and its arguments."""
    clauses, args = ["sold_on BETWEEN ? AND ?"], [first.isoformat(), last.isoformat()]
    for column, value in equal.items():
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value)
    return " AND ".join(clauses), args


def _totals(
    first: date, last: date, equal: Mapping[str, str | None], conn: sqlite3.Connection
) -> _Totals:
    """Orders, units and cents of the sales from ``first`` to ``last`` matching ``equal``."""
    where, args = _where(first, last, **equal)
    sql = (
        "SELECT COUNT(*), COALESCE(SUM(quantity), 0), COALESCE(SUM(amount_cents), 0)"
        f" FROM sales WHERE {where}"
    )
    orders, units, cents = conn.execute(sql, args).fetchone()
    return int(orders), int(units), int(cents)


def _month_totals(year: int, month: int, region: str | None, conn: sqlite3.Connection) -> _Totals:
    return _totals(*_month(year, month), {"region": region}, conn)


def _quarter_products(
    year: int, quarter: int, category: str | None, conn: sqlite3.Connection
) -> list[tuple[str, str, int, int, int]]:
    """Orders, units and cents per product of one quarter."""
    first, _ = _month(year, 3 * quarter - 2)
    _, last = _month(year, 3 * quarter)
    where, args = _where(first, last, category=category)
    sql = (
        "SELECT product, category, COUNT(*), SUM(quantity), SUM(amount_cents)"
        f" FROM sales WHERE {where} GROUP BY product, category"
    )
    return [(str(p), str(c), int(o), int(u), int(a)) for p, c, o, u, a in conn.execute(sql, args)]


# --- helpers ------------------------------------------------------------------------


def _check_names(parameters: Mapping[str, Any], *, required: set[str], optional: set[str]) -> None:
    if missing := required - parameters.keys():
        raise ValueError(f"missing parameters: {', '.join(sorted(missing))}")
    if unknown := parameters.keys() - required - optional:
        raise ValueError(f"unknown parameters: {', '.join(sorted(map(str, unknown)))}")


def _year(parameters: Mapping[str, Any]) -> int:
    value = parameters["year"]
    if not isinstance(value, str) or not re.fullmatch("[1-9][0-9]{3}", value):
        raise ValueError(f"year must be a string of 4 digits, such as '2023', not {value!r}")
    return int(value)


def _date(parameters: Mapping[str, Any], name: str) -> date:
    value = parameters[name]
    try:
        if not isinstance(value, str) or not re.fullmatch("[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} must be a date YYYY-MM-DD, not {value!r}") from None


def _choice(parameters: Mapping[str, Any], name: str, choices: tuple[str, ...]) -> str | None:
    if name not in parameters:
        return None
    value = parameters[name]
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, not {value!r}")
    return str(value)


def _month(year: int, month: int) -> tuple[date, date]:
    """The first and last day of a month."""
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _sum(totals: Iterable[Sequence[int]]) -> _Totals:
    orders = units = cents = 0
    for o, u, c in totals:
        orders, units, cents = orders + o, units + u, cents + c
    return orders, units, cents


def _money(cents: int) -> float:
    return round(cents / 100, 2)


def _no_data(selection: str, steps: Sequence[Step]) -> ReportError:
    return ReportError(
        "NO_DATA",
        "No data for the report's input",
        f"There are no sales for {selection}; the dataset covers {FIRST_YEAR} to {LAST_YEAR}.",
        steps[-1].name,
    )


def _result(
    report_type: str,
    parameters: Mapping[str, Any],
    rows: list[list[Any]],
    summary: dict[str, Any],
) -> dict[str, Any]:
    return {
        "reportType": report_type,
        "parameters": dict(parameters),
        "columns": [{"name": name, "type": type_} for name, type_ in _COLUMNS[report_type]],
        "rows": rows,
        "summary": summary,
    }
