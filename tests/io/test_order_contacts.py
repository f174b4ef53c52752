"""The audience files' names, phones and places from an orders export alone: each customer's
latest order's billing address (else its shipping address), a customers export winning where it
gives them."""

from __future__ import annotations

import csv
import hashlib

import pandas as pd
from typer.testing import CliRunner

from valuecast.cli import app
from valuecast.datasets.demo_shop import generate_demo_shop
from valuecast.io import read_exports, shopify
from valuecast.store import Workspace

runner = CliRunner()


def _contacts(path, *results) -> pd.DataFrame:
    """The workspace's contacts after ingesting each of ``results`` in turn (``None`` as
    missing)."""
    with Workspace(path) as ws:
        for result in results:
            ws.ingest(result)
        contacts = ws.contacts().set_index("customer_id").astype(object)
    return contacts.where(contacts.notna(), None)


def _orders(exports, *orders: tuple) -> list[dict]:
    rows = []
    for name, email, created, fields in orders:
        rows.extend(exports.shopify_order(name, email, created, **fields))
    return rows


def _billing_name_parts(exports, write, path, names: dict[str, str]) -> dict:
    """Each customer's (first name, last name) stored from a Shopify export of one order per
    customer (e-mail -> its ``Billing Name``), orders #1001, #1002, ... a day apart."""
    rows = _orders(
        exports,
        *(
            (f"#{1001 + i}", email, f"2024-01-{5 + i:02d} 10:00:00 -0500", {"Billing_Name": name})
            for i, (email, name) in enumerate(names.items())
        ),
    )
    result = shopify.read_orders(write("orders_export.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    contacts = _contacts(path / "w.duckdb", [result])
    return {key: (row["first_name"], row["last_name"]) for key, row in contacts.iterrows()}


ANN_OLD = {
    "Billing_Name": "Ann Lee", "Billing_City": "Boston", "Billing_Province": "MA",
    "Billing_Country": "US", "Billing_Zip": "02134", "Billing_Phone": "'+1 617-555-0101",
}  # fmt: skip
ANN_NEW = {  # moved; no phone given this time, the billing address left empty
    "Billing_Name": "", "Billing_Zip": "", "Shipping_Name": "Ann Lee-Park",
    "Shipping_City": "Seattle", "Shipping_Province": "WA", "Shipping_Country": "US",
    "Shipping_Zip": "98101",
}  # fmt: skip


def test_each_customer_gets_the_contact_fields_of_their_latest_order(exports, write, tmp_path):
    rows = _orders(
        exports,
        ("#1001", "ann@example.com", "2024-01-05 10:00:00 -0500", ANN_OLD),
        ("#1002", "ann@example.com", "2024-06-05 10:00:00 -0500", ANN_NEW),
        # a later order cancelled: it gives nothing
        ("#1003", "ann@example.com", "2024-07-05 10:00:00 -0500",
         {"Billing_Name": "Wrong Person", "Billing_City": "Nowhere", "Cancelled_at": "2024-07-06"}),
        ("#1004", "bo@example.com", "2024-02-01 10:00:00 +0100",
         {"Billing_Name": "Bo", "Billing_Country": "SE", "Billing_Zip": "'114 55"}),
        ("#1005", None, "2024-02-02 10:00:00 -0500", {"Billing_Name": "A Guest"}),
    )  # fmt: skip
    result = shopify.read_orders(write("orders_export.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    contacts = _contacts(tmp_path / "w.duckdb", [result])
    assert sorted(contacts.index) == ["ann@example.com", "bo@example.com"]  # no guest
    ann = contacts.loc["ann@example.com"]
    # the name and the address of the latest order giving them, whole; the phone of the
    # latest order giving one
    assert (ann["first_name"], ann["last_name"]) == ("Ann", "Lee-Park")
    assert (ann["city"], ann["province"], ann["country"], ann["zip"]) == (
        "Seattle", "WA", "US", "98101"
    )  # fmt: skip
    assert ann["phone"] == "+1 617-555-0101"
    bo = contacts.loc["bo@example.com"]
    assert (bo["first_name"], bo["last_name"], bo["city"], bo["country"], bo["zip"]) == (
        "Bo", None, None, "SE", "114 55"
    )  # fmt: skip


def test_a_customers_export_wins_where_it_gives_a_field(exports, write, tmp_path):
    orders = write(
        "orders_export.csv",
        exports.SHOPIFY_ORDERS_HEADER,
        _orders(exports, ("#1001", "ann@example.com", "2024-01-05 10:00:00 -0500", ANN_OLD)),
    )
    header = exports.SHOPIFY_CUSTOMERS_HEADERS[1]
    customers = write(
        "customers_export.csv",
        header,
        [{"First Name": "Annie", "Last Name": "Lee", "Email": "ann@example.com",
          "Accepts Email Marketing": "yes"}],
    )  # fmt: skip
    contacts = _contacts(tmp_path / "w.duckdb", read_exports([str(orders), str(customers)]))
    ann = contacts.loc["ann@example.com"]
    assert (ann["first_name"], ann["last_name"]) == ("Annie", "Lee")  # the customers export's
    assert (ann["city"], ann["zip"], ann["phone"]) == ("Boston", "02134", "+1 617-555-0101")
    assert ann["accepts_marketing"] is True


def test_a_later_ingest_gives_the_newer_address_and_an_older_export_keeps_it(
    exports, write, tmp_path
):
    old = write(
        "old.csv",
        exports.SHOPIFY_ORDERS_HEADER,
        _orders(exports, ("#1001", "ann@example.com", "2024-01-05 10:00:00 -0500", ANN_OLD)),
    )
    new = write(
        "new.csv",
        exports.SHOPIFY_ORDERS_HEADER,
        _orders(exports, ("#1002", "ann@example.com", "2024-06-05 10:00:00 -0500", ANN_NEW)),
    )
    path = tmp_path / "w.duckdb"
    contacts = _contacts(path, read_exports([str(old)]), read_exports([str(new)]))
    assert contacts.loc["ann@example.com", "city"] == "Seattle"
    contacts = _contacts(path, read_exports([str(old)]))  # the older export again
    assert contacts.loc["ann@example.com", ["city", "phone"]].tolist() == [
        "Seattle", "+1 617-555-0101"
    ]  # fmt: skip


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_meta_and_google_files_of_an_orders_export_alone_carry_hashed_names_and_places(
    tmp_path,
):
    """The demo shop gives its orders export only: its audience files match on more than the
    e-mail, normalised as each platform asks."""
    orders = tmp_path / "orders_export.csv"
    generate_demo_shop(orders, customers=120, seed=5)
    workspace = tmp_path / "w.duckdb"
    result = runner.invoke(app, ["ingest", str(orders), "-w", str(workspace)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(orders, dtype=str, keep_default_na=False)
    first_rows = frame[(frame["Email"] != "") & (frame["Billing Name"] != "")]
    files = {}
    for to in ("meta", "google"):
        out = tmp_path / f"{to}.csv"
        result = runner.invoke(
            app,
            ["export", "--to", to, "--where", "historic_number_of_orders >= 1",
             "--include-non-consenting",
             "-w", str(workspace), "-o", str(out)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        with out.open(newline="", encoding="utf-8") as handle:
            files[to] = list(csv.DictReader(handle))
    meta = {row["email"]: row for row in files["meta"]}
    assert len(meta) > 50 and all(row["fn"] and row["ct"] and row["zip"] for row in meta.values())
    # one customer, by the latest of their orders in the file
    latest = first_rows.assign(
        at=pd.to_datetime(first_rows["Created at"].str[:19]),
        key=first_rows["Email"].str.strip().str.lower(),
    ).sort_values("at")
    row = latest[latest["key"].map(_sha).isin(meta)].iloc[-1]
    hashed = meta[_sha(row["key"])]
    given, _, family = row["Billing Name"].partition(" ")
    assert hashed["fn"] == _sha(given.lower()) and hashed["ln"] == _sha(family.lower())
    assert hashed["ct"] == _sha("".join(c for c in row["Billing City"].lower() if c.isalpha()))
    assert hashed["zip"] == _sha(row["Billing Zip"].strip("'")[:5])
    assert hashed["country"] == _sha("us")
    google = {row["Email"]: row for row in files["google"]}
    assert google[_sha(row["key"])]["Zip"] == row["Billing Zip"].strip("'")[:5]
    assert google[_sha(row["key"])]["Country"] == "US"


def test_a_woocommerce_export_gives_its_billing_names_phones_and_places(exports, write, tmp_path):
    from valuecast.io import woocommerce

    def row(order_id: int, email: str, date: str, **fields) -> dict:
        return {
            "order_id": order_id, "order_number": order_id, "order_date": date,
            "status": "wc-completed", "order_total": "20.00", "order_currency": "EUR",
            "customer_email": email, "billing_email": email, **fields,
        }  # fmt: skip

    rows = [
        row(1, "eva@example.com", "2024-01-05 10:00:00", billing_first_name="Eva",
            billing_last_name="de Vries", billing_phone="'+31 6 12345678", billing_city="Utrecht",
            billing_postcode="3511 AB", billing_country="NL"),
        # the latest: a gift sent elsewhere, billed without an address
        row(2, "eva@example.com", "2024-05-05 10:00:00", shipping_first_name="Eva",
            shipping_last_name="Jansen", shipping_city="Delft", shipping_state="ZH",
            shipping_postcode="2611 AB", shipping_country="NL"),
    ]  # fmt: skip
    path = write("orders.csv", exports.WOO_WEBTOFFEE_HEADER, rows)
    contacts = _contacts(tmp_path / "w.duckdb", [woocommerce.read_orders(path)])
    eva = contacts.loc["eva@example.com"]
    assert [eva[key] for key in ("first_name", "last_name", "phone", "city", "province", "zip",
                                 "country")] == [
        "Eva", "Jansen", "+31 6 12345678", "Delft", "ZH", "2611 AB", "NL"
    ]  # fmt: skip


def test_orders_of_one_time_give_the_contacts_of_the_greater_order_id(exports, write, tmp_path):
    """Orders dated alike (an export of dates without times) are told apart by their order id,
    as the workspace reads the latest, wherever the file lists them."""
    from valuecast.io import woocommerce

    def row(order_id: int, city: str, **fields) -> dict:
        return {
            "order_id": order_id, "order_number": order_id, "order_date": "2024-05-05",
            "status": "wc-completed", "order_total": "20.00", "order_currency": "EUR",
            "customer_email": "eva@example.com", "billing_email": "eva@example.com",
            "billing_city": city, "billing_country": "NL", **fields,
        }  # fmt: skip

    rows = [row(12, "Leiden"), row(11, "Delft", billing_phone="'+31 6 12345678")]
    result = woocommerce.read_orders(write("orders.csv", exports.WOO_WEBTOFFEE_HEADER, rows))
    assert sorted(result.order_contacts["order_id"]) == ["woocommerce:11", "woocommerce:12"]
    eva = _contacts(tmp_path / "w.duckdb", [result]).loc["eva@example.com"]
    assert (eva["city"], eva["phone"]) == ("Leiden", "+31 6 12345678")


def test_a_magento_sales_order_export_gives_its_names_and_a_joined_billing_address(
    exports, write, tmp_path
):
    """``sales_order`` names the customer of each order; a query joining the billing address
    (``billing_telephone``, ``billing_city`` ...) gives the phone and the place too."""
    from valuecast.io import magento

    header = [*exports.MAGENTO_ORDER_HEADER, "billing_telephone", "billing_city",
              "billing_region_code", "billing_postcode", "billing_country_id"]  # fmt: skip
    base = {"state": "complete", "base_subtotal": "50.0000", "base_grand_total": "55.0000",
            "base_currency_code": "USD", "customer_email": "kim@example.com"}  # fmt: skip
    rows = [
        {**base, "entity_id": 1, "increment_id": "000000001", "created_at": "2024-01-05 10:00:00",
         "customer_firstname": "Kim", "customer_lastname": "Old", "billing_city": "Austin"},
        {**base, "entity_id": 2, "increment_id": "000000002", "created_at": "2024-04-05 10:00:00",
         "customer_firstname": "Kim", "customer_lastname": "Park",
         "billing_telephone": "512-555-0199", "billing_city": "Dallas",
         "billing_region_code": "TX", "billing_postcode": "75201", "billing_country_id": "US"},
    ]  # fmt: skip
    result = magento.read_sales_order(write("sales_order.csv", header, rows))
    kim = _contacts(tmp_path / "w.duckdb", [result]).loc["kim@example.com"]
    assert [kim[key] for key in ("first_name", "last_name", "phone", "city", "province", "zip",
                                 "country")] == [
        "Kim", "Park", "512-555-0199", "Dallas", "TX", "75201", "US"
    ]  # fmt: skip


def test_a_magento_order_grid_gives_its_bill_to_names(exports, write, tmp_path):
    from valuecast.io import magento

    def row(number: str, date: str, bill_to: str, ship_to: str) -> dict:
        return {
            "ID": number, "Purchase Date": date, "Status": "Complete", "Subtotal": "$20.00",
            "Customer Email": "lou@example.com", "Bill-to Name": bill_to, "Ship-to Name": ship_to,
        }  # fmt: skip

    rows = [row("000000001", "Jan 5, 2024 10:15:03 AM", "Lou Reed", "Lou Reed"),
            row("000000002", "Mar 5, 2024 10:15:03 AM", "", "Lou Van Zandt")]  # fmt: skip
    result = magento.read_order_grid(write("grid.csv", exports.MAGENTO_GRID_HEADER, rows))
    lou = _contacts(tmp_path / "w.duckdb", [result]).loc["lou@example.com"]
    assert (lou["first_name"], lou["last_name"], lou["city"]) == ("Lou", "Van Zandt", None)


def test_a_later_ingest_keeps_only_the_contact_rows_still_read(exports, write, tmp_path):
    """A newer order giving a customer's name and address supersedes the older order's row,
    which the workspace no longer keeps; the older order's phone, given by no later order,
    keeps its row."""
    old = write(
        "old.csv",
        exports.SHOPIFY_ORDERS_HEADER,
        _orders(
            exports,
            ("#1001", "ann@example.com", "2024-01-05 10:00:00 -0500", ANN_OLD),
            (
                "#1003",
                "bob@example.com",
                "2024-01-06 10:00:00 -0500",
                {"Billing_Name": "Bob Ray", "Billing_City": "Austin"},
            ),
        ),  # fmt: skip
    )
    new = write(
        "new.csv",
        exports.SHOPIFY_ORDERS_HEADER,
        _orders(
            exports,
            ("#1002", "ann@example.com", "2024-06-05 10:00:00 -0500", ANN_NEW),
            (
                "#1004",
                "bob@example.com",
                "2024-06-06 10:00:00 -0500",
                {"Billing_Name": "Bob Ray", "Billing_City": "Dallas"},
            ),
        ),  # fmt: skip
    )
    path = tmp_path / "w.duckdb"
    contacts = _contacts(path, read_exports([str(old)]), read_exports([str(new)]))
    assert contacts.loc["bob@example.com", "city"] == "Dallas"
    with Workspace(path) as ws:
        kept = sorted(
            row[0] for row in ws.raw.sql("SELECT order_id FROM order_contacts").fetchall()
        )
    assert kept == ["shopify:#1001", "shopify:#1002", "shopify:#1004"]


def test_a_billing_name_written_with_a_no_break_space_is_a_first_and_a_last_name(
    exports, write, tmp_path
):
    """Meta's ``fn`` and ``ln`` and Google's ``First Name`` and ``Last Name`` are matched apart
    (Google's address match needs both): ``Jane`` + no-break space + ``Smith`` (a name pasted
    from a spreadsheet or a web page into the checkout) is first name ``Jane``, last name
    ``Smith``, as the name typed with a space is, not a first name of both words and no last
    name; other Unicode spaces (thin, ideographic) alike, and a run of them is one space."""
    names = _billing_name_parts(
        exports,
        write,
        tmp_path,
        {
            "jane@example.com": "Jane\u00a0Smith",
            "kim@example.com": "Kim\u2009van\u00a0\u00a0Dijk",
            "yu@example.com": "Yu\u3000Tanaka",
        },
    )
    assert names == {
        "jane@example.com": ("Jane", "Smith"),
        "kim@example.com": ("Kim", "van Dijk"),
        "yu@example.com": ("Yu", "Tanaka"),
    }


def test_a_billing_name_of_three_words_keeps_its_family_name_whole(exports, write, tmp_path):
    """Shopify writes ``Billing Name`` as the checkout's first-name field, a space and its
    last-name field, and a second given name, a middle name or an initial goes in the first:
    ``Mary Ann Lee`` is ``Mary Ann`` and ``Lee``, ``John Q. Public`` is ``John Q.`` and
    ``Public`` (a last name ``Ann Lee`` or ``Q. Public`` matches nobody on Meta or Google); a
    family name with its particle stays whole (``dos Santos Silva``, ``de la Cruz``), as does a
    generational suffix after it, which the hashed files leave out (``Smith Jr.``)."""
    names = _billing_name_parts(
        exports,
        write,
        tmp_path,
        {
            "mary@example.com": "Mary Ann Lee",
            "john@example.com": "John Q. Public",
            "ana@example.com": "Ana dos Santos Silva",
            "rosa@example.com": "Rosa Maria De La Cruz",
            "sam@example.com": "Sam Smith Jr.",
        },
    )
    assert names == {
        "mary@example.com": ("Mary Ann", "Lee"),
        "john@example.com": ("John Q.", "Public"),
        "ana@example.com": ("Ana", "dos Santos Silva"),
        "rosa@example.com": ("Rosa Maria", "De La Cruz"),
        "sam@example.com": ("Sam", "Smith Jr."),
    }


def test_a_title_before_a_billing_name_is_no_first_name(exports, write, tmp_path):
    """Google's Customer Match guide asks for first names without prefixes, and Meta matches
    ``fn`` on the given name: Shopify's Billing Name ``Dr. Jane Smith`` is first name ``Jane``
    and last name ``Smith``, not ``Dr.`` and ``Jane Smith`` (no name of either matches); ``Dr.
    Smith`` gives no given name to take, and stays as written."""
    names = _billing_name_parts(
        exports,
        write,
        tmp_path,
        {
            "jane@example.com": "Dr. Jane Smith",
            "kim@example.com": "MRS Kim van Dijk",
            "doc@example.com": "Dr. Smith",
            "drew@example.com": "Drew Barry",
        },
    )
    assert names == {
        "jane@example.com": ("Jane", "Smith"),
        "kim@example.com": ("Kim", "van Dijk"),
        "doc@example.com": ("Dr.", "Smith"),
        "drew@example.com": ("Drew", "Barry"),
    }
