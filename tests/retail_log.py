"""A generated line-level transaction log in the shape of the public "Online Retail" data set.

One row per invoice line: ``InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice,
CustomerID, Country``; no order total.  Like the real log it has several lines per invoice,
guests (empty ``CustomerID``), cancellation invoices (``InvoiceNo`` starting with ``C``, every
quantity negative, repeating lines of an earlier invoice under a customer id of their own, the
sales they take back being older than the log) and invoices with
a returned line among bought ones (a partial return).  Built with NumPy only (no per-row loop),
so half a million lines take well under a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HEADER = [
    "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID",
    "Country",
]  # fmt: skip

MAP = (
    "customer_id=CustomerID,ordered_at=InvoiceDate,order_id=InvoiceNo,quantity=Quantity,"
    "unit_price=UnitPrice,product=Description,sku=StockCode"
)
"""The ``--map`` of the log (its dates are ISO, as the DuckDB fast path reads them)."""

PRODUCTS = [f"PRODUCT {i:02d}" for i in range(40)]
PRICES = np.round(np.linspace(0.42, 12.75, len(PRODUCTS)), 2)


def retail_log(
    n_invoices: int = 400,
    n_customers: int = 120,
    seed: int = 7,
    *,
    guest_share: float = 0.1,
    cancel_share: float = 0.05,
    partial_share: float = 0.08,
) -> pd.DataFrame:
    """The log's rows as text cells, invoices in date order, cancellations after the rest."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2023-01-02T08:00")
    minutes = np.sort(rng.integers(0, 365 * 24 * 60, n_invoices))
    stamps = start + minutes.astype("timedelta64[m]")
    customers = np.array([str(12346 + i) for i in range(n_customers)], dtype=object)
    buyer = customers[rng.integers(0, n_customers, n_invoices)]
    buyer[rng.random(n_invoices) < guest_share] = ""
    lines_per = rng.integers(1, 7, n_invoices)
    invoice = np.repeat(np.arange(n_invoices), lines_per)
    product = rng.integers(0, len(PRODUCTS), len(invoice))
    quantity = rng.integers(1, 25, len(invoice))
    # a partial return: the invoice's last line (of two or more) takes items back
    last = np.r_[np.flatnonzero(np.diff(invoice)), len(invoice) - 1]
    partial = last[(lines_per > 1) & (rng.random(n_invoices) < partial_share)]
    quantity[partial] = -rng.integers(1, 3, len(partial))
    numbers = np.array([str(536365 + i) for i in range(n_invoices)], dtype=object)
    frame = pd.DataFrame(
        {
            "InvoiceNo": numbers[invoice],
            "StockCode": [f"{85000 + p}" for p in product],
            "Description": np.array(PRODUCTS, dtype=object)[product],
            "Quantity": quantity,
            "InvoiceDate": pd.DatetimeIndex(stamps[invoice]).strftime("%Y-%m-%d %H:%M"),
            "UnitPrice": PRICES[product],
            "CustomerID": buyer[invoice],
            "Country": "United Kingdom",
        }
    )
    log = pd.concat([frame, _cancellations(frame, rng, cancel_share)], ignore_index=True)
    return log.astype(str)


def _cancellations(frame: pd.DataFrame, rng: np.random.Generator, share: float) -> pd.DataFrame:
    """Cancellation invoices ``C<number>``: some customers' invoices taken back, a day later."""
    known = frame[(frame["CustomerID"] != "") & (frame["Quantity"] > 0)]
    invoices = known["InvoiceNo"].unique()
    chosen = invoices[rng.random(len(invoices)) < share]
    cancelled = known[known["InvoiceNo"].isin(chosen)].copy()
    later = pd.to_datetime(cancelled["InvoiceDate"]) + pd.Timedelta(days=1)
    last_day = pd.to_datetime(frame["InvoiceDate"]).max()
    cancelled["InvoiceDate"] = later.clip(upper=last_day).dt.strftime("%Y-%m-%d %H:%M")
    cancelled["InvoiceNo"] = "C" + cancelled["InvoiceNo"]
    cancelled["Quantity"] = -cancelled["Quantity"]
    # by customers with no sale in the log (the sales they take back came before it), as most
    # of the public log's cancellations: one with its sale in the log is its refund
    cancelled["CustomerID"] = "9" + cancelled["CustomerID"]
    return cancelled


def expected_revenue(frame: pd.DataFrame) -> pd.Series:
    """Per customer, the revenue the documented rules give, computed with pandas: an invoice is
    its lines' quantity x unit price netted; invoices of returns only (cancellations) and
    invoices netting below zero are left out, and so are guests."""
    lines = frame.assign(
        amount=frame["Quantity"].astype(float) * frame["UnitPrice"].astype(float),
        is_return=frame["Quantity"].astype(float) < 0,
    )
    invoices = lines.groupby("InvoiceNo", sort=False).agg(
        customer=("CustomerID", "first"), net=("amount", "sum"), returns=("is_return", "all")
    )
    kept = invoices[~invoices["returns"] & (invoices["net"] >= 0) & (invoices["customer"] != "")]
    return kept.groupby("customer")["net"].sum()
