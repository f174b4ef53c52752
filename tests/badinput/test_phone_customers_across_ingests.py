"""A customer known by a phone alone in one export is the e-mail customer whose orders in another
export (a later quarter, another file of the same ingest) carry that phone, as within one file.
"""

from __future__ import annotations

import pytest

from valuecast.io.phones import PHONE_ID_PREFIX

# format -> the order fields that carry a phone and its country
PHONE = {
    "shopify": lambda phone: {"Phone": phone, "Billing Country": "GB"},
    "woocommerce": lambda phone: {"billing_phone": phone, "billing_country": "GB"},
    "orders": lambda phone: {"phone": phone, "country": "GB"},
}
ORDERS_MAP = (
    "customer_id=customer_id,order_id=order_id,ordered_at=order_date,revenue=revenue,"
    "phone=phone,country=country"
)
ANN_PHONE = "phone:+447700900123"


def _export(corpus, path, fmt, orders):
    """``orders`` (number, e-mail or '', day, amount, phone as written) as an export of ``fmt``."""
    written = []
    for number, email, day, amount, phone in orders:
        written.append(
            corpus.order(number, email, f"{day} 10:00:00", amount, extra=PHONE[fmt](phone))
        )
    if fmt == "orders":  # the generic table's header is fixed: the phone goes in its own columns
        header = ["order_id", "customer_id", "order_date", "revenue", "channel", "phone", "country"]
        rows = [
            {"order_id": o["number"], "customer_id": o["email"], "order_date": o["date"],
             "revenue": o["amount"], "channel": "web", **o["extra"]}
            for o in written
        ]  # fmt: skip
        path.write_text(corpus.io.render_csv(header, rows))
        return path
    return corpus.write(path, fmt, written)


def _ingest(corpus, path, workspace, fmt):
    options = ("--map", ORDERS_MAP) if fmt == "orders" else ()
    return corpus.report(corpus.ingest(path, workspace, "--json", *options))


@pytest.mark.parametrize("fmt", sorted(PHONE))
def test_a_later_export_gives_a_stored_phone_customer_to_its_email_customer(corpus, tmp_path, fmt):
    workspace = tmp_path / "ws.duckdb"
    q1 = [("1001", "", "2024-01-05", "10.00", "+44 7700 900123"),  # Ann at the till
          ("1002", "bob@example.com", "2024-01-06", "20.00", "")]  # fmt: skip
    report = _ingest(corpus, _export(corpus, tmp_path / "q1.csv", fmt, q1), workspace, fmt)
    stored = corpus.stored_orders(workspace)
    assert stored["1001"][0] == ANN_PHONE
    assert report["workspace_customers"] == 2

    # the next quarter: Ann orders online with her e-mail and the same phone, written nationally
    q2 = [("1003", "ann@example.com", "2024-04-05", "30.00", "07700 900123")]
    report = _ingest(corpus, _export(corpus, tmp_path / "q2.csv", fmt, q2), workspace, fmt)
    stored = corpus.stored_orders(workspace)
    assert {number: row[0] for number, row in stored.items()} == {
        "1001": "ann@example.com", "1002": "bob@example.com", "1003": "ann@example.com",
    }  # fmt: skip
    assert report["workspace_customers"] == 2
    assert any(
        note.startswith("1 order without e-mail (1 stored) belongs to the customer")
        for note in report["notes"]
    ), report["notes"]

    # and a later phone-only order finds her too, while Q1's export read again changes nothing
    q3 = [("1004", "", "2024-07-05", "40.00", "+447700900123"), *q1]
    report = _ingest(corpus, _export(corpus, tmp_path / "q3.csv", fmt, q3), workspace, fmt)
    stored = corpus.stored_orders(workspace)
    assert stored["1004"][0] == "ann@example.com"
    assert stored["1001"][0] == "ann@example.com"
    assert report["updated_orders"] == 0
    assert any(
        note.startswith("1 order without e-mail (1 in these files) belongs")
        for note in report["notes"]
    ), report["notes"]


def test_files_of_one_ingest_link_a_phone_as_one_file_does(corpus, tmp_path):
    till = [("1001", "", "2024-01-05", "10.00", "+44 7700 900123")]
    online = [("1002", "ann@example.com", "2024-02-05", "30.00", "07700 900123")]
    files = [
        _export(corpus, tmp_path / "till.csv", "orders", till),
        _export(corpus, tmp_path / "online.csv", "orders", online),
    ]
    workspace = tmp_path / "ws.duckdb"
    report = corpus.report(corpus.ingest(files, workspace, "--json", "--map", ORDERS_MAP))
    assert {row[0] for row in corpus.stored_orders(workspace).values()} == {"ann@example.com"}
    assert report["workspace_customers"] == 1


def test_a_phone_two_customers_carry_links_nothing_across_ingests(corpus, tmp_path):
    workspace = tmp_path / "ws.duckdb"
    office = "+44 20 7946 0000"
    q1 = [("1001", "", "2024-01-05", "10.00", office),
          ("1002", "bob@example.com", "2024-01-06", "20.00", office)]  # fmt: skip
    _ingest(corpus, _export(corpus, tmp_path / "q1.csv", "orders", q1), workspace, "orders")
    assert corpus.stored_orders(workspace)["1001"][0] == "bob@example.com"  # one file's rule
    q2 = [("1003", "cat@example.com", "2024-04-05", "30.00", office)]  # a shared office line
    _ingest(corpus, _export(corpus, tmp_path / "q2.csv", "orders", q2), workspace, "orders")
    q3 = [("1004", "", "2024-07-06", "40.00", office)]
    report = _ingest(
        corpus, _export(corpus, tmp_path / "q3.csv", "orders", q3), workspace, "orders"
    )
    stored = corpus.stored_orders(workspace)
    # what was given before the line proved shared stays; the new phone-only order is the phone's
    assert stored["1001"][0] == "bob@example.com"
    assert stored["1004"][0] == PHONE_ID_PREFIX + "+442079460000"
    assert not any("belong" in note and "phone" in note for note in report["notes"])


def test_a_customers_export_gives_stored_phone_orders_to_the_customer_with_that_phone(
    corpus, tmp_path
):
    workspace = tmp_path / "ws.duckdb"
    till = [("1001", "", "2024-01-05", "10.00", "+44 7700 900123")]
    _ingest(corpus, _export(corpus, tmp_path / "q1.csv", "shopify", till), workspace, "shopify")
    header = corpus.io.SHOPIFY_CUSTOMERS_HEADERS[1]
    ann = {"First Name": "Ann", "Email": "ann@example.com", "Country Code": "GB",
           "Phone": "07700 900123", "Accepts Email Marketing": "yes"}  # fmt: skip
    path = tmp_path / "customers_export.csv"
    path.write_text(corpus.io.render_csv(header, [ann]))
    report = corpus.report(corpus.ingest(path, workspace, "--json"))
    assert corpus.stored_orders(workspace)["1001"][0] == "ann@example.com"
    assert any(note.startswith("1 order without e-mail (1 stored)") for note in report["notes"])


def test_a_large_export_loaded_by_duckdb_gives_a_stored_phone_customer_away_too(
    corpus, tmp_path, monkeypatch
):
    from valuecast.io import shopify_duckdb

    def no_importer(self):
        raise AssertionError("the export went to the importer")

    workspace = tmp_path / "ws.duckdb"
    till = [("1", "", "2024-01-05", "10.00", "+44 7700 900123")]
    _ingest(corpus, _export(corpus, tmp_path / "q1.csv", "shopify", till), workspace, "shopify")
    # over 1 MiB of e-mail orders with phones: DuckDB's route, which writes its phones as
    # written and leaves their normalising to the store
    online = [
        (str(1000 + k), f"c{k}@example.com", f"2024-04-{1 + k % 28:02d}", "30.00",
         f"+44 7700 8{k:05d}")
        for k in range(1, 6000)
    ]  # fmt: skip
    online.append(("999999", "ann@example.com", "2024-04-05", "30.00", "07700 900123"))
    path = _export(corpus, tmp_path / "q2.csv", "shopify", online)
    assert path.stat().st_size > 1 << 20
    monkeypatch.setattr(shopify_duckdb.PendingShopify, "read", no_importer)
    report = _ingest(corpus, path, workspace, "shopify")
    stored = corpus.stored_orders(workspace)
    assert stored["1"][0] == "ann@example.com"
    assert any(note.startswith("1 order without e-mail (1 stored)") for note in report["notes"])
    assert report["workspace_customers"] == 6000
    # and a later phone-only order finds the customer whose phone DuckDB's route kept as written
    later = [("2", "", "2024-07-05", "10.00", "+447700800007")]
    _ingest(corpus, _export(corpus, tmp_path / "q3.csv", "shopify", later), workspace, "shopify")
    assert corpus.stored_orders(workspace)["2"][0] == "c7@example.com"


def test_an_older_export_read_again_leaves_a_linked_order_with_its_customer(corpus, tmp_path):
    # the phone went to Ann, then showed up with Cat (a shared line): reading Q1 again must not
    # give Ann's order back to the phone
    workspace = tmp_path / "ws.duckdb"
    q1 = [("1001", "", "2024-01-05", "10.00", "+44 7700 900123")]
    q1_path = _export(corpus, tmp_path / "q1.csv", "orders", q1)
    _ingest(corpus, q1_path, workspace, "orders")
    q2 = [("1002", "ann@example.com", "2024-04-05", "30.00", "07700 900123")]
    _ingest(corpus, _export(corpus, tmp_path / "q2.csv", "orders", q2), workspace, "orders")
    q3 = [("1003", "cat@example.com", "2024-07-05", "40.00", "07700 900123")]
    _ingest(corpus, _export(corpus, tmp_path / "q3.csv", "orders", q3), workspace, "orders")
    assert corpus.stored_orders(workspace)["1001"][0] == "ann@example.com"
    again = tmp_path / "q1_again.csv"
    again.write_bytes(q1_path.read_bytes())
    report = _ingest(corpus, again, workspace, "orders")
    assert corpus.stored_orders(workspace)["1001"][0] == "ann@example.com"
    assert report["updated_orders"] == 0 and report["unchanged_orders"] == 1


def test_a_phone_customer_whose_orders_went_to_an_email_customer_is_no_prospect(corpus, tmp_path):
    from valuecast.store import Workspace

    workspace = tmp_path / "ws.duckdb"
    till = [("1001", "", "2024-01-05", "10.00", "+44 7700 900123")]
    _ingest(corpus, _export(corpus, tmp_path / "q1.csv", "shopify", till), workspace, "shopify")
    header = corpus.io.SHOPIFY_CUSTOMERS_HEADERS[1]
    rahim = {"Email": "", "Phone": "+44 7700 900123", "Country Code": "GB",
             "Accepts SMS Marketing": "yes"}  # fmt: skip
    path = tmp_path / "customers_export.csv"
    path.write_text(corpus.io.render_csv(header, [rahim]))
    corpus.report(corpus.ingest(path, workspace, "--json"))
    online = [("1002", "ann@example.com", "2024-04-05", "30.00", "07700 900123")]
    _ingest(corpus, _export(corpus, tmp_path / "q2.csv", "shopify", online), workspace, "shopify")
    assert corpus.stored_orders(workspace)["1001"][0] == "ann@example.com"
    with Workspace(workspace, read_only=True) as ws:
        assert ws.prospects().empty  # she bought, under her e-mail


def _ingests_of_a_number_with_and_without_its_country(
    corpus, folder, monkeypatch, *, engine: bool, national_first: bool
) -> tuple[dict[str, str], list[dict]]:
    """Ann's Shopify orders carrying her phone with its country (``+44 7700 900123``) and a
    till's guest order giving it without (``07700 900123``, no country), ingested one after the
    other; the export on DuckDB's route where ``engine``, else the importer's.  Returns each
    stored order's customer and the ingest reports."""
    from valuecast.io import orders_duckdb, shopify_duckdb

    folder.mkdir()
    workspace = folder / "ws.duckdb"
    online = [("5001", "ann@example.com", "2024-04-05", "30.00", "+44 7700 900123"),
              ("5002", "bob@example.com", "2024-04-06", "20.00", "")]  # fmt: skip
    shop = _export(corpus, folder / "online.csv", "shopify", online)
    till = folder / "till.csv"
    till.write_text(
        "order_id,customer_id,ordered_at,revenue,phone\n9,,2024-01-05,10,07700 900123\n"
    )
    steps = [(till, ("--map", "revenue=revenue,phone=phone")), (shop, ())]
    reports = []
    with monkeypatch.context() as patch:
        if engine:  # a small export as a large one: DuckDB loads it, or the test fails
            patch.setattr(orders_duckdb, "MIN_BYTES", 0)
            patch.setattr(shopify_duckdb.PendingShopify, "read", _no_importer)
        for path, options in steps if national_first else steps[::-1]:
            reports.append(corpus.report(corpus.ingest(path, workspace, "--json", *options)))
    customers = {number: row[0] for number, row in corpus.stored_orders(workspace).items()}
    return customers, reports


def _no_importer(self):
    raise AssertionError(f"{self.file}: the export went to the importer")


@pytest.mark.parametrize("national_first", [True, False], ids=["national-first", "country-first"])
def test_a_number_without_its_country_joins_a_large_exports_customer_as_a_small_ones(
    corpus, tmp_path, monkeypatch, national_first
):
    """The customer's phone DuckDB's route keeps as written (``+44 7700 900123``) is the
    number a guest order gives without its country, stored before or after, as the phone the
    importer reads is: one customer, with the same notes."""
    importer = _ingests_of_a_number_with_and_without_its_country(
        corpus, tmp_path / "importer", monkeypatch, engine=False, national_first=national_first
    )
    engine = _ingests_of_a_number_with_and_without_its_country(
        corpus, tmp_path / "engine", monkeypatch, engine=True, national_first=national_first
    )
    customers, reports = importer
    assert customers == {"9": "ann@example.com", "5001": "ann@example.com",
                         "5002": "bob@example.com"}  # fmt: skip
    assert reports[-1]["workspace_customers"] == 2
    assert engine[0] == customers
    for engine_report, report in zip(engine[1], reports, strict=True):
        assert engine_report["notes"] == report["notes"]
        assert engine_report["workspace_customers"] == report["workspace_customers"]


def test_a_phone_seen_with_an_address_follows_its_orders_to_their_account(corpus, tmp_path):
    """A guest's order (an address and a phone) goes to the account a later export shows the
    address belongs to; the phone goes with it, so the next phone-only order joins that account,
    as one file of all three rows gives it, not the address its orders left."""
    workspace = tmp_path / "ws.duckdb"
    mapping = (
        "customer_id=customer_id,email=email,phone=phone,ordered_at=ordered_at,revenue=revenue"
    )
    header = "order_id,customer_id,email,phone,ordered_at,revenue\n"
    rows = ["1001,,e@x.com,+12125550199,2026-01-10,10", "1002,K1,e@x.com,,2026-02-10,20",
            "1003,,,+12125550199,2026-03-10,30"]  # fmt: skip
    for number, row in enumerate(rows):
        path = tmp_path / f"q{number}.csv"
        path.write_text(header + row + "\n")
        corpus.report(
            corpus.ingest(path, workspace, "--json", "--map", mapping + ",order_id=order_id")
        )
    assert {number: row[0] for number, row in corpus.stored_orders(workspace).items()} == {
        "1001": "K1",
        "1002": "K1",
        "1003": "K1",
    }


def test_a_phone_whose_orders_an_export_read_again_gave_a_new_address_links_to_it(corpus, tmp_path):
    """A whole-history export that names a customer's orders by a new e-mail leaves the old
    address without an order: the phone it was seen with is the new address' alone, and the
    next phone-only order joins it, where the phone read as shared by two and linked nothing."""
    workspace = tmp_path / "ws.duckdb"
    phone = "+44 7700 900123"
    jan = [("1001", "old@example.com", "2024-01-05", "50.00", phone)]
    feb = [("1001", "new@example.com", "2024-01-05", "50.00", phone),
           ("1002", "new@example.com", "2024-02-05", "50.00", phone)]  # fmt: skip
    mar = [("1003", "", "2024-03-05", "50.00", phone)]
    for name, orders in (("jan", jan), ("feb", feb), ("mar", mar)):
        path = _export(corpus, tmp_path / f"{name}.csv", "shopify", orders)
        _ingest(corpus, path, workspace, "shopify")
    assert {number: row[0] for number, row in corpus.stored_orders(workspace).items()} == {
        "1001": "new@example.com",
        "1002": "new@example.com",
        "1003": "new@example.com",
    }


def test_a_phone_of_two_customers_stays_shared_when_one_has_only_a_cancelled_order(
    corpus, tmp_path
):
    """A household's phone, seen with A's paid order and B's cancelled one, links nothing: the
    phone-only order stays the phone's, as the file's own rule has it, though B has no stored
    order (only a customer whose orders an export gave to another is dropped from the link)."""
    path = tmp_path / "hh.csv"
    path.write_text(
        "order_id,customer_id,phone,date,revenue,status\n"
        "o1,A,+44 7700 900123,2024-01-05,50,paid\no2,B,+44 7700 900123,2024-01-06,40,cancelled\n"
        "o3,,+44 7700 900123,2024-02-01,30,paid\no4,A,,2024-03-01,20,paid\n"
    )
    mapping = (
        "order_id=order_id,customer_id=customer_id,phone=phone,ordered_at=date,revenue=revenue"
    )
    workspace = tmp_path / "ws.duckdb"
    corpus.report(corpus.ingest(path, workspace, "--json", "--map", mapping + ",status=status"))
    assert {number: row[0] for number, row in corpus.stored_orders(workspace).items()} == {
        "o1": "A",
        "o3": ANN_PHONE,
        "o4": "A",
    }
