"""A Shopify orders export loaded by DuckDB straight into the workspace gives exactly the
importer's ingest (the same report, orders and lines), and what DuckDB cannot prove goes to the
importer, with the importer's result or one-line error.

Each file is ingested twice, into two workspaces: once on the engine's route (``defer_orders``)
and once read by the importer; the route taken is recorded, so that a fallback cannot pass
unnoticed where the engine should load the file, nor a load where it should fall back.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from valuecast.datasets.demo_shop import generate_demo_shop
from valuecast.io import defer_orders, orders_duckdb, read_exports, shopify, shopify_duckdb
from valuecast.io.phones import placeholder_phone
from valuecast.io.schema import InputError
from valuecast.store import Workspace


@pytest.fixture(autouse=True)
def _small_files_too(monkeypatch):
    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0)


@pytest.fixture(scope="module")
def export() -> pd.DataFrame:
    """The demo shop's export: guests, test orders, cancellations, refunds, e-mails written with
    capitals and spaces, orders of several line rows."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "orders.csv"
        generate_demo_shop(path, customers=300, seed=3)
        return pd.read_csv(path, dtype=str, keep_default_na=False)


def _ingest(path, *, engine: bool, monkeypatch) -> tuple[dict, dict, list]:
    """The ingest report, the workspace's orders and lines (sorted), and what each load of the
    engine's route returned (``None``: the importer read the file)."""
    loads = []
    load = shopify_duckdb.PendingShopify.load

    def recorded(self, con):
        loads.append(load(self, con))
        return loads[-1]

    with Workspace(":memory:") as ws, monkeypatch.context() as patch:
        patch.setattr(shopify_duckdb.PendingShopify, "load", recorded)
        if engine:
            results = [defer_orders([path])]
            assert isinstance(results[0], shopify_duckdb.PendingShopify)
        else:
            results = read_exports([path])
        report = ws.ingest(results).to_dict()
        tables = {
            "orders": ws.orders().to_pandas().sort_values("order_id", ignore_index=True),
            "lines": ws.order_lines()
            .to_pandas()
            .sort_values(["order_id", "line_number"], ignore_index=True),
            # the audience files' names, phones and places, from the orders' addresses
            "contacts": ws.contacts().sort_values("customer_id", ignore_index=True),
        }
    return report, tables, loads


def _assert_same(path, monkeypatch, *, loaded: bool) -> tuple[dict, dict]:
    engine_report, engine_tables, loads = _ingest(path, engine=True, monkeypatch=monkeypatch)
    report, tables, _ = _ingest(path, engine=False, monkeypatch=monkeypatch)
    assert len(loads) == 1 and (loads[0] is not None) == loaded
    assert engine_report == report
    for name in ("orders", "lines", "contacts"):
        pd.testing.assert_frame_equal(engine_tables[name], tables[name], check_exact=True)
    return report, tables


def _write(frame: pd.DataFrame, path):
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("rows_per_part", [500_000, 97])  # its ~700 rows in one part, or 8
def test_a_shopify_export_loads_as_the_importer_reads_it(
    tmp_path, export, monkeypatch, rows_per_part
):
    monkeypatch.setattr(shopify_duckdb, "_ROWS_PER_PART", rows_per_part)
    frame = export.copy()
    first_rows = frame.index[frame["Name"] != frame["Name"].shift()]
    frame.loc[first_rows[1], "Lineitem name"] = "Café Crème ¾ lb"  # letters beyond ASCII
    frame.loc[first_rows[2], "Email"] = "  Someone@Example.COM "
    # every row of an order gives its date, the same on each
    frame.loc[frame["Name"] == frame.loc[first_rows[3], "Name"], "Created at"] = (
        "2025-03-04 05:06:07Z"
    )
    frame.loc[frame["Name"] == frame.loc[first_rows[4], "Name"], "Created at"] = "2025-03-04T05:06"
    frame.loc[first_rows[5], "Payment Method"] = "manual + Bogus"  # a test gateway in a list
    frame.loc[first_rows[13], ["Payment Method", "Cancelled at", "Financial Status"]] = [
        "(for testing) Bogus Gateway", "", "paid"
    ]  # fmt: skip
    frame.loc[first_rows[15], ["Payment Method", "Cancelled at", "Financial Status"]] = [
        "bogusplus", "", "paid"
    ]  # fmt: skip
    frame.loc[first_rows[6], "Financial Status"] = "Voided"
    frame.loc[first_rows[12], "Financial Status"] = "expired"
    frame.loc[first_rows[7], "Subtotal"] = "-3.00"
    frame.loc[first_rows[8], "Accepts Marketing"] = "unsubscribed"
    frame.loc[first_rows[9], "Subtotal"] = "1.500"  # told apart by the column's other amounts
    frame.loc[first_rows[9], "Total"] = ""  # gross revenue is then the subtotal
    frame.loc[first_rows[10], "Lineitem name"] = "\u00a0Thé vert\u00a0"  # both trim it
    second = frame.index[(frame["Name"] == frame["Name"].shift()) & (frame["Name"] != "")][0]
    frame.loc[second, "Source"] = "pos"  # not the first
    frame.loc[len(frame)] = ""  # an empty row
    report, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    excluded = report["excluded_rows"]
    assert {"test order", "cancelled", "voided", "refunded", "negative amount", "empty row"} <= set(
        excluded
    )
    orders = tables["orders"]
    assert frame.loc[first_rows[13], "Name"] not in set(orders["order_number"])
    assert frame.loc[first_rows[15], "Name"] in set(orders["order_number"])
    assert orders["is_guest"].any() and "someone@example.com" in set(orders["customer_id"])
    assert {"Café Crème ¾ lb", "Thé vert"} <= set(tables["lines"]["product_name"])
    assert (tables["lines"]["line_number"] > 1).any()


def test_prices_with_tax_included_lose_the_items_tax_on_both_routes(tmp_path, export, monkeypatch):
    """A shop showing prices with VAT writes it inside Subtotal (Total = Subtotal + Shipping):
    the items' share of Taxes, and the same share of a refund, is not revenue."""
    frame = export.copy()
    first_rows = frame.index[frame["Name"] != frame["Name"].shift()]
    if "Duties" not in frame.columns:
        frame["Duties"] = ""
    cases = [  # Subtotal, Shipping, Taxes, Total, Refunded Amount, Duties
        ("120.00", "6.00", "21.00", "126.00", "0.00", ""),  # VAT included: 100 of items
        ("120.00", "0.00", "20.00", "120.00", "60.00", ""),  # half refunded: 50 left
        ("100.00", "10.00", "8.00", "118.00", "0.00", ""),  # tax added at checkout: 100
        ("100.00", "20.00", "0.00", "135.00", "0.00", "15.00"),  # no tax: duties apart
        ("100.00", "10.00", "22.00", "125.00", "0.00", "15.00"),  # VAT in (20 of it the items)
        ("100.00", "10.00", "8.00", "118.00", "54.00", ""),  # tax added, half refunded with it
    ]
    columns = ["Subtotal", "Shipping", "Taxes", "Total", "Refunded Amount", "Duties"]
    rows = first_rows[11 : 11 + len(cases)]
    for row, values in zip(rows, cases, strict=True):
        frame.loc[row, columns] = values
        frame.loc[row, ["Financial Status", "Cancelled at", "Payment Method"]] = [
            "paid", "", "manual"
        ]  # fmt: skip
    _, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    names = frame.loc[rows, "Name"].tolist()
    orders = tables["orders"].set_index("order_number").loc[names]
    assert orders["net_revenue"].round(9).tolist() == [100.0, 50.0, 100.0, 100.0, 80.0, 50.0]


@pytest.mark.parametrize("apart", ["moved to the end", "an empty row between"])
def test_an_orders_rows_apart_are_numbered_in_file_order(tmp_path, export, monkeypatch, apart):
    frame = export.copy()
    second = frame.index[(frame["Name"] == frame["Name"].shift()) & (frame["Name"] != "")]
    if apart == "moved to the end":  # its later lines come after the other orders' rows
        order = frame.loc[second[0], "Name"]
        rows = frame.index[frame["Name"] == order]
        frame = pd.concat([frame.drop(rows[1:]), frame.loc[rows[1:]]], ignore_index=True)
    else:
        frame = pd.concat(
            [frame.loc[: second[0] - 1], pd.DataFrame([[""] * frame.shape[1]], columns=frame.columns),
             frame.loc[second[0] :]],
            ignore_index=True,
        )  # fmt: skip
    _, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    assert (tables["lines"]["line_number"] > 1).any()


@pytest.mark.parametrize(
    ("column", "cell"),
    [
        ("Email", "'ann@example.com"),  # the importer drops the apostrophe
        ("Email", "ann@example.com\t"),  # ... and other whitespace
        ("Lineitem name", "Café\t"),  # a tab the importer trims
        ("Subtotal", "$12.50"),  # a symbol the importer reads
        ("Created at", "2026-01-05 10:00:00.5 -0500"),  # a fraction of a second
        ("Financial Status", "PAID\u00e9"),  # beyond ASCII: the importer's lower-casing
    ],
)
def test_a_cell_the_engine_cannot_prove_goes_to_the_importer(
    tmp_path, export, monkeypatch, column, cell
):
    frame = export.copy()
    frame.loc[0, column] = cell
    _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=False)


@pytest.mark.parametrize(
    ("column", "cell"),
    [
        ("Billing Name", "Ann Lee\t"),  # a tab the importer trims
        ("Billing City", "\u2028Boston"),  # a line separator the importer trims
        ("Billing Name", "   "),  # spaces alone: no name, the shipping address's is taken
        ("Billing City", " "),  # ... no city, the billing address still the one taken
        ("Billing Zip", "'"),  # a spreadsheet's apostrophe alone: no zip
    ],
)
def test_contact_cells_the_importer_cleans_stay_on_the_engine(
    tmp_path, export, monkeypatch, column, cell
):
    """The orders' contact cells are cleaned as the importer cleans them, on both routes alike:
    an odd one (spaces alone, a tab) no longer sends the whole export to the importer."""
    frame = export.copy()
    frame.loc[0, column] = cell
    frame.loc[0, "Shipping Name"] = "Bea Shipped"
    _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)


def test_the_orders_addresses_give_the_same_contacts_on_both_routes(tmp_path, export, monkeypatch):
    """Names, phones and places come from each customer's latest order giving them, on both
    routes alike: the billing address, else the shipping one; a name split before its family name;
    a spreadsheet's apostrophe dropped; letters beyond ASCII kept."""
    frame = export.copy()
    emailed = frame.index[(frame["Name"] != frame["Name"].shift()) & (frame["Email"] != "")]
    address = [column for column in frame.columns if column.startswith(("Billing ", "Shipping "))]
    customers = frame.loc[emailed, "Email"].str.strip().str.lower()
    one, other, third = customers.drop_duplicates().index[:3]
    for row in (one, other, third):  # each its customer's latest order, counted
        frame.loc[frame["Name"] == frame.loc[row, "Name"], "Created at"] = "2026-07-01 10:00:00"
        frame.loc[row, ["Financial Status", "Cancelled at", "Refunded Amount", "Payment Method"]] = [
            "paid", "", "0.00", "Shopify Payments"
        ]  # fmt: skip
    frame.loc[one, ["Billing Name", "Billing Phone"]] = [
        "'Zoë  Ångström van Dijk",
        "'+1 617 555 0101",
    ]
    frame.loc[other, address] = ""  # the shipping address only, a one-word name
    frame.loc[other, ["Shipping Name", "Shipping City", "Shipping Zip", "Shipping Country"]] = [
        "Cher", "Montréal", "H2X 1Y4", "CA"
    ]  # fmt: skip
    frame.loc[third, address] = ""  # an order without an address: the one before gives them
    _, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    contacts = tables["contacts"].set_index("customer_id").astype(object)
    contacts = contacts.where(contacts.notna(), None)
    assert contacts.loc[customers[one], ["first_name", "last_name", "phone"]].tolist() == [
        "Zoë Ångström", "van Dijk", "+1 617 555 0101"
    ]  # fmt: skip
    assert contacts.loc[customers[other], ["first_name", "last_name", "city", "zip", "country"]
                        ].tolist() == ["Cher", None, "Montréal", "H2X 1Y4", "CA"]  # fmt: skip
    before = frame[(frame["Email"].str.strip().str.lower() == customers[third])
                   & (frame["Billing Name"] != "")]  # fmt: skip
    assert len(before)  # the customer's earlier order gives them
    assert contacts.loc[customers[third], "city"] == before["Billing City"].iloc[-1]


def _two_orders_of_one_customer(frame: pd.DataFrame) -> tuple[str, pd.Index]:
    """The first customer of the export with two orders giving an e-mail, and the first rows of
    those two orders."""
    emailed = frame.index[(frame["Name"] != frame["Name"].shift()) & (frame["Email"] != "")]
    emails = frame.loc[emailed, "Email"].str.strip().str.lower()
    repeat = emails[emails.duplicated(keep=False)]
    customer = repeat.iloc[0]
    return customer, repeat.index[repeat == customer][:2]


def test_orders_of_one_second_give_the_same_contacts_on_both_routes(tmp_path, export, monkeypatch):
    """A customer's latest orders placed in the same second are told apart by their order
    number on both routes, wherever the file lists them."""
    frame = export.copy()
    customer, rows = _two_orders_of_one_customer(frame)
    for row, city in zip(rows, ("Leiden", "Delft"), strict=True):
        frame.loc[frame["Name"] == frame.loc[row, "Name"], "Created at"] = "2026-07-01 10:00:00"
        frame.loc[row, ["Financial Status", "Cancelled at", "Refunded Amount", "Billing City"]] = [
            "paid", "", "0.00", city
        ]  # fmt: skip
    _, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    names = frame.loc[rows, "Name"]
    later = rows[list(names).index(max(names))]
    contacts = tables["contacts"].set_index("customer_id")
    assert contacts.loc[customer, "city"] == frame.loc[later, "Billing City"]


def test_a_phone_only_order_goes_to_the_importer_and_joins_its_email_customer(
    tmp_path, export, monkeypatch
):
    frame = export.copy()
    first_rows = frame.index[(frame["Name"] != frame["Name"].shift()) & (frame["Email"] != "")]
    owner, phone_only = first_rows[0], first_rows[1]
    frame.loc[[owner, phone_only], "Phone"] = "+1 415 555 0100"
    frame.loc[phone_only, "Email"] = ""
    report, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=False)
    orders = tables["orders"].set_index("order_number")
    email = frame.loc[owner, "Email"].strip().lower()
    assert orders.loc[frame.loc[phone_only, "Name"], "customer_id"] == email


def _emails_typed(export: pd.DataFrame, cells: list[str]) -> tuple[pd.DataFrame, pd.Index]:
    """The export with the first orders carrying an e-mail given ``cells`` as their Email, on
    every row of each order; and those orders' first rows."""
    frame = export.copy()
    first_rows = frame.index[(frame["Name"] != frame["Name"].shift()) & (frame["Email"] != "")]
    typed = first_rows[: len(cells)]
    for row, cell in zip(typed, cells, strict=True):
        frame.loc[frame["Name"] == frame.loc[row, "Name"], "Email"] = cell
    return frame, typed


def test_placeholder_emails_are_guest_orders_on_both_routes(tmp_path, export, monkeypatch):
    """A dummy address typed for in-store orders is no customer on either route, and the
    report counts its orders alike; such an order with a phone goes to the importer, which
    tells its customer by it."""
    dummies = ["noemail@shop.com", "NoEmail@Shop.com", "na@na.com", "pos@shop"]
    frame, typed = _emails_typed(export, dummies)
    frame.loc[frame["Email"].isin(dummies), "Phone"] = ""
    report, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    orders = tables["orders"].set_index("order_number")
    names = frame.loc[typed, "Name"]
    counted = names[names.isin(orders.index)]
    assert len(counted) and orders.loc[counted, "customer_id"].isna().all()
    assert orders.loc[counted, "email"].isna().all()
    assert not orders["customer_id"].isin(["noemail@shop.com", "na@na.com"]).any()
    assert any("4 orders carry a placeholder e-mail ('noemail@shop.com' (2)" in note
               for note in report["notes"])  # fmt: skip
    frame.loc[typed[0], "Phone"] = "+1 415 555 0100"
    _, tables = _assert_same(_write(frame, tmp_path / "p.csv"), monkeypatch, loaded=False)
    orders = tables["orders"].set_index("order_number")
    if frame.loc[typed[0], "Name"] in orders.index:
        assert orders.loc[frame.loc[typed[0], "Name"], "customer_id"] == "phone:+14155550100"


def test_emails_naming_no_one_are_guest_orders_on_both_routes(tmp_path, export, monkeypatch):
    """An Email cell without ``@`` (``-``, ``x``, ``no email``) or a guest's address
    (``guest@myshop.com``) is no customer on either route, and the report counts its orders
    alike: taken as an e-mail, each made one customer of every order typed with it."""
    frame, typed = _emails_typed(export, ["-", "x", "No Email", "guest@myshop.com", "-"])
    report, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    orders = tables["orders"].set_index("order_number")
    names = frame.loc[typed, "Name"]
    counted = names[names.isin(orders.index)]
    assert len(counted) and orders.loc[counted, "customer_id"].isna().all()
    assert orders.loc[counted, "email"].isna().all()
    assert not orders["customer_id"].isin(["-", "x", "no email", "guest@myshop.com"]).any()
    assert any(
        "5 orders carry a placeholder e-mail ('-' (2), 'guest@myshop.com' (1), 'no email' (1), "
        "'x' (1)), no customer's address: read as guest orders" in note
        for note in report["notes"]
    ), report["notes"]


def test_a_placeholder_phone_joins_no_customer_across_ingests_on_both_routes(
    tmp_path, export, monkeypatch
):
    """``0000000000`` on an e-mail customer's order (which DuckDB loads, keeping the phone as
    written) and on a later export's order without e-mail: the later order is a guest's on
    either route, where the number read as ``+00000000`` gave it to that customer."""
    frame = export.copy()
    first_rows = frame.index[(frame["Name"] != frame["Name"].shift()) & (frame["Email"] != "")]
    owner = first_rows[0]
    frame.loc[owner, ["Phone", "Billing Country"]] = ["0000000000", "US"]
    first = _write(frame, tmp_path / "first.csv")
    later = frame.loc[[owner]].copy()
    later[["Name", "Email", "Phone"]] = ["#9001", "", "0000000000"]
    second = _write(later, tmp_path / "second.csv")
    loads, load = [], shopify_duckdb.PendingShopify.load

    def recorded(self, con):
        loads.append(load(self, con))
        return loads[-1]

    monkeypatch.setattr(shopify_duckdb.PendingShopify, "load", recorded)
    stored = {}
    for engine in (True, False):
        with Workspace(":memory:") as ws:
            for path in (first, second):
                ws.ingest([defer_orders([path])] if engine else read_exports([path]))
            orders = ws.orders().to_pandas().set_index("order_number")
            stored[engine] = orders.loc["#9001", ["customer_id", "is_guest"]].tolist()
    # DuckDB loads the first export; the order without e-mail but a phone is the importer's
    assert [result is not None for result in loads] == [True, False]
    assert stored[True] == stored[False]
    assert pd.isna(stored[True][0]) and stored[True][1]


def test_an_order_without_an_email_states_no_consent_on_both_routes(tmp_path, export, monkeypatch):
    """Accepts Marketing is consent to e-mail: an order without an e-mail (a guest's, one with
    a placeholder address) states none on either route, and one with a phone, which the
    importer reads, none for its customer known by the phone."""
    frame = export.copy()
    starts = frame["Name"] != frame["Name"].shift()
    guests = frame.index[starts & (frame["Email"] == "")][:2]
    emailed = frame.index[starts & (frame["Email"] != "")][:2]
    assert len(guests) == 2
    placeholder = frame["Name"] == frame.loc[emailed[1], "Name"]
    frame.loc[placeholder, "Email"] = "noemail@shop.com"
    for row in (*guests, *emailed):
        frame.loc[frame["Name"] == frame.loc[row, "Name"], "Accepts Marketing"] = "yes"
    _, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    stored = tables["orders"].set_index("order_number")["accepts_marketing"]
    consent = {name: None if pd.isna(value) else value for name, value in stored.items()}
    names = frame.loc[[*guests, *emailed], "Name"].tolist()
    assert all(name in consent for name in names)  # every one is counted
    assert [consent[name] for name in names] == [None, None, True, None]
    frame.loc[frame["Name"] == frame.loc[guests[0], "Name"], "Phone"] = "+1 415 555 0100"
    _, tables = _assert_same(_write(frame, tmp_path / "p.csv"), monkeypatch, loaded=False)
    orders = tables["orders"].set_index("order_number")
    guest = frame.loc[guests[0], "Name"]
    if guest in orders.index:
        assert orders.loc[guest, "customer_id"] == "phone:+14155550100"
        assert pd.isna(orders.loc[guest, "accepts_marketing"])


@pytest.mark.parametrize(
    ("column", "cell", "message"),
    [
        ("Subtotal", "1.500", "ambiguous amount '1.500'"),
        ("Refunded Amount", "-2.00", "a refund is written as a positive amount"),
        ("Created at", "1970-01-01 00:00:00 +0000", "before 1990"),
        ("Name", "", "row has no order Name"),
    ],
)
def test_a_bad_export_gets_the_importers_error(
    tmp_path, export, monkeypatch, column, cell, message
):
    frame = export.copy()
    if column == "Subtotal":  # every subtotal could then be written with a thousands point
        frame["Subtotal"] = frame["Subtotal"].where(frame["Subtotal"] == "", "2.000")
    frame.loc[0, column] = cell
    path = _write(frame, tmp_path / "o.csv")
    with pytest.raises(InputError) as importer:
        read_exports([path])
    assert message in str(importer.value)
    with Workspace(":memory:") as ws, pytest.raises(InputError) as engine:
        ws.ingest([defer_orders([path])])
    assert str(engine.value) == str(importer.value)


@pytest.mark.parametrize("rows_per_part", [500_000, 97])
@pytest.mark.parametrize(
    ("column", "cell", "message"),
    [
        ("Subtotal", "999.99", "with a different amount"),
        # another shop's #1001 pasted in: Shopify writes the date and e-mail on every row
        ("Created at", "2025-01-01 00:00:00", "with another Created at"),
        ("Email", "Zed@Example.com", "with another Email"),
    ],
)
def test_two_versions_of_an_order_get_the_importers_error(
    tmp_path, export, monkeypatch, rows_per_part, column, cell, message
):
    monkeypatch.setattr(shopify_duckdb, "_ROWS_PER_PART", rows_per_part)
    frame = export.copy()
    repeated = frame.index[
        (frame["Name"] == frame["Name"].shift()) & (frame["Name"] != "") & (frame["Email"] != "")
    ][0]
    frame.loc[repeated, column] = cell  # the second row of an order gives another value
    path = _write(frame, tmp_path / "o.csv")
    with pytest.raises(InputError) as importer:
        read_exports([path])
    assert "two versions of one order" in str(importer.value)
    assert message in str(importer.value)
    with Workspace(":memory:") as ws, pytest.raises(InputError) as engine:
        ws.ingest([defer_orders([path])])
    assert str(engine.value) == str(importer.value)


def test_a_date_format_or_another_format_keeps_the_importer(tmp_path, export):
    path = _write(export, tmp_path / "o.csv")
    assert isinstance(defer_orders([path], format="shopify"), shopify_duckdb.PendingShopify)
    assert defer_orders([path], column_map="date_format=%Y-%m-%d %H:%M:%S %z") is None
    assert defer_orders([path], format="woocommerce") is None


def test_an_order_whose_refund_covers_every_item_is_refunded_on_both_routes(
    tmp_path, export, monkeypatch
):
    # partially_refunded to Shopify (the shipping kept), but no item was kept: no purchase
    frame = export.copy()
    first_rows = frame.index[frame["Name"] != frame["Name"].shift()]
    row = first_rows[14]
    frame.loc[row, ["Financial Status", "Cancelled at", "Payment Method"]] = [
        "partially_refunded", "", "manual"
    ]  # fmt: skip
    # the items with their tax: all but the shipping
    items = float(frame.loc[row, "Total"]) - float(frame.loc[row, "Shipping"] or 0)
    frame.loc[row, "Refunded Amount"] = f"{items:.2f}"
    report, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    assert frame.loc[row, "Name"] not in set(tables["orders"]["order_number"])
    # most of the items refunded with their tax, some kept: still a purchase, on both routes
    frame.loc[row, "Refunded Amount"] = f"{items - 1.0:.2f}"
    _, kept = _assert_same(_write(frame, tmp_path / "p.csv"), monkeypatch, loaded=True)
    assert frame.loc[row, "Name"] in set(kept["orders"]["order_number"])
    base, _, _ = _ingest(
        _write(export, tmp_path / "base.csv"), engine=False, monkeypatch=monkeypatch
    )
    assert report["excluded_orders"]["refunded"] == base["excluded_orders"].get("refunded", 0) + 1


@pytest.mark.parametrize("name", ["Gift Card - $40", "Geschenkgutschein - 40 EUR"])
def test_gift_cards_sold_are_left_out_of_revenue_on_both_routes(
    tmp_path, export, monkeypatch, name
):
    """A gift card is revenue when spent: an order of gift cards alone is counted out, and one
    with goods too keeps the goods' revenue, with a note of the gift cards left out."""
    frame = export.copy()
    first_rows = frame.index[frame["Name"] != frame["Name"].shift()]
    only, mixed, given_back, with_goods = first_rows[20:24]
    for row in (only, mixed, given_back, with_goods):
        frame.loc[row, ["Financial Status", "Cancelled at", "Payment Method"]] = [
            "paid", "", "manual"
        ]  # fmt: skip
        frame.loc[row, ["Lineitem name", "Lineitem taxable"]] = [name, "false"]
        frame.loc[row, ["Lineitem price", "Lineitem quantity", "Lineitem discount"]] = [
            "40.00", "1", "0.00"
        ]  # fmt: skip
    others = frame.index[(frame["Name"] == frame.loc[only, "Name"]) & (frame.index != only)]
    frame = frame.drop(others)  # the gift card alone
    frame.loc[only, ["Subtotal", "Shipping", "Taxes", "Total", "Refunded Amount"]] = [
        "40.00", "0.00", "0.00", "40.00", "0.00"
    ]  # fmt: skip
    # beside the gift card, one $60 item with 5 of tax added, and 5 of shipping
    frame.loc[mixed, ["Subtotal", "Shipping", "Taxes", "Total", "Refunded Amount"]] = [
        "100.00", "5.00", "5.00", "110.00", "0.00"
    ]  # fmt: skip
    # the same order, its unused gift card refunded: the goods were kept
    frame.loc[given_back, ["Subtotal", "Shipping", "Taxes", "Total", "Refunded Amount"]] = [
        "100.00", "5.00", "5.00", "110.00", "40.00"
    ]  # fmt: skip
    # ... and with 45.00 of the goods (their tax in it): more than the 70 goods and shipping
    frame.loc[with_goods, ["Subtotal", "Shipping", "Taxes", "Total", "Refunded Amount"]] = [
        "100.00", "5.00", "5.00", "110.00", "85.00"
    ]  # fmt: skip
    frame.loc[[given_back, with_goods], "Financial Status"] = "partially_refunded"
    report, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    orders = tables["orders"].set_index("order_number")
    assert frame.loc[only, "Name"] not in orders.index
    assert orders.loc[frame.loc[mixed, "Name"], "net_revenue"] == 60.0
    assert orders.loc[frame.loc[given_back, "Name"], "net_revenue"] == 60.0
    assert orders.loc[frame.loc[with_goods, "Name"], "net_revenue"] == pytest.approx(
        60.0 - 45.0 * 60.0 / 65.0
    )
    assert report["excluded_orders"]["gift card purchase"] == 1
    assert any("3 orders also sold gift cards (120.00 in all)" in note for note in report["notes"])
    assert any("2 orders refunded the gift cards they also sold (80.00" in note
               for note in report["notes"])  # fmt: skip


def test_orders_not_yet_paid_are_noted_alike_on_both_routes(tmp_path, export, monkeypatch):
    frame = export.copy()
    first_rows = frame.index[frame["Name"] != frame["Name"].shift()]
    columns = ["Financial Status", "Cancelled at", "Payment Method", "Refunded Amount"]
    frame.loc[first_rows[30:33], columns] = ["authorized", "", "manual", "0.00"]
    frame.loc[first_rows[33], columns] = ["partially_paid", "", "manual", "0.00"]
    report, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    orders = tables["orders"].set_index("order_number")
    status = frame.loc[first_rows].set_index("Name")["Financial Status"].str.lower()
    unpaid = status[status.isin(["pending", "authorized", "partially_paid"])].index
    revenue = orders.loc[orders.index.intersection(unpaid), "net_revenue"].sum()
    pending = int(orders.index.isin(status[status == "pending"].index).sum())
    (note,) = [note for note in report["notes"] if "not yet paid in full" in note]
    assert f"(pending {pending}, authorized 3, partially_paid 1)" in note
    assert f"({revenue:,.2f} of revenue)" in note


def test_every_item_refunded_where_shipping_is_taxed_is_refunded_on_both_routes(
    tmp_path, export, monkeypatch
):
    """13% of tax on the items and the shipping: a refund of every item with its own tax is
    short of Total - Shipping by the shipping's tax, yet only the shipping was kept."""
    frame = export.copy()
    first_rows = frame.index[frame["Name"] != frame["Name"].shift()]
    columns = ["Financial Status", "Cancelled at", "Payment Method", "Subtotal", "Shipping",
               "Taxes", "Total", "Refunded Amount"]  # fmt: skip
    refunded, kept = first_rows[40], first_rows[41]
    frame.loc[refunded, columns] = [
        "partially_refunded", "", "manual", "80.00", "15.00", "12.35", "107.35", "90.40"
    ]  # fmt: skip
    frame.loc[kept, columns] = [
        "partially_refunded", "", "manual", "80.00", "15.00", "12.35", "107.35", "45.20"
    ]  # fmt: skip
    report, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    orders = set(tables["orders"]["order_number"])
    assert frame.loc[refunded, "Name"] not in orders and frame.loc[kept, "Name"] in orders
    base, _, _ = _ingest(
        _write(export, tmp_path / "base.csv"), engine=False, monkeypatch=monkeypatch
    )
    assert report["excluded_orders"]["refunded"] == base["excluded_orders"].get("refunded", 0) + 1


def test_a_refund_of_the_shipping_alone_leaves_the_items_revenue_on_both_routes(
    tmp_path, export, monkeypatch
):
    frame = export.copy()
    first_rows = frame.index[frame["Name"] != frame["Name"].shift()]
    columns = ["Financial Status", "Cancelled at", "Payment Method", "Subtotal", "Shipping",
               "Taxes", "Total", "Refunded Amount"]  # fmt: skip
    cases = [  # Subtotal, Shipping, Taxes, Total, Refunded Amount -> net revenue
        (("50.00", "10.00", "0.00", "60.00", "10.00"), 50.0),  # the shipping given back
        (("50.00", "10.00", "6.00", "66.00", "11.00"), 50.0),  # ... with its 10% of tax
        (("60.00", "12.00", "12.00", "72.00", "12.00"), 50.0),  # VAT included: as written
        (("50.00", "10.00", "0.00", "60.00", "25.00"), 25.0),  # an item refunded
        # one of two 6.75 items with its tax: within a cent of the shipping with its tax too
        (("13.50", "6.95", "1.20", "21.65", "7.35"), 6.75),
    ]
    rows = first_rows[50 : 50 + len(cases)]
    for row, (values, _) in zip(rows, cases, strict=True):
        frame.loc[row, columns] = ["partially_refunded", "", "manual", *values]
    others = frame.index[(frame["Name"] == frame.loc[rows[-1], "Name"]) & (frame.index != rows[-1])]
    frame = frame.drop(others)  # that order's one line: two items at 7.50, 1.50 off
    frame.loc[rows[-1], ["Lineitem quantity", "Lineitem price", "Lineitem discount"]] = [
        "2", "7.50", "1.50"
    ]  # fmt: skip
    report, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    orders = tables["orders"].set_index("order_number").loc[frame.loc[rows, "Name"]]
    assert orders["net_revenue"].round(9).tolist() == [net for _, net in cases]
    assert any(
        "3 orders were refunded exactly their shipping (33.00 in all)" in note
        for note in report["notes"]
    )


def test_a_refund_of_one_lines_items_and_the_shipping_leaves_the_shipping_out_on_both_routes(
    tmp_path, export, monkeypatch
):
    """A returned item sent back with its postage refunded: the shipping's part of the refund
    is the shipping given back, the rest the item with its tax; a refund that is no line's
    whole items after the shipping is taken off the items as before."""
    frame = export.copy()
    first_rows = frame.index[frame["Name"] != frame["Name"].shift()]
    columns = ["Financial Status", "Cancelled at", "Payment Method", "Subtotal", "Shipping",
               "Taxes", "Total", "Refunded Amount"]  # fmt: skip
    cases = [  # Subtotal, Shipping, Taxes, Total, Refunded Amount -> net revenue
        # two mugs at 50 with 8% tax added, one returned with the 5 of shipping: 54 + 5
        (("100.00", "5.00", "8.00", "113.00", "59.00"), 50.0),
        # two at 60 with VAT inside (20%, the shipping's too), one returned with the 6 of shipping
        (("120.00", "6.00", "21.00", "126.00", "66.00"), 50.0),
        # 59.50: no line's whole items after the shipping, taken off the items with their tax
        (("100.00", "5.00", "8.00", "113.00", "59.50"), 100.0 - 59.5 * 100.0 / 108.0),
    ]
    prices = ["50.00", "60.00", "50.00"]
    rows = first_rows[60 : 60 + len(cases)]
    for row, (values, _), price in zip(rows, cases, prices, strict=True):
        frame.loc[row, columns] = ["partially_refunded", "", "manual", *values]
        others = frame.index[(frame["Name"] == frame.loc[row, "Name"]) & (frame.index != row)]
        frame = frame.drop(others)  # the order's one line: two items
        frame.loc[row, ["Lineitem quantity", "Lineitem price", "Lineitem discount"]] = [
            "2", price, "0.00"
        ]  # fmt: skip
    report, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    orders = tables["orders"].set_index("order_number").loc[frame.loc[rows, "Name"]]
    assert orders["net_revenue"].round(9).tolist() == [round(net, 9) for _, net in cases]
    assert any(
        note.endswith(
            "2 orders were refunded whole items and their shipping together (11.00 of shipping "
            "in all): the shipping's part taken as the shipping given back, not off the items' "
            "revenue"
        )
        for note in report["notes"]
    )


def test_orders_that_charged_nothing_are_noted_alike_on_both_routes(tmp_path, export, monkeypatch):
    frame = export.copy()
    first_rows = frame.index[frame["Name"] != frame["Name"].shift()]
    columns = ["Financial Status", "Cancelled at", "Payment Method", "Subtotal", "Shipping",
               "Taxes", "Total", "Refunded Amount"]  # fmt: skip
    rows = first_rows[60:62]
    frame.loc[rows, columns] = ["paid", "", "manual", "0.00", "0.00", "0.00", "0.00", "0.00"]
    report, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    assert set(frame.loc[rows, "Name"]) <= set(tables["orders"]["order_number"])
    assert any(note.endswith("2 orders charged nothing (Total 0: a 100% discount, a free "
                             "sample or a replacement) are counted as purchases worth 0, as "
                             "Shopify's reports count them") for note in report["notes"])  # fmt: skip


def test_every_order_worth_nothing_is_noted_by_its_reason_on_both_routes(
    tmp_path, export, monkeypatch
):
    """The revenue leaves shipping and tax out: free goods with the shipping paid are purchases
    worth 0 as much as an order that charged nothing, and so is one whose refund took all of
    its goods but not a tip; each kind is told apart in a note, on both routes alike."""
    frame = export.copy()
    first_rows = frame.index[frame["Name"] != frame["Name"].shift()]
    columns = ["Financial Status", "Cancelled at", "Payment Method", "Subtotal", "Shipping",
               "Taxes", "Total", "Refunded Amount"]  # fmt: skip
    nothing, free_goods, tipped = first_rows[60:61], first_rows[61:64], first_rows[64]
    frame.loc[nothing, columns] = ["paid", "", "manual", "0.00", "0.00", "0.00", "0.00", "0.00"]
    frame.loc[free_goods, columns] = [
        "paid", "", "manual", "0.00", "5.95", "0.00", "5.95", "0.00"
    ]  # fmt: skip
    # every item refunded without its tax, the tax and a tip of 5.00 kept
    subtotal = float(frame.loc[tipped, "Subtotal"])
    frame.loc[tipped, columns] = [
        "partially_refunded", "", "Shopify Payments", f"{subtotal:.2f}", "0.00", "10.00",
        f"{subtotal + 15:.2f}", f"{subtotal:.2f}"
    ]  # fmt: skip
    report, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    orders = tables["orders"].set_index("order_number")
    worth_nothing = frame.loc[[*nothing, *free_goods, tipped], "Name"]
    assert (orders.loc[worth_nothing, "net_revenue"] == 0).all()
    assert (orders["net_revenue"] == 0).sum() == len(worth_nothing)
    notes = report["notes"]
    assert any(note.endswith("1 order charged nothing (Total 0: a 100% discount, a free sample "
                             "or a replacement) is counted as a purchase worth 0, as Shopify's "
                             "reports count it") for note in notes), notes  # fmt: skip
    assert any(note.endswith("3 orders charged only shipping or tax (free goods) are counted "
                             "as purchases worth 0 (the revenue leaves shipping and tax out)")
               for note in notes), notes  # fmt: skip
    assert any(note.endswith("1 order whose goods come to 0 once its refunds and tax are taken "
                             "off is counted as a purchase worth 0") for note in notes), notes  # fmt: skip


def _latest_counted_orders(frame: pd.DataFrame, customers: int) -> pd.Index:
    """The first rows of one order each of the export's first ``customers`` e-mail customers,
    made the latest order of its customer and counted."""
    emailed = frame.index[(frame["Name"] != frame["Name"].shift()) & (frame["Email"] != "")]
    rows = frame.loc[emailed, "Email"].str.strip().str.lower().drop_duplicates().index[:customers]
    for row in rows:
        frame.loc[frame["Name"] == frame.loc[row, "Name"], "Created at"] = "2026-07-01 10:00:00"
        frame.loc[row, ["Financial Status", "Cancelled at", "Refunded Amount", "Payment Method"]] = [
            "paid", "", "0.00", "Shopify Payments"
        ]  # fmt: skip
    return rows


def test_a_placeholder_phone_passes_to_the_billing_phone_on_both_routes(
    tmp_path, export, monkeypatch
):
    """``0000000000`` typed in Phone beside the customer's own number in Billing Phone tells no
    one, as an empty Phone does: the audience files get the billing number, and an order without
    e-mail is the customer of that number, on both routes.  Two real numbers stay on the engine,
    which takes the first."""
    frame = export.copy()
    real, placeholder = _latest_counted_orders(frame, 2)
    frame.loc[[real, placeholder], ["Billing Country", "Billing Phone"]] = [
        ["US", "+1 617 555 0101"], ["US", "+1 415 555 0100"]
    ]  # fmt: skip
    frame.loc[real, "Phone"] = "+1 617 555 0199"
    _, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    contacts = tables["contacts"].set_index("customer_id")["phone"]
    customer = {row: frame.loc[row, "Email"].strip().lower() for row in (real, placeholder)}
    assert contacts[customer[real]] == "+1 617 555 0199"
    frame.loc[placeholder, "Phone"] = "0000000000"
    first = _write(frame, tmp_path / "p.csv")
    _, tables = _assert_same(first, monkeypatch, loaded=False)
    contacts = tables["contacts"].set_index("customer_id")["phone"]
    assert contacts[customer[placeholder]] == "+1 415 555 0100"
    assert contacts[customer[real]] == "+1 617 555 0199"
    # a later export's order without e-mail, its Phone a placeholder too: that customer's
    later = frame.loc[[placeholder]].copy()
    later[["Name", "Email", "Phone", "Billing Phone"]] = ["#9001", "", "1234567890", "4155550100"]
    second = _write(later, tmp_path / "second.csv")
    stored = {}
    for engine in (True, False):
        with Workspace(":memory:") as ws:
            for path in (first, second):
                ws.ingest([defer_orders([path])] if engine else read_exports([path]))
            stored[engine] = ws.orders().to_pandas().set_index("order_number").loc["#9001"]
    assert stored[True]["customer_id"] == stored[False]["customer_id"] == customer[placeholder]


@pytest.mark.parametrize(
    ("cell", "country"),
    [
        ("0000000000", None), ("000-000-0000", "US"), ("+1 000 000 0000", "US"),
        ("'1234567890", "US"), ("+91 98765 43210", "IN"), ("0 1111 111111", "GB"),
        ("00 44 0000 000000", None), ("011 1 222 222 2222", "US"), ("+44 (0)1111 111111", "GB"),
        ("0000000000 ext 5", "US"), ("123-456-7890 x12", None), ("0123456789#3", None),
        ("9876543210", "FR"), ("\u00a00000000000", None), ("０００００００００００", None),
    ],
)  # fmt: skip
def test_every_placeholder_phone_is_one_the_routes_look_at(cell, country):
    """The routes look at the cells that may be placeholders only (a pattern at once, where the
    test of each cell costs ~10 us): every placeholder is one of them, whatever its country, on
    the importer's route and in the engine's SQL; a real number is not."""
    assert placeholder_phone(cell, country)
    assert shopify.maybe_placeholder_phones(pd.Series([cell, "+1 415 555 0100"])).tolist() == [
        True, False
    ]  # fmt: skip
    found = duckdb.sql(
        f"SELECT {shopify_duckdb._maybe_placeholder_phone('x')} FROM (SELECT unnest(?) AS x)",
        params=[[cell, "+1 415 555 0100", "07700 900123"]],
    ).fetchall()
    assert [row[0] for row in found] == [True, False, False]


def test_plain_ascii_addresses_give_the_same_contacts_on_both_routes(tmp_path, export, monkeypatch):
    """Fields of printable ASCII as Shopify writes them (a zip after an apostrophe, an apostrophe
    within a name or a city, a field of one letter) are cleaned alike on both routes."""
    frame = export.copy()
    emailed = frame.index[(frame["Name"] != frame["Name"].shift()) & (frame["Email"] != "")]
    customers = frame.loc[emailed, "Email"].str.strip().str.lower()
    row = customers.drop_duplicates().index[0]
    frame.loc[frame["Name"] == frame.loc[row, "Name"], "Created at"] = "2026-07-01 10:00:00"
    frame.loc[row, ["Financial Status", "Cancelled at", "Refunded Amount", "Payment Method"]] = [
        "paid", "", "0.00", "Shopify Payments"
    ]  # fmt: skip
    frame.loc[row, ["Billing Name", "Billing City", "Billing Province", "Billing Zip"]] = [
        "Sean  O'Brien", "St. John's", "N", "'02134"
    ]  # fmt: skip
    _, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    contacts = tables["contacts"].set_index("customer_id")
    assert contacts.loc[customers[row], ["first_name", "last_name", "city", "province", "zip"]
                        ].tolist() == ["Sean", "O'Brien", "St. John's", "N", "02134"]  # fmt: skip


def test_a_refund_of_one_lines_items_takes_them_off_that_line_on_both_routes(
    tmp_path, export, monkeypatch
):
    """Shopify's export writes a line's items as ordered and the order's refund alone: a
    refund that only one line's items make is those items returned, taken off that line (no
    purchase to pair or reorder); one that two lines could make says not which."""
    frame = export.copy()
    first_rows = frame.index[frame["Name"] != frame["Name"].shift()]
    columns = ["Financial Status", "Cancelled at", "Payment Method", "Subtotal", "Shipping",
               "Taxes", "Total", "Refunded Amount"]  # fmt: skip
    line = ["Lineitem quantity", "Lineitem price", "Lineitem discount", "Lineitem name"]
    cases = [  # the order's amounts, its two lines -> the quantities kept
        # one of two mugs (12.00) given back, without tax
        (("44.00", "5.00", "0.00", "49.00", "12.00"), [("2", "12.00", "Mug"), ("1", "20.00", "Tea")],
         [1.0, 1.0]),
        # the tea with its 10% of sales tax
        (("44.00", "5.00", "4.40", "53.40", "22.00"), [("2", "12.00", "Mug"), ("1", "20.00", "Tea")],
         [2.0, 0.0]),
        # 12.00: one mug or one cup, which the export does not say
        (("24.00", "5.00", "0.00", "29.00", "12.00"), [("1", "12.00", "Mug"), ("1", "12.00", "Cup")],
         [1.0, 1.0]),
    ]  # fmt: skip
    template = frame.loc[first_rows[0]].copy()
    rows = []
    for number, (values, lines, _) in enumerate(cases):
        for index, (quantity, price, name) in enumerate(lines):
            row = template.copy()
            row["Name"] = f"#R{number}"
            if index == 0:
                row[columns] = ["partially_refunded", "", "manual", *values]
            else:
                row[columns] = ""  # the order's amounts are on its first row
            row[line] = [quantity, price, "0.00", name]
            row["Lineitem sku"] = ""
            rows.append(row)
    frame = pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)
    _, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    lines = tables["lines"]
    for number, (_, _, kept) in enumerate(cases):
        quantities = lines.loc[lines["order_id"] == f"shopify:#R{number}", "quantity"]
        assert quantities.tolist() == kept, number


@pytest.mark.parametrize("hidden", ["\u200b", "\ufeff", "\u00ad"])
def test_an_email_carrying_a_character_that_shows_nothing_is_one_customer_on_both_routes(
    tmp_path, export, monkeypatch, hidden
):
    # one of a repeat customer's orders written with it: the engine leaves the export to the
    # importer, and both routes store one customer
    frame = export.copy()
    emailed = frame[frame["Email"] != ""]
    repeat = emailed["Email"].str.strip().str.lower()
    orders_of = emailed.assign(key=repeat).groupby("key")["Name"].nunique()
    address = orders_of[orders_of > 1].index[0]
    last = emailed.loc[repeat == address, "Name"].iloc[-1]
    frame.loc[frame["Name"] == last, "Email"] = address + hidden
    _, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=False)
    orders = tables["orders"]
    mine = orders[orders["order_number"].isin(emailed.loc[repeat == address, "Name"])]
    assert len(mine) > 1 and set(mine["customer_id"]) == {address}


def test_orders_of_one_second_are_told_apart_as_numbers_on_both_routes(
    tmp_path, export, monkeypatch
):
    """Order #1000 comes after #999 (as text it sorts first): the latest order's address is
    #1000's on both routes."""
    frame = export.copy()
    customer, rows = _two_orders_of_one_customer(frame)
    for row, (name, city) in zip(rows, (("#1000", "Leiden"), ("#999", "Delft")), strict=True):
        own = frame["Name"] == frame.loc[row, "Name"]
        frame.loc[own, ["Created at", "Name"]] = ["2026-07-01 10:00:00", name]
        frame.loc[row, ["Financial Status", "Cancelled at", "Refunded Amount", "Billing City"]] = [
            "paid", "", "0.00", city
        ]  # fmt: skip
    _, tables = _assert_same(_write(frame, tmp_path / "o.csv"), monkeypatch, loaded=True)
    assert tables["contacts"].set_index("customer_id").loc[customer, "city"] == "Leiden"
