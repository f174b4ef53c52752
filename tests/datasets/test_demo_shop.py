"""The demo shop: a seeded simulator written as a Shopify orders export."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from valuecast.datasets import demo_shop
from valuecast.datasets.demo_shop import HEADER, PRODUCTS, DemoShopInfo, generate_demo_shop
from valuecast.io import read_export
from valuecast.io.shopify import ORDER_COLUMNS
from valuecast.models import ModifiedBetaGeo


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> DemoShopInfo:
    """The default demo shop (5,000 customers, seed 0)."""
    return generate_demo_shop(tmp_path_factory.mktemp("demo") / "orders_export.csv")


@pytest.fixture(scope="module")
def raw(shop) -> pd.DataFrame:
    """The file as text cells."""
    return pd.read_csv(shop.path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def imported(shop):
    [result] = read_export(shop.path)
    return result


@pytest.fixture(scope="module")
def orders(imported) -> pd.DataFrame:
    """Counted orders of identified customers, oldest first, with each customer's order index."""
    frame = imported.orders[~imported.orders["is_guest"].astype(bool)].copy()
    frame = frame.sort_values(["ordered_at", "order_number"], kind="stable")
    frame["k"] = frame.groupby("customer_id").cumcount()
    return frame


def cents(values: pd.Series) -> np.ndarray:
    return np.rint(pd.to_numeric(values).to_numpy() * 100).astype(np.int64)


# ------------------------------------------------------------------------------------------------
# the file
# ------------------------------------------------------------------------------------------------
def test_same_seed_same_bytes_and_another_seed_differs(tmp_path):
    a = generate_demo_shop(tmp_path / "a.csv", customers=800, seed=3)
    b = generate_demo_shop(tmp_path / "b.csv", customers=800, seed=3)
    c = generate_demo_shop(tmp_path / "c.csv", customers=800, seed=4)
    assert a.path.read_bytes() == b.path.read_bytes()
    assert a.path.read_bytes() != c.path.read_bytes()
    assert {**a.__dict__, "path": None} == {**b.__dict__, "path": None}
    assert a.n_orders != c.n_orders or a.revenue != c.revenue


def test_the_default_shop_is_reproducible(shop, tmp_path):
    again = generate_demo_shop(tmp_path / "again.csv")
    assert again.path.read_bytes() == shop.path.read_bytes()
    assert again.revenue == shop.revenue and again.n_orders == shop.n_orders


def test_header_is_the_current_shopify_export_and_names_every_importer_column(raw):
    assert list(raw.columns) == list(HEADER)
    assert len(HEADER) == 79
    assert HEADER[0] == "Name" and HEADER[-1] == "Payment References"
    for aliases in ORDER_COLUMNS.values():
        assert aliases[0] in HEADER


def test_rows_are_grouped_by_order_with_order_fields_on_the_first_row_only(raw, shop):
    names = raw["Name"]
    assert names.str.fullmatch(r"#\d+").all()
    starts = names.ne(names.shift())
    # each order's rows are adjacent: an order name starts exactly one block
    assert starts.sum() == names.nunique() == shop.n_orders
    assert len(raw) == shop.n_line_rows
    numbers = names[starts].str[1:].astype(int).to_numpy()
    assert (np.diff(numbers) == -1).all() and numbers.min() == 1001  # newest first
    for column in ("Financial Status", "Subtotal", "Total", "Currency", "Source", "Id"):
        assert (raw.loc[starts, column] != "").all(), column
        assert (raw.loc[~starts, column] == "").all(), column
    for column in ("Email", "Created at"):  # on every row of an order, the same
        assert (raw[column].groupby(names).nunique() <= 1).all()
    assert (raw["Created at"] != "").all()
    for column in ("Lineitem name", "Lineitem sku", "Lineitem quantity", "Lineitem price"):
        assert (raw[column] != "").all()
    assert (raw["Currency"][starts] == "USD").all()


def test_dates_have_the_new_york_offset_and_stay_in_the_window(raw, shop):
    created = raw["Created at"]
    pattern = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} -0[45]00"
    assert created.str.fullmatch(pattern).all()
    for column in ("Paid at", "Fulfilled at", "Cancelled at"):
        filled = raw[column][raw[column] != ""]
        assert filled.str.fullmatch(pattern).all()
    day = created.str[:10]
    assert (created[day.str[5:7] == "01"].str[-5:] == "-0500").all()
    assert (created[day.str[5:7] == "07"].str[-5:] == "-0400").all()
    assert day.min() == shop.first_order_date.isoformat() >= shop.start_date.isoformat()
    assert day.max() == shop.last_order_date.isoformat() <= shop.end_date.isoformat()
    assert shop.start_date == date(2024, 7, 1) and shop.end_date == date(2026, 6, 30)


def test_daylight_saving_time_offsets_and_the_skipped_hour():
    local = np.array(
        [
            "2026-03-08T01:59:59",
            "2026-03-08T02:30:00",  # does not exist in New York: moves on an hour
            "2025-11-02T01:30:00",  # happens twice: read as daylight time
            "2025-11-02T02:00:00",
            "2026-01-15T12:00:00",
            "2026-07-04T12:00:00",
        ],
        dtype="datetime64[s]",
    )
    assert demo_shop._timestamps(local) == [
        "2026-03-08 01:59:59 -0500",
        "2026-03-08 03:30:00 -0400",
        "2025-11-02 01:30:00 -0400",
        "2025-11-02 02:00:00 -0500",
        "2026-01-15 12:00:00 -0500",
        "2026-07-04 12:00:00 -0400",
    ]


def test_line_items_sum_to_subtotal_and_total_adds_up(raw):
    line = cents(raw["Lineitem price"]) * raw["Lineitem quantity"].astype(int).to_numpy()
    line_discount = cents(raw["Lineitem discount"])
    assert (line_discount >= 0).all() and (line_discount <= line).all()
    per_order = (
        pd.DataFrame({"name": raw["Name"], "net": line - line_discount, "discount": line_discount})
        .groupby("name", sort=False)[["net", "discount"]]
        .sum()
    )
    first = raw[raw["Financial Status"] != ""].set_index("Name")
    subtotal, total = cents(first["Subtotal"]), cents(first["Total"])
    assert (per_order.loc[first.index, "net"].to_numpy() == subtotal).all()
    assert (
        per_order.loc[first.index, "discount"].to_numpy() == cents(first["Discount Amount"])
    ).all()
    assert (total == subtotal + cents(first["Shipping"]) + cents(first["Taxes"])).all()
    assert (subtotal > 0).all()
    coded = first["Discount Code"] != ""
    assert (cents(first["Discount Amount"])[coded.to_numpy()] > 0).all()
    assert (cents(first["Discount Amount"])[~coded.to_numpy()] == 0).all()


def test_refunds_cancellations_tests_and_guests(raw, shop):
    first = raw[raw["Financial Status"] != ""]
    status = first["Financial Status"]
    refunded_amount, total = cents(first["Refunded Amount"]), cents(first["Total"])
    subtotal = cents(first["Subtotal"])
    full = (status == "refunded").to_numpy()
    partial = (status == "partially_refunded").to_numpy()
    assert (refunded_amount[full] == total[full]).all()
    assert ((refunded_amount[partial] > 0) & (refunded_amount[partial] < subtotal[partial])).all()
    assert (refunded_amount[~(full | partial)] == 0).all()
    cancelled = (first["Cancelled at"] != "").to_numpy()
    assert (first["Cancelled at"][cancelled] > first["Created at"][cancelled]).all()
    assert set(status[cancelled]) <= {"refunded", "voided"}
    test = (first["Payment Method"] == "bogus").to_numpy()
    n = shop.n_orders
    assert test.sum() == shop.n_test_orders and 3 <= shop.n_test_orders <= 10
    assert cancelled.sum() == shop.n_cancelled_orders and 0.01 < cancelled.mean() < 0.03
    assert (full & ~cancelled).sum() == shop.n_refunded_orders
    assert 0.02 < shop.n_refunded_orders / n < 0.045
    assert partial.sum() == shop.n_partially_refunded_orders
    assert 0.02 < shop.n_partially_refunded_orders / n < 0.045
    assert ((status == "voided").to_numpy() & ~cancelled).sum() == shop.n_voided_orders > 0
    guests = (first["Email"] == "").to_numpy()
    assert guests.sum() == shop.n_guest_orders and 0.03 < guests.mean() < 0.07
    assert (first["Accepts Marketing"][guests] == "no").all()
    assert (first["Tags"][test] == "test").all()


def test_a_few_emails_are_written_with_other_case_or_spaces(raw, imported):
    email = raw.loc[raw["Email"] != "", "Email"]
    messy = email[email != email.str.strip().str.lower()]
    assert 0.003 < messy.size / email.size < 0.03
    ids = set(imported.orders["customer_id"].dropna())
    clean = messy.str.strip().str.lower()
    assert clean.isin(ids).mean() > 0.9  # the same customers, found by the importer
    assert not set(messy) & ids


# ------------------------------------------------------------------------------------------------
# through the Shopify importer
# ------------------------------------------------------------------------------------------------
def test_the_shopify_importer_reads_it_and_counts_match_the_info(shop, imported):
    assert imported.format == "shopify"
    assert imported.rows_read == shop.n_line_rows
    assert dict(imported.excluded_orders) == shop.excluded_orders
    assert set(shop.excluded_orders) == {"test order", "cancelled", "voided", "refunded"}
    orders = imported.orders
    assert len(orders) == shop.n_orders_counted
    assert shop.n_orders_counted + sum(shop.excluded_orders.values()) == shop.n_orders
    assert sum(imported.excluded.values()) + len(imported.order_lines) == shop.n_line_rows
    assert int(orders["is_guest"].sum()) == shop.n_guest_orders_counted
    assert orders["customer_id"].nunique() == shop.n_customers_counted
    per_customer = orders["customer_id"].value_counts()
    assert int((per_customer > 1).sum()) == shop.n_repeat_customers
    assert orders["net_revenue"].sum() == pytest.approx(shop.revenue, abs=0.01)
    assert set(orders["currency"]) == {"USD"}
    # its pending orders (manual payments) are counted, and said to be
    assert imported.notes == [
        f"{shop.n_pending_orders:,} orders not yet paid in full (pending {shop.n_pending_orders:,})"
        f" are counted as sales ({shop.pending_revenue:,.2f} of revenue), as Shopify's sales "
        "reports count them: cancel in Shopify any that will never be paid"
    ]
    # Accepts Marketing is consent to e-mail: known for every order with one, none for a guest's
    stated = orders["accepts_marketing"].notna().to_numpy(bool)
    assert (stated == orders["email"].notna().to_numpy(bool)).all()
    assert stated.any() and not stated[orders["is_guest"].to_numpy(bool)].any()
    assert set(orders["channel"]) == {c.source for c in demo_shop.CHANNELS}
    assert shop.n_customers == 5000
    assert 0.85 * shop.n_customers < shop.n_customers_counted < shop.n_customers


def test_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="customers"):
        generate_demo_shop(tmp_path / "x.csv", customers=0)
    with pytest.raises(ValueError, match="years"):
        generate_demo_shop(tmp_path / "x.csv", years=0)
    with pytest.raises(ValueError, match="seasonality"):
        generate_demo_shop(tmp_path / "x.csv", seasonality=-1.0)


def test_other_windows_and_a_tiny_shop(tmp_path):
    info = generate_demo_shop(
        tmp_path / "one.csv", customers=3, end_date=date(2024, 2, 29), years=1
    )
    assert info.start_date == date(2023, 3, 1)
    assert info.start_date <= info.first_order_date <= info.last_order_date <= date(2024, 2, 29)
    [result] = read_export(info.path)
    assert len(result.orders) == info.n_orders_counted
    assert dict(result.excluded_orders) == info.excluded_orders


# ------------------------------------------------------------------------------------------------
# realism
# ------------------------------------------------------------------------------------------------
def test_repeat_purchase_share_and_orders_per_customer_are_realistic(shop, orders):
    assert 0.20 <= shop.repeat_share <= 0.45
    per_customer = orders.groupby("customer_id").size()
    assert 1.3 < per_customer.mean() < 2.5
    assert per_customer.max() >= 8  # heterogeneous rates: a few very loyal customers
    # acquisition grows: more first orders in the second year than in the first
    first = orders.loc[orders["k"] == 0, "ordered_at"]
    assert (first >= pd.Timestamp("2025-07-01")).mean() > 0.55


def test_channels_differ_in_retention_and_spend(orders):
    channel = orders.loc[orders["k"] == 0].set_index("customer_id")["channel"]
    per_customer = orders.groupby("customer_id").agg(
        n=("order_id", "size"), aov=("net_revenue", "mean")
    )
    per_customer["channel"] = channel
    by_channel = per_customer.groupby("channel").agg(
        repeat=("n", lambda n: (n > 1).mean()), aov=("aov", "mean")
    )
    assert by_channel.loc["email", "repeat"] > 2.5 * by_channel.loc["tiktok", "repeat"]
    assert by_channel.loc["web", "repeat"] > by_channel.loc["facebook ads", "repeat"] + 0.05
    assert by_channel["repeat"].max() - by_channel["repeat"].min() > 0.2
    assert by_channel.loc["email", "aov"] > 1.2 * by_channel.loc["tiktok", "aov"]


def test_consumables_are_reordered_and_durables_rarely(imported, orders):
    lines = imported.order_lines.merge(orders[["order_id", "customer_id"]], on="order_id")
    bought = lines.groupby(["sku", "customer_id"])["order_id"].nunique()
    again = (bought > 1).groupby(level="sku").mean()
    consumable = {p.sku: p.consumable for p in PRODUCTS}
    is_consumable = again.index.map(consumable).to_numpy(bool)
    assert again[is_consumable].mean() > 5 * max(again[~is_consumable].mean(), 0.004)
    assert again[is_consumable].min() > again[~is_consumable].max()
    # reorder gaps follow the products' cycles: 30-day coffee sooner than 60/90-day filters,
    # descaler
    lines = lines.merge(orders[["order_id", "ordered_at"]], on="order_id").sort_values("ordered_at")
    lines["gap"] = lines.groupby(["customer_id", "sku"])["ordered_at"].diff().dt.days
    cycle = lines["sku"].map({p.sku: p.cycle for p in PRODUCTS})
    median = lines.dropna(subset=["gap"]).groupby(cycle)["gap"].median()
    assert median[30] < 0.85 * lines.dropna(subset=["gap"])["gap"][cycle >= 60].median()
    # first orders carry the durables, repeat orders the consumables
    durable_line = ~lines["sku"].map(consumable).astype(bool)
    first_order = lines["order_id"].isin(orders.loc[orders["k"] == 0, "order_id"])
    assert durable_line[first_order].mean() > 4 * durable_line[~first_order].mean()


def test_discount_codes_follow_their_rules(orders):
    code = orders["discount_code"].fillna("")
    assert set(code) - {""} == {"WELCOME10", "BFCM20", "HOLIDAY15", "SUMMER10", "COMEBACK15"}
    assert (orders.loc[code == "WELCOME10", "k"] == 0).all()
    # (a win-back order is the first one kept when the customer's earlier ones were cancelled)
    assert (orders.loc[code == "COMEBACK15", "k"] > 0).mean() > 0.85
    bfcm = orders.loc[code == "BFCM20", "ordered_at"]
    assert set(bfcm.dt.strftime("%m-%d")) <= {
        "11-28", "11-29", "11-30", "12-01", "12-02", "12-03",
    }  # fmt: skip
    unrefunded = orders[(code == "BFCM20") & (orders["refunded"] == 0)]
    share = unrefunded["discount"] / (unrefunded["net_revenue"] + unrefunded["discount"])
    assert share.between(0.19, 0.21).all()
    assert 0.1 < (code[orders["k"] == 0] == "WELCOME10").mean() < 0.4


def test_marketing_consent_and_seasonality(orders):
    consent = orders.groupby("customer_id")["accepts_marketing"].first()
    assert 0.5 < consent.mean() < 0.7
    per_day = orders.set_index("ordered_at").resample("MS").size()
    days = per_day.index.days_in_month
    rate = per_day / days
    # a Q4 peak despite growth: December above the following February
    assert rate["2025-12-01"] > 1.15 * rate["2026-02-01"]


def _calibration(visits: pd.DataFrame, cut: pd.Timestamp):
    """Each customer's first/last visit day and visits before ``cut``, and their x, recency, T."""
    calibration = (
        visits[visits["day"] < cut].groupby("customer_id")["day"].agg(["min", "max", "size"])
    )
    x = (calibration["size"] - 1).to_numpy(float)
    recency = (calibration["max"] - calibration["min"]).dt.days.to_numpy(float)
    T = (cut - calibration["min"]).dt.days.to_numpy(float)
    return calibration, x, recency, T


def test_buy_till_you_die_models_beat_the_naive_baseline_on_a_holdout(orders):
    """The simulator's point: a BTYD model predicts the last half year better than each
    customer's historical rate does."""
    day = orders["ordered_at"].dt.normalize()
    visits = pd.DataFrame({"customer_id": orders["customer_id"], "day": day}).drop_duplicates()
    cut = pd.Timestamp("2025-12-31")
    calibration, x, recency, T = _calibration(visits, cut)
    holdout = (
        visits[visits["day"] >= cut]
        .groupby("customer_id")
        .size()
        .reindex(calibration.index, fill_value=0)
    ).to_numpy(float)
    horizon = (pd.Timestamp("2026-07-01") - cut).days
    naive = x / np.maximum(T, 1.0) * horizon
    model = ModifiedBetaGeo().fit(x, recency, T)
    predicted = model.expected_transactions(horizon, x, recency, T)
    mae_model = np.abs(predicted - holdout).mean()
    mae_naive = np.abs(naive - holdout).mean()
    assert mae_model < 0.8 * mae_naive
    assert spearmanr(predicted, holdout).statistic > spearmanr(naive, holdout).statistic
    assert abs(predicted.sum() / holdout.sum() - 1) < abs(naive.sum() / holdout.sum() - 1)
    # stationary models overpredict the quiet half year after the Q4 peak, but not by much
    assert abs(predicted.sum() / holdout.sum() - 1) < 0.35


def test_a_flat_year_lets_the_model_get_the_total_right(tmp_path):
    info = generate_demo_shop(tmp_path / "flat.csv", customers=20000, seasonality=0.0)
    [result] = read_export(info.path)
    orders = result.orders[~result.orders["is_guest"].astype(bool)]
    visits = pd.DataFrame(
        {"customer_id": orders["customer_id"], "day": orders["ordered_at"].dt.normalize()}
    ).drop_duplicates()
    cut = pd.Timestamp("2025-12-31")
    calibration, x, recency, T = _calibration(visits, cut)
    later = visits[visits["day"] >= cut]
    holdout = later["customer_id"].isin(calibration.index).sum()
    model = ModifiedBetaGeo().fit(x, recency, T)
    predicted = model.expected_transactions((pd.Timestamp("2026-07-01") - cut).days, x, recency, T)
    assert predicted.sum() == pytest.approx(holdout, rel=0.1)
