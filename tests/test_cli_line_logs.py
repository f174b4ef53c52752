"""`valuecast analyze LOG --map ...` on a line-level transaction log (the "Online Retail" shape)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from retail_log import MAP, PRODUCTS, expected_revenue, retail_log
from valuecast.cli import app


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("retail")
    log = retail_log(n_invoices=400, n_customers=120, seed=7)
    path = folder / "online_retail.csv"
    log.to_csv(path, index=False)
    out = folder / "out"
    result = CliRunner().invoke(
        app, ["analyze", str(path), "--map", MAP, "-w", str(folder / "ws.duckdb"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    return log, out


def test_revenue_per_customer_is_the_lines_netted_per_invoice(analysed):
    log, out = analysed
    customers = pd.read_csv(out / "customers.csv", dtype={"customer_id": str})
    got = customers.set_index("customer_id")["historic_clv"].sort_index()
    expected = expected_revenue(log).sort_index()
    pd.testing.assert_series_equal(got, expected, check_names=False, rtol=1e-9)
    assert customers["first_product"].isin(PRODUCTS).all()


def test_cancellations_are_counted_in_the_ingest_report(analysed):
    log, out = analysed
    report = json.loads((out / "ingest_report.json").read_text())
    cancelled = log[log["InvoiceNo"].str.startswith("C")]
    assert report["excluded_orders"]["cancellation"] == cancelled["InvoiceNo"].nunique()
    assert report["excluded_rows"]["cancellation"] == len(cancelled)
    assert report["guest_orders"] == log.loc[log["CustomerID"] == "", "InvoiceNo"].nunique()
    counted_lines = len(log) - sum(report["excluded_rows"].values())
    assert report["line_items"] == counted_lines
    # ... and noted: what they take back is subtracted from no customer's spend
    counted = f"{cancelled['InvoiceNo'].nunique()} cancellations ("
    notes = [note for note in report["notes"] if counted in note]
    assert len(notes) == 1 and "not subtracted from any customer's spend" in notes[0]


def test_products_reach_affinity_next_products_and_reminders(analysed):
    _, out = analysed
    affinity = pd.read_csv(out / "affinity.csv")
    next_products = pd.read_csv(out / "next_products.csv", dtype={"customer_id": str})
    reminders = pd.read_csv(out / "reminders.csv", dtype={"customer_id": str})
    assert len(affinity) and affinity["product_a"].isin(PRODUCTS).all()
    assert len(next_products) and next_products["product"].isin(PRODUCTS).all()
    assert len(reminders) and reminders["product"].isin(PRODUCTS).all()


@pytest.mark.parametrize("product_key", ["product", "sku"])
def test_the_first_product_is_the_first_one_bought_named_or_by_sku(tmp_path, product_key):
    """A log mapping products by sku alone names them by sku, as affinity does; a product
    returned within the first order was not its first product."""
    from valuecast.analysis.attributes import first_products
    from valuecast.store import Workspace

    rows = [("A0", "K0", "2025-01-01", "Mug", -1), ("A0", "K0", "2025-01-01", "Coffee", 2),
            ("A0", "K0", "2025-01-01", "Mug", 1), ("A1", "K0", "2025-02-01", "Tea", 1),
            ("B0", "K1", "2025-01-05", "Tea", 1), ("B0", "K1", "2025-01-05", "Mug", 1)]  # fmt: skip
    path = tmp_path / "lines.csv"
    pd.DataFrame(rows, columns=["invoice", "cust", "when", "item", "qty"]).assign(
        price=10.0
    ).to_csv(path, index=False)
    mapping = (
        f"customer_id=cust,ordered_at=when,order_id=invoice,{product_key}=item,quantity=qty,"
        "unit_price=price"
    )
    result = CliRunner().invoke(app, ["ingest", str(path), "--map", mapping,
                                      "-w", str(tmp_path / "w.duckdb")])  # fmt: skip
    assert result.exit_code == 0, result.output
    with Workspace(tmp_path / "w.duckdb", read_only=True) as ws:
        got = first_products(ws.orders(), ws.order_lines(), pd.Timestamp("2025-12-31").date())
        firsts = got.to_pandas().set_index("customer_id")["first_product"].to_dict()
    assert firsts == {"K0": "Coffee", "K1": "Tea"}


def test_postage_lines_are_no_product_and_the_counts_agree(tmp_path):
    """The real log pays POSTAGE as a line of most invoices: it is no product in the growth
    tables, summary.json counts the lines left out, and its count of reminders due is the one
    `valuecast reminders` prints."""
    log = retail_log(n_invoices=300, n_customers=60, seed=3)
    sales = log[~log["InvoiceNo"].str.startswith("C")].drop_duplicates("InvoiceNo")
    postage = sales.assign(StockCode="POST", Description="POSTAGE", Quantity="1", UnitPrice="18.0")
    path = tmp_path / "online_retail.csv"
    pd.concat([log, postage], ignore_index=True).to_csv(path, index=False)
    workspace, out = tmp_path / "ws.duckdb", tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(
        app, ["analyze", str(path), "--map", MAP, "-w", str(workspace), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    for name, column in (("affinity.csv", "product_a"), ("affinity.csv", "product_b"),
                         ("next_products.csv", "product"), ("reminders.csv", "product")):  # fmt: skip
        assert pd.read_csv(out / name)[column].isin(PRODUCTS).all(), name
    products = json.loads((out / "summary.json").read_text())["growth"]["products"]
    assert 0 < products["non_product_lines"] <= len(postage)
    shown = runner.invoke(app, ["reminders", "-w", str(workspace), "--min-customers", "5"])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert f"{products['reminders_due']:,} reminders due within 14 days" in text
    assert f"note: {products['non_product_lines']:,} order lines of shipping" in text
    customers = pd.read_csv(out / "customers.csv")
    assert customers["first_product"].dropna().isin(PRODUCTS).all()


def _analysed_with(tmp_path, log: pd.DataFrame, *lines: pd.DataFrame):
    """``valuecast analyze`` of ``log`` with the ``lines`` added, which must leave every
    customer's historic CLV the log's own revenue: its result and ingest report."""
    path = tmp_path / "online_retail.csv"
    pd.concat([log, *lines], ignore_index=True).to_csv(path, index=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["analyze", str(path), "--map", MAP, "-w", str(tmp_path / "ws.duckdb"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    customers = pd.read_csv(out / "customers.csv", dtype={"customer_id": str})
    got = customers.set_index("customer_id")["historic_clv"].sort_index()
    pd.testing.assert_series_equal(got, expected_revenue(log).sort_index(), check_names=False)
    return result, json.loads((out / "ingest_report.json").read_text())


def test_shipping_lines_are_the_orders_shipping_not_their_revenue(tmp_path):
    """A log writing each order's delivery as a line (``Shipping``, the Online Retail log's
    ``POSTAGE``) counts it as the order's shipping, as a platform's export does: the customers'
    historic CLV is their products' lines, and the ingest report's shipping the shipping lines'."""
    log = retail_log(n_invoices=200, n_customers=50, seed=11)
    sales = log[~log["InvoiceNo"].str.startswith("C")].drop_duplicates("InvoiceNo")
    shipping = pd.concat([
        sales.iloc[::2].assign(StockCode="", Description="Shipping", Quantity="1", UnitPrice="4.9"),
        sales.iloc[1::2].assign(StockCode="POST", Description="POSTAGE", Quantity="2",
                                UnitPrice="18.0"),
    ])  # fmt: skip
    result, report = _analysed_with(tmp_path, log, shipping)
    paid = shipping["Quantity"].astype(float) * shipping["UnitPrice"].astype(float)
    assert report["shipping"] == pytest.approx(paid.sum())
    # the gross revenue is the goods sold, its returns refunded: no shipping line in either
    assert report["net_revenue"] == pytest.approx(report["gross_revenue"] - report["refunded"])


def test_postage_to_a_country_under_the_postage_sku_is_shipping(tmp_path):
    """The Online Retail log names some postage lines by their destination (``POSTAGE
    FRANCE``) under the postage SKU: shipping too.  A name alone still matches only whole, so
    ``Postage stamp album`` under its own SKU stays a product."""
    import pyarrow as pa

    from valuecast.io.line_names import shipping_lines

    log = retail_log(n_invoices=200, n_customers=50, seed=14)
    # sales whose orders count: no guest's, none cancelled or taking anything back
    cancelled = ("C" + log["InvoiceNo"]).isin(log["InvoiceNo"])
    returning = log.loc[log["Quantity"].astype(float) < 0, "InvoiceNo"]
    kept = ~cancelled & ~log["InvoiceNo"].isin(returning) & (log["CustomerID"] != "")
    sales = log[kept].drop_duplicates("InvoiceNo")
    shipping = sales.iloc[::3].assign(
        StockCode="POST", Description="POSTAGE  FRANCE", Quantity="1", UnitPrice="15.0"
    )
    _, report = _analysed_with(tmp_path, log, shipping)
    assert report["shipping"] == pytest.approx(15.0 * len(shipping))
    names = pa.chunked_array([["Postage stamp album", "Shipping box", "POSTAGE FRANCE", None]])
    skus = pa.chunked_array([["22000", "22001", "POST", "DOT"]])
    assert shipping_lines(names, skus).tolist() == [False, False, True, True]


def test_an_invoice_of_postage_alone_is_no_purchase(tmp_path):
    """Postage paid on an invoice of its own sold nothing: the order is excluded as ``shipping
    alone``, counted by reason, and the customers' orders and revenue are their goods'."""
    log = retail_log(n_invoices=200, n_customers=50, seed=15)
    sales = log[~log["InvoiceNo"].str.startswith("C") & (log["CustomerID"] != "")]
    alone = sales.drop_duplicates("InvoiceNo").iloc[:4].assign(
        InvoiceNo=["900001", "900002", "900003", "900004"], StockCode="POST",
        Description="POSTAGE", Quantity="1", UnitPrice="18.0",
    )  # fmt: skip
    result, report = _analysed_with(tmp_path, log, alone)
    assert report["excluded_orders"]["shipping alone"] == 4
    assert report["excluded_rows"]["shipping alone"] == 4
    # the orders are the log's own: as many as without the postage invoices
    (tmp_path / "plain").mkdir()
    plain_report = _analysed_with(tmp_path / "plain", log)[1]
    assert report["orders"] == plain_report["orders"]


def test_gift_cards_sold_are_no_revenue_and_an_order_of_them_alone_is_counted_out(tmp_path):
    """A gift card is revenue when spent, on the order it pays for: the orders that sold one
    beside products keep their products' revenue (a note says how much was left out), and an
    order of gift cards alone is excluded as a gift card purchase, as Shopify's are."""
    log = retail_log(n_invoices=200, n_customers=50, seed=12)
    sales = log[~log["InvoiceNo"].str.startswith("C") & (log["CustomerID"] != "")]
    beside = sales.drop_duplicates("InvoiceNo").iloc[::3]
    cards = beside.assign(StockCode="GC", Description="Gift card $50", Quantity="1",
                          UnitPrice="50")  # fmt: skip
    alone = beside.iloc[:2].assign(InvoiceNo=["900001", "900002"], StockCode="GC",
                                   Description="Gift Card", Quantity="2", UnitPrice="25")  # fmt: skip
    # a card redeemed: a payment written as a line of a negative amount, no return of goods
    redeemed = beside.iloc[1:2].assign(StockCode="GC", Description="Gift Card", Quantity="1",
                                       UnitPrice="-5")  # fmt: skip
    result, report = _analysed_with(tmp_path, log, cards, alone, redeemed)
    assert report["excluded_orders"]["gift card purchase"] == 2
    text = " ".join(result.output.split())
    assert f"{len(cards):,} orders also sold gift cards ({50 * len(cards):,.2f} in all)" in text


def test_a_gift_card_named_with_the_shops_brand_is_no_revenue_and_no_product(tmp_path):
    """``Acme Coffee Gift Card`` is a gift card as ``Gift Card`` is: no revenue of the orders
    that sold it, an order of it alone counted out, and none of the product outputs name it."""
    log = retail_log(n_invoices=200, n_customers=50, seed=13)
    returned = log.loc[log["Quantity"].astype(float) < 0, "InvoiceNo"]
    sales = log[~log["InvoiceNo"].isin(returned) & (log["CustomerID"] != "")]
    beside = sales.drop_duplicates("InvoiceNo").iloc[::2]
    name = "Acme Coffee Gift Card"
    cards = beside.assign(StockCode="GC25", Description=name, Quantity="1", UnitPrice="25")
    alone = beside.iloc[:3].assign(InvoiceNo=["900001", "900002", "900003"], StockCode="GC25",
                                   Description=name, Quantity="1", UnitPrice="25")  # fmt: skip
    result, report = _analysed_with(tmp_path, log, cards, alone)
    assert report["excluded_orders"]["gift card purchase"] == 3
    text = " ".join(result.output.split())
    assert f"{len(cards):,} orders also sold gift cards ({25 * len(cards):,.2f} in all)" in text
    out = tmp_path / "out"
    customers = pd.read_csv(out / "customers.csv", dtype={"customer_id": str})
    assert customers["first_product"].dropna().isin(PRODUCTS).all()
    for table, column in (("affinity", "product_a"), ("affinity", "product_b"),
                          ("next_products", "product"), ("reminders", "product")):  # fmt: skip
        assert pd.read_csv(out / f"{table}.csv")[column].isin(PRODUCTS).all(), table
    assert len(pd.read_csv(out / "affinity.csv"))
