"""An orders file loaded by DuckDB straight into the workspace gives exactly the importer's
ingest: the same report (counts by reason, totals, updates) and the same stored orders and lines.

Each file is ingested twice, into two workspaces: once on the engine's route (``defer_orders``, with
the importer made to fail so that a fallback cannot pass unnoticed) and once read by the importer.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from retail_log import MAP as RETAIL_MAP
from retail_log import retail_log
from valuecast.cli import app
from valuecast.io import defer_orders, orders_duckdb, read_exports
from valuecast.io.schema import InputError
from valuecast.store import Workspace

MAP = "customer_id=customer,ordered_at=date,revenue=amount"
runner = CliRunner()
RICH_MAP = (
    MAP + ",order_id=order_id,email=mail,currency=currency,tax=tax,gross_revenue=gross,"
    "channel=channel,discount_code=coupon,accepts_marketing=marketing"
)


@pytest.fixture(autouse=True)
def _small_files_too(monkeypatch):
    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0)


def _orders(rng: np.random.Generator, n: int = 300, *, keyed: bool = False) -> pd.DataFrame:
    """Text cells: guests, e-mails in capitals, repeats of a customer and time, returns, gaps."""
    customers = np.array(["Ann@Example.com", "bob@example.com", "C-17", "", "dave@shop.io"])
    days = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 60, n), "D")
    stamps = np.where(
        rng.random(n) < 0.3, days.strftime("%Y-%m-%d 10:30"), days.strftime("%Y-%m-%d")
    )
    frame = pd.DataFrame(
        {
            "customer": rng.choice(customers, n),
            "date": stamps,
            "amount": np.round(rng.gamma(2.0, 30.0, n) - (rng.random(n) < 0.08) * 120, 2),
            "tax": np.where(rng.random(n) < 0.2, "", np.round(rng.random(n) * 9, 2).astype(str)),
            "mail": rng.choice(["", "Given@Example.com"], n),
            "currency": rng.choice(["eur", "EUR", ""], n),
        }
    ).astype(str)
    if keyed:  # orders of several rows share a customer and time, as the fast route requires
        frame.insert(0, "order_id", np.arange(n).astype(str))
        repeat = np.flatnonzero(rng.random(n) < 0.3)
        repeat = repeat[repeat > 0]
        frame.loc[repeat, ["order_id", "customer", "date", "mail"]] = frame.loc[
            repeat - 1, ["order_id", "customer", "date", "mail"]
        ].to_numpy()
    frame.loc[rng.random(n) < 0.03, :] = ""  # empty rows
    return frame


def _write(frame: pd.DataFrame, path):
    """``frame`` as a CSV file, or as Parquet where ``path`` ends in ``.parquet``."""
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    else:
        frame.to_csv(path, index=False)
    return path


def _ingest(files, mapping, *, engine: bool, monkeypatch) -> tuple[list[dict], dict]:
    """Each file's ingest report, then the workspace's orders and lines (sorted)."""
    reports = []
    with Workspace(":memory:") as ws, monkeypatch.context() as patch:
        if engine:
            patch.setattr(orders_duckdb.PendingOrders, "read", _no_fallback)
        for file in files:
            if engine:
                results = [defer_orders([file], column_map=mapping)]
                assert results[0] is not None, "the file was not left to the engine"
            else:
                results = read_exports([file], column_map=mapping)
            reports.append(ws.ingest(results).to_dict())
        tables = {
            "orders": ws.orders().to_pandas().sort_values("order_id", ignore_index=True),
            "lines": ws.order_lines()
            .to_pandas()
            .sort_values(["order_id", "line_number"], ignore_index=True),
        }
    return reports, tables


def _no_fallback(self):
    raise AssertionError(f"{self.file}: the engine's route fell back to the importer")


def _assert_same_ingests(files, mapping, monkeypatch) -> tuple[list[dict], dict]:
    engine = _ingest(files, mapping, engine=True, monkeypatch=monkeypatch)
    importer = _ingest(files, mapping, engine=False, monkeypatch=monkeypatch)
    assert engine[0] == importer[0]
    for name in ("orders", "lines"):
        pd.testing.assert_frame_equal(engine[1][name], importer[1][name], check_exact=True)
    return importer


@pytest.mark.parametrize("case", ["one order per row", "orders of several rows", "attributes"])
def test_orders_files_ingest_as_the_importer_ingests_them(tmp_path, monkeypatch, case):
    keyed = case != "one order per row"
    frame = _orders(np.random.default_rng(11), keyed=keyed)
    mapping = MAP + ",email=mail,currency=currency,tax=tax"
    if keyed:
        mapping += ",order_id=order_id,gross_revenue=gross"
        frame = frame.assign(gross=frame["amount"])
    if case == "attributes":  # attributes only on one-row orders, as the fast route requires
        frame = frame[~frame["order_id"].duplicated(keep=False) | (frame["order_id"] == "")]
        frame = frame.assign(channel="web", coupon="", marketing="yes")
        frame.loc[frame["date"] == "", :] = ""  # the empty rows stay empty
        mapping += ",channel=channel,discount_code=coupon,accepts_marketing=marketing"
    reports, tables = _assert_same_ingests([_write(frame, tmp_path / "o.csv")], mapping,
                                           monkeypatch)  # fmt: skip
    excluded = reports[0]["excluded_rows"]
    assert excluded["empty row"] > 0 and excluded["negative amount"] > 0
    numbers = tables["orders"]["order_number"]
    if case == "orders of several rows":  # their amounts summed
        assert (
            reports[0]["orders"] + excluded["negative amount"] < len(frame) - excluded["empty row"]
        )
    elif case == "one order per row":  # further orders at the same customer and time: |2, |3 ...
        assert numbers.str.endswith("|2").any() and numbers.str.startswith("|").any()


@pytest.mark.parametrize("repeated", [False, True])
def test_orders_of_one_row_each_are_read_from_the_parsed_rows_not_a_copy(
    tmp_path, monkeypatch, repeated
):
    """Where no order id repeats, every order is its one row: the grouped orders are read from
    the parsed rows where used, not from a copy of them (an order-level export of 3.1M orders
    with ids: ~0.2 GB of its ingest's peak).  Where some repeat, the orders' parts are a table,
    computed once.  Either way the ingest is the importer's."""
    temporary = []
    staged = orders_duckdb.PendingOrders._staged

    def recorded(self, con):
        query = "SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY table_name"
        temporary.append([row[0] for row in con.execute(query).fetchall()])
        return staged(self, con)

    monkeypatch.setattr(orders_duckdb.PendingOrders, "_staged", recorded)
    frame = _orders(np.random.default_rng(11), keyed=True)
    if not repeated:
        frame = frame[~frame["order_id"].duplicated(keep=False) | (frame["order_id"] == "")]
    mapping = MAP + ",order_id=order_id,email=mail,currency=currency,tax=tax"
    reports, tables = _assert_same_ingests([_write(frame, tmp_path / "o.csv")], mapping,
                                           monkeypatch)  # fmt: skip
    parts = ["_engine_grouped_parts"] if repeated else []
    assert temporary == [[*parts, "_engine_rows"]]
    assert not tables["orders"]["order_number"].duplicated().any()
    assert reports[0]["orders"] == len(tables["orders"]) > 100


def test_line_level_logs_ingest_as_the_importer_ingests_them(tmp_path, monkeypatch):
    frame = retail_log(n_invoices=150, seed=5)
    frame.loc[7, :] = ""
    reports, _ = _assert_same_ingests([_write(frame, tmp_path / "r.csv")], RETAIL_MAP,
                                      monkeypatch)  # fmt: skip
    assert set(reports[0]["excluded_rows"]) == {"cancellation", "empty row"}
    # the partial returns' lines are refunds off their invoices' sales
    report = reports[0]
    assert report["refunded"] > 0
    assert report["gross_revenue"] - report["refunded"] == pytest.approx(report["net_revenue"])
    assert reports[0]["line_items"] > reports[0]["orders"] > 100
    cancelled = frame.loc[frame["InvoiceNo"].str.startswith("C"), "InvoiceNo"].unique()
    examples = ", ".join(cancelled[:3])
    assert reports[0]["files"][0]["notes"][0] == (  # its lines have order ids
        f"{len(cancelled)} cancellations ({examples} and {len(cancelled) - 3} more) of returned "
        "lines only are left out and not subtracted from any customer's spend: the log does not "
        "link them to the sales they take back; to count a return as its sale's refund, give its "
        "lines the sale's order id"
    )
    # the simulated log draws each line's product and quantity: some lines repeat by chance
    filled = frame[frame["InvoiceNo"] != ""].drop(columns="Country")
    repeated = filled[filled.duplicated()]
    assert len(repeated) > 0
    assert reports[0]["files"][0]["notes"][1].startswith(
        f"{len(repeated)} line{'s' if len(repeated) > 1 else ''} repeat"
    )
    assert len(reports[0]["files"][0]["notes"]) == 2


def test_lines_repeating_another_line_of_their_order_are_noted_on_both_routes(
    tmp_path, monkeypatch
):
    """A line-level log's line written twice is counted twice, and noted: the engine's route
    names the same orders as the importer, in the order their first repeat comes."""
    frame = retail_log(n_invoices=40, seed=3, cancel_share=0, partial_share=0)
    frame = frame.drop_duplicates(subset=[c for c in frame.columns if c != "Country"])
    numbers = frame["InvoiceNo"].unique()
    copies = frame[frame["InvoiceNo"].isin(numbers[[30, 4, 12, 20]])].groupby("InvoiceNo").head(1)
    copies = copies.set_index("InvoiceNo").loc[numbers[[30, 4, 12, 20]]].reset_index()
    # each copy goes at its file's end, in the order chosen: the repeats come in that order
    frame = pd.concat([frame, copies[frame.columns]], ignore_index=True)
    reports, tables = _assert_same_ingests([_write(frame, tmp_path / "r.csv")], RETAIL_MAP,
                                           monkeypatch)  # fmt: skip
    first = ", ".join(numbers[[30, 4, 12]])
    assert reports[0]["files"][0]["notes"] == [
        f"4 lines repeat another line of their order exactly (orders {first} and 1 more): each "
        "line is counted as bought (a till writing each item scanned on a line of its own "
        "repeats lines rightly); if the file holds copies (two exports pasted together), remove "
        "them"
    ]
    assert reports[0]["line_items"] == len(frame)


def test_one_files_lines_are_stored_as_numbered_without_a_window_over_them(tmp_path, monkeypatch):
    """An importer numbers each order's lines once, so one file's lines are stored as they are
    on both routes: no window sorts them (which held a 1M-order export's 1.46M lines in memory),
    and they are every line of the orders stored."""
    import valuecast.store.workspace as workspace_module

    selects = []
    select = workspace_module._stage_select

    def recorded(name, *args, **kwargs):
        selects.append((name, select(name, *args, **kwargs)))
        return selects[-1][1]

    monkeypatch.setattr(workspace_module, "_stage_select", recorded)
    frame = retail_log(n_invoices=150, seed=5)
    reports, tables = _assert_same_ingests([_write(frame, tmp_path / "r.csv")], RETAIL_MAP,
                                           monkeypatch)  # fmt: skip
    lines = [query for name, query in selects if name == "order_lines"]
    assert len(lines) == 2 and not any(" OVER " in query for query in lines)
    assert len(tables["lines"]) == reports[0]["line_items"] > reports[0]["orders"]
    assert set(tables["lines"]["order_id"]) == set(tables["orders"]["order_id"])


LINES_MAP = (
    "order_id=invoice,customer_id=customer,ordered_at=date,product=item,quantity=qty,"
    "unit_price=price"
)


def _line_log_on_both_routes(rows, tmp_path, monkeypatch):
    """The ingest report and tables of the line log ``rows`` (invoice, customer, date, item,
    qty, price), the same on the importer's route and the SQL route."""
    frame = pd.DataFrame(rows, columns=["invoice", "customer", "date", "item", "qty", "price"])
    reports, tables = _assert_same_ingests([_write(frame, tmp_path / "l.csv")], LINES_MAP,
                                           monkeypatch)  # fmt: skip
    return reports[0], tables


def test_a_returned_line_is_its_orders_refund_on_both_routes(tmp_path, monkeypatch):
    """Three customers' invoices, one of which takes a mug back: the report's gross revenue is
    the goods sold, its refunds the goods returned, and the net revenue what it was."""
    rows = [
        ("1001", "ann", "2024-03-01 10:00", "Mug", "2", "8.50"),
        ("1001", "ann", "2024-03-01 10:00", "Tea", "1", "4.25"),
        ("1001", "ann", "2024-03-01 10:00", "Mug", "-1", "8.50"),
        ("1002", "bob", "2024-03-02 11:00", "Tea", "3", "4.25"),
        ("1003", "cat", "2024-03-03 12:00", "Pot", "1", "30.00"),
        ("1003", "cat", "2024-03-03 12:00", "Tea", "2", "4.25"),
    ]
    report, tables = _line_log_on_both_routes(rows, tmp_path, monkeypatch)
    assert (report["gross_revenue"], report["refunded"]) == (72.5, 8.5)
    assert report["net_revenue"] == 64.0 and report["excluded_orders"] == {}
    money = tables["orders"].set_index("order_number")[["gross_revenue", "refunded", "net_revenue"]]
    assert money.loc["1001"].tolist() == [21.25, 8.5, 12.75]
    assert money.loc["1002"].tolist() == [12.75, 0.0, 12.75]


ADMIN_MAP = "order_id=order,customer_id=customer,ordered_at=date,revenue=total"
MONEY = ("gross_revenue", "refunded", "net_revenue")


def test_a_refund_row_under_its_sales_order_id_is_its_refund_on_both_routes(tmp_path, monkeypatch):
    """An admin export books a partial refund as a row of a negative amount under its sale's
    order number: the order's gross revenue is its sale, its refund that row, and its net
    revenue what it was. A sale refunded in full, an order of refund rows alone and one refunded
    beyond its sale are left out as before, each reported at its rows added up."""
    rows = [
        ("1001", "alice", "2026-01-05", "80.00"),
        ("1001", "alice", "2026-01-05", "-30.00"),
        ("1002", "bob", "2026-01-06", "45.00"),
        ("1003", "carol", "2026-01-07", "60.00"),
        ("1003", "carol", "2026-01-07", "-60.00"),
        ("1004", "dan", "2026-01-08", "-20.00"),
        ("1004", "dan", "2026-01-08", "-5.00"),
        ("1005", "erin", "2026-01-09", "25.00"),
        ("1005", "erin", "2026-01-09", "-40.00"),
    ]
    frame = pd.DataFrame(rows, columns=["order", "customer", "date", "total"])
    reports, tables = _assert_same_ingests([_write(frame, tmp_path / "o.csv")], ADMIN_MAP,
                                           monkeypatch)  # fmt: skip
    report = reports[0]
    assert [report[key] for key in MONEY] == [125.0, 30.0, 95.0]
    assert report["excluded_orders"] == {"refunded": 1, "negative amount": 2}
    assert report["excluded_revenue"] == {"refunded": 0.0, "negative amount": -40.0}
    money = tables["orders"].set_index("order_number")[list(MONEY)]
    assert money.to_dict("index") == {
        "1001": {"gross_revenue": 80.0, "refunded": 30.0, "net_revenue": 50.0},
        "1002": {"gross_revenue": 45.0, "refunded": 0.0, "net_revenue": 45.0},
    }
    # 1004 is a refund of its own, which the file does not link to a sale; 1005's refund is
    # linked already: the note does not ask for the order id its rows carry
    assert report["files"][0]["notes"] == [
        "1 order with a negative amount (1004) is left out as a refund or return and not "
        "subtracted from any customer's spend: the file does not link it to the sale it takes "
        "back; to net a refund with its sale, give its rows the order id of the sale they take "
        "back; 1 more order (1005) is left out with its sale: its own rows take back more than "
        "it sold (the return of an earlier purchase booked under it, or a refund of more than "
        "its goods); if a refund there takes back an earlier purchase, give it that purchase's "
        "order id"
    ]


def test_the_negative_amount_note_tells_a_refund_of_its_own_whatever_is_mapped(
    tmp_path, monkeypatch
):
    """A refund written as an order of its own (its gross revenue cell 0 or empty) asks for its
    sale's order id, whether or not a gross revenue column is mapped; an order selling less
    than its own rows take back does not.  Without an order id column neither lists the keys
    valuecast made up for the orders, nor asks for an order id."""
    rows = [
        ("1001", "ann", "2026-01-05", "80.00", "80.00"),
        ("R1001", "ann", "2026-01-20", "-50.00", "0"),
        ("R1002", "bob", "2026-01-21", "-20.00", ""),
        ("1005", "erin", "2026-01-09", "25.00", "25.00"),
        ("1005", "erin", "2026-01-09", "-40.00", "0"),
    ]
    frame = pd.DataFrame(rows, columns=["order", "customer", "date", "total", "gross"])
    path = _write(frame, tmp_path / "o.csv")
    reports, _ = _assert_same_ingests([path], f"{ADMIN_MAP},gross_revenue=gross", monkeypatch)
    assert reports[0]["files"][0]["notes"][-1] == (
        "2 orders with a negative amount (R1001, R1002) are left out as refunds or returns and "
        "not subtracted from any customer's spend: the file does not link them to the sales "
        "they take back; to net a refund with its sale, give its rows the order id of the sale "
        "they take back; 1 more order (1005) is left out with its sale: its own rows take back "
        "more than it sold (the return of an earlier purchase booked under it, or a refund of "
        "more than its goods); if a refund there takes back an earlier purchase, give it that "
        "purchase's order id"
    )
    # orders by customer and day: erin's second row on that day is an order of its own, a
    # refund; fay's row sold 25 and nets -15
    unnumbered = ADMIN_MAP.replace("order_id=order,", "") + ",gross_revenue=gross"
    fay = pd.DataFrame([("fay", "2026-01-10", "-15.00", "25.00")], columns=frame.columns[1:])
    rows = pd.concat([frame.drop(columns="order"), fay], ignore_index=True)
    reports, _ = _assert_same_ingests([_write(rows, tmp_path / "rows.csv")], unnumbered,
                                      monkeypatch)  # fmt: skip
    assert reports[0]["files"][0]["notes"][-1] == (
        "3 orders with a negative amount are left out as refunds or returns and not subtracted "
        "from any customer's spend: the file does not link them to the sales they take back; to "
        "net a refund with its sale, add an order id column, a refund's rows under the id of the "
        "sale they take back; 1 more order is left out with its sale: its own rows take back "
        "more than it sold (the return of an earlier purchase booked under it, or a refund of "
        "more than its goods); map order_id=COL so that a refund's rows net with their own sale "
        "only"
    )


QUARTER_ONE = [
    ("A1", "ann", "2026-01-05", "100.00"),
    ("B2", "bob", "2026-03-20", "120.00"),
    ("K1", "cat", "2026-03-25", "50.00"),
]
# a quarter's export by date: the refunds paid back in it, under their sales' order numbers
QUARTER_TWO = [
    ("B2", "bob", "2026-04-10", "-40.00"),
    ("K1", "cat", "2026-04-12", "-50.00"),
    ("A3", "ann", "2026-05-02", "70.00"),
]


def test_a_refund_in_a_later_export_is_netted_with_its_stored_sale_on_both_routes(
    tmp_path, monkeypatch
):
    """Q1's export holds the sales, Q2's the refunds of two of them (rows of a negative amount
    under the sales' numbers) and a new order.  The refund of B2 is its refund (net 80), K1
    refunded in full is excluded as refunded; the stored sale was removed as "negative amount"
    and the refund lost.  Q2's file saved again takes nothing off twice."""
    first = _write(pd.DataFrame(QUARTER_ONE, columns=["order", "customer", "date", "total"]),
                   tmp_path / "q1.csv")  # fmt: skip
    second = _write(pd.DataFrame(QUARTER_TWO, columns=["order", "customer", "date", "total"]),
                    tmp_path / "q2.csv")  # fmt: skip
    again = tmp_path / "q2 saved again.csv"
    again.write_text(second.read_text() + "\n")
    reports, tables = _assert_same_ingests([first, second, again], ADMIN_MAP, monkeypatch)
    money = tables["orders"].set_index("order_number")[list(MONEY)]
    assert money.to_dict("index") == {
        "A1": {"gross_revenue": 100.0, "refunded": 0.0, "net_revenue": 100.0},
        "A3": {"gross_revenue": 70.0, "refunded": 0.0, "net_revenue": 70.0},
        "B2": {"gross_revenue": 120.0, "refunded": 40.0, "net_revenue": 80.0},
    }
    second_report = reports[1]
    assert second_report["excluded_orders"] == {} and second_report["excluded_rows"] == {}
    assert second_report["withdrawn_orders"] == {"refunded": 1}
    notes = " ".join(second_report["notes"])
    assert "2 refunds under the order numbers of earlier orders (B2, K1) take 90.00 off them" in (
        notes
    )
    assert "refunded in full (K1) is now excluded as refunded" in notes
    assert "negative amount" not in notes and "does not link" not in notes
    third_notes = " ".join(reports[2]["notes"])
    assert "2 refunds of earlier orders (B2, K1) were netted by an earlier ingest" in third_notes


@pytest.mark.parametrize("cancelled", [False, True])
def test_an_export_of_refunds_alone_is_netted_with_the_stored_sales_on_both_routes(
    tmp_path, monkeypatch, cancelled
):
    """A quiet quarter's export holds only refunds of earlier sales (and perhaps an order left
    out): no order of its own to stage, and the refunds are still taken off the stored sales."""
    refunds = [row for row in QUARTER_TWO if row[3].startswith("-")]
    if cancelled:
        refunds.append(("C7", "dan", "2026-05-03", "-15.00"))  # a return of no stored sale
    first = _write(pd.DataFrame(QUARTER_ONE, columns=["order", "customer", "date", "total"]),
                   tmp_path / "q1.csv")  # fmt: skip
    second = _write(pd.DataFrame(refunds, columns=["order", "customer", "date", "total"]),
                    tmp_path / "q2.csv")  # fmt: skip
    reports, tables = _assert_same_ingests([first, second], ADMIN_MAP, monkeypatch)
    money = tables["orders"].set_index("order_number")[list(MONEY)]
    assert money.to_dict("index") == {
        "A1": {"gross_revenue": 100.0, "refunded": 0.0, "net_revenue": 100.0},
        "B2": {"gross_revenue": 120.0, "refunded": 40.0, "net_revenue": 80.0},
    }
    assert reports[1]["withdrawn_orders"] == {"refunded": 1}
    assert reports[1]["excluded_orders"] == ({"negative amount": 1} if cancelled else {})


def test_an_export_whose_orders_are_stored_does_not_say_nothing_changed_when_it_refunds_some(
    tmp_path, monkeypatch
):
    """Every order of the second file is stored as it is, but its refund row of B2 takes 40.00
    off a stored sale: "these files add no new or changed orders" would contradict that."""
    first = _write(pd.DataFrame(QUARTER_ONE, columns=["order", "customer", "date", "total"]),
                   tmp_path / "q1.csv")  # fmt: skip
    rows = [QUARTER_ONE[0], QUARTER_TWO[0]]
    second = _write(pd.DataFrame(rows, columns=["order", "customer", "date", "total"]),
                    tmp_path / "q2.csv")  # fmt: skip
    reports, tables = _assert_same_ingests([first, second], ADMIN_MAP, monkeypatch)
    notes = " ".join(reports[1]["notes"])
    assert "1 refund under the order number of earlier orders (B2) takes 40.00 off" in notes
    assert "add no new or changed orders" not in notes
    assert tables["orders"].set_index("order_number").loc["B2", "net_revenue"] == 80.0


def test_a_refund_in_a_later_file_of_one_ingest_is_netted_with_the_earlier_files_sale(
    tmp_path, monkeypatch
):
    """The two quarters' files in one ingest (read by the importer): the later file's refunds
    are the earlier file's sales' refunds, not a later word that leaves the sales out (B2 and
    K1 were not counted at all).  A later version of an order with its sale row (an export
    overlapping both) stands as it is written."""
    first = _write(pd.DataFrame(QUARTER_ONE, columns=["order", "customer", "date", "total"]),
                   tmp_path / "q1.csv")  # fmt: skip
    second = _write(pd.DataFrame(QUARTER_TWO, columns=["order", "customer", "date", "total"]),
                    tmp_path / "q2.csv")  # fmt: skip
    overlap = _write(
        pd.DataFrame(
            [("B2", "bob", "2026-03-20", "120.00"), ("B2", "bob", "2026-04-10", "-20.00")],
            columns=["order", "customer", "date", "total"],
        ),
        tmp_path / "q1-q2.csv",
    )
    for files, expected in (
        ([first, second], {"A1": 100.0, "A3": 70.0, "B2": 80.0}),
        ([first, second, overlap], {"A1": 100.0, "A3": 70.0, "B2": 100.0}),
        # given newest first (a shell's q2 before q1 of feb/jan names): the later file's sale
        # refunds nothing, and the refund is taken off it all the same
        ([second, first], {"A1": 100.0, "A3": 70.0, "B2": 80.0}),
        ([second, overlap], {"A3": 70.0, "B2": 100.0}),  # its version books its refunds
    ):
        assert defer_orders(files, column_map=ADMIN_MAP) is None  # the importer reads them
        with Workspace(":memory:") as ws:
            report = ws.ingest(read_exports(files, column_map=ADMIN_MAP)).to_dict()
            stored = ws.orders().to_pandas().set_index("order_number")["net_revenue"]
        assert stored.sort_index().to_dict() == expected, files
        if files == [first, second] or files == [second, first]:
            assert report["excluded_orders"] == {"refunded": 1}
            assert report["excluded_rows"] == {"refunded": 1}
            assert report["new_orders"] == report["orders"] == 3
            assert report["net_revenue"] == 250.0


def test_a_refund_row_dated_after_its_sale_is_its_refund_read_by_the_importer(tmp_path):
    """A refund booked weeks after the sale under its order number: the order is dated at its
    sale and the refund is its refund, on whichever route reads the file (the engine's hands an
    order whose rows differ in time to the importer)."""
    frame = pd.DataFrame(
        [("1001", "alice", "2026-01-05", "80.00"), ("1001", "alice", "2026-01-20", "-30.00")],
        columns=["order", "customer", "date", "total"],
    )
    path = _write(frame, tmp_path / "o.csv")
    pending = defer_orders([path], column_map=ADMIN_MAP)
    assert isinstance(pending, orders_duckdb.PendingOrders)
    for results in (read_exports([path], column_map=ADMIN_MAP), [pending]):
        with Workspace(":memory:") as ws:
            report = ws.ingest(results).to_dict()
            order = ws.orders().to_pandas().iloc[0]
        assert [report[key] for key in MONEY] == [80.0, 30.0, 50.0]
        assert order[list(MONEY)].tolist() == [80.0, 30.0, 50.0]
        assert order["ordered_at"] == pd.Timestamp("2026-01-05")


def test_a_credit_note_of_a_sale_before_the_log_is_counted_out_and_noted_on_both_routes(
    tmp_path, monkeypatch
):
    """A return booked under an order number of its own (``C536379``) whose customer bought
    nothing before it in the log is no purchase: it is counted out as a cancellation, with what
    it takes back, and a note says that no customer's spend is lowered by it."""
    rows = [
        ("536365", "17850", "2024-03-01 10:00", "Mug", "4", "8.50"),
        ("536366", "17850", "2024-03-05 10:00", "Tea", "2", "4.25"),
        ("536367", "13047", "2024-03-02 11:00", "Tea", "3", "4.25"),
        ("536368", "12583", "2024-03-03 12:00", "Pot", "1", "30.00"),
        ("C536379", "14000", "2024-03-06 09:00", "Mug", "-2", "8.50"),
    ]
    report, tables = _line_log_on_both_routes(rows, tmp_path, monkeypatch)
    assert report["excluded_orders"] == report["excluded_rows"] == {"cancellation": 1}
    assert report["excluded_revenue"] == {"cancellation": -17.0}
    assert (report["orders"], report["net_revenue"], report["refunded"]) == (4, 85.25, 0.0)
    assert "C536379" not in set(tables["orders"]["order_number"])
    assert report["files"][0]["notes"] == [
        "1 cancellation (C536379) of returned lines only is left out and not subtracted from any "
        "customer's spend: the log does not link it to the sale it takes back; to count a return "
        "as its sale's refund, give its lines the sale's order id"
    ]


def test_a_credit_note_taking_back_an_earlier_sale_is_its_refund(tmp_path, monkeypatch):
    """A credit note's line names the customer, the item and its price: it takes back the
    customer's latest line selling that item at that price before it, and is netted with that
    sale as its refund (a sale taken back in full is left out as refunded).  A return of more
    than that line sold (with the returns before it), or at another price, stays in its
    cancellation, left out.  The engine's
    route leaves such a file to the importer, whose result it is."""
    rows = [
        ("536365", "17850", "2024-03-01 10:00", "Mug", "4", "8.50"),
        ("536366", "17850", "2024-03-05 10:00", "Mug", "1", "8.50"),
        ("536366", "17850", "2024-03-05 10:00", "Tea", "2", "4.25"),
        ("536367", "13047", "2024-03-02 11:00", "Pot", "1", "30.00"),
        ("536370", "13047", "2024-03-02 11:30", "Cup", "2", "3.00"),
        # 1 mug of 536366 (the latest), then 2 more, which 536366 did not sell
        ("C536379", "17850", "2024-03-06 09:00", "Mug", "-1", "8.50"),
        ("C536380", "17850", "2024-03-07 09:00", "Mug", "-2", "8.50"),
        ("C536381", "13047", "2024-03-02 12:00", "Pot", "-1", "30.00"),  # the whole order
        ("C536382", "13047", "2024-03-02 12:00", "Pot", "-1", "29.00"),  # not its price
        ("C536383", "13047", "2024-03-02 12:00", "Cup", "-3", "3.00"),  # more than it sold
        ("C536384", "13047", "2024-03-03 12:00", "Cup", "-1", "3.00"),  # which leaves 2
        # an invoice selling a vase on two lines: a return of both lines' vases takes it back
        ("536390", "12583", "2024-03-04 10:00", "Vase", "2", "5.00"),
        ("536390", "12583", "2024-03-04 10:00", "Vase", "3", "5.00"),
        ("536390", "12583", "2024-03-04 10:00", "Bowl", "1", "4.00"),
        ("C536391", "12583", "2024-03-05 10:00", "Vase", "-5", "5.00"),
    ]
    frame = pd.DataFrame(rows, columns=["invoice", "customer", "date", "item", "qty", "price"])
    path = _write(frame, tmp_path / "l.csv")
    importer = _ingest([path], LINES_MAP, engine=False, monkeypatch=monkeypatch)
    with Workspace(":memory:") as ws:
        assert isinstance(defer_orders([path], column_map=LINES_MAP), orders_duckdb.PendingOrders)
        report = ws.ingest([defer_orders([path], column_map=LINES_MAP)]).to_dict()
        orders = ws.orders().to_pandas().sort_values("order_id", ignore_index=True)
    assert report == importer[0][0]
    pd.testing.assert_frame_equal(orders, importer[1]["orders"], check_exact=True)
    money = orders.set_index("order_number")[["gross_revenue", "refunded", "net_revenue"]]
    assert money.loc["536365"].tolist() == [34.0, 0.0, 34.0]
    assert money.loc["536366"].tolist() == [17.0, 8.5, 8.5]
    assert money.loc["536370"].tolist() == [6.0, 3.0, 3.0]
    assert money.loc["536390"].tolist() == [29.0, 25.0, 4.0]
    assert set(money.index) == {"536365", "536366", "536370", "536390"}
    assert report["excluded_orders"] == {"refunded": 1, "cancellation": 3}
    assert report["excluded_rows"] == {"refunded": 2, "cancellation": 3}
    assert report["files"][0]["notes"] == [
        "4 returned lines of 4 cancellations (C536379, C536381, C536384 and 1 more) netted as "
        "refunds (66.50) of the same customer's latest earlier order selling the same item at "
        "the same price, which the log does not name; a sale taken back in full is left out as "
        "refunded",
        "3 cancellations (C536380, C536382, C536383) of returned lines only are left out and not "
        "subtracted from any customer's spend: the log does not link them to the sales they take "
        "back; to count a return as its sale's refund, give its lines the sale's order id",
    ]


@pytest.mark.parametrize("line", ["POSTAGE", "Gift Card", "Acme Coffee Gift Card"])
def test_a_line_level_log_with_shipping_or_gift_cards_goes_to_the_importer(
    tmp_path, monkeypatch, line
):
    """The importer counts a shipping line's amount as its order's shipping, and a gift card
    sold as no revenue: the file's orders are the importer's, whichever route was tried first."""
    frame = retail_log(n_invoices=80, seed=8)
    sales = frame[~frame["InvoiceNo"].str.startswith("C")].drop_duplicates("InvoiceNo")
    added = sales.assign(StockCode="X1", Description=line, Quantity="1", UnitPrice="7.5")
    path = _write(pd.concat([frame, added], ignore_index=True), tmp_path / "r.csv")
    importer = _ingest([path], RETAIL_MAP, engine=False, monkeypatch=monkeypatch)
    with Workspace(":memory:") as ws:
        report = ws.ingest([defer_orders([path], column_map=RETAIL_MAP)]).to_dict()
        orders = ws.orders().to_pandas().sort_values("order_id", ignore_index=True)
    assert report == importer[0][0]
    counted = 7.5 * report["orders"] if line == "POSTAGE" else 0.0
    assert report["shipping"] == pytest.approx(counted)
    pd.testing.assert_frame_equal(orders, importer[1]["orders"], check_exact=True)


def test_line_level_logs_without_order_ids_are_noted_on_both_routes(tmp_path, monkeypatch):
    """Without an order id each line is an order: an order of three lines counts three, so the
    note says how to add them up."""
    frame = retail_log(n_invoices=60, seed=6).drop(columns="InvoiceNo")
    mapping = ",".join(part for part in RETAIL_MAP.split(",") if not part.startswith("order_id"))
    reports, _ = _assert_same_ingests([_write(frame, tmp_path / "r.csv")], mapping, monkeypatch)
    returns = int((frame["Quantity"].astype(float) < 0).sum())  # each an order of its own
    assert reports[0]["files"][0]["notes"] == [
        "no order id column: each line is counted as an order of its own; if an order's lines "
        "are on several rows, map order_id=COL to add them up into one order",
        f"{returns} cancellations of returned lines only are left out and not subtracted from "
        "any customer's spend: the log does not link them to the sales they take back; to count "
        "a return as its sale's refund, give its lines the sale's order id",
    ]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_consent_cells_neither_yes_nor_no_are_noted_on_both_routes(tmp_path, monkeypatch, suffix):
    """A consent cell such as ``pending`` reads as no consent stated, as an empty one does: the
    customer is in no audience of customers who consented, and the note says why."""
    consent = ["yes", "no", "Pending", "pending", "double opt-in", "", "subscribed", "maybe", "n"]
    frame = pd.DataFrame(
        {
            "customer": [f"c{i}" for i in range(len(consent))],
            "date": [f"2024-01-{i + 1:02d}" for i in range(len(consent))],
            "amount": [f"{10 + i}.50" for i in range(len(consent))],
            "marketing": consent,
        }
    )
    mapping = MAP + ",accepts_marketing=marketing"
    reports, tables = _assert_same_ingests(
        [_write(frame, tmp_path / f"o{suffix}")], mapping, monkeypatch
    )
    assert reports[0]["files"][0]["notes"] == [
        "marketing: 4 cells are neither yes nor no ('double opt-in', 'maybe', 'pending'): read "
        "as no consent stated, as an empty cell is, so the audiences of customers who consented "
        "leave their customers out; write yes or no where the consent is known"
    ]
    stated = tables["orders"].set_index("customer_id")["accepts_marketing"]
    assert stated[["c0", "c6"]].tolist() == [True, True]
    assert stated[["c1", "c8"]].tolist() == [False, False]
    assert stated[["c2", "c3", "c4", "c5", "c7"]].isna().all()


def test_one_consent_cell_of_many_values_is_named_as_one_of_more(tmp_path):
    frame = pd.DataFrame(
        {
            "customer": ["a", "b", "c", "d", "e", "f"],
            "date": ["2024-01-01"] * 6,
            "amount": ["10"] * 6,
            "marketing": ["w", "x", "u", "z", "yes", "z"],
        }
    )
    results = read_exports(
        [_write(frame, tmp_path / "o.csv")], column_map=MAP + ",accepts_marketing=marketing"
    )
    assert results[0].notes == [
        "marketing: 5 cells are neither yes nor no ('u', 'w', 'x', ...): read as no consent "
        "stated, as an empty cell is, so the audiences of customers who consented leave their "
        "customers out; write yes or no where the consent is known"
    ]


def test_repeat_ingests_of_overlapping_files_report_the_same_updates(tmp_path, monkeypatch):
    frame = _orders(np.random.default_rng(12), keyed=True)
    first = _write(frame.iloc[:200], tmp_path / "jan.csv")
    later = frame.iloc[120:].copy()
    changed = later.index[(later["amount"] != "") & (later.index % 7 == 0)]
    later.loc[changed, "amount"] = "1.25"  # a newer export of the same shop changed some orders
    files = [first, _write(later, tmp_path / "feb.csv"), first]
    reports, _ = _assert_same_ingests(files, MAP + ",order_id=order_id,tax=tax",
                                      monkeypatch)  # fmt: skip
    assert reports[1]["new_orders"] > 0 and reports[1]["updated_orders"] > 0
    assert reports[1]["unchanged_orders"] > 0


def test_float32_amounts_are_the_amounts_written_not_their_nearest_double(tmp_path):
    # pandas' float32 column of 239.58 is 239.5800018310547 as a double: read as its shortest
    # text, the same orders from CSV and then from that Parquet file are unchanged
    frame = pd.DataFrame(
        {"order_id": ["1", "2", "3"], "customer": ["a@x.com", "b@x.com", "a@x.com"],
         "date": ["2024-01-05", "2024-02-01", "2024-03-05"], "amount": [239.58, 0.1, 12.35]}
    )  # fmt: skip
    csv = _write(frame.astype(str), tmp_path / "orders.csv")
    parquet = tmp_path / "orders.parquet"
    pq.write_table(pa.Table.from_pandas(frame.astype({"amount": "float32"})), parquet)
    mapping = MAP + ",order_id=order_id"
    with Workspace(tmp_path / "w.duckdb") as ws:
        ws.ingest(read_exports([csv], column_map=mapping))
        report = ws.ingest(read_exports([parquet], column_map=mapping)).to_dict()
        amounts = sorted(ws.orders().to_pandas()["net_revenue"])
    assert (report["new_orders"], report["updated_orders"], report["unchanged_orders"]) == (0, 0, 3)
    assert amounts == [0.1, 12.35, 239.58]


def test_a_cell_the_engine_cannot_prove_goes_to_the_importer(tmp_path):
    frame = _orders(np.random.default_rng(13))
    # the amounts' currency, as the currency column names it ($ is never the file's euros)
    frame.loc[5, ["customer", "date", "amount"]] = [" Padded@Example.com", "2023-01-09", "€1,234"]
    path = _write(frame, tmp_path / "o.csv")
    ingests = []
    for defer in (True, False):
        with Workspace(":memory:") as ws:
            results = [defer_orders([path], column_map=MAP)] if defer else None
            report = ws.ingest(results or read_exports([path], column_map=MAP)).to_dict()
            ingests.append(
                (report, ws.orders().to_pandas().sort_values("order_id", ignore_index=True))
            )
    assert ingests[0][0] == ingests[1][0]
    pd.testing.assert_frame_equal(ingests[0][1], ingests[1][1], check_exact=True)
    assert ingests[0][1]["order_number"].str.startswith("padded@example.com|").any()


def test_a_line_longer_than_duckdbs_limit_goes_to_the_importer(tmp_path, monkeypatch):
    """DuckDB's reader drops a line longer than its 32 MiB buffer without a reject: the row is kept."""
    frame = _orders(np.random.default_rng(18))
    frame["channel"] = np.where(frame["date"] == "", "", "web")  # empty rows stay empty
    frame.loc[4, ["customer", "date", "amount", "channel"]] = [
        "ann",
        "2023-01-02",
        "5",
        "x" * 34_000_000,
    ]
    path = _write(frame, tmp_path / "o.csv")
    mapping = MAP + ",channel=channel"
    with Workspace(":memory:") as ws:
        report = ws.ingest(read_exports([path], column_map=mapping, defer=True)).to_dict()
        stored = ws.orders().to_pandas()
    assert report == _ingest([path], mapping, engine=False, monkeypatch=monkeypatch)[0][0]
    assert (stored["channel"].str.len() == 34_000_000).sum() == 1


def test_a_record_of_many_short_lines_longer_than_the_limit_goes_to_the_importer(
    tmp_path, monkeypatch
):
    """A quoted cell of many short lines is one long record: DuckDB's reader searches for it a
    minute when it holds millions of lines (each line is short, the record is not)."""
    monkeypatch.setattr(orders_duckdb, "LONGEST_RECORD", 2_000)
    frame = _orders(np.random.default_rng(19))
    frame["channel"] = np.where(frame["date"] == "", "", "web")
    frame.loc[4, ["customer", "date", "amount", "channel"]] = ["ann", "2023-01-02", "5",
                                                               "\n".join(["y"] * 1_500)]  # fmt: skip
    path = _write(frame, tmp_path / "o.csv")
    assert max(len(line) for line in path.read_text().splitlines()) < 2_000
    mapping = MAP + ",channel=channel"
    assert defer_orders([path], column_map=mapping) is None
    with Workspace(":memory:") as ws:
        report = ws.ingest(read_exports([path], column_map=mapping, defer=True)).to_dict()
        stored = ws.orders().to_pandas()
    assert report == _ingest([path], mapping, engine=False, monkeypatch=monkeypatch)[0][0]
    assert (stored["channel"].str.len() == 2_999).sum() == 1


@pytest.mark.parametrize(
    "rows",
    [
        'ann, "a@example.com",2023-01-02,5\n',  # a space before the opening quote
        'ann,"a@example.com" ,2023-01-02,5\n',  # a space after the closing quote
        ' "ann",a@example.com,2023-01-02,5\n',  # spaces at the line's start
        'ann, "a@example.com\nbob",b@example.com,2023-01-03,6\n',  # ... and a line end inside
    ],
)
def test_a_quote_set_apart_by_spaces_goes_to_the_importer(tmp_path, monkeypatch, rows):
    """DuckDB's reader drops the spaces and the quotes (and reads two lines as one row where the
    quotes hold a line end); the importer keeps them as text, and its reading is the one kept."""
    path = tmp_path / "o.csv"
    path.write_text("customer,mail,date,amount\nzed,z@example.com,2023-01-01,3\n" + rows)
    mapping = MAP + ",email=mail"
    assert defer_orders([path], column_map=mapping) is None
    outcomes = []
    for defer in (True, False):
        try:
            with Workspace(":memory:") as ws:
                report = ws.ingest(read_exports([path], column_map=mapping, defer=defer))
                outcomes.append((report.to_dict(), ws.orders().to_pandas()))
        except InputError as error:
            outcomes.append(str(error))
    if isinstance(outcomes[1], str):
        assert outcomes[0] == outcomes[1]
    else:
        assert outcomes[0][0] == outcomes[1][0]
        pd.testing.assert_frame_equal(outcomes[0][1], outcomes[1][1], check_exact=True)


@pytest.mark.parametrize(
    "header",
    [
        'customer,date,amount,"note"x',  # text after a closing quote
        'customer,date,amount,"note"\t',  # a tab after it
        'customer,date,amount, "note',  # a spaced quote, closed by no other
        'customer,date,amount, "note\nc9,2024-03-01,99,x"',  # ... or by one in a data row
    ],
)
def test_a_header_readers_end_in_different_places_goes_to_the_importer(
    tmp_path, monkeypatch, header
):
    """DuckDB's reader took the data rows for part of such a header, without a reject: the
    orders were gone."""
    path = tmp_path / "o.csv"
    path.write_text(header + "\nc1,2024-01-05,12.5,z\nc2,2024-01-06,3,z\n")
    assert defer_orders([path], column_map=MAP) is None
    with Workspace(":memory:") as ws:
        report = ws.ingest(read_exports([path], column_map=MAP, defer=True)).to_dict()
    assert report == _ingest([path], MAP, engine=False, monkeypatch=monkeypatch)[0][0]
    assert report["orders"] >= 2


def test_spaces_beside_doubled_quotes_inside_a_quoted_cell_stay_on_the_engines_route(
    tmp_path, monkeypatch
):
    """``"Hi, ""Ann"" ,x"`` is one cell to both readers: a comma, spaces and quotes inside it
    are its text, not a cell's edge."""
    path = tmp_path / "o.csv"
    path.write_text(
        "customer,mail,date,amount,channel\n"
        'ann,a@example.com,2023-01-02,5,"Hi, ""Ann"" ,x"\n'
        'bob,b@example.com,2023-01-03,6,"say "" , ""hi"\n'
        "cy,c@example.com,2023-01-04,7,web\n"
    )
    _, tables = _assert_same_ingests([path], MAP + ",email=mail,channel=channel", monkeypatch)
    assert sorted(tables["orders"]["channel"]) == ['Hi, "Ann" ,x', 'say " , "hi', "web"]


def test_a_currency_symbol_in_a_currency_column_goes_to_the_importer(tmp_path, monkeypatch):
    """The importer reads CA$ in a currency column as CAD; DuckDB's route would keep CA$."""
    path = tmp_path / "o.csv"
    path.write_text("customer,date,amount,currency\na,2024-01-05,3,CA$\nb,2024-01-06,4,ca$\n")
    mapping = MAP + ",currency=currency"
    with Workspace(":memory:") as ws:
        report = ws.ingest(read_exports([path], column_map=mapping, defer=True)).to_dict()
    assert report == _ingest([path], mapping, engine=False, monkeypatch=monkeypatch)[0][0]
    assert report["currencies"] == {"CAD": 2}


def test_orders_of_an_amount_of_0_are_counted_and_noted_on_both_routes(tmp_path, monkeypatch):
    """A free sample (a total of 0) is a purchase worth 0 and one more order for its customer,
    which makes a one-time buyer a repeat customer: Shopify's exports said so, an orders table
    did not."""
    rows = [
        ("1001", "ann", "2026-01-05", "40.00"),
        ("1002", "ann", "2026-02-05", "0"),
        ("1003", "bob", "2026-02-06", "0.00"),
        ("1004", "bob", "2026-02-07", "25.00"),
    ]
    frame = pd.DataFrame(rows, columns=["order", "customer", "date", "total"])
    reports, tables = _assert_same_ingests([_write(frame, tmp_path / "o.csv")], ADMIN_MAP,
                                           monkeypatch)  # fmt: skip
    assert len(tables["orders"]) == 4
    assert (
        "2 orders of an amount of 0 (a free sample, a 100% discount or a replacement) are "
        "counted as purchases worth 0, each one more order for their customers"
        in " ".join(reports[0]["notes"])
    )


def test_iso_times_written_in_utc_are_noted_and_read_on_the_shops_days_with_a_time_zone(
    tmp_path,
):
    """An API's export writes instants: ``2025-01-01T03:30:00Z`` is New York's evening of Dec 31,
    the moment ``2024-12-31T22:30:00-05:00`` writes.  Read as written they fell on two days,
    with no note, and ``--map time_zone`` was refused as if the times had no zone."""
    path = tmp_path / "api.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,revenue\n1,x,2025-01-01T03:30:00Z,10\n"
        "2,y,2024-12-31T22:30:00-05:00,10\n3,x,2025-02-01T12:00:00Z,10\n"
    )
    mapping = "customer_id=customer_id,ordered_at=ordered_at,revenue=revenue,order_id=order_id"
    outcomes = []
    for defer in (True, False):  # the engine's route leaves such a file to the importer
        with Workspace(":memory:") as ws:
            report = ws.ingest(read_exports([path], column_map=mapping, defer=defer)).to_dict()
            outcomes.append((report, ws.orders().to_pandas().sort_values("order_number")))
    assert outcomes[0][0] == outcomes[1][0]
    assert "ordered_at holds times written in UTC (Z, +00:00), read in UTC" in (
        " ".join(outcomes[0][0]["notes"])
    )
    assert outcomes[0][1]["order_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2025-01-01", "2024-12-31", "2025-02-01",
    ]  # fmt: skip
    zoned = runner.invoke(
        app, ["ingest", str(path), "-w", str(tmp_path / "w.duckdb"), "--map",
              mapping + ",time_zone=America/New_York"],
    )  # fmt: skip
    assert zoned.exit_code == 0, zoned.output
    assert "written in UTC" not in zoned.output
    with Workspace(tmp_path / "w.duckdb", read_only=True) as ws:
        stored = ws.orders().to_pandas().sort_values("order_number")
    assert stored["ordered_at"].dt.strftime("%Y-%m-%d %H:%M").tolist() == [
        "2024-12-31 22:30", "2024-12-31 22:30", "2025-02-01 07:00",
    ]  # fmt: skip
    # a time without its zone among them: which instant it is cannot be told
    path.write_text(path.read_text() + "4,z,2025-02-02 10:00:00,10\n")
    refused = runner.invoke(
        app, ["ingest", str(path), "-w", str(tmp_path / "v.duckdb"), "--map",
              mapping + ",time_zone=America/New_York"],
    )  # fmt: skip
    assert refused.exit_code == 2 and "leave time_zone out" in refused.output


def test_dollar_amounts_beside_a_currency_cell_of_euros_are_refused_on_both_routes(tmp_path):
    """``$12.50`` is some dollar (or peso), never the EUR its row's currency cell names: it was
    ingested as 12.50 EUR.  A currency a dollar can be (CAD) stands, on either route."""
    mapping = MAP + ",currency=currency"
    refused = tmp_path / "euros.csv"
    refused.write_text("customer,date,amount,currency\na,2025-01-01,$12.50,CAD\n"
                       "b,2025-01-02,$10.00,EUR\n")  # fmt: skip
    for defer in (True, False):
        with Workspace(":memory:") as ws, pytest.raises(InputError) as error:
            ws.ingest(read_exports([refused], column_map=mapping, defer=defer))
        assert str(error.value) == (
            f"{refused}, row 3, column 'currency': currency 'EUR', but the amounts are written "
            "in $, which is never EUR: correct the currency or the amounts"
        )
    dollars = tmp_path / "dollars.csv"
    dollars.write_text(
        "customer,date,amount,currency\na,2025-01-01,$12.50,CAD\nb,2025-01-02,$10,\n"
    )
    with Workspace(":memory:") as ws:
        report = ws.ingest(read_exports([dollars], column_map=mapping, defer=True)).to_dict()
    assert report["currencies"] == {"CAD": 1}  # the empty cell: the others' CAD, noted


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_whose_customers_are_named_by_phone_goes_to_the_importer(tmp_path, suffix):
    """Phone numbers are normalised by the importer's rules (valuecast.io.phones) alone."""
    frame = pd.DataFrame({
        "customer": ["", "a@x.com", ""],
        "phone": ["+1 (616) 954-7888", "", "+1 616-954-7888"],
        "date": ["2024-01-05", "2024-02-05", "2024-01-07"],
        "amount": ["10", "20", "30"],
    })  # fmt: skip
    path = _write(frame, tmp_path / f"o{suffix}")
    mapping = MAP + ",phone=phone"
    assert defer_orders([path], column_map=mapping) is None
    assert defer_orders([path], column_map=MAP) is not None
    with Workspace(":memory:") as ws:
        report = ws.ingest(read_exports([path], column_map=mapping, defer=True)).to_dict()
    assert report["customers"] == 2 and report["phone_customers"] == 1
    assert report["guest_orders"] == 0


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_phone_column_gives_the_customers_named_by_an_id_their_contact_phone(tmp_path, suffix):
    """A mapped phone is the contact phone of a customer with an id too (their latest order's
    giving a number), however the file is ingested: such a file is the importer's alone."""
    frame = pd.DataFrame({
        "customer": ["C-1", "C-1", "C-2", ""],
        "phone": ["+1 206 555 0100", "(206) 555-0143", "n/a", "+44 7700 900123"],
        "country": ["US", "US", "US", "GB"],
        "date": ["2024-01-05", "2024-02-05", "2024-01-07", "2024-01-08"],
        "amount": ["10", "20", "30", "40"],
    })  # fmt: skip
    path = _write(frame, tmp_path / f"o{suffix}")
    mapping = MAP + ",phone=phone,country=country"
    assert defer_orders([path], column_map=mapping) is None
    with Workspace(":memory:") as ws:
        ws.ingest(read_exports([path], column_map=mapping, defer=True))
        contacts = ws.contacts().set_index("customer_id")
    assert contacts[["phone", "country"]].to_dict("index") == {
        "C-1": {"phone": "(206) 555-0143", "country": "US"},
        "phone:+447700900123": {"phone": "+44 7700 900123", "country": "GB"},
    }


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_refunds_column_beside_the_revenue_is_noted_on_both_routes(tmp_path, monkeypatch, suffix):
    """The revenue is the merchant's net revenue as given: the refunds are reported beside it,
    and the note says why the report's net revenue is not the revenue less the refunds."""
    frame = pd.DataFrame({
        "customer": ["a@x.com", "a@x.com", "b@x.com"],
        "date": ["2024-01-05", "2024-02-05", "2024-01-07"],
        "amount": ["100", "20", "30"],
        "refunds": ["20", "0", ""],
    })  # fmt: skip
    path = _write(frame, tmp_path / f"o{suffix}")
    reports, _ = _assert_same_ingests([path], MAP + ",refunded=refunds", monkeypatch)
    assert reports[0]["refunded"] == 20.0 and reports[0]["net_revenue"] == 150.0
    assert reports[0]["files"][0]["notes"] == [
        "column 'refunds' (refunded) is reported, not subtracted: each order's net revenue is "
        "'amount' as given; map revenue to a column net of refunds if it is not"
    ]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_tax_and_shipping_columns_beside_the_revenue_are_noted_on_both_routes(
    tmp_path, monkeypatch, suffix
):
    """A mapped tax or shipping column is kept beside the revenue, which is taken as given: the
    note says they are not subtracted, where the report says its amounts are without them, so
    an order total mapped as the revenue does not pass for revenue without tax unsaid."""
    frame = pd.DataFrame({
        "customer": ["a@x.com", "b@x.com"],
        "date": ["2024-01-05", "2024-01-07"],
        "total": ["124.00", "64.80"],
        "tax": ["20.00", "4.80"],
        "postage": ["4.00", "5.00"],
    })  # fmt: skip
    path = _write(frame, tmp_path / f"o{suffix}")
    mapping = "customer_id=customer,ordered_at=date,revenue=total"
    reports, _ = _assert_same_ingests([path], mapping + ",tax=tax,shipping=postage", monkeypatch)
    assert reports[0]["net_revenue"] == 188.8
    assert reports[0]["files"][0]["notes"] == [
        "columns 'tax' (tax) and 'postage' (shipping) are kept beside the revenue, not "
        "subtracted: each order's net revenue is 'total' as given; map revenue to a column "
        "without tax and shipping if it holds them"
    ]
    reports, _ = _assert_same_ingests([path], mapping + ",tax=tax", monkeypatch)
    assert reports[0]["files"][0]["notes"] == [
        "column 'tax' (tax) is kept beside the revenue, not subtracted: each order's net "
        "revenue is 'total' as given; map revenue to a column without tax and shipping if it "
        "holds them"
    ]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_orders_naming_no_currency_beside_named_ones_are_noted_on_both_routes(
    tmp_path, monkeypatch, suffix
):
    """The currencies' counts leave out orders with an empty currency cell; the report says
    which currency the analysis takes them to be in, so its counts add up to the orders."""
    frame = pd.DataFrame({
        "customer": ["a@x.com", "a@x.com", "b@x.com", "c@x.com"],
        "date": ["2024-01-05", "2024-02-05", "2024-01-07", "2024-01-09"],
        "amount": ["10", "20", "30", "40"],
        "currency": ["usd", "", "USD", ""],
    })  # fmt: skip
    path = _write(frame, tmp_path / f"o{suffix}")
    reports, _ = _assert_same_ingests([path], MAP + ",currency=currency", monkeypatch)
    assert reports[0]["orders"] == 4 and reports[0]["currencies"] == {"USD": 2}
    assert reports[0]["notes"] == [
        "2 orders name no currency: taken to be in USD, as the others are"
    ]


def test_a_placeholder_customer_is_a_guest_order_the_importer_reads_and_notes(
    tmp_path, monkeypatch
):
    """A till's ``Guest`` (or ``NULL``, ``N/A``, ``-``) names no customer: taken as an id it made
    one customer of every guest. The engine's route leaves such a file to the importer."""
    path = tmp_path / "o.csv"
    path.write_text(
        "customer,date,amount\nGuest,2024-01-05,3\nNULL,2024-01-06,4\na@x.com,2024-01-07,5\n"
        "guest,2024-01-08,6\nN/A,2024-01-09,7\n-,2024-01-10,8\nGuestbook Ltd,2024-01-11,9\n"
    )
    with Workspace(":memory:") as ws:
        report = ws.ingest(read_exports([path], column_map=MAP, defer=True)).to_dict()
        orders = ws.orders().to_pandas().sort_values("order_number", ignore_index=True)
    assert report == _ingest([path], MAP, engine=False, monkeypatch=monkeypatch)[0][0]
    assert report["guest_orders"] == 5 and report["guest_revenue"] == 28.0
    assert report["customers"] == 2  # a@x.com and Guestbook Ltd
    assert report["files"][0]["notes"] == [
        "5 rows name no customer ('-' (1), 'Guest' (1), 'N/A' (1), 'NULL' (1), 'guest' (1)): "
        "read as guest orders"
    ]
    # numbered by the cells as written: the numbers the file's orders had when it was read
    # before this rule, so a workspace holding them finds them again
    assert sorted(orders["order_number"]) == sorted([
        "-|2024-01-10", "Guest|2024-01-05", "Guestbook Ltd|2024-01-11", "N/A|2024-01-09",
        "NULL|2024-01-06", "a@x.com|2024-01-07", "guest|2024-01-08",
    ])  # fmt: skip
    assert orders["customer_id"].isna().sum() == 5


def test_a_placeholder_email_is_no_customer_on_both_routes(tmp_path, monkeypatch):
    """A dummy address typed for a phone or in-store order (``noemail@shop.com``) names no
    customer, in the customer column or the e-mail column, on either route: taken as an id it
    made one customer of every such order."""
    path = tmp_path / "o.csv"
    path.write_text(
        "customer,date,amount,mail\nnoemail@shop.com,2024-01-05,3,\nNoEmail@Shop.com,2024-01-06,4,"
        "\nann@x.com,2024-01-07,5,\nC-7,2024-01-08,6,none@none.com\n,2024-01-09,7,na@na.com\n"
        ",2024-01-10,8,ann@x.com\nnonna@x.com,2024-01-11,9,\n"
    )
    mapping = MAP + ",email=mail"
    with Workspace(":memory:") as ws:
        report = ws.ingest(read_exports([path], column_map=mapping, defer=True)).to_dict()
        orders = ws.orders().to_pandas().set_index("order_number")
    assert report == _ingest([path], mapping, engine=False, monkeypatch=monkeypatch)[0][0]
    assert report["guest_orders"] == 3 and report["customers"] == 3  # ann, C-7 and nonna
    assert report["files"][0]["notes"] == [
        "2 rows name no customer ('noemail@shop.com' (2)): read as guest orders",
        "2 rows carry a placeholder e-mail ('na@na.com' (1), 'none@none.com' (1)), no "
        "customer's address: read as no e-mail",
    ]
    assert orders.loc["|2024-01-10", "customer_id"] == "ann@x.com"  # a real address still links
    assert orders.loc["C-7|2024-01-08", "customer_id"] == "C-7"
    assert orders["email"].isin(["noemail@shop.com", "none@none.com", "na@na.com"]).sum() == 0
    assert pd.isna(orders.loc["noemail@shop.com|2024-01-05", "customer_id"])


def test_a_guests_address_is_no_customer_on_both_routes(tmp_path, monkeypatch):
    """``guest@myshop.com`` and ``anonymous@shop.com`` name no one, as the words ``Guest`` and
    ``anonymous`` do, in the customer column or the e-mail column, on either route."""
    path = tmp_path / "o.csv"
    path.write_text(
        "customer,date,amount,mail\nguest@myshop.com,2024-01-05,3,\nGuest@MyShop.com,2024-01-06,"
        "4,\nAnonymous@Shop.com,2024-01-07,5,\n,2024-01-08,6,guest@myshop.com\n"
        "ann@x.com,2024-01-09,7,\n"
    )
    mapping = MAP + ",email=mail"
    with Workspace(":memory:") as ws:
        report = ws.ingest(read_exports([path], column_map=mapping, defer=True)).to_dict()
        orders = ws.orders().to_pandas().set_index("order_number")
    assert report == _ingest([path], mapping, engine=False, monkeypatch=monkeypatch)[0][0]
    assert report["guest_orders"] == 4 and report["customers"] == 1  # ann
    assert report["files"][0]["notes"] == [
        "3 rows name no customer ('guest@myshop.com' (2), 'anonymous@shop.com' (1)): read as "
        "guest orders",
        "1 row carries a placeholder e-mail ('guest@myshop.com' (1)), no customer's address: "
        "read as no e-mail",
    ]
    assert orders["customer_id"].tolist().count("ann@x.com") == 1
    assert orders["email"].isna().sum() == len(orders) - 1


def test_rows_repeating_another_row_of_their_order_are_noted_by_the_importer(tmp_path, monkeypatch):
    """Two exports pasted into one file repeat their orders' rows: an order's rows are added
    up, so the note says which orders hold a row twice. The engine's route leaves such a file
    to the importer, and keeps one whose orders' rows differ."""
    path = tmp_path / "o.csv"
    rows = [
        "1001,a@x.com,2024-01-01,50.00", "1002,b@x.com,2024-01-02,20.00",
        "1001,a@x.com,2024-01-01,50.00", "1003,a@x.com,2024-02-01,30.00",
        "1003,a@x.com,2024-02-01,5.00",  # another row of the order: its amounts differ
    ]  # fmt: skip
    path.write_text("order,customer,date,amount\n" + "\n".join(rows) + "\n")
    mapping = MAP + ",order_id=order"
    with Workspace(":memory:") as ws:
        report = ws.ingest(read_exports([path], column_map=mapping, defer=True)).to_dict()
    assert report == _ingest([path], mapping, engine=False, monkeypatch=monkeypatch)[0][0]
    assert report["net_revenue"] == 155.0  # as before: the rows are added up, and noted
    assert report["files"][0]["notes"] == [
        "1 row repeats another row of its order exactly (order 1001): an order's rows are "
        "added up, so if the file holds copies (two exports pasted together), remove it"
    ]
    differing = tmp_path / "d.csv"
    differing.write_text("order,customer,date,amount\n" + "\n".join(rows[3:]) + "\n")
    reports, _ = _assert_same_ingests([differing], mapping, monkeypatch)
    assert reports[0]["files"][0]["notes"] == []


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_order_status_column_left_unread_is_noted_on_both_routes(tmp_path, monkeypatch, suffix):
    frame = pd.DataFrame({
        "customer": ["a@x.com", "a@x.com", "b@x.com"],
        "date": ["2024-01-05", "2024-02-05", "2024-01-07"],
        "amount": ["10", "20", "30"],
        "Order Status": ["completed", "cancelled", "failed"],
    })  # fmt: skip
    path = _write(frame, tmp_path / f"o{suffix}")
    reports, _ = _assert_same_ingests([path], MAP, monkeypatch)
    assert reports[0]["orders"] == 3  # counted: the rules read no status
    assert reports[0]["files"][0]["notes"] == [
        "column 'Order Status' is not read: every order counts whatever its status (cancelled, "
        "failed and refunded ones too); map status=Order Status to leave those out, or give the "
        "shop's own export (--format shopify, woocommerce or magento), whose statuses are read"
    ]
    without = _write(frame.drop(columns="Order Status"), tmp_path / "plain.csv")
    assert _ingest([without], MAP, engine=False, monkeypatch=monkeypatch)[0][0]["notes"] == [
        "the files name no currency: amounts are in the shop's currency"
    ]


def test_a_loaded_file_releases_the_bytes_read_to_check_it_before_duckdb_reads_it(
    tmp_path, monkeypatch
):
    path = _write(_orders(np.random.default_rng(17)), tmp_path / "o.csv")
    pending = defer_orders([path], column_map=MAP)
    assert len(pending.source._data) > 0  # read to check it
    held = []
    load_rows = orders_duckdb.load_rows

    def loading(con, csv, *args, **kwargs):
        held.append(len(csv._data))
        return load_rows(con, csv, *args, **kwargs)

    monkeypatch.setattr(orders_duckdb, "load_rows", loading)
    with Workspace(":memory:") as ws:
        report = ws.ingest([pending])
    assert held == [0] and report.rows_read == 300  # DuckDB read the file from its path
    assert len(pending.source._data) == 0 and pending.file == str(path)
    assert pending.source.header == ["customer", "date", "amount", "tax", "mail", "currency"]
    assert pending.read().rows_read == 300  # a later read reads the file again


def test_bad_input_gets_the_importers_error_at_ingest(tmp_path):
    frame = _orders(np.random.default_rng(14))
    frame.loc[9, ["customer", "date", "amount"]] = ["z@example.com", "2023-02-30", "10"]
    path = _write(frame, tmp_path / "o.csv")
    with pytest.raises(InputError) as expected:
        read_exports([path], column_map=MAP)
    with Workspace(":memory:") as ws:
        with pytest.raises(InputError) as deferred:
            ws.ingest([defer_orders([path], column_map=MAP)])
        assert ws.orders().count().to_pyarrow().as_py() == 0
    assert str(deferred.value) == str(expected.value) and "row 11" in str(expected.value)


def test_a_malformed_row_inside_a_transaction_gets_the_importers_error(tmp_path):
    """DuckDB's reader sets the row aside instead of failing (which would end the transaction
    ``analyze`` ingests in), and the importer names it."""
    path = _write(_orders(np.random.default_rng(16)), tmp_path / "o.csv")
    path.write_text(path.read_text().replace("\n", "\nx@example.com,2023-01-05,1,2,3,4,5,6\n", 1))
    with pytest.raises(InputError) as expected:
        read_exports([path], column_map=MAP)
    with Workspace(":memory:") as ws:
        with pytest.raises(InputError) as deferred, ws.transaction():
            ws.ingest([defer_orders([path], column_map=MAP)])
        assert ws.orders().count().to_pyarrow().as_py() == 0
    assert str(deferred.value) == str(expected.value) and "row 2" in str(expected.value)


def test_parquet_files_ingest_as_the_importer_ingests_them(tmp_path, monkeypatch):
    """Dates stored as dates and amounts as numbers, text as text, as a database exports them."""
    frame = _orders(np.random.default_rng(15)).replace("", None)
    table = pa.table(
        {
            "customer": pa.array(frame["customer"], pa.string()),
            "date": pa.array(pd.to_datetime(frame["date"], format="ISO8601").dt.date, pa.date32()),
            "amount": pa.array(pd.to_numeric(frame["amount"]), pa.float64()),
            "tax": pa.array(pd.to_numeric(frame["tax"]), pa.float32()),
            "currency": pa.array(frame["currency"], pa.string()),
        }
    )
    path = tmp_path / "o.parquet"
    pq.write_table(table, path, row_group_size=50)
    reports, tables = _assert_same_ingests([path], MAP + ",tax=tax,currency=currency", monkeypatch)
    assert {"empty row", "negative amount"} <= set(reports[0]["excluded_rows"])
    assert tables["orders"]["order_number"].str.endswith(" 00:00:00|2").any()


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
@pytest.mark.parametrize("keyed", [False, True])
def test_a_warehouse_typed_parquet_file_ingests_as_the_importer_ingests_it(
    tmp_path, monkeypatch, unit, keyed
):
    # as a warehouse writes a table: BIGINT customer and order ids (NULL for guests), a
    # TIMESTAMP with fractions of a second, DECIMAL(12,2) amounts with refunds; the keyless
    # orders' numbers write the time as the importer does
    import decimal

    rng = np.random.default_rng(8)
    n = 400
    stamps = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300 * 86400, n), "s")
    stamps = stamps + pd.to_timedelta(rng.choice([0, 0, 250, 999], n), "ms")
    stamps = np.where(rng.random(n) < 0.2, stamps[0], stamps)  # repeats of a customer and time
    customer = rng.integers(1, 60, n).astype(object)
    customer[rng.random(n) < 0.1] = None
    amounts = np.round(rng.gamma(2.0, 30.0, n) - (rng.random(n) < 0.08) * 120, 2)
    columns = {
        "customer_id": pa.array(customer, pa.int64()),
        "ordered_at": pa.array(pd.to_datetime(stamps)).cast(pa.timestamp(unit), safe=False),
        "revenue": pa.array([decimal.Decimal(f"{v:.2f}") for v in amounts], pa.decimal128(12, 2)),
    }
    if keyed:
        columns = {"order_id": pa.array(np.arange(n) + 10**12, pa.int64()), **columns}
    path = tmp_path / "warehouse.parquet"
    pq.write_table(pa.table(columns), path, row_group_size=100)
    mapping = "customer_id=customer_id,ordered_at=ordered_at,revenue=revenue"
    reports, tables = _assert_same_ingests([path], mapping, monkeypatch)
    assert reports[0]["guest_orders"] > 0 and reports[0]["excluded_rows"]["negative amount"] > 0
    numbers = tables["orders"]["order_number"]
    if keyed:  # the BIGINT written as the importer writes it
        assert numbers.str.fullmatch(r"1000000000\d{3}").all()
    else:  # a further order at the same customer and time
        assert numbers.str.endswith("|2").any()


def test_the_staging_is_freed_inside_the_open_transaction(tmp_path):
    """A refresh ingests and analyses in one transaction: the engine's parsed rows are freed
    once the orders are stored, not held (as a table dropped inside a transaction is) until the
    commit.  400,000 rows: the orders' full row groups are written out, so what stays in memory
    is at most their last partial one, against ~25 MB of parsed rows."""
    rng = np.random.default_rng(5)
    n = 400_000
    days = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, n), "D")
    frame = pd.DataFrame(
        {
            "customer": pd.Series(rng.integers(0, n // 3, n)).map("c{}".format),
            "date": days.strftime("%Y-%m-%d"),
            "amount": np.round(rng.gamma(2.0, 30.0, n), 2),
        }
    )
    path = _write(frame, tmp_path / "orders.csv")
    with Workspace(tmp_path / "ws.duckdb") as ws, ws.transaction():
        report = ws.ingest([defer_orders([path], column_map=MAP)])
        held = ws.raw.execute(
            "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() "
            "WHERE tag = 'IN_MEMORY_TABLE'"
        ).fetchall()[0][0]
    assert report.new_orders == n
    assert held < 1_000_000, f"{held:,} bytes of in-memory tables held after the ingest"


@pytest.mark.parametrize("keyed", [False, True])
def test_amounts_and_dates_written_otherwise_ingest_as_the_importer_ingests_them(
    tmp_path, monkeypatch, keyed
):
    # $1,234.50, (12.00) and day-first dates: their distinct cells read by the importer's
    # parser on the engine's route; the keyless orders' numbers keep the dates as written
    rng = np.random.default_rng(17)
    frame = _orders(rng, keyed=keyed)
    filled = frame["date"] != ""
    stamps = pd.to_datetime(frame.loc[filled, "date"], format="ISO8601")
    frame.loc[filled, "date"] = np.where(
        stamps.dt.hour > 0, stamps.dt.strftime("%d/%m/%Y %H:%M"), stamps.dt.strftime("%d/%m/%Y")
    )
    amounts = frame.loc[filled, "amount"].astype(float)
    frame.loc[filled, "amount"] = [f"({-v:,.2f})" if v < 0 else f"${v * 40:,.2f}" for v in amounts]
    # dollar amounts in a currency a dollar can be: euros beside them are an error
    frame["currency"] = frame["currency"].str.replace("eur", "usd").str.replace("EUR", "USD")
    mapping = MAP + ",email=mail,currency=currency,tax=tax"
    if keyed:
        mapping += ",order_id=order_id"
    reports, tables = _assert_same_ingests([_write(frame, tmp_path / "o.csv")], mapping,
                                           monkeypatch)  # fmt: skip
    assert (tables["orders"]["net_revenue"] > 1000).any()
    assert reports[0]["excluded_rows"]["negative amount"] > 0


def test_a_parquet_file_of_written_amounts_and_dates_ingests_as_the_importer_ingests_it(
    tmp_path, monkeypatch
):
    # text columns in Parquet are read as a CSV file's cells are
    rng = np.random.default_rng(3)
    days = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 300, 400), "D")
    frame = pd.DataFrame(
        {
            "customer": [f"c{k}@x.com" for k in rng.integers(0, 50, 400)],
            "date": days.strftime("%d/%m/%Y"),
            "amount": [f"${v:,.2f}" for v in rng.gamma(2.0, 400.0, 400)],
        }
    )
    path = tmp_path / "written.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    reports, tables = _assert_same_ingests([path], MAP, monkeypatch)
    assert reports[0]["orders"] == 400 and (tables["orders"]["net_revenue"] > 1000).any()


@pytest.mark.parametrize("line_level", [False, True])
def test_a_sale_refunded_in_full_under_its_id_is_refunded_on_both_routes(
    tmp_path, monkeypatch, line_level
):
    """A refund row under its sale's order id takes the sale back: rows adding up to nothing
    (19.99 + 5.01 - 25.00, which binary sums miss by ~1e-15) are a sale refunded in full, left
    out as refunded on either route; a partial refund is netted, and a one-row order of 0.00
    (a free order) counts."""
    if line_level:
        header = "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
        rows = ("1,a,2024-01-05,1,19.99\n1,a,2024-01-05,1,5.01\n1,a,2024-01-05,-1,25.00\n"
                "2,b,2024-01-06,2,10.00\n2,b,2024-01-06,-1,10.00\n3,c,2024-01-07,1,0\n")  # fmt: skip
        mapping = ("order_id=InvoiceNo,customer_id=CustomerID,ordered_at=InvoiceDate,"
                   "quantity=Quantity,unit_price=UnitPrice")  # fmt: skip
    else:
        header = "order_id,customer,date,amount\n"
        rows = ("1,a,2024-01-05,19.99\n1,a,2024-01-05,5.01\n1,a,2024-01-05,-25.00\n"
                "2,b,2024-01-06,20.00\n2,b,2024-01-06,-10.00\n3,c,2024-01-07,0\n")  # fmt: skip
        mapping = MAP + ",order_id=order_id"
    path = tmp_path / "o.csv"
    path.write_text(header + rows)
    reports, tables = _assert_same_ingests([path], mapping, monkeypatch)
    assert reports[0]["excluded_orders"] == {"refunded": 1}
    assert reports[0]["excluded_rows"] == {"refunded": 3}
    orders = tables["orders"].set_index("order_number")["net_revenue"]
    assert orders.to_dict() == {"2": 10.0, "3": 0.0}


def test_an_email_column_beside_a_customer_id_is_read_on_both_routes(tmp_path, monkeypatch):
    frame = _orders(np.random.default_rng(12)).rename(columns={"mail": "email"})
    reports, tables = _assert_same_ingests([_write(frame, tmp_path / "o.csv")], MAP, monkeypatch)
    assert (tables["orders"]["email"] == "Given@Example.com").any()


@pytest.mark.parametrize("quantity", [False, True])
def test_a_return_line_of_a_log_of_line_amounts_takes_its_product_back(
    tmp_path, monkeypatch, quantity
):
    """A log of line amounts (``revenue``, no unit price) writes a return as a negative amount,
    with no quantity or an unsigned one: the product bought and returned in one order was not
    bought, on both routes, as a return line with a negative quantity already is."""
    from valuecast.analysis.growth.affinity import product_lines

    rows = [("1", "a", "2025-01-01", "Mug", "1", "10"), ("1", "a", "2025-01-01", "Tea", "2", "8"),
            ("2", "b", "2025-01-02", "Mug", "1", "10"), ("2", "b", "2025-01-02", "Tea", "1", "8"),
            ("2", "b", "2025-01-02", "Tea", "1", "-8"), ("3", "c", "2025-01-03", "Tea", "1", "8")]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["inv", "customer", "date", "item", "qty", "amount"])
    mapping = MAP + ",order_id=inv,product=item" + (",quantity=qty" if quantity else "")
    if not quantity:
        frame = frame.drop(columns="qty")
    _, tables = _assert_same_ingests([_write(frame, tmp_path / "l.csv")], mapping, monkeypatch)
    lines = tables["lines"]
    assert lines["quantity"].iloc[4] == -1.0
    bought = product_lines(ibis.memtable(lines)).to_pandas()
    assert sorted(map(tuple, bought[["order_id", "product"]].to_numpy())) == [
        ("orders:1", "Mug"), ("orders:1", "Tea"), ("orders:2", "Mug"), ("orders:3", "Tea"),
    ]  # fmt: skip


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
@pytest.mark.parametrize("holds", ["ids", "names"])
def test_a_customer_column_of_ids_identifies_customers_before_an_email_column(
    tmp_path, monkeypatch, holds, suffix
):
    """Without a map, a ``Customer`` column beside ``Email`` identifies the customers where it
    holds ids (the orders without an address stay theirs, not guests'), and gives way to the
    e-mail where it holds names, which two people share; on both routes, in a CSV or Parquet
    file alike."""
    rng = np.random.default_rng(5)
    n = 120
    ids = rng.choice(["C1001", "C1002", "C1003", "C1004"], n)
    names = {"C1001": "Jane Smith", "C1002": "Jane Smith", "C1003": "Li Wei", "C1004": "Ana Ruiz"}
    frame = pd.DataFrame(
        {
            "Order": np.arange(n).astype(str),
            "Customer": ids if holds == "ids" else [names[i] for i in ids],
            "Email": np.where(rng.random(n) < 0.25, "", np.char.add(ids.astype(str), "@shop.com")),
            "Date": (pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n), "D")).strftime(
                "%Y-%m-%d"
            ),
            "Total": np.round(rng.gamma(2.0, 30.0, n), 2).astype(str),
        }
    )
    path = _write(frame, tmp_path / f"o.{suffix}")
    _, tables = _assert_same_ingests([path], None, monkeypatch)
    customers = tables["orders"]["customer_id"]
    if holds == "ids":
        assert customers.notna().all() and set(customers) == {"C1001", "C1002", "C1003", "C1004"}
        assert (
            tables["orders"]["email"].str.endswith("@shop.com").sum()
            == (frame["Email"] != "").sum()
        )
    else:
        assert customers.isna().sum() == (frame["Email"] == "").sum()
        assert set(customers.dropna()) == {"c1001@shop.com", "c1002@shop.com", "c1003@shop.com",
                                           "c1004@shop.com"}  # fmt: skip


def _guest_checkouts(rng: np.random.Generator, n: int = 300, *, keyed: bool) -> pd.DataFrame:
    """Customers by id with their e-mail in a column of its own, and orders without an id
    carrying one: a customer's address (in other capitals), one two ids share, one no id
    carries, or none; an order's rows all carry its customer and e-mail, as the fast route
    requires."""
    ids = np.array(["1001", "1002", "1003", "1004", ""])
    mail = {"1001": "Jane.Doe@Example.com", "1002": "bob@example.com",
            "1003": "shared@example.com", "1004": "Shared@example.com"}  # fmt: skip
    customer = rng.choice(ids, n, p=[0.2, 0.2, 0.1, 0.1, 0.4])
    guest_mail = rng.choice(
        ["JANE.DOE@example.com", "bob@example.com", "SHARED@example.com", "new@example.com", "",
         "n/a"],
        n,
    )  # fmt: skip
    days = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 30, n), "D")
    frame = pd.DataFrame(
        {
            "customer": customer,
            "mail": np.where(customer == "", guest_mail, [mail.get(c, "") for c in customer]),
            "date": days.strftime("%Y-%m-%d"),
            "amount": np.round(rng.gamma(2.0, 30.0, n), 2).astype(str),
        }
    )
    if keyed:
        frame.insert(0, "order_id", np.arange(n).astype(str))
        repeat = np.flatnonzero(rng.random(n) < 0.3)
        repeat = repeat[repeat > 0]
        frame.loc[repeat, ["order_id", "customer", "mail", "date"]] = frame.loc[
            repeat - 1, ["order_id", "customer", "mail", "date"]
        ].to_numpy()
    return frame


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("keyed", [False, True])
def test_orders_without_an_id_join_the_customer_of_their_email_on_both_routes(
    tmp_path, monkeypatch, suffix, keyed
):
    """An order without a customer id is the customer's whose orders carry its e-mail (compared
    lower-cased), else the address's own customer, and a note counts the linked orders: the
    same on the engine's route as the importer's."""
    frame = _guest_checkouts(np.random.default_rng(21), keyed=keyed)
    mapping = MAP + ",email=mail" + (",order_id=order_id" if keyed else "")
    reports, tables = _assert_same_ingests([_write(frame, tmp_path / f"o{suffix}")], mapping,
                                           monkeypatch)  # fmt: skip
    orders = tables["orders"]
    by_mail = orders.groupby(orders["email"].str.lower())["customer_id"].unique()
    assert by_mail["jane.doe@example.com"].tolist() == ["1001"]
    assert by_mail["bob@example.com"].tolist() == ["1002"]
    assert set(by_mail["shared@example.com"]) == {"1003", "1004", "shared@example.com"}
    assert by_mail["new@example.com"].tolist() == ["new@example.com"]
    assert "n/a" not in by_mail  # a cell without @ is no address, and its order a guest's
    guests = frame[(frame["customer"] == "") & frame["mail"].isin(["", "n/a"])]
    guest_orders = guests["order_id"].nunique() if keyed else len(guests)
    assert orders["is_guest"].sum() == guest_orders > 0
    linked = frame[(frame["customer"] == "") & frame["mail"].str.lower().isin(
        ["jane.doe@example.com", "bob@example.com"])]  # fmt: skip
    count = linked["order_id"].nunique() if keyed else len(linked)
    assert reports[0]["files"][0]["notes"][0] == (
        f"{count:,} orders without a customer id belong to the customer whose orders carry the "
        "same e-mail"
    )


def _ids_and_guest_checkouts(tmp_path, first: str) -> list:
    """Two files, ``first`` first: orders under customer ids (two ids share ``s@x.com``) and
    guest checkouts by e-mail alone, two of Jane's written in other cases."""
    ids = pd.DataFrame({"customer": ["1001", "1002", "1003", "1004"],
                        "mail": ["Jane.Doe@Example.com", "bob@example.com", "s@x.com", "S@x.com"],
                        "date": ["2024-01-05", "2024-02-01", "2024-02-02", "2024-02-03"],
                        "amount": ["50.00", "20.00", "5.00", "6.00"]})  # fmt: skip
    guests = pd.DataFrame({"customer": ["", "", "", ""],
                           "mail": ["jane.doe@example.com", "JANE.DOE@example.com",
                                    "new@example.com", "s@x.com"],
                           "date": ["2024-05-05", "2024-05-06", "2024-05-07", "2024-05-08"],
                           "amount": ["30.00", "10.00", "7.00", "8.00"]})  # fmt: skip
    files = {"ids": _write(ids, tmp_path / "ids.csv"),
             "guest checkouts": _write(guests, tmp_path / "guests.csv")}  # fmt: skip
    return [files[first], *(path for name, path in files.items() if name != first)]


@pytest.mark.parametrize("first", ["ids", "guest checkouts"])
def test_a_later_files_order_without_an_id_joins_the_stored_customer_of_its_email(
    tmp_path, monkeypatch, first
):
    """Across ingests, an order without a customer id is the customer whose orders in other
    files carry its e-mail, whichever file came first, on both routes; its e-mail is kept as
    written, and reading either file again changes nothing."""
    order = _ids_and_guest_checkouts(tmp_path, first)
    reports, tables = _assert_same_ingests([*order, *order], MAP + ",email=mail", monkeypatch)
    orders = tables["orders"].set_index("order_number")
    assert orders.loc[["|2024-05-05", "|2024-05-06"], "customer_id"].tolist() == ["1001"] * 2
    assert orders.loc["|2024-05-05", "email"] == "jane.doe@example.com"
    assert orders.loc["|2024-05-06", "email"] == "JANE.DOE@example.com"
    assert orders.loc["|2024-05-07", "customer_id"] == "new@example.com"
    assert orders.loc["|2024-05-08", "customer_id"] == "s@x.com"  # two ids carry it
    where = "2 stored" if first == "guest checkouts" else "2 in these files"
    linked = [note for note in reports[1]["notes"] if "other files" in note]
    assert linked == [
        f"2 orders without a customer id ({where}) belong to the customer whose orders in other "
        "files carry the same e-mail"
    ]
    assert [report["new_orders"] + report["updated_orders"] for report in reports[2:]] == [0, 0]
    assert not [note for report in reports[2:] for note in report["notes"] if "e-mail" in note]


@pytest.mark.parametrize("first", ["ids", "guest checkouts"])
def test_files_of_a_first_ingest_join_an_order_without_an_id_to_its_emails_customer(
    tmp_path, monkeypatch, first
):
    """A customer's ids in one file and the same customer's orders by e-mail alone in another,
    both in the first ingest of an empty workspace, whichever comes first: the orders and the
    note of the two files ingested one after the other."""
    order = _ids_and_guest_checkouts(tmp_path, first)
    mapping = MAP + ",email=mail"
    one_by_one = _ingest(order, mapping, engine=False, monkeypatch=monkeypatch)
    with Workspace(":memory:") as ws:
        report = ws.ingest(read_exports(order, column_map=mapping)).to_dict()
        orders = ws.orders().to_pandas().sort_values("order_id", ignore_index=True)
    pd.testing.assert_frame_equal(
        orders.drop(columns="ingest_id"),
        one_by_one[1]["orders"].drop(columns="ingest_id"),
        check_exact=True,
    )
    customers = orders.set_index("order_number")["customer_id"]
    assert customers[["|2024-05-05", "|2024-05-06"]].tolist() == ["1001"] * 2
    assert customers["|2024-05-08"] == "s@x.com"  # two ids carry it
    linked = "belong to the customer whose orders in other files carry the same e-mail"
    assert [note for note in report["notes"] if linked in note] == [
        f"2 orders without a customer id (2 in these files) {linked}"
    ]
    assert [note for r in one_by_one[0] for note in r["notes"] if linked in note] == [
        f"2 orders without a customer id ({'2 in these files' if first == 'ids' else '2 stored'}) "
        f"{linked}"
    ]
    assert report["workspace_customers"] == one_by_one[0][-1]["workspace_customers"]


def test_an_order_linked_by_its_email_keeps_its_number_when_its_customer_changes(
    tmp_path, monkeypatch
):
    """An order without a customer id is numbered as a guest's, not by the customer its e-mail
    gives it: a newer export in which a second id carries the address (so it links nothing)
    updates the stored order rather than adding it again, on both routes."""
    older = pd.DataFrame({"customer": ["1001", ""], "mail": ["jane@x.com", "Jane@x.com"],
                          "date": ["2024-01-05", "2024-05-05"], "amount": ["50.00", "30.00"]})  # fmt: skip
    newer = pd.concat([older, pd.DataFrame([{"customer": "1009", "mail": "jane@x.com",
                                             "date": "2024-06-01", "amount": "5.00"}])])  # fmt: skip
    files = [_write(older, tmp_path / "older.csv"), _write(newer, tmp_path / "newer.csv")]
    reports, tables = _assert_same_ingests(files, MAP + ",email=mail", monkeypatch)
    orders = tables["orders"].set_index("order_number")
    assert orders["net_revenue"].sum() == 85.0  # the 30.00 order once
    assert orders.loc["|2024-05-05", "customer_id"] == "jane@x.com"
    assert (reports[1]["new_orders"], reports[1]["updated_orders"]) == (1, 1)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_order_linked_by_its_phone_keeps_its_number_when_its_customer_changes(
    tmp_path, monkeypatch, suffix
):
    """An order without a customer id is numbered by its phone's id, not by the customer its
    phone gives it: a newer export in which a second id carries the phone (so it links nothing)
    updates the stored order rather than adding it again (phone maps are the importer's)."""
    older = pd.DataFrame({"customer": ["1001", ""], "phone": ["+1 616 954 7888"] * 2,
                          "date": ["2024-01-05", "2024-05-05"], "amount": ["50.00", "30.00"]})  # fmt: skip
    newer = pd.concat([older, pd.DataFrame([{"customer": "1009", "phone": "+1 616-954-7888",
                                             "date": "2024-06-01", "amount": "5.00"}])])  # fmt: skip
    files = [_write(older, tmp_path / f"older{suffix}"), _write(newer, tmp_path / f"newer{suffix}")]
    reports, tables = _ingest(files, MAP + ",phone=phone", engine=False, monkeypatch=monkeypatch)
    orders = tables["orders"].set_index("order_number")
    assert orders["net_revenue"].sum() == 85.0  # the 30.00 order once
    # the customer it was given before the phone proved shared keeps it
    assert orders.loc["phone:+16169547888|2024-05-05", "customer_id"] == "1001"
    assert (reports[1]["new_orders"], reports[1]["unchanged_orders"]) == (1, 2)


def test_a_workspace_holding_a_phone_linked_order_under_its_customers_number_finds_it(tmp_path):
    """A workspace made when an order linked by its phone was numbered by its customer
    (``1001|2024-05-05|2``) gives it its phone's number when a file numbers it so, lines and
    all, with a note: the same file read again counts it once."""
    frame = pd.DataFrame({"customer": ["1001", "1001", ""], "phone": ["+1 616 954 7888"] * 3,
                          "date": ["2024-01-05", "2024-05-05", "2024-05-05"],
                          "amount": ["50.00", "7.00", "30.00"], "product": ["tea", "cup", "pot"]})  # fmt: skip
    path = _write(frame, tmp_path / "orders.csv")
    mapping = MAP + ",phone=phone,product=product"
    with Workspace(":memory:") as ws:
        ws.ingest(read_exports([path], column_map=mapping))
        old, new = "1001|2024-05-05|2", "phone:+16169547888|2024-05-05"
        ws.raw.execute("UPDATE orders SET order_number = ? WHERE order_number = ?", [old, new])
        ws.raw.execute(
            "UPDATE order_lines SET order_id = ? WHERE order_id = ?",
            [f"orders:{old}", f"orders:{new}"],
        )
        report = ws.ingest(read_exports([path], column_map=mapping)).to_dict()
        orders = ws.orders().to_pandas().set_index("order_number")
        lines = ws.order_lines().to_pandas()
    assert orders["net_revenue"].sum() == 87.0
    assert orders.loc[new, "customer_id"] == "1001"
    assert (report["new_orders"], report["unchanged_orders"]) == (0, 3)
    assert sorted(lines["order_id"]) == sorted(orders["order_id"])
    assert [note for note in report["notes"] if "numbered by that phone" in note] == [
        "1 stored order without a customer id, given its customer by its phone, is numbered by "
        f"that phone now, as these files number it ({new}): the same order, not counted twice"
    ]


def test_a_phone_linked_order_of_another_file_is_no_stored_order_of_another_amount(tmp_path):
    """A till's phone-only sale on the day its customer bought online for another amount is a
    second order, not the stored one renumbered."""
    web = pd.DataFrame({"customer": ["1001"], "phone": ["+1 616 954 7888"],
                        "date": ["2024-05-05"], "amount": ["7.00"]})  # fmt: skip
    till = web.assign(customer="", amount="30.00")
    mapping = MAP + ",phone=phone"
    with Workspace(":memory:") as ws:
        for frame, name in ((web, "web.csv"), (till, "till.csv")):
            report = ws.ingest(read_exports([_write(frame, tmp_path / name)], column_map=mapping))
        orders = ws.orders().to_pandas().set_index("order_number")
    assert orders["net_revenue"].to_dict() == {
        "1001|2024-05-05": 7.0, "phone:+16169547888|2024-05-05": 30.0
    }  # fmt: skip
    assert orders["customer_id"].tolist() == ["1001", "1001"]
    assert not [note for note in report.to_dict()["notes"] if "numbered by that phone" in note]


def test_a_phone_order_stored_before_its_customer_is_found_in_a_file_linking_it(tmp_path):
    """A till's phone-only order, stored under its phone and given to customer 1001 when the web
    shop's log named the phone, is the same order in a file holding both (where the file itself
    links it to 1001): numbered by its phone either way."""
    till = pd.DataFrame({"customer": [""], "phone": ["+1 616 954 7888"], "date": ["2024-05-05"],
                         "amount": ["30.00"]})  # fmt: skip
    web = pd.DataFrame({"customer": ["1001"], "phone": ["+1 616 954 7888"],
                        "date": ["2024-01-05"], "amount": ["50.00"]})  # fmt: skip
    both = pd.concat([web, till])
    files = [_write(frame, tmp_path / f"{name}.csv")
             for frame, name in ((till, "till"), (web, "web"), (both, "both"))]  # fmt: skip
    with Workspace(":memory:") as ws:
        reports = [ws.ingest(read_exports([path], column_map=MAP + ",phone=phone")).to_dict()
                   for path in files]  # fmt: skip
        orders = ws.orders().to_pandas()
    assert orders["net_revenue"].sum() == 80.0
    assert set(orders["customer_id"]) == {"1001"}
    assert (reports[2]["new_orders"], reports[2]["unchanged_orders"]) == (0, 2)


@pytest.mark.parametrize("keyed", [True, False])
def test_ids_written_as_floats_ingest_as_the_importer_reads_them(tmp_path, monkeypatch, keyed):
    """pandas' export of an integer id column with gaps (``17.0``): whole ids on both routes."""
    frame = _orders(np.random.default_rng(5), keyed=keyed)
    ids = {"Ann@Example.com": "17.0", "bob@example.com": "9007199254740993.0", "C-17": "3.0",
           "dave@shop.io": "40.0"}  # fmt: skip
    frame["customer"] = frame["customer"].map(ids).fillna("")
    mapping = MAP + (",order_id=order_id" if keyed else "")
    reports, tables = _assert_same_ingests([_write(frame, tmp_path / "o.csv")], mapping,
                                           monkeypatch)  # fmt: skip
    assert set(tables["orders"]["customer_id"].dropna()) == {"17", "9007199254740993", "3", "40"}
    assert any("'.0'" in note for note in reports[0]["notes"])


@pytest.mark.parametrize("hidden", ["\u200b", "\ufeff", "\u00ad", "\u2060"])
@pytest.mark.parametrize("column", ["customer", "mail"])
def test_an_id_or_email_carrying_a_character_that_shows_nothing_is_one_customer_on_both_routes(
    tmp_path, column, hidden
):
    # the engine leaves such a cell to the importer, whose one customer both routes store
    frame = _orders(np.random.default_rng(17))
    frame.loc[5, ["customer", "date", "amount", "mail"]] = ["", "2023-01-09", "12", ""]
    frame.loc[5, column] = f"bob@example.com{hidden}"
    path = _write(frame, tmp_path / "o.csv")
    mapping = MAP + ",email=mail"
    ingests = []
    for defer in (True, False):
        with Workspace(":memory:") as ws:
            results = [defer_orders([path], column_map=mapping)] if defer else None
            report = ws.ingest(results or read_exports([path], column_map=mapping)).to_dict()
            ingests.append(
                (report, ws.orders().to_pandas().sort_values("order_id", ignore_index=True))
            )
    assert ingests[0][0] == ingests[1][0]
    pd.testing.assert_frame_equal(ingests[0][1], ingests[1][1], check_exact=True)
    customers = ingests[0][1]["customer_id"].dropna()
    assert set(customers[customers.str.startswith("bob")]) == {"bob@example.com"}
    assert not customers.str.contains(hidden).any()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_ids_written_with_and_without_leading_zeros_are_noted_on_both_routes(
    tmp_path, monkeypatch, suffix
):
    # a spreadsheet cut 00123 to 123 on some rows: two customers, as written, and a note
    frame = _orders(np.random.default_rng(19))
    sales = frame.index[
        (frame["date"] != "") & (frame["amount"].replace("", "0").astype(float) > 0)
    ]
    frame.loc[sales[:6], "customer"] = ["00123", "123", "0123", "0042", "42", "7"]
    path = _write(frame, tmp_path / f"o{suffix}")
    reports, tables = _assert_same_ingests([path], MAP, monkeypatch)
    assert {"00123", "0123", "123", "0042", "42"} <= set(tables["orders"]["customer_id"])
    assert reports[0]["notes"][0] == (
        f"o{suffix}: customer: 2 ids are written with and without leading zeros ('00123', "
        "'0123' and '123', and 1 more): each read as its own customer, as written; a "
        "spreadsheet drops an id's leading zeros, so write them alike where they are one customer"
    )


def test_customers_told_apart_by_their_names_are_noted_on_both_routes(tmp_path, monkeypatch):
    """An analytics export keys its customers by name (WooCommerce's Analytics > Orders): two
    people of one name would be one repeat customer, so the note says so; ids and e-mails, or
    a file whose names are a few, say nothing."""
    rows = [f"{100 + k},{name},2024-0{1 + k % 9}-1{k % 10},{20 + k}.00" for k, name in
            enumerate(["Anna Schmidt", "Bo Li", "Anna Schmidt", "Carla de la Cruz", "b@x.com"])]  # fmt: skip
    path = tmp_path / "analytics.csv"
    path.write_text("order,customer,date,amount\n" + "\n".join(rows) + "\n")
    mapping = MAP + ",order_id=order"
    reports, _ = _assert_same_ingests([path], mapping, monkeypatch)
    assert reports[0]["files"][0]["notes"][0] == (
        "customers are told apart by the names in 'customer' (4 of 5 rows): two customers of one "
        "name are one, one customer's name written two ways two; map customer_id to a customer "
        "id or e-mail column, or export the orders with e-mails (WooCommerce's Orders export, "
        "not Analytics > Orders)"
    )
    ids = tmp_path / "ids.csv"
    ids.write_text("order,customer,date,amount\n" + "\n".join(
        row.replace("Anna Schmidt", "C-17").replace("Bo Li", "C 18") for row in rows) + "\n")  # fmt: skip
    reports, _ = _assert_same_ingests([ids], mapping, monkeypatch)
    assert not [note for note in reports[0]["files"][0]["notes"] if "told apart" in note]


def test_ids_written_in_several_letter_cases_are_noted_on_both_routes(tmp_path, monkeypatch):
    """``C0001`` and ``c0001`` stay two customers, as written (a case can tell ids apart), and
    a note counts the ids so written, naming the first; e-mail ids are lower-cased anyway."""
    rows = [
        ("C0002", "2025-01-03", "10.00"), ("c0002", "2025-02-03", "12.00"),
        ("C0001", "2025-01-05", "20.00"), ("c0001", "2025-03-05", "22.00"),
        ("c0001", "2025-04-05", "24.00"), ("Ann@Example.com", "2025-01-09", "30.00"),
        ("ann@example.com", "2025-02-09", "31.00"), ("B0003", "2025-01-11", "5.00"),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["customer", "date", "amount"])
    reports, tables = _assert_same_ingests([_write(frame, tmp_path / "o.csv")], MAP, monkeypatch)
    assert reports[0]["files"][0]["notes"] == [
        "customer: 2 ids are written in several letter cases ('C0001' and 'c0001', and 1 more): "
        "each read as its own customer, as written; write them alike where they are one customer"
    ]
    assert tables["orders"]["customer_id"].nunique() == 6
