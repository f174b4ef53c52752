"""Currencies: one ingest must be in one currency, or be converted with ``--fx RATES.csv``.

The rates file is a CSV with the columns ``currency`` and ``rate``: the value of **one unit of
the currency in the base currency** (``amount_in_base = amount * rate``). The base currency is
the one row whose rate is exactly 1; there must be exactly one such row. Codes are compared
upper-cased, and a currency may be written as the orders' currency cells are (``€``, ``zł``,
``Euro``: :func:`~valuecast.io.csvfile.currency_code`); rates must be positive finite numbers; a currency listed twice is an error. Other
columns are ignored. (One rate per currency: the conversion is at a fixed rate, not per day.)

:func:`apply_fx` checks every counted order of an ingest (all files together): when the orders
are in more than one currency and no rates are given, it raises an :class:`InputError` listing
the currencies with their order counts; with rates, it converts every amount of the orders
(gross, discount, tax, shipping, refunded, net), of their lines (unit price, line discount) and
the excluded revenue, and sets ``currency`` to the base (a note per file counts the orders it
converted, by currency). An order without currency is taken to be in the one currency the
ingest's other orders name, as without rates, and converted from it; where they name several,
or none, it is taken to be in the base. A note per file counts such orders and says which
currency they were taken to be in. A currency without a rate is an error naming it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from valuecast.io.csvfile import currency_code, open_csv, refused_symbol, symbol_currencies
from valuecast.io.schema import ImportResult, InputError

__all__ = ["Rates", "load_rates", "apply_fx", "currency_counts"]

ORDER_AMOUNTS = ("gross_revenue", "discount", "tax", "shipping", "refunded", "net_revenue")
LINE_AMOUNTS = ("unit_price", "line_discount")


@dataclass(frozen=True)
class Rates:
    """Conversion rates to ``base``: ``rates[code]`` is one unit of ``code`` in the base currency."""

    base: str
    rates: dict[str, float]
    file: str = "--fx"

    def rate(self, code: str) -> float:
        return self.rates[code]


def load_rates(path: str | Path) -> Rates:
    """Read a ``currency,rate`` CSV (see the module docstring)."""
    csv = open_csv(path)
    code_column = csv.require("currency", "currency_code", "code")
    rate_column = csv.require("rate", "rate_to_base", "fx_rate")
    table = csv.read([code_column, rate_column])
    # written as the orders' currency cells may be (€, zł, Euro): read as they are
    codes = table.text_series(code_column).map(currency_code, na_action="ignore")
    values = table.money(rate_column)
    rates: dict[str, float] = {}
    for position in range(table.num_rows):
        code, value = codes.iloc[position], values[position]
        if pd.isna(code) and np.isnan(value):
            continue
        if pd.isna(code):
            raise table.error("rate without a currency", position, code_column)
        if not np.isfinite(value) or value <= 0:
            raise table.error(f"rate of {code} must be a positive number", position, rate_column)
        if code in rates:
            raise table.error(f"{code} is listed twice", position, code_column)
        rates[code] = float(value)
    bases = [code for code, value in rates.items() if value == 1.0]
    if len(bases) != 1:
        found = "none" if not bases else ", ".join(bases)
        raise InputError(
            table.name,
            f"cannot tell the base currency: exactly one currency must have rate 1 (found {found})",
        )
    return Rates(base=bases[0], rates=rates, file=table.name)


def currency_counts(results: Sequence[ImportResult]) -> Counter:
    """Counted orders per currency over all results (orders without currency left out)."""
    counts: Counter = Counter()
    for result in results:
        # counted per distinct code: a Python string per order is ~60 MB at a million orders
        counts.update(result.orders["currency"].dropna().astype(str).value_counts().to_dict())
    return counts


def _listing(counts: Counter) -> str:
    return ", ".join(
        f"{code} ({count} order{'s' if count != 1 else ''})"
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )


def apply_fx(results: Sequence[ImportResult], rates: Rates | None) -> list[ImportResult]:
    """Check the ingest's currencies and convert them to the base when ``rates`` are given."""
    results = list(results)
    counts = currency_counts(results)
    if rates is None:
        if len(counts) > 1:
            files = ", ".join(dict.fromkeys(r.file for r in results if len(r.orders)))
            raise InputError(
                files,
                f"orders are in {len(counts)} currencies: {_listing(counts)}; "
                "give --fx RATES.csv (columns currency,rate: one unit in the base currency)",
            )
        return results
    # orders naming no currency: in the others' one currency, as the ingest takes them without
    # rates, else (several, or none named) in the base
    blank, why = (next(iter(counts)), "as the others are") if len(counts) == 1 else (
        rates.base, f"the base of {Path(rates.file).name}"
    )  # fmt: skip
    for result in results:
        symbol = result.written_symbol
        if symbol and blank not in symbol_currencies(symbol):
            raise InputError(
                result.file,
                refused_symbol(
                    symbol, f"and --fx would take them to be in {blank}, {why}",
                    "for --fx to convert",
                ),
            )  # fmt: skip
    missing = Counter({code: n for code, n in counts.items() if code not in rates.rates})
    if missing:
        raise InputError(rates.file, f"no rate for {_listing(missing)}")
    order_rate: dict[str, float] = {}
    converted = []
    for result in results:
        orders = result.orders.copy()
        unnamed = int(orders["currency"].isna().sum())
        if unnamed:
            orders["currency"] = orders["currency"].fillna(blank)
            result.notes.append(
                f"{unnamed:,} {'order names' if unnamed == 1 else 'orders name'} no currency: "
                f"taken to be in {blank}, {why}"
            )
        named = currency_counts([replace(result, orders=orders)])
        others = Counter({code: n for code, n in named.items() if code != rates.base})
        if others:  # the report's currencies are the base's after this: what the file held
            source = Path(rates.file).name
            result.notes.append(f"converted to {rates.base} with {source}: {_listing(others)}")
        factor = _factors(orders["currency"], rates)
        for column in ORDER_AMOUNTS:
            orders[column] = orders[column].to_numpy(float) * factor
        order_rate.update(zip(orders["order_id"].astype(str), factor, strict=True))
        orders["currency"] = pd.array([rates.base] * len(orders), dtype="string")
        detail = result.excluded_detail
        excluded_revenue = Counter(result.excluded_revenue)
        if detail is not None and len(detail):
            detail = detail.copy()
            detail["currency"] = detail["currency"].fillna(blank)
            unknown = sorted(set(detail["currency"].dropna()) - set(rates.rates))
            if not unknown:
                factor = _factors(detail["currency"], rates)
                for column in ("gross_revenue", "refunded"):
                    if column in detail:
                        detail[column] = detail[column].to_numpy(float) * factor
                detail["currency"] = pd.array([rates.base] * len(detail), dtype="string")
                excluded_revenue = Counter(
                    {
                        reason: round(float(total), 2)
                        for reason, total in detail.groupby("reason")["gross_revenue"].sum().items()
                    }
                )
            else:
                result.notes.append(
                    "excluded revenue left unconverted: no rate for " + ", ".join(unknown)
                )
        converted.append(
            replace(
                result, orders=orders, excluded_detail=detail, excluded_revenue=excluded_revenue
            )
        )
    for index, result in enumerate(converted):
        if len(result.order_lines):
            lines = result.order_lines.copy()
            factor = lines["order_id"].astype(str).map(order_rate).fillna(1.0).to_numpy(float)
            for column in LINE_AMOUNTS:
                lines[column] = lines[column].to_numpy(float) * factor
            converted[index] = replace(result, order_lines=lines)
    return converted


def _factors(currency: pd.Series, rates: Rates) -> np.ndarray:
    return currency.astype("string").map(rates.rates).astype(float).fillna(1.0).to_numpy(float)
