"""Bad cells: amounts in other notations, negative or not numbers; dates in the future, before
1990 or unreadable; one order written twice with different totals."""

from __future__ import annotations

import shlex
from datetime import date, timedelta

import pytest

FORMATS = ["shopify", "orders", "magento", "woocommerce"]


def rotate(values: list) -> list[tuple[str, object]]:
    """(format, value) pairs in which every format and every value occur at least once: each
    case runs on every format without the full cross product (each run is a real command line
    with a DuckDB workspace, so the corpus stays fast)."""
    count = max(len(values), len(FORMATS))
    return [(FORMATS[i % len(FORMATS)], values[i % len(values)]) for i in range(count)]


def _two(corpus, first_amount="10.00", first_date=date(2024, 1, 2)):
    return [
        corpus.order(1, "a@x.com", first_date, first_amount),
        corpus.order(2, "b@x.com", date(2024, 1, 3), "12.00"),
    ]


@pytest.mark.parametrize(
    "fmt, case",
    rotate([("$1,234.50", 1234.5), ("USD 1,234.50", 1234.5), ("1 234.50 €", 1234.5),
            ("£1234.5", 1234.5), ("1,234.50", 1234.5)]),
)  # fmt: skip
def test_currency_symbols_and_thousands_separators_are_read(corpus, tmp_path, fmt, case):
    cell, amount = case
    path = corpus.write(tmp_path / "export.csv", fmt, _two(corpus, cell))
    workspace = tmp_path / "ws.duckdb"
    report = corpus.report(corpus.ingest(path, workspace, "--json"))
    stored = corpus.stored_orders(workspace)
    assert stored["1"][2] == amount and stored["2"][2] == 12.0
    assert report["net_revenue"] == amount + 12.0


@pytest.mark.parametrize(
    "fmt, case",
    rotate(
        [
            ("abc", "cannot read 'abc' as an amount"),
            ("12.3.4", "cannot read '12.3.4' as an amount"),
            ("1e400", "amount is not a finite number"),
            # a decimal comma in a column whose other value has a decimal point: no guessing
            ("1.234,50", "ambiguous amount '1.234,50': the column mixes decimal separators"),
            (
                "",
                {
                    "shopify": "order has no Subtotal",
                    "orders": "value is missing",
                    "magento": "value is missing",
                    "woocommerce": "order has no total",
                },
            ),
        ]  # fmt: skip
    ),
)
def test_unreadable_amounts_are_one_error_and_change_nothing(corpus, tmp_path, fmt, case):
    cell, fragment = case
    fragment = fragment[fmt] if isinstance(fragment, dict) else fragment
    workspace = tmp_path / "ws.duckdb"
    good = corpus.write(tmp_path / "good.csv", fmt, corpus.shop(2))
    corpus.report(corpus.ingest(good, workspace, "--json"))
    before = corpus.state(workspace)
    bad = corpus.write(tmp_path / "bad.csv", fmt, _two(corpus, cell))
    result = corpus.ingest([good, bad], workspace)
    corpus.one_error(result, bad, 2, corpus.AMOUNT[fmt], fragment)
    assert corpus.state(workspace) == before


@pytest.mark.parametrize("large", [False, True])
def test_a_refund_on_a_number_of_its_own_is_left_out_with_a_note(corpus, tmp_path, large):
    """An orders table's refund written as an order of its own (R1001, -30.00) takes back a
    sale the file does not link it to: it is left out, and the report says it is subtracted
    from no one's spend and how to net it; a refund row under its sale's id is netted with it.
    Over 1 MiB the file is loaded by DuckDB: the note must not depend on the route."""
    orders = corpus.large_shop() if large else corpus.shop(2)
    sale = orders[0]
    orders.append(corpus.order("R1001", sale["email"], sale["date"], "-30.00"))
    if not large:  # an order of several rows sends a large file to the importer
        orders.append(corpus.order(sale["number"], sale["email"], sale["date"], "-1.00"))
    path = tmp_path / "orders.csv"
    path.write_text(corpus.render("orders", orders))
    workspace = tmp_path / "ws.duckdb"
    report = corpus.report(corpus.ingest(path, workspace, "--json"))
    assert report["excluded_orders"] == {"negative amount": 1}
    note = (
        "1 order with a negative amount (R1001) is left out as a refund or return and not "
        "subtracted from any customer's spend: the file does not link it to the sale it takes "
        "back; to net a refund with its sale, give its rows the order id of the sale they take "
        "back"
    )
    assert note in report["files"][0]["notes"], report["files"][0]["notes"]
    stored = corpus.stored_orders(workspace)
    assert stored[sale["number"]][2] == float(sale["amount"]) - (0.0 if large else 1.0)


@pytest.mark.parametrize("fmt, cell", rotate(["-5.00", "(5.00)", "5.00-"]))
def test_a_negative_amount_excludes_the_order_and_counts_it(corpus, tmp_path, fmt, cell):
    path = corpus.write(tmp_path / "export.csv", fmt, _two(corpus, cell))
    workspace = tmp_path / "ws.duckdb"
    report = corpus.report(corpus.ingest(path, workspace, "--json"))
    assert report["orders"] == 1 and report["net_revenue"] == 12.0
    assert report["excluded_orders"] == {"negative amount": 1}
    assert report["excluded_rows"] == {"negative amount": 1}
    assert set(corpus.stored_orders(workspace)) == {"2"}
    # the ingest table on screen shows the reason too
    result = corpus.ingest(path, tmp_path / "ws2.duckdb")
    assert result.exit_code == 0 and "negative amount" in result.output


def _future() -> date:
    return date.today() + timedelta(days=30)


DATES = {
    "future": (lambda: f"{_future().isoformat()} 10:00:00", "is in the future (today is"),
    "1985": (lambda: "1985-06-01 10:00:00", "order date 1985-06-01 10:00:00 is before 1990"),
    "epoch": (lambda: "1970-01-01 00:00:00", "is before 1990"),
    "words": (lambda: "yesterday", "cannot read 'yesterday' as a date"),
    "february-30": (lambda: "2024-02-30 10:00:00", "'2024-02-30 10:00:00' is not a valid date"),
}


@pytest.mark.parametrize(
    "fmt, case", [*rotate(list(DATES)), *[(fmt, "future") for fmt in FORMATS[1:]]]
)
def test_implausible_or_unreadable_dates_are_one_error(corpus, tmp_path, fmt, case):
    cell, fragment = DATES[case]
    workspace = tmp_path / "ws.duckdb"
    path = corpus.write(tmp_path / "export.csv", fmt, _two(corpus, first_date=cell()))
    result = corpus.ingest(path, workspace)
    corpus.one_error(result, path, 2, corpus.DATE[fmt], fragment)
    assert not workspace.exists()
    if fmt == "shopify":  # analyze reads files with the same importers
        result = corpus.analyze(path, workspace, tmp_path / "out")
        corpus.one_error(result, path, 2, corpus.DATE[fmt], fragment)
        assert not workspace.exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("fmt", ["orders", "magento"])
def test_an_implausible_day_is_quoted_as_a_day(corpus, tmp_path, fmt):
    """A date without a time of day is quoted as written, not with a midnight it never had."""
    path = corpus.write(tmp_path / "export.csv", fmt, _two(corpus, first_date="1985-06-01"))
    result = corpus.ingest(path, tmp_path / "ws.duckdb")
    corpus.one_error(result, path, 2, corpus.DATE[fmt], "order date 1985-06-01 is before 1990:")


def test_summary_of_a_large_file_refuses_an_implausible_date_too(corpus, tmp_path):
    """``summary FILE`` parses large clean files with DuckDB: it must refuse what ingest does."""
    orders = corpus.large_shop()
    orders[20_000]["date"] = "1985-06-01 10:00:00"
    path = corpus.write(tmp_path / "orders.csv", "orders", orders)
    assert path.stat().st_size > 1 << 20  # large enough for the DuckDB route
    # --format orders: the DuckDB route is tried for one orders table
    result = corpus.invoke("summary", path, "--format", "orders", "--out", tmp_path / "s.csv")
    corpus.one_error(result, path, 20_002, "order_date", "is before 1990")
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize("fmt", ["shopify", "orders"])
def test_dates_from_1990_to_tomorrow_are_accepted(corpus, tmp_path, fmt):
    tomorrow = date.today() + timedelta(days=1)
    orders = [
        corpus.order(1, "a@x.com", "1990-01-01 00:00:00"),
        corpus.order(2, "a@x.com", f"{tomorrow.isoformat()} 23:59:59"),
    ]
    path = corpus.write(tmp_path / "export.csv", fmt, orders)
    report = corpus.report(corpus.ingest(path, tmp_path / "ws.duckdb", "--json"))
    assert report["first_order_date"] == "1990-01-01"
    assert report["last_order_date"] == tomorrow.isoformat()


@pytest.mark.parametrize("fmt", ["shopify", "woocommerce"])
def test_one_order_twice_with_different_totals_names_the_second_row(corpus, tmp_path, fmt):
    orders = corpus.shop(2)
    again = dict(orders[0], amount="99.00")  # the same order number, another total
    orders.insert(2, again)
    path = corpus.write(tmp_path / "export.csv", fmt, orders)
    workspace = tmp_path / "ws.duckdb"
    line = corpus.one_error(
        corpus.ingest(path, workspace), path, 4, corpus.AMOUNT[fmt], "appears again"
    )
    assert "99.00" in line and "10.00 on row 2" in line
    assert not workspace.exists()


def test_magento_refuses_an_increment_id_written_twice(corpus, tmp_path):
    orders = corpus.shop(2)
    orders.insert(2, dict(orders[0], amount="99.00"))
    path = corpus.write(tmp_path / "sales_order.csv", "magento", orders)
    result = corpus.ingest(path, tmp_path / "ws.duckdb")
    corpus.one_error(result, path, 4, "increment_id", "order '1001' appears twice")


def test_orders_table_rows_sharing_an_order_id_are_its_lines_and_add_up(corpus, tmp_path):
    """The orders-table rule (documented): rows with one order id are one order, summed."""
    orders = corpus.shop(2)
    orders.insert(2, dict(orders[0], amount="99.00"))
    path = corpus.write(tmp_path / "orders.csv", "orders", orders)
    workspace = tmp_path / "ws.duckdb"
    report = corpus.report(corpus.ingest(path, workspace, "--json"))
    assert report["rows_read"] == 5 and report["orders"] == 4
    assert corpus.stored_orders(workspace)["1001"][2] == 109.0


@pytest.mark.parametrize("fmt", ["shopify", "magento"])
def test_a_later_export_with_a_changed_total_updates_the_order(corpus, tmp_path, fmt):
    workspace = tmp_path / "ws.duckdb"
    orders = corpus.shop(2)
    corpus.report(corpus.ingest(corpus.write(tmp_path / "a.csv", fmt, orders), workspace, "--json"))
    orders[0]["amount"] = "7.00"
    later = corpus.write(tmp_path / "b.csv", fmt, orders)
    report = corpus.report(corpus.ingest(later, workspace, "--json"))
    assert (report["new_orders"], report["updated_orders"], report["unchanged_orders"]) == (0, 1, 3)
    assert corpus.stored_orders(workspace)["1001"][2] == 7.0


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("stored", [False, True])
def test_two_files_giving_an_order_different_amounts_keep_the_last_and_say_so(
    corpus, tmp_path, fmt, stored
):
    """Files are given oldest first: the last file's version is kept, the conflict is counted
    and named in a note, and a stored order it changes counts as updated."""
    workspace = tmp_path / "ws.duckdb"
    if stored:  # the workspace already holds the order, as in the older file
        stored_file = corpus.write(tmp_path / "0.csv", fmt, corpus.shop(2))
        corpus.report(corpus.ingest(stored_file, workspace, "--json"))
    orders = corpus.shop(2)
    older = corpus.write(tmp_path / "a.csv", fmt, orders)
    orders[1]["amount"] = "99.00"
    newer = corpus.write(tmp_path / "b.csv", fmt, orders)
    report = corpus.report(corpus.ingest([older, newer], workspace, "--json"))
    assert report["conflicting_orders"] == 1
    counts = (report["new_orders"], report["updated_orders"], report["unchanged_orders"])
    assert counts == ((0, 1, 3) if stored else (4, 0, 0))
    assert corpus.stored_orders(workspace)["1002"][2] == 99.0
    (note,) = [note for note in report["notes"] if "differ between the files" in note]
    assert note.startswith("1 order(s) differ between the files of this ingest")
    assert "order 1002, " in note and f" 20.50 in {older}, 99.00 in {newer}" in note
    # on screen too
    result = corpus.ingest([older, newer], tmp_path / "other.duckdb")
    assert result.exit_code == 0 and "note: 1 order(s) differ between the files" in result.output


@pytest.mark.parametrize("fmt", FORMATS)
def test_two_shops_numbering_their_orders_alike_are_told_to_keep_apart(corpus, tmp_path, fmt):
    """A second shop's file numbering its orders as the first does replaces the first shop's
    orders in one ingest: the note says so, and what to do."""
    orders = corpus.shop(2)
    first = corpus.write(tmp_path / "a.csv", fmt, orders)
    other = [{**order, "email": "s2-" + order["email"]} for order in orders]
    second = corpus.write(tmp_path / "b.csv", fmt, other)
    report = corpus.report(corpus.ingest([first, second], tmp_path / "ws.duckdb", "--json"))
    assert report["conflicting_orders"] == 4
    (note,) = [note for note in report["notes"] if "differ between the files" in note]
    assert note.endswith(
        "(files of two shops or tills numbering their orders alike replace each other's "
        "orders: analyse each in a workspace of its own)"
    )
    # ingested one after the other, the second shop's orders replace the first's: said too
    workspace = tmp_path / "w1.duckdb"
    corpus.report(corpus.ingest(first, workspace, "--json"))
    report = corpus.report(corpus.ingest(second, workspace, "--json"))
    assert report["updated_orders"] == 4
    (note,) = [note for note in report["notes"] if "another customer on the same day" in note]
    assert note.startswith("4 stored orders name another customer on the same day (e.g. order ")
    assert note.endswith(
        "read as a customer known by a new e-mail or id; if another shop numbers its orders as "
        "the stored ones, ingest each shop into a workspace of its own"
    )
    # another amount is an update of one shop's order, not another shop's
    orders[1]["amount"] = "99.00"
    newer = corpus.write(tmp_path / "c.csv", fmt, orders)
    report = corpus.report(corpus.ingest([first, newer], tmp_path / "w2.duckdb", "--json"))
    assert not any("two shops" in note for note in report["notes"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_overlapping_exports_of_the_same_orders_are_stored_once_silently(corpus, tmp_path, fmt):
    first = corpus.write(tmp_path / "a.csv", fmt, corpus.shop(2))
    second = corpus.write(tmp_path / "b.csv", fmt, corpus.shop(3))  # a.csv's orders and more
    workspace = tmp_path / "ws.duckdb"
    report = corpus.report(corpus.ingest([first, second], workspace, "--json"))
    assert (report["orders"], report["new_orders"], report["updated_orders"]) == (6, 6, 0)
    # nothing about duplicates (a sales_order table's times are noted as UTC)
    assert all("currency" in note or "created_at is in UTC" in note for note in report["notes"])
    report = corpus.report(corpus.ingest([second, first], workspace, "--json"))
    assert (report["new_orders"], report["updated_orders"], report["unchanged_orders"]) == (0, 0, 6)


REFUNDS = {"shopify": "Refunded Amount", "magento": "base_subtotal_refunded"}


@pytest.mark.parametrize("fmt, cell", [("shopify", "-30.00"), ("shopify", "(30.00)"),
                                       ("magento", "-30.00")])  # fmt: skip
def test_a_negative_refund_is_an_error_naming_its_row(corpus, tmp_path, fmt, cell):
    orders = corpus.shop(2)
    orders[2]["extra"] = {REFUNDS[fmt]: cell}
    path = corpus.write(tmp_path / "export.csv", fmt, orders)
    workspace = tmp_path / "ws.duckdb"
    result = corpus.ingest(path, workspace)
    corpus.one_error(
        result, path, 4, REFUNDS[fmt], "negative amount -30.00: a refund is written as a"
    )
    assert not workspace.exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_point_that_may_separate_thousands_is_one_error(corpus, tmp_path, fmt):
    # 1.500 and 2.300 with no other decimals in the column: 1,500 or 1.5? nothing is guessed
    orders = [
        corpus.order(1, "a@x.com", date(2024, 1, 2), "1.500"),
        corpus.order(2, "b@x.com", date(2024, 1, 3), "49"),
        corpus.order(3, "c@x.com", date(2024, 1, 4), "2.300"),
    ]
    bad = corpus.write(tmp_path / "bad.csv", fmt, orders, delimiter=";")
    result = corpus.ingest(bad, tmp_path / "ws.duckdb")
    corpus.one_error(result, bad, 2, corpus.AMOUNT[fmt], "ambiguous amount '1.500'")


@pytest.mark.parametrize(
    "amounts, read",
    [
        (["1.500", "12.5"], [1.5, 12.5]),  # another amount has a decimal point
        (["1.500", "1250.750"], [1.5, 1250.75]),  # four digits before the point
        (["0.125", "49"], [0.125, 49.0]),  # no thousands start with 0
        (["1.500,00", "49"], [1500.0, 49.0]),  # a decimal comma tells
    ],
)
def test_a_point_the_column_explains_is_read(corpus, tmp_path, amounts, read):
    orders = [
        corpus.order(k + 1, f"c{k}@x.com", date(2024, 1, 2 + k), amount)
        for k, amount in enumerate(amounts)
    ]
    path = corpus.write(tmp_path / "ok.csv", "orders", orders, delimiter=";")
    workspace = tmp_path / "ws.duckdb"
    corpus.report(corpus.ingest(path, workspace, "--json"))
    stored = corpus.stored_orders(workspace)
    assert [stored[str(k + 1)][2] for k in range(len(amounts))] == read


@pytest.mark.parametrize("fmt", FORMATS)
def test_day_first_dates_no_day_tells_are_read_with_the_format_the_error_names(
    corpus, tmp_path, fmt
):
    # 05.01.2024 and 06.02.2024: no day over 12 tells the order; the error names the option
    # that says it, and that option reads any format's dates, not only an orders table's
    orders = [
        corpus.order(1, "a@x.com", "05.01.2024 10:00", "10.00"),
        corpus.order(2, "b@x.com", "06.02.2024 10:00", "12.00"),
    ]
    path = corpus.write(tmp_path / "export.csv", fmt, orders)
    result = corpus.ingest(path, tmp_path / "ws.duckdb")
    line = corpus.one_error(result, path, 2, corpus.DATE[fmt], "--map 'date_format=%d.%m.%Y %H:%M'")
    # the option as a shell passes it: quoted, its space stays inside the one argument
    option = shlex.split(line[line.index("--map") :].rstrip(")"))
    assert option == ["--map", "date_format=%d.%m.%Y %H:%M"]
    workspace = tmp_path / "ws2.duckdb"
    given = corpus.ingest(path, workspace, *option, "--json")
    assert corpus.report(given)["files"][0]["format"] == fmt
    assert corpus.report(given)["first_order_date"] == "2024-01-05"
    assert corpus.report(given)["last_order_date"] == "2024-02-06"


# Magento's tables write ISO dates: another form is no date there at all
@pytest.mark.parametrize("fmt", [fmt for fmt in FORMATS if fmt != "magento"])
def test_dates_mixing_day_first_and_month_first_name_both_cells(corpus, tmp_path, fmt):
    # 15/01/2024 can only be day first, 06/24/2024 only month first: the error is at the
    # second, which contradicts the first, and names both
    orders = [
        corpus.order(1, "a@x.com", "15/01/2024", "10.00"),
        corpus.order(2, "b@x.com", "03/02/2024", "12.00"),
        corpus.order(3, "c@x.com", "06/24/2024", "14.00"),
    ]
    path = corpus.write(tmp_path / "export.csv", fmt, orders)
    result = corpus.ingest(path, tmp_path / "ws.duckdb")
    corpus.one_error(
        result, path, 4, corpus.DATE[fmt],
        "dates mix day/month and month/day order: '15/01/2024' on row 2 has the day first, "
        "'06/24/2024' the month first",
    )  # fmt: skip


def test_a_mapped_status_leaves_orders_out_of_a_large_file_too(corpus, tmp_path):
    # over 1 MiB: DuckDB's route leaves a mapped status to the importer's rules
    lines = ["id,email,created,amount,Status"]
    lines += [f"{k},c{k % 3000}@x.com,2024-0{1 + k % 9}-{1 + k % 28:02d},12.50,"
              f"{'Refunded' if k % 10 == 0 else 'Paid'}" for k in range(40_000)]  # fmt: skip
    path = tmp_path / "payments.csv"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size > 1 << 20
    mapping = "customer_id=email,ordered_at=created,revenue=amount,order_id=id,status=Status"
    report = corpus.report(corpus.ingest(path, tmp_path / "ws.duckdb", "--json", "--map", mapping))
    assert report["orders"] == 36_000 and report["excluded_orders"] == {"refunded": 4_000}
