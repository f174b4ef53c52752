"""`valuecast affinity` and `valuecast reminders` on a small workspace, through the command line."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from valuecast.cli.products import affinity, reminders
from valuecast.io.schema import (
    CUSTOMERS_SCHEMA,
    ORDER_LINES_SCHEMA,
    ORDERS_SCHEMA,
    ImportResult,
    conform,
)
from valuecast.store import Workspace

runner = CliRunner()
app = typer.Typer()
app.command("affinity")(affinity)
app.command("reminders")(reminders)


def make_workspace(path, orders, lines, consent=None, emails=None):
    """A workspace holding ``orders`` (order number, customer or None, date) and ``lines``
    (order number, product name); ``consent`` maps a customer to the Accepts Marketing their
    orders state, ``emails`` to the e-mail they give (none stated otherwise)."""
    dates = pd.to_datetime([o[2] for o in orders])
    consent, emails = consent or {}, emails or {}
    order_frame = conform(
        pd.DataFrame(
            {
                "order_id": [f"shopify:{o[0]}" for o in orders],
                "source": "shopify",
                "order_number": [o[0] for o in orders],
                "customer_id": [o[1] for o in orders],
                "is_guest": [o[1] is None for o in orders],
                "ordered_at": dates + pd.Timedelta(hours=10),
                "order_date": dates,
                "gross_revenue": 10.0,
                "net_revenue": 10.0,
                "currency": "USD",
                "accepts_marketing": [consent.get(o[1], pd.NA) for o in orders],
                "email": [emails.get(o[1], pd.NA) for o in orders],
            }
        ),
        ORDERS_SCHEMA,
    )
    line_frame = conform(
        pd.DataFrame(
            {
                "order_id": [f"shopify:{line[0]}" for line in lines],
                "line_number": list(range(1, len(lines) + 1)),
                "product_name": [line[1] for line in lines],
                "quantity": 1.0,
                "unit_price": 10.0,
            }
        ),
        ORDER_LINES_SCHEMA,
    )
    result = ImportResult(
        file="orders_export.csv",
        format="shopify",
        rows_read=len(lines),
        orders=order_frame,
        order_lines=line_frame,
        customers=conform(pd.DataFrame(), CUSTOMERS_SCHEMA),
        excluded=Counter(),
    )
    with Workspace(path) as ws:
        ws.ingest([result])
    return path


# Same-order baskets; o3 is a guest's, o6 (the last order date) holds Shampoo and Soap.
BASKETS = [
    ("o1", "ann", "2024-01-01"),
    ("o2", "bob", "2024-01-02"),
    ("o3", None, "2024-01-03"),
    ("o4", "cat", "2024-01-04"),
    ("o5", "dan", "2024-01-05"),
    ("o6", "ann", "2024-04-01"),
    ("o7", "eve", "2024-01-06"),
]
BASKET_LINES = [
    ("o1", "Shampoo"),
    ("o1", "Conditioner"),
    ("o2", "Shampoo"),
    ("o2", "Conditioner"),
    ("o2", "Brush"),
    ("o3", "Shampoo"),
    ("o3", "Conditioner"),
    ("o4", "Shampoo"),
    ("o5", "Brush"),
    ("o5", "Soap"),
    ("o6", "Shampoo"),
    ("o6", "Soap"),
    ("o7", "Soap"),
]

# Coffee re-bought by ann (10 and 20 days) and bob (14 days): a 14-day cycle
REFILLS = [
    ("c1", "ann", "2024-01-01"),
    ("c2", "ann", "2024-01-11"),
    ("c3", "ann", "2024-01-31"),
    ("c4", "bob", "2024-01-01"),
    ("c5", "bob", "2024-01-15"),
    ("c6", "cat", "2024-02-01"),
    ("c7", "fay", "2024-01-01"),
    ("c8", None, "2024-02-10"),
]
REFILL_LINES = [(number, "Coffee") for number, *_ in REFILLS]


@pytest.fixture
def baskets(tmp_path):
    return make_workspace(tmp_path / "ws.duckdb", BASKETS, BASKET_LINES)


@pytest.fixture
def refills(tmp_path):
    return make_workspace(tmp_path / "refills.duckdb", REFILLS, REFILL_LINES)


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_affinity_writes_both_files_with_the_default_as_of(baskets, tmp_path):
    out = tmp_path / "products"
    result = runner.invoke(app, ["affinity", "--workspace", str(baskets), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "as of 2024-04-01" in result.output and "Conditioner" in result.output
    pairs = pd.read_csv(out / "affinity.csv")
    # as of the last order date 2024-04-01: 7 orders with lines, Shampoo in 5, Conditioner in 3,
    # together in 3 (o1, o2 and the guest's o3).  Shampoo -> Conditioner: support 3/7,
    # confidence 3/5, lift (3/5) / (3/7) = 1.4; Conditioner -> Shampoo: confidence 1, lift 7/5.
    # "after": ann's Soap (04-01) comes 91 days after her first Shampoo: outside 90 days.
    # Three orders of Conditioner all holding the Shampoo 5 of 7 orders hold: (5/7)^3 = 36% by
    # chance alone, so the pair is not beyond chance
    assert list(pairs.columns) == [
        "kind", "product_a", "product_b", "pairs", "support", "confidence", "lift",
        "beyond_chance",
    ]  # fmt: skip
    assert pairs.values.tolist() == [
        ["same order", "Conditioner", "Shampoo", 3, round(3 / 7, 6), 1.0, 1.4, False],
        ["same order", "Shampoo", "Conditioner", 3, round(3 / 7, 6), 0.6, 1.4, False],
    ]
    suggestions = pd.read_csv(out / "next_products.csv")
    # only cat (Shampoo) lacks a product of a rule: Conditioner, 3/5, because of Shampoo
    assert suggestions.values.tolist() == [["cat", 1, "Conditioner", 0.6, "Shampoo", "same order"]]
    assert sorted(p.name for p in out.iterdir()) == ["affinity.csv", "next_products.csv"]


def test_affinity_as_of_and_within_days(baskets, tmp_path):
    out = tmp_path / "p"
    result = runner.invoke(
        app,
        ["affinity", "-w", str(baskets), "--as-of", "2024-03-31", "--within-days", "30", "-o",
         str(out), "--min-pairs", "3"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    pairs = pd.read_csv(out / "affinity.csv")
    # without o6: 6 orders, Shampoo in 4 -> Shampoo -> Conditioner confidence 3/4, lift 1.5
    assert pairs[["product_a", "pairs", "confidence", "lift"]].values.tolist() == [
        ["Conditioner", 3, 1.0, 1.5],
        ["Shampoo", 3, 0.75, 1.5],
    ]
    result = runner.invoke(
        app, ["affinity", "-w", str(baskets), "--as-of", "2024-03-31", "-o", str(out),
              "--min-pairs", "4"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out / "affinity.csv").empty
    assert pd.read_csv(out / "next_products.csv").empty


def test_reminders_prints_and_writes(refills, tmp_path):
    out = tmp_path / "due.csv"
    result = runner.invoke(
        app,
        ["reminders", "-w", str(refills), "--as-of", "2024-02-10", "--due-within", "12",
         "--min-customers", "2", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # Coffee gaps 10, 20 (ann: 15 days), 14 (bob): the product's cycle is the median of 15 and
    # 14 = 14.5 -> 15 days.  As of 02-10: fay (bought once) 01-01 -> due 01-16 (-25, more than
    # 12 days late: dropped); bob (one gap of 14) on (14 + 14.5) / 2 = 14.25 days an item, cycle
    # (14 + 15) / 2 = 14.5 -> 15: 01-15 -> 01-29 (-12); ann (gaps 10, 20) on (2 x 15 + 14.5) / 3
    # = 14.83 -> 15 days: 01-31 -> 02-15 (+5); cat (once) 02-01 -> 02-16 (+6); the guest gets
    # none
    due = pd.read_csv(out)
    assert due.drop(columns="email").values.tolist() == [
        ["bob", "Coffee", "2024-01-15", 1.0, 15, 15, 14, "2024-01-29", -12],
        ["ann", "Coffee", "2024-01-31", 1.0, 15, 15, 15, "2024-02-15", 5],
        ["cat", "Coffee", "2024-02-01", 1.0, 15, 15, 15, "2024-02-16", 6],
    ]
    assert due["email"].isna().all()  # ids that are no address, and no export gives one
    assert (
        "3 reminders due within 12 days of 2024-02-10 or overdue by up to 12 days" in result.output
    )
    assert (
        "note: 1 reminder overdue by more than 12 days (or the customer's cycle) left out: those "
        "customers had their reminder or have lapsed, and writing to them is a win-back"
    ) in " ".join(result.output.split())
    # the per-product table gives the product's cycle (15)
    row = next(line for line in result.output.splitlines() if "Coffee" in line and "│" in line)
    assert [cell.strip() for cell in row.strip("│ ").split("│")] == ["Coffee", "15", "3", "1"]
    assert "Coffee" in result.output and "bob" in result.output
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_reminders_one_long_gap_does_not_set_a_customer_s_cycle(tmp_path):
    """Five customers re-buy the beans every 30 days; zed once after 150 days.  zed's cycle
    weighs the product's 30 days in as one more gap, so on a day when the 150 days alone would
    make him "100 days overdue" at the top of a list looking 100 days either way he reads as
    lapsed instead."""
    orders = [
        (f"{c}{k}", c, day) for c in "abcde" for k, day in enumerate(["2024-01-01", "2024-01-31"])
    ]
    orders += [("z1", "zed", "2024-01-01"), ("z2", "zed", "2024-05-30")]
    orders += [
        ("y1", "yan", "2024-12-01"),
        ("y2", "yan", "2024-12-21"),
        ("y3", "yan", "2025-01-10"),
    ]
    orders += [("n1", "new", "2025-01-10")]
    workspace = make_workspace(tmp_path / "beans.duckdb", orders, [(o[0], "Beans") for o in orders])
    result = runner.invoke(
        app, ["reminders", "-w", str(workspace), "--as-of", "2025-02-04", "--due-within", "100"]
    )
    assert result.exit_code == 0, result.output
    # the product's cycle: the median of the customers' own 30 (x5), 150 (zed), 20 (yan) = 30.
    # zed (one gap of 150): (150 + 30) / 2 = 90 days: 2024-05-30 -> 08-28, 160 days before
    # 2025-02-04: more than his 90-day cycle late, left out (on 150 days alone: 10-27, 100 days
    # overdue, listed); yan (gaps 20, 20): (2 x 20 + 30) / 3 = 23.3 -> 23 days: 01-10 -> 02-02
    # (2 days overdue); new (bought once) 01-10 + 30 = 02-09 (in 5 days); a..e lapsed long ago
    flat = " ".join(result.output.split())
    assert "zed" not in result.output
    assert "yan │ Beans │ 2025-01-10 │ 1 │ 2025-02-02 │ 2 days overdue" in flat
    assert "new │ Beans │ 2025-01-10 │ 1 │ 2025-02-09 │ in 5 days" in flat
    assert (
        "2 reminders due within 100 days of 2025-02-04 or overdue by up to 100 days"
        in result.output
    )
    # the per-product table gives the product's 30 days, not its first reminder's (yan's 23)
    row = next(line for line in result.output.splitlines() if "Beans" in line and "│" in line)
    assert [cell.strip() for cell in row.strip("│ ").split("│")] == ["Beans", "30", "2", "1"]


def test_reminders_default_as_of_and_no_out(refills, tmp_path):
    result = runner.invoke(
        app, ["reminders", "-w", str(refills), "--min-customers", "2", "--due-within", "14"]
    )
    assert result.exit_code == 0, result.output
    # as of the last order date 02-10 (the guest's), due within 14 days: bob (-12), ann (+5),
    # cat (+6); one product with a cycle
    assert "3 reminders due within 14 days of 2024-02-10" in result.output
    assert "products with a cycle: 1" in result.output
    # the default minimum of 5 re-buying customers leaves no cycle
    result = runner.invoke(app, ["reminders", "-w", str(refills)])
    assert result.exit_code == 0, result.output
    assert "0 reminders" in result.output and "products with a cycle: 0" in result.output


def test_a_product_name_with_a_line_break_is_printed_on_one_line(tmp_path):
    """A spreadsheet's Alt+Enter in a product name would break the printed table's rows; the
    file keeps the name as written."""
    lines = [(number, "Coffee\nBeans") for number, *_ in REFILLS]
    path = make_workspace(tmp_path / "w.duckdb", REFILLS, lines)
    out = tmp_path / "due.csv"
    result = runner.invoke(
        app, ["reminders", "-w", str(path), "--min-customers", "2", "--due-within", "14",
              "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.count("Coffee Beans") == 4  # per product, then bob's, ann's and cat's
    assert "Beans" not in result.output.replace("Coffee Beans", "")
    assert set(pd.read_csv(out)["product"]) == {"Coffee\nBeans"}


def test_errors_are_one_line(baskets, tmp_path):
    missing = tmp_path / "nope.duckdb"
    line = one_error_line(runner.invoke(app, ["affinity", "-w", str(missing)]))
    assert "nope.duckdb: no such workspace" in line
    line = one_error_line(runner.invoke(app, ["reminders", "-w", str(missing)]))
    assert "no such workspace" in line
    line = one_error_line(runner.invoke(app, ["affinity", "-w", str(baskets), "--as-of", "x"]))
    assert "not a date" in line
    out = tmp_path / "o"
    line = one_error_line(
        runner.invoke(app, ["affinity", "-w", str(baskets), "--within-days", "0", "-o", str(out)])
    )
    assert "--within-days must be at least 1 (got 0)" in line  # the option as typed
    assert not out.exists()
    line = one_error_line(runner.invoke(app, ["affinity", "-w", str(baskets), "--top", "0"]))
    assert "--top must be at least 1 (got 0)" in line
    line = one_error_line(
        runner.invoke(app, ["reminders", "-w", str(baskets), "--min-customers", "0"])
    )
    assert "--min-customers must be at least 1 (got 0)" in line
    line = one_error_line(
        runner.invoke(
            app, ["reminders", "-w", str(baskets), "--out", str(tmp_path / "a" / "b.csv")]
        )
    )
    assert "does not exist" in line
    line = one_error_line(
        runner.invoke(app, ["reminders", "-w", str(baskets), "--due-within", "-1"])
    )
    assert "--due-within must be at least 0 (got -1)" in line
    not_a_workspace = tmp_path / "plain.duckdb"
    not_a_workspace.write_bytes(b"not a database")
    line = one_error_line(runner.invoke(app, ["reminders", "-w", str(not_a_workspace)]))
    assert "plain.duckdb" in line


def test_a_history_shorter_than_the_window_says_why_no_pair_follows(baskets, tmp_path):
    # 2024-01-01 to 2024-01-06: six days, against a 90-day window
    result = runner.invoke(
        app, ["affinity", "-w", str(baskets), "--as-of", "2024-01-06", "-o", str(tmp_path / "p")]
    )
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "0 after within 90 days" in flat
    assert "note: the history (5 days) is shorter than --within-days 90" in flat
    enough = runner.invoke(
        app, ["affinity", "-w", str(baskets), "--as-of", "2024-01-06", "--within-days", "3",
              "-o", str(tmp_path / "q")],
    )  # fmt: skip
    assert enough.exit_code == 0, enough.output
    assert "shorter than --within-days" not in enough.output
    before = runner.invoke(
        app, ["affinity", "-w", str(baskets), "--as-of", "2023-01-01", "-o", str(tmp_path / "r")]
    )
    assert before.exit_code == 0, before.output
    flat = " ".join(before.output.split())
    assert "note: the as-of date 2023-01-01 is before the first order (2024-01-01)" in flat
    assert "days) is shorter than" not in flat  # no history of -365 days


def test_a_shop_whose_pairs_chance_alone_gives_is_told_so(baskets, tmp_path):
    """Seven orders: Shampoo and Conditioner together in 3 of them, where independence predicts
    2.1 (Shampoo in 5, Conditioner in 3); chance gives 3 or more in a third of such shops."""
    result = runner.invoke(app, ["affinity", "-w", str(baskets), "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert (
        "note: no pair is seen more often than chance alone often gives (at most 3 orders or "
        "customers a pair): too few purchases yet to tell an affinity from chance, so the next "
        "products are weak suggestions" in " ".join(result.output.split())
    )


def test_a_pair_bought_together_far_beyond_chance_gets_no_such_note(tmp_path):
    """Forty orders: Pen and Ink together in 10, each only there (chance predicts 2.5)."""
    orders = [(f"p{i}", f"c{i}", f"2024-01-{1 + i % 28:02d}") for i in range(40)]
    lines = [(f"p{i}", name) for i in range(10) for name in ("Pen", "Ink")]
    lines += [(f"p{i}", ("Pad", "Clip", "Tape")[i % 3]) for i in range(10, 40)]
    path = make_workspace(tmp_path / "w.duckdb", orders, lines)
    result = runner.invoke(app, ["affinity", "-w", str(path), "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "Pen" in result.output and "chance" not in result.output


def test_a_pair_with_a_best_seller_beyond_chance_is_not_called_chance(tmp_path):
    """A hundred orders: the Whey in 75, the Shaker in 20, each of them beside the Whey.  Were
    they independent, all 20 would hold the Whey with a chance of 0.75^20 = 0.3%; a Poisson
    count of mean 15 (the pairs chance predicts) reaches 20 in 12% and called it chance."""
    from valuecast.analysis.growth.affinity import within_chance

    orders = [(f"w{i}", f"c{i}", f"2024-01-{1 + i % 28:02d}") for i in range(100)]
    lines = [(f"w{i}", "Whey Protein") for i in range(75)]
    lines += [(f"w{i}", "Shaker") for i in range(20)]
    lines += [(f"w{i}", "Bar") for i in range(75, 100)]
    path = make_workspace(tmp_path / "w.duckdb", orders, lines)
    result = runner.invoke(app, ["affinity", "-w", str(path), "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "Shaker" in result.output and "chance" not in result.output
    rows = pd.read_csv(tmp_path / "o" / "affinity.csv")
    assert set(rows["kind"]) == {"same order"} and len(rows) == 2
    assert not within_chance(rows).any()  # the same answer whichever product comes first


def test_shipping_lines_are_left_out_and_counted(tmp_path):
    orders = [(f"s{i}", f"c{i % 3}", f"2024-01-{i + 1:02d}") for i in range(9)]
    lines = [(o[0], "Shampoo" if i % 2 else "Soap") for i, o in enumerate(orders)]
    lines += [(o[0], "Shipping") for o in orders]
    ws = make_workspace(tmp_path / "ws.duckdb", orders, lines)
    out = tmp_path / "products"
    result = runner.invoke(app, ["affinity", "--workspace", str(ws), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "note: 9 order lines of shipping, fees and other non-products left out (Shipping 9)" in (
        " ".join(result.output.split())
    )
    pairs = pd.read_csv(out / "affinity.csv")
    assert "Shipping" not in set(pairs["product_a"]) | set(pairs["product_b"])
    result = runner.invoke(
        app, ["reminders", "--workspace", str(ws), "--min-customers", "1", "--not-product", "soap"]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "left out (Shipping 9, Soap 5)" in text and "products with a cycle: 1" in text


def test_reminders_on_an_80_column_terminal_name_each_customer_whole(tmp_path):
    """A reminder is for someone: on an 80-column terminal a long e-mail is not cut to
    "annabelle.longname@…" (each reminder is a line of its own where the table cannot fit)."""
    from valuecast.cli import common

    renamed = {"ann": "annabelle.longname-somewhere@example-mail.co.uk",
               "bob": "bartholomew.otherlongname@example-mail.co.uk"}  # fmt: skip
    orders = [(number, renamed.get(who, who), day) for number, who, day in REFILLS]
    lines = [(number, "Organic Single Origin Coffee Beans 1kg Bag") for number, *_ in REFILLS]
    workspace = make_workspace(tmp_path / "w.duckdb", orders, lines)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(common.console, "_width", 80)
        result = runner.invoke(
            app, ["reminders", "-w", str(workspace), "--min-customers", "2", "--due-within", "12"]
        )  # bob 12 days overdue, ann due in 5 (her own 15 days), cat in 6
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    for customer in renamed.values():
        assert customer in result.output
    flat = " ".join(result.output.split())
    assert f"{renamed['bob']}: Organic Single Origin Coffee Beans 1kg Bag, last bought " in flat
    assert "due 2024-01-29 (12 days overdue)" in flat and "due 2024-02-15 (in 5 days)" in flat


def test_a_products_sizes_are_one_product_in_affinity_as_in_reminders(tmp_path):
    """Shopify names a line ``Title - Variant``: six customers take the 250g bag, then the 1kg
    bag a month later, and four buy filter papers with their first bag.  The sizes are one
    coffee to pair, to suggest and to re-buy; a name alone with its title stays a product."""
    orders = [(f"a{c}", f"c{c}", "2024-01-01") for c in range(6)]
    orders += [(f"b{c}", f"c{c}", "2024-02-01") for c in range(6)]
    lines = [(f"a{c}", "Coffee beans - 250g") for c in range(6)]
    lines += [(f"b{c}", "Coffee beans - 1kg") for c in range(6)]
    lines += [(f"a{c}", "Filter papers") for c in range(4)]
    lines += [(f"b{c}", "Jazz - Live at Montreux") for c in range(2)]
    ws = make_workspace(tmp_path / "ws.duckdb", orders, lines)
    out = tmp_path / "products"
    result = runner.invoke(app, ["affinity", "--workspace", str(ws), "--out", str(out)])
    assert result.exit_code == 0, result.output
    pairs = pd.read_csv(out / "affinity.csv")
    assert set(pairs["product_a"]) | set(pairs["product_b"]) == {
        "Coffee beans", "Filter papers", "Jazz - Live at Montreux",
    }  # fmt: skip
    suggested = pd.read_csv(out / "next_products.csv")
    # c4 and c5 drink the coffee: offered the filter papers and the jazz, never another size
    assert set(suggested.loc[suggested["customer_id"] == "c5", "product"]) == {
        "Filter papers", "Jazz - Live at Montreux",
    }  # fmt: skip
    assert not suggested["product"].str.startswith("Coffee beans").any()
    due = tmp_path / "due.csv"
    result = runner.invoke(
        app,
        ["reminders", "-w", str(ws), "--min-customers", "1", "--due-within", "60", "-o", str(due)],
    )
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(due)["product"]) == {"Coffee beans"}


def test_a_reminder_past_its_due_date_is_said_to_be_overdue(refills):
    """The first reminders' table says "12 days overdue" and "in 4 days", not -12 and 4 under
    "days until due" beside a due date already past."""
    from valuecast.cli import common

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(common.console, "_width", 200)
        result = runner.invoke(
            app,
            ["reminders", "-w", str(refills), "--as-of", "2024-02-10", "--due-within", "12",
             "--min-customers", "2"],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [line.split("│") for line in result.output.splitlines() if "2024-01-15" in line]
    assert [cell.strip() for cell in rows[0][-3:-1]] == ["2024-01-29", "12 days overdue"]
    rows = [line.split("│") for line in result.output.splitlines() if "2024-01-31" in line]
    assert [cell.strip() for cell in rows[0][-3:-1]] == ["2024-02-15", "in 5 days"]
    assert "days until due" not in result.output


def test_two_best_sellers_at_chance_level_are_not_said_to_want_purchases(tmp_path):
    """Coffee is in each of 40 orders, Filters in 20 of them: 20 orders hold both, as chance
    has it (lift 1).  The note says so, not that there are too few purchases yet."""
    orders = [(f"{1000 + i}", f"c{i}", f"2024-0{1 + i % 6}-1{i % 10}") for i in range(40)]
    lines = [(number, "Coffee") for number, *_ in orders]
    lines += [(number, "Filters") for number, *_ in orders[:20]]
    workspace = make_workspace(tmp_path / "w.duckdb", orders, lines)
    result = runner.invoke(app, ["affinity", "-w", str(workspace), "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert (
        "note: no pair is seen more often than chance alone often gives (at most 20 orders or "
        "customers a pair): the products are bought together about as often as their sales "
        "alone have it, so the next products are weak suggestions" in flat
    )


def test_affinity_and_reminders_of_orders_naming_no_product_say_what_adds_them(tmp_path):
    """On an orders table of customer, date and amount both printed "0 product pairs" and "0
    reminders" as if nothing had sold together, where the orders name no products at all."""
    plain = make_workspace(tmp_path / "plain.duckdb", REFILLS, [])
    for command in ("affinity", "reminders"):
        out = tmp_path / command
        out.mkdir()
        result = runner.invoke(app, [command, "--workspace", str(plain), "--out", str(out)])
        assert result.exit_code == 0, result.output
        text = " ".join(result.output.split())
        assert "note: the orders name no products (an orders table without line items)" in text
        assert "--map product=COLUMN" in text
    # a workspace whose lines name products gets no such note
    result = runner.invoke(app, ["reminders", "--workspace", str(make_workspace(
        tmp_path / "named.duckdb", REFILLS, REFILL_LINES))])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "name no products" not in result.output


def test_reminders_out_as_a_folder_writes_reminders_csv_in_it(refills, tmp_path):
    """``--out FOLDER`` was an error ("is a folder (give a .csv file)") where affinity's and
    analyze's --out take a folder."""
    folder = tmp_path / "results"
    folder.mkdir()
    args = ["reminders", "-w", str(refills), "--min-customers", "2", "--out"]
    result = runner.invoke(app, [*args, str(folder)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(folder / "reminders.csv")
    assert sorted(written["customer_id"]) == ["ann", "bob", "cat"]
    # the same rows as a file named by --out
    result = runner.invoke(app, [*args, str(tmp_path / "named.csv")])
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(written, pd.read_csv(tmp_path / "named.csv"))


def test_reminders_leave_out_customers_who_decline_marketing(tmp_path):
    """bob's orders say he declines marketing, ann's that she accepts it, fay's nothing: bob's
    reminder is no e-mail to send (unless --include-non-consenting), and fay's consent is
    said to be unrecorded."""
    workspace = make_workspace(
        tmp_path / "consent.duckdb", REFILLS, REFILL_LINES, {"ann": True, "bob": False}
    )
    out = tmp_path / "due.csv"
    # as of 02-05 bob is due 7 days ago, ann in 10 days (cat's 02-16 is 11 days ahead)
    base = ["reminders", "-w", str(workspace), "--as-of", "2024-02-05", "--due-within", "10",
            "--min-customers", "2", "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, base)
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["customer_id"].tolist() == ["ann"]
    assert "1 reminder due within 10 days" in result.output
    assert "1 reminder left out: their customer declines marketing" in result.output
    assert "bob" not in result.output

    kept = runner.invoke(app, [*base, "--include-non-consenting"])
    assert kept.exit_code == 0, kept.output
    assert pd.read_csv(out)["customer_id"].tolist() == ["bob", "ann"]
    assert "1 reminder goes to customers who decline marketing" in kept.output


def test_reminders_say_when_no_export_records_a_customer_s_consent(refills, tmp_path):
    result = runner.invoke(
        app,
        ["reminders", "-w", str(refills), "--as-of", "2024-02-05", "--due-within", "10",
         "--min-customers", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 reminders go to customers whose marketing consent no export records" in (
        " ".join(result.output.split())
    )


def test_reminders_of_a_shop_keyed_by_customer_number_give_each_customer_s_address(tmp_path):
    """A shop keyed by customer number: the reminders to send carry the e-mail address the
    customer's orders give, beside the number, so that the file is a list to e-mail."""
    numbered = [(number, {"ann": "1001", "bob": "1002"}.get(who, who), day)
                for number, who, day in REFILLS]  # fmt: skip
    workspace = make_workspace(
        tmp_path / "numbers.duckdb", numbered, REFILL_LINES,
        {"1001": True, "1002": True}, {"1001": "ann@example.com", "1002": "Bob@Example.com"},
    )  # fmt: skip
    out = tmp_path / "due.csv"
    result = runner.invoke(
        app,
        ["reminders", "-w", str(workspace), "--as-of", "2024-02-05", "--due-within", "10",
         "--min-customers", "2", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    due = pd.read_csv(out, dtype=str)
    assert list(due.columns[:3]) == ["customer_id", "email", "product"]
    assert due[["customer_id", "email"]].values.tolist() == [
        ["1002", "Bob@Example.com"], ["1001", "ann@example.com"]
    ]  # fmt: skip
