"""WooCommerce's own orders table under High-Performance Order Storage (``wp_wc_orders``)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pandas as pd
import pytest
from typer.testing import CliRunner

from valuecast.cli import app
from valuecast.io import detect_format, read_exports, woocommerce
from valuecast.io.schema import InputError
from valuecast.store import Workspace

VAT = 0.19
SHIPPING = 4.90  # gross, VAT in


@dataclass
class Shop:
    """A small Berlin shop's wc_orders rows, and what they should read as."""

    rows: list[dict] = field(default_factory=list)
    net: dict[str, float] = field(default_factory=dict)
    """Counted orders: net revenue, without VAT, shipping in (wc_orders has none of its own)."""
    refunded: dict[str, float] = field(default_factory=dict)
    excluded: dict[str, list[str]] = field(default_factory=dict)
    rows_excluded: dict[str, int] = field(default_factory=dict)
    next_id: int = 1000

    def add(self, **row) -> dict:
        row.setdefault("id", self.next_id)
        self.next_id = max(self.next_id, int(row["id"])) + 1
        row.setdefault("currency", "EUR")
        row.setdefault("type", "shop_order")
        row.setdefault("parent_order_id", 0)
        row.setdefault("payment_method", "stripe")
        row.setdefault("payment_method_title", "Kreditkarte")
        row.setdefault("ip_address", "203.0.113.7")
        row.setdefault("user_agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
        row.setdefault("date_updated_gmt", row["date_created_gmt"])
        self.rows.append(row)
        return row

    def exclude(self, reason: str, order_id: int, rows: int) -> None:
        self.excluded.setdefault(reason, []).append(str(order_id))
        self.rows_excluded[reason] = self.rows_excluded.get(reason, 0) + rows


def vat_of(gross: float) -> float:
    return round(gross * VAT / (1 + VAT), 2)


def build_shop(seed: int = 7, customers: int = 160) -> Shop:
    """About 160 customers of a shop in Berlin over 2023-2024, prices with 19% VAT: accounts and
    guests, partial refunds (a refund row), full refunds, cancelled, failed, pending, on-hold,
    drafts, refunds of orders older than the dump, and a subscription record."""
    rng = random.Random(seed)
    shop = Shop()
    statuses = ["wc-completed"] * 14 + ["wc-processing", "wc-on-hold", "wc-pending",
                                        "wc-cancelled", "wc-failed", "wc-refunded",
                                        "wc-checkout-draft", "trash"]  # fmt: skip
    reasons = {"wc-cancelled": "cancelled", "wc-failed": "failed", "wc-refunded": "refunded",
               "wc-checkout-draft": "draft", "trash": "trash"}  # fmt: skip
    for number in range(customers):
        email = f"kunde{number}@example.de"
        account = 0 if number % 3 == 0 else 500 + number  # every third checks out as a guest
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 5])):
            items = round(rng.uniform(12, 180), 2)
            total = round(items + SHIPPING, 2)
            created = pd.Timestamp("2023-01-01") + pd.Timedelta(minutes=rng.randrange(700_000))
            status = rng.choice(statuses)
            order = shop.add(
                status=status, tax_amount=f"{vat_of(items) + vat_of(SHIPPING):.8f}",
                total_amount=f"{total:.8f}", customer_id=account, billing_email=email,
                date_created_gmt=created.strftime("%Y-%m-%d %H:%M:%S"),
                transaction_id=f"pi_{rng.randrange(10**12)}",
            )  # fmt: skip
            order_id = order["id"]
            refund = 0.0
            if status == "wc-refunded":
                refund = total
            elif status == "wc-completed" and rng.random() < 0.15:
                refund = round(items * rng.choice([0.25, 0.5]), 2)
            if refund:
                shop.add(
                    status="wc-completed", type="shop_order_refund",
                    tax_amount=f"{-vat_of(refund):.8f}", total_amount=f"{-refund:.8f}",
                    customer_id=0, billing_email=None, parent_order_id=order_id,
                    payment_method=None, payment_method_title=None, ip_address=None,
                    user_agent=None,
                    date_created_gmt=(created + pd.Timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S"),
                )  # fmt: skip
            rows = 2 if refund else 1
            if status in reasons:
                shop.exclude(reasons[status], order_id, rows)
                continue
            taxes = vat_of(items) + vat_of(SHIPPING)
            shop.net[str(order_id)] = total - taxes - (refund - vat_of(refund))
            if refund:
                shop.refunded[str(order_id)] = refund
    # refunds of orders placed before the dump's first order: no order to take them off
    for parent in (17, 18):
        row = shop.add(status="wc-completed", type="shop_order_refund", tax_amount="-1.60000000",
                       total_amount="-10.00000000", customer_id=0, billing_email=None,
                       parent_order_id=parent, date_created_gmt="2023-01-04 10:00:00")  # fmt: skip
        shop.exclude(woocommerce.REFUND_WITHOUT_ORDER, parent, 1)
        assert row["id"] != parent
    # WooCommerce Subscriptions keeps its subscriptions in wc_orders too: not orders
    sub = shop.add(status="wc-active", type="shop_subscription", tax_amount="3.19000000",
                   total_amount="19.99000000", customer_id=501, billing_email="kunde1@example.de",
                   date_created_gmt="2023-02-01 09:00:00")  # fmt: skip
    shop.exclude(woocommerce.NOT_AN_ORDER, sub["id"], 1)
    rng.shuffle(shop.rows)  # a dump in the database's order, not the orders'
    return shop


def test_a_wc_orders_table_is_recognised_and_its_refunds_come_off_their_orders(exports, write):
    shop = build_shop()
    path = write("wp_wc_orders.csv", exports.WOO_HPOS_HEADER, shop.rows)
    assert detect_format(path) == "woocommerce"
    (result,) = read_exports([path])
    assert result.format == "woocommerce" and result.rows_read == len(shop.rows)
    orders = result.orders.set_index("order_number")
    buyers = {row["billing_email"] for row in shop.rows if str(row["id"]) in shop.net}
    assert set(orders["customer_id"]) == buyers and len(buyers) > 120
    assert sorted(orders.index) == sorted(shop.net)
    net = orders["net_revenue"].reindex(list(shop.net))
    assert net.tolist() == pytest.approx(list(shop.net.values()), abs=0.011)
    assert orders["refunded"].reindex(list(shop.refunded)).tolist() == pytest.approx(
        list(shop.refunded.values())
    )
    assert len(shop.refunded) >= 5
    assert (orders.drop(index=list(shop.refunded))["refunded"] == 0).all()
    assert {reason: sorted(ids) for reason, ids in shop.excluded.items()} == {
        reason: sorted(result.excluded_detail.query("reason == @reason")["order_number"])
        for reason in result.excluded_orders
    }
    # every row is counted: a refunded order's refund row with it, an orphan refund on its own
    assert dict(result.excluded) == shop.rows_excluded
    assert sum(result.excluded.values()) + len(
        [r for r in shop.rows if str(r.get("parent_order_id") or r["id"]) in shop.net]
    ) == len(shop.rows)
    assert orders["currency"].eq("EUR").all() and orders["shipping"].eq(0).all()
    assert any(note.startswith("date_created_gmt is in UTC") for note in result.notes)
    assert any("no shipping amounts" in note for note in result.notes)
    assert any("(1 shop_subscription)" in note for note in result.notes)
    assert not [note for note in result.notes if "wc-active" in note]  # the subscription's
    assert any(note.endswith("that will never be paid (a payment page left, a transfer that "
                             "never came)") for note in result.notes)  # fmt: skip


def evening_orders() -> list[dict]:
    """Orders placed in Berlin shortly after midnight, the day before in UTC."""
    common = {"status": "wc-completed", "tax_amount": "4.79", "customer_id": 0,
              "billing_email": "nachteule@example.de", "currency": "EUR", "type": "shop_order",
              "parent_order_id": 0}  # fmt: skip
    return [
        {**common, "id": 1, "total_amount": "29.95", "date_created_gmt": "2024-03-05 23:30:00"},
        {**common, "id": 2, "total_amount": "29.95", "date_created_gmt": "2024-07-04 22:30:00"},
    ]


def test_a_time_zone_puts_the_utc_dates_on_the_shops_days(exports, write, tmp_path):
    path = write("wp_wc_orders.csv", exports.WOO_HPOS_HEADER, evening_orders())
    (utc,) = read_exports([path])
    assert utc.orders["order_date"].tolist() == [pd.Timestamp("2024-03-05"),
                                                 pd.Timestamp("2024-07-04")]  # fmt: skip
    (berlin,) = read_exports([path], column_map="time_zone=Europe/Berlin")
    assert berlin.orders["ordered_at"].tolist() == [
        pd.Timestamp("2024-03-06 00:30:00"), pd.Timestamp("2024-07-05 00:30:00"),
    ]  # fmt: skip
    assert not [note for note in berlin.notes if "UTC" in note]
    (forced,) = read_exports([path], format="woocommerce", column_map="time_zone=europe/berlin")
    pd.testing.assert_frame_equal(forced.orders, berlin.orders)
    # a table read from the database, its dates typed (with and without a zone)
    frame = pd.DataFrame(evening_orders()).assign(
        date_created_gmt=lambda f: pd.to_datetime(f["date_created_gmt"])
    )
    (typed,) = read_exports([("mysql://shop/wp_wc_orders", frame)],
                            column_map="time_zone=Europe/Berlin")  # fmt: skip
    assert typed.orders["ordered_at"].tolist() == berlin.orders["ordered_at"].tolist()
    zoned = frame.assign(date_created_gmt=frame["date_created_gmt"].dt.tz_localize("UTC"))
    (typed,) = read_exports([("mysql://shop/wp_wc_orders", zoned)],
                            column_map="time_zone=Europe/Berlin")  # fmt: skip
    assert typed.orders["ordered_at"].tolist() == berlin.orders["ordered_at"].tolist()

    workspace = tmp_path / "w.duckdb"
    given = ["ingest", str(path), "-w", str(workspace), "--map", "time_zone=Europe/Berlin"]
    ran = CliRunner().invoke(app, given)
    assert ran.exit_code == 0, ran.output
    with Workspace(workspace, read_only=True) as ws:
        stored = ws.orders().order_by("order_number").execute()
    assert stored["order_date"].astype(str).tolist() == ["2024-03-06", "2024-07-05"]


def test_a_time_zone_for_a_woocommerce_export_in_the_shops_own_time_is_an_error(exports, write):
    row = {"order_id": 1, "order_date": "2024-03-05 23:30:00", "status": "wc-completed",
           "order_total": "29.95", "billing_email": "a@example.de"}  # fmt: skip
    path = write("orders.csv", exports.WOO_WEBTOFFEE_HEADER, [row])
    for fmt in (None, "woocommerce"):
        with pytest.raises(InputError) as error:
            read_exports([path], format=fmt, column_map="time_zone=Europe/Berlin")
        assert error.value.file == str(path)
        assert "the dates of a WooCommerce export are the shop's own time" in str(error.value)
    with pytest.raises(InputError, match="order_date of this WooCommerce export is the shop's"):
        woocommerce.read_orders(path, time_zone="Europe/Berlin")


@pytest.mark.parametrize(
    ("change", "row", "column", "message"),
    [
        ({"parent_order_id": ""}, 3, "parent_order_id", "refund has no parent_order_id"),
        ({"total_amount": "zehn"}, 3, "total_amount", "zehn"),
        ({"date_created_gmt": "gestern"}, 3, "date_created_gmt", "gestern"),
    ],
)
def test_a_bad_refund_row_is_a_one_line_error_naming_it(exports, write, change, row, column,
                                                        message):  # fmt: skip
    refund = {**evening_orders()[0], "id": 3, "type": "shop_order_refund", "parent_order_id": 1,
              "total_amount": "-5.00", "tax_amount": "-0.80", "billing_email": ""}  # fmt: skip
    rows = [evening_orders()[0], {**refund, **change}]
    path = write("wp_wc_orders.csv", exports.WOO_HPOS_HEADER, rows)
    with pytest.raises(InputError, match=message) as error:
        read_exports([path])
    assert (error.value.row, error.value.column) == (row, column)
    assert "\n" not in str(error.value)


def test_refunds_without_parent_order_id_cannot_be_read(exports, write):
    header = [name for name in exports.WOO_HPOS_HEADER if name != "parent_order_id"]
    rows = [{k: v for k, v in r.items() if k in header} for r in evening_orders()]
    rows.append({**rows[0], "id": 3, "type": "shop_order_refund", "total_amount": "-5.00"})
    path = write("wp_wc_orders.csv", header, rows)
    with pytest.raises(InputError, match="needs the parent_order_id column") as error:
        read_exports([path])
    assert (error.value.row, error.value.column) == (4, "type")


def test_a_dumps_null_cells_are_empty_and_a_checkout_draft_needs_no_date(exports, write):
    null = dict.fromkeys(["payment_method", "payment_method_title", "transaction_id",
                          "ip_address", "user_agent", "customer_note"], "NULL")  # fmt: skip
    refund = {**evening_orders()[0], **null, "id": 3, "type": "shop_order_refund",
              "parent_order_id": 1, "total_amount": "-5.95", "tax_amount": "-0.95",
              "customer_id": "NULL", "billing_email": "NULL"}  # fmt: skip
    draft = {**evening_orders()[0], **null, "id": 4, "status": "wc-checkout-draft",
             "billing_email": "NULL", "date_created_gmt": "NULL", "total_amount": "NULL",
             "tax_amount": "NULL"}  # fmt: skip
    rows = [{**row, **null} for row in evening_orders()] + [refund, draft]
    (result,) = read_exports([write("wp_wc_orders.csv", exports.WOO_HPOS_HEADER, rows)])
    assert result.orders["net_revenue"].tolist() == pytest.approx([25.16 - 5.0, 25.16])
    assert result.orders["customer_id"].tolist() == ["nachteule@example.de"] * 2
    assert result.excluded == {"draft": 1}


def test_a_dump_without_parent_order_id_still_leaves_out_its_subscriptions(exports, write):
    header = [name for name in exports.WOO_HPOS_HEADER if name != "parent_order_id"]
    rows = [{k: v for k, v in r.items() if k in header} for r in evening_orders()]
    rows.append({**rows[0], "id": 3, "type": "shop_subscription", "status": "wc-active"})
    (result,) = read_exports([write("wp_wc_orders.csv", header, rows)])
    assert result.orders["order_number"].tolist() == ["1", "2"]
    assert result.excluded == {woocommerce.NOT_AN_ORDER: 1}


def test_shipping_joined_from_the_operational_data_comes_off_net_revenue(exports, write):
    header = [*exports.WOO_HPOS_HEADER, "shipping_total_amount", "shipping_tax_amount",
              "discount_total_amount"]  # fmt: skip
    # items 25.16 + 4.78 VAT, shipping 4.12 + 0.78 VAT; 10% off; refunded: an item of 11.90
    # (1.90 VAT) and its share of shipping, 4.12 + 0.78
    order = {**evening_orders()[0], "total_amount": "34.84", "tax_amount": "5.56",
             "shipping_total_amount": "4.12", "shipping_tax_amount": "0.78",
             "discount_total_amount": "2.52"}  # fmt: skip
    refund = {**order, "id": 3, "type": "shop_order_refund", "parent_order_id": 1,
              "total_amount": "-16.80", "tax_amount": "-2.68", "shipping_total_amount": "-4.12",
              "shipping_tax_amount": "-0.78", "discount_total_amount": "0"}  # fmt: skip
    (result,) = read_exports([write("wp_wc_orders.csv", header, [order, refund])])
    (row,) = result.orders.to_dict("records")
    assert row["net_revenue"] == pytest.approx(34.84 - 5.56 - 4.12 - (16.80 - 2.68 - 4.12))
    assert (row["shipping"], row["discount"], row["refunded"]) == pytest.approx((4.12, 2.52, 16.8))
    assert not [note for note in result.notes if "shipping" in note]


def test_a_record_of_another_type_is_left_out_and_named(exports, write):
    rows = [*evening_orders(), {**evening_orders()[0], "id": 3, "type": "shop_order_placehold"}]
    (result,) = read_exports([write("wp_wc_orders.csv", exports.WOO_HPOS_HEADER, rows)])
    assert result.excluded == {woocommerce.NOT_AN_ORDER: 1}
    assert "records of wc_orders that are not orders are left out (1 shop_order_placehold)" in (
        result.notes
    )
