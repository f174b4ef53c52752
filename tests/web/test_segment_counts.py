"""The dashboard's segment counts: every segment's customers, consent and value, as the
segment's mask selects them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from valuecast.outputs.audiences import SEGMENTS, segment_mask
from valuecast.tables import GROUPS, TIERS
from valuecast.web.views import segment_counts

AS_OF = "2026-06-30"


def _customers(n: int = 2000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # every group but the last, missing labels among them; values with NaN and wide magnitudes
    groups = rng.choice([*GROUPS[:-1], None], n).astype(object)
    tiers = rng.choice([*TIERS, None], n).astype(object)
    historic = rng.lognormal(3, 2, n)
    historic[rng.random(n) < 0.05] = np.nan
    predicted = rng.lognormal(2, 2.5, n)
    predicted[rng.random(n) < 0.05] = np.nan
    last = pd.Timestamp(AS_OF) - pd.to_timedelta(rng.integers(0, 400, n), unit="D")
    return pd.DataFrame(
        {
            "rfm_group": groups,
            "predicted_spend_tier": tiers,
            "churn_probability": rng.random(n),
            "probability_alive": rng.random(n),
            "historic_clv": historic,
            "predicted_clv": predicted,
            "expected_date_of_next_order": last + pd.to_timedelta(rng.integers(1, 90, n), "D"),
            "last_order_date": last,
            "average_days_between_orders": rng.uniform(5, 120, n),
            "accepts_marketing": rng.choice([True, False, None], n),
        }
    )


def test_every_segment_counts_what_its_mask_selects():
    customers = _customers()
    counts = {row["segment"]: row for row in segment_counts(customers, AS_OF)}
    assert list(counts) == list(SEGMENTS)
    consent = customers["accepts_marketing"].astype("boolean").fillna(False).to_numpy(bool)
    unknown = customers["accepts_marketing"].isna().to_numpy(bool)
    historic = customers["historic_clv"].to_numpy(float)
    predicted = customers["predicted_clv"].to_numpy(float)
    total = float(np.nansum(historic))
    for name, row in counts.items():
        mask = segment_mask(customers, name, AS_OF).to_numpy(bool)
        segment_historic = float(np.nansum(historic[mask]))
        assert row == {
            "segment": name,
            "rule": SEGMENTS[name],
            "customers": int(mask.sum()),
            "consenting": int((mask & consent).sum()),
            "consent_unknown": int((mask & unknown).sum()),
            "historic_clv": round(segment_historic, 2),
            "predicted_clv": round(float(np.nansum(predicted[mask])), 2),
            "historic_share": round(segment_historic / total, 4),
        }, name
    # a group no customer is in, and labels given as text or as categoricals alike
    assert counts[GROUPS[-1].lower().replace(" ", "-")]["customers"] == 0
    as_categories = customers.astype({"rfm_group": "category", "predicted_spend_tier": "category"})
    assert segment_counts(as_categories, AS_OF) == list(counts.values())


def test_segment_counts_without_predictions_have_no_predicted_value():
    customers = _customers(300).assign(predicted_clv=np.nan)
    counts = segment_counts(customers, AS_OF)
    assert all(row["predicted_clv"] is None for row in counts)
    assert sum(row["customers"] for row in counts if row["segment"].startswith("tier-")) == int(
        customers["predicted_spend_tier"].notna().sum()
    )


def test_the_replenishment_reading_counts_each_customer_due_once():
    """A customer due for two products is one customer to remind (with two reminders)."""
    import pandas as pd

    from valuecast.web.views import _products_section

    reminders = pd.DataFrame({
        "customer_id": ["a", "a", "b", "c", "d", "e"],
        "product": ["Tea", "Mug", "Tea", "Tea", "Mug", "Tea"],
        "cycle_days": [30, 90, 30, 30, 90, 30],
        "days_until_due": [3, 10, 14, -2, 40, -15],  # e: had a reminder two weeks ago
    })  # fmt: skip
    section = _products_section({"reminders.csv": reminders}, {})
    reading = next(chart.reading for chart in section.charts if chart.key == "products-reminders")
    assert reading.startswith(
        "3 customers are due to reorder (4 reminders: 3 due within 14 days, 1 overdue by up to "
        "14 days); Tea"
    )
    assert "has the most reminders (3, every 30 days)" in reading
    assert reading.endswith(
        "1 reminder overdue by more than 14 days (or the customer's cycle) is left out, as "
        "`valuecast reminders` leaves them: those customers have had their reminder or lapsed, "
        "and reminding them is a win-back."
    )


def test_the_replenishment_reading_gives_the_product_s_cycle_not_a_customer_s():
    """A reminder's ``cycle_days`` is its customer's own rhythm; the product's is
    ``product_cycle_days``, which the reading and the per-product table give."""
    import pandas as pd

    from valuecast.web.views import _products_section

    reminders = pd.DataFrame({
        "customer_id": ["a", "b", "c"], "product": ["Tea", "Tea", "Tea"],
        "cycle_days": [12, 30, 45], "product_cycle_days": [30, 30, 30],
        "days_until_due": [-5, 2, 9],
    })  # fmt: skip
    section = _products_section({"reminders.csv": reminders}, {})
    reading = next(chart.reading for chart in section.charts if chart.key == "products-reminders")
    assert "has the most reminders (3, every 30 days)" in reading
    (table,) = [table for table in section.tables if "cycle (days)" in table.columns]
    assert [row[:2] for row in table.rows] == [["Tea", "30"]]


def test_the_pair_most_often_bought_together_less_often_than_chance_says_so():
    import pandas as pd

    from valuecast.web.views import _products_section

    pairs = pd.DataFrame({
        "kind": ["same order", "same order"], "product_a": ["Tea", "Mug"],
        "product_b": ["Mug", "Tea"], "pairs": [163, 163], "support": [0.1, 0.1],
        "confidence": [0.2, 0.3], "lift": [0.8, 0.8],
    })  # fmt: skip
    section = _products_section({"affinity.csv": pairs}, {})
    reading = next(chart.reading for chart in section.charts if chart.key == "products-pairs")
    assert "(163 orders, 0.8 times as often as chance would have it)" in reading
    assert "less often than chance" in reading


def _shared_address_shop(path) -> None:
    """An orders table keyed by customer number: 60 customers, each with orders and an e-mail;
    every tenth customer's record (1, 11, ...) declines marketing for the address of the customer
    before it (in other letter case, with a space), whose own record may accept it."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(60):
        shares = i % 10 == 1
        email = f"User{i - 1}@Shop.com " if shares else f"user{i}@shop.com"
        consent = "no" if shares else ("yes" if i % 3 else "no")
        first = int(rng.integers(0, 300))
        for k in range(1 + i % 4):
            day = pd.Timestamp("2025-01-01") + pd.Timedelta(days=first + 40 * k)
            rows.append((f"C{i}", email, f"{day:%Y-%m-%d}", 20.0 + i, consent))
    pd.DataFrame(rows, columns=["customer", "email", "date", "amount", "marketing"]).to_csv(
        path, index=False
    )


def test_dashboard_consent_counts_leave_out_an_address_another_record_declines(tmp_path):
    """The segments page counts as consenting exactly the customers its downloads hold: an
    address one record declines marketing for is not counted as consenting on another."""
    from typer.testing import CliRunner

    from valuecast.cli import app
    from valuecast.store import Workspace
    from valuecast.store.snapshots import list_snapshots
    from valuecast.web import create_app
    from valuecast.web.views import store_view

    export, workspace = tmp_path / "orders.csv", tmp_path / "shop.duckdb"
    _shared_address_shop(export)
    result = CliRunner().invoke(
        app,
        ["analyze", str(export), "-w", str(workspace), "-o", str(tmp_path / "out"), "--map",
         "customer_id=customer,ordered_at=date,revenue=amount,email=email,"
         "accepts_marketing=marketing"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    def counted_and_exported() -> list[tuple[str, int, int]]:
        application = create_app(workspace, warm=False)
        try:
            client = TestClient(application, base_url="http://127.0.0.1")
            out = []
            for row in client.get("/api/v1/segments").json():
                body = client.get(
                    f"/api/v1/segments/{row['segment']}/export", params={"to": "klaviyo"}
                ).text
                out.append((row["segment"], row["consenting"], len(body.splitlines()[1:])))
            return out
        finally:
            application.state.dashboard.close()

    # as `analyze` stores the counts, and as the dashboard's uploads store them
    for counts in (counted_and_exported(), None):
        if counts is None:
            with Workspace(workspace) as ws:
                store_view(ws, list_snapshots(ws)[-1].snapshot_id)
            counts = counted_and_exported()
        assert [(name, exported) for name, _, exported in counts] == [
            (name, consenting) for name, consenting, _ in counts
        ]
        # 36 customers accept marketing on their own record; 4 of them share their address
        # with a record declining it (of the six customers before one, 0 and 30 decline anyway)
        assert sum(consenting for name, consenting, _ in counts if name.startswith("tier-")) == 32


def test_address_declined_marks_every_record_of_an_address_one_record_declines():
    from valuecast.web.views import address_declined

    shared = pd.DataFrame({
        "customer_id": ["1", "2", "3", "4", "5", "6"],
        "address": ["a@x.com", "a@x.com", "b@x.com", "b@x.com", "c@x.com", "c@x.com"],
        "accepts_marketing": [True, False, True, None, True, False],
    })  # fmt: skip
    # customer 6 (who declines for c@x.com) is not in the snapshot: the audience files, which
    # read the snapshot's customers, do not know of that record either
    ids = pd.Series(["1", "2", "3", "4", "5", "7"])
    assert address_declined(ids, shared).tolist() == [True, True, False, False, False, False]
    assert address_declined(ids, shared.iloc[:0]) is None
    assert address_declined(pd.Series(["3", "4"]), shared) is None


def test_the_replenishment_reading_counts_the_overdue_reminders_it_shows():
    """Reminders overdue by up to 14 days are what `valuecast reminders` shows first and what
    the chart draws: a shop whose reminders to send are all overdue is not told that nobody is
    due."""
    import pandas as pd

    from valuecast.web.views import _products_section

    reminders = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"], "product": ["Tea", "Tea", "Tea", "Mug"],
        "cycle_days": [25, 25, 25, 90], "days_until_due": [-6, -5, -1, 40],
    })  # fmt: skip
    section = _products_section({"reminders.csv": reminders}, {})
    reading = next(c.reading for c in section.charts if c.key == "products-reminders")
    assert reading == (
        "3 customers are due to reorder (3 reminders: 0 due within 14 days, 3 overdue by up to "
        "14 days); Tea has the most reminders (3, every 25 days). 1 reminder due later than 14 "
        "days is not counted yet."
    )


def test_the_replenishment_reading_says_when_every_reminder_has_lapsed():
    """Products with a cycle whose customers are all long overdue are reordered
    regularly all the same: the page says nobody is due, not that nothing is reordered."""
    import pandas as pd

    from valuecast.web.views import _products_section

    def reading(reminders: pd.DataFrame) -> str:
        section = _products_section({"reminders.csv": reminders}, {})
        return next(c.reading for c in section.charts if c.key == "products-reminders")

    lapsed = pd.DataFrame({
        "customer_id": ["a", "b", "c"], "product": ["Tea", "Tea", "Mug"],
        "cycle_days": [30, 30, 90], "days_until_due": [-15, -200, -95],
    })  # fmt: skip
    assert reading(lapsed) == (
        "2 products are reordered regularly, but no customer is due to reorder: all 3 reminders "
        "are overdue by more than 14 days (or the customer's cycle), which `valuecast "
        "reminders` leaves out: those customers have had their reminder or lapsed, and "
        "reminding them is a win-back."
    )
    assert reading(lapsed.iloc[:0]) == "No product is reordered regularly."


def test_the_pair_reading_says_when_chance_alone_gives_its_count():
    """Two orders of 41 holding both (chance predicts 0.44) are no affinity yet; ten where
    chance predicts 2.5 are."""
    import pandas as pd

    from valuecast.web.views import _products_section

    def reading(pairs: int, lift: float) -> str:
        affinity = pd.DataFrame({
            "kind": ["same order"] * 2, "product_a": ["Cold Brew", "House Blend"],
            "product_b": ["House Blend", "Cold Brew"], "pairs": [pairs] * 2,
            "support": [0.05] * 2, "confidence": [0.5] * 2, "lift": [lift] * 2,
        })  # fmt: skip
        section = _products_section({"affinity.csv": affinity}, {})
        return next(c.reading for c in section.charts if c.key == "products-pairs")

    assert reading(2, 4.56).endswith(
        "(2 orders, 4.6 times as often as chance would have it). With so few orders, chance "
        "alone often puts two products together that many times: too few yet to call it an "
        "affinity."
    )
    assert reading(10, 4.0).endswith("(10 orders, 4.0 times as often as chance would have it).")
    # two best-sellers: 82 orders where chance predicts 71, no shortage of orders
    assert reading(82, 1.15).endswith(
        "(82 orders, 1.1 times as often as chance would have it). Chance alone would put them "
        "together in about 71 orders, both selling as well as they do: no sign that one leads "
        "to the other; the table below ranks pairs by lift."
    )


def test_shared_addresses_are_read_only_where_a_record_declines_marketing(tmp_path):
    """The customers sharing an address matter to the counts only where one declines: a shop
    where every record accepts (or says nothing) is spared the aggregation over its orders."""
    from typer.testing import CliRunner

    from valuecast.cli import app
    from valuecast.store import Workspace

    export = tmp_path / "orders.csv"
    _shared_address_shop(export)
    orders = pd.read_csv(export)
    mapping = "customer_id=customer,ordered_at=date,revenue=amount,email=email"
    for name, marketing, expected in (("declines", orders["marketing"], 12), ("accepts", "yes", 0)):
        path, workspace = tmp_path / f"{name}.csv", tmp_path / f"{name}.duckdb"
        orders.assign(marketing=marketing).to_csv(path, index=False)
        result = CliRunner().invoke(
            app,
            ["ingest", str(path), "-w", str(workspace), "--map",
             f"{mapping},accepts_marketing=marketing"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        with Workspace(workspace) as ws:
            shared = ws.shared_addresses()
        assert len(shared) == expected
        assert list(shared.columns) == ["customer_id", "address", "accepts_marketing"]


@pytest.mark.parametrize(
    ("ids", "emails", "shared", "spared"),
    [
        # a shop keyed by e-mail address as the key writes it: every address its own customer's
        (["ann@shop.com", "bo@shop.com", "cy@shop.com"], None, set(), True),
        (["ann@shop.com", "bo@shop.com"], ["ann@shop.com", "bo@shop.com"], set(), True),
        # one customer to the importer, which folds an e-mail id's case
        (["ann@shop.com", "Ann@Shop.com", "cy@shop.com"], None, set(), True),
        # ids the key's rules read differently take the query: display name, mailto
        (["ann@shop.com", "Ann Lee <ann@shop.com>"], None, set(), False),
        (
            ["ann@shop.com", "mailto:ann@shop.com"],
            None,
            {"ann@shop.com", "mailto:ann@shop.com"},
            False,
        ),
        # an order's e-mail that is another customer's id, or one address in two cases
        (["ann@shop.com", "C2"], ["ann@shop.com", "ann@shop.com"], {"ann@shop.com", "C2"}, False),
        (["C1", "C2", "C3"], ["ann@shop.com", "ANN@shop.com", "cy@shop.com"], {"C1", "C2"}, False),
    ],
)
def test_a_shop_keyed_by_address_is_spared_the_contacts_query_only_where_none_repeats(
    tmp_path, monkeypatch, ids, emails, shared, spared
):
    """A shop whose customer ids are its e-mail addresses, as the audience files key them, has
    no address two customers hold and is spared the query of every customer's latest contact;
    ids or order e-mails the key's rules may make one address take the query, which finds
    the same customers the query finds when every shop takes it."""
    from shops import ingested
    from valuecast.store import Workspace
    from valuecast.store import workspace as module

    rows = ["customer,email,date,amount,marketing"] + [
        f"{customer},{emails[i] if emails else ''},2025-0{1 + k}-1{i},{20 + i},{'no' if i else 'yes'}"
        for i, customer in enumerate(ids)
        for k in range(2)
    ]
    mapping = "customer_id=customer,ordered_at=date,revenue=amount,accepts_marketing=marketing"
    workspace = ingested(
        tmp_path, "\n".join(rows) + "\n", mapping + (",email=email" if emails else "")
    )
    with Workspace(workspace) as ws:
        assert module._addresses_may_repeat(ws.raw) is not spared
        found = ws.shared_addresses()
        monkeypatch.setattr(module, "_addresses_may_repeat", lambda raw: True)
        queried = ws.shared_addresses()
    assert set(found["customer_id"]) == shared
    pd.testing.assert_frame_equal(
        found.reset_index(drop=True), queried.reset_index(drop=True), check_dtype=False
    )


def test_the_replenishment_chart_counts_the_reminders_the_command_shows():
    """The chart and its table count what `valuecast reminders` shows by default (due within
    14 days or overdue by up to 14 days); one due in 40 days is said to be due later, not
    counted among the reminders, and the summary's count is the command's."""
    import pandas as pd

    from valuecast.analysis.growth.replenishment import DUE_WITHIN, reminder_counts
    from valuecast.cli.products import DUE_WITHIN as CLI_DUE_WITHIN
    from valuecast.web.views import _products_section

    reminders = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"], "product": ["Tea", "Tea", "Mug", "Mug"],
        "cycle_days": [30, 30, 90, 90], "days_until_due": [3, -40, 40, 60],
    })  # fmt: skip
    section = _products_section({"reminders.csv": reminders}, {})
    reading = next(c.reading for c in section.charts if c.key == "products-reminders")
    assert reading.startswith(
        "1 customer is due to reorder (1 reminder: 1 due within 14 days, 0 overdue by up to "
        "14 days); Tea"
    )
    assert "2 reminders due later than 14 days are not counted yet." in reading
    assert (
        "1 reminder overdue by more than 14 days (or the customer's cycle) is left out" in reading
    )
    table = section.tables[0]
    assert [row[:3] for row in table.rows] == [["Tea", "30", "1"]]
    assert reminder_counts(reminders) == {"due": 1, "later": 2, "lapsed": 1}
    assert DUE_WITHIN == CLI_DUE_WITHIN
    # nobody due soon, some due later
    later = reminders[reminders["days_until_due"] > DUE_WITHIN]
    section = _products_section({"reminders.csv": later}, {})
    reading = next(c.reading for c in section.charts if c.key == "products-reminders")
    assert reading == (
        "1 product is reordered regularly, but no customer is due to reorder within 14 days. "
        "2 reminders due later than 14 days are not counted yet."
    )


EMAIL_CELLS = [
    "Dora Lee <Dora@Shop.com>", '"Lee, Dora" <dora@shop.com>', "Dora Lee<dora@shop.com>",
    "mailto:Erin@Shop.com", " ann@shop.com\u200b ", "\u00a0bo@shop.com", "carl@x.com; dora@x.com",
    "carl@x.com,dora@x.com", "plain@shop.com", "carl@example", "x <y>", "Zoë@shop.com", "", None,
]  # fmt: skip


def test_the_dashboard_keys_an_e_mail_cell_as_the_audience_files_do():
    """Klaviyo and Mailchimp take the address alone (``Dora Lee <dora@shop.com>`` is
    ``dora@shop.com``) and consent belongs to it: the SQL the dashboard's consent counts key a
    customer by gives every cell the address the files' rule gives it."""
    import duckdb

    from valuecast.outputs.audiences.contacts import normalize_email
    from valuecast.store.workspace import email_key_sql, email_text_sql

    cells = pd.DataFrame({"email": pd.Series(EMAIL_CELLS, dtype=object)})  # noqa: F841 - in SQL
    query = f"SELECT {email_key_sql('t')} FROM (SELECT {email_text_sql('email')} AS t FROM cells)"
    keys = [key for (key,) in duckdb.connect().sql(query).fetchall()]
    assert keys == [normalize_email(cell) for cell in EMAIL_CELLS]
    assert keys[:4] == ["dora@shop.com", "dora@shop.com", "dora@shop.com", "erin@shop.com"]


def test_a_decline_written_under_a_display_name_reaches_the_dashboard_counts(tmp_path):
    """Consent belongs to the address, and ``Dora Lee <dora@shop.com>`` is ``dora@shop.com`` to
    the audience files: a record declining under it leaves out another record of the plain
    address, in the files and in the dashboard's count of consenting customers alike."""
    from typer.testing import CliRunner

    from valuecast.cli import app
    from valuecast.store import Workspace
    from valuecast.web.views import address_declined

    export, workspace = tmp_path / "orders.csv", tmp_path / "shop.duckdb"
    people = [("C0", "dora@shop.com", "yes"), ("C1", "Dora Lee <Dora@Shop.com>", "no"),
              ("C2", "erin@shop.com", "yes"), ("C3", "mailto:Erin@shop.com", "no"),
              ("C4", "finn@shop.com", "yes"), ("C5", "gus@shop.com", "yes")]  # fmt: skip
    rows = [
        (customer, email, f"2025-0{1 + k}-1{i}", 30.0 + i, consent)
        for i, (customer, email, consent) in enumerate(people)
        for k in range(2)
    ]
    pd.DataFrame(rows, columns=["customer", "email", "date", "amount", "marketing"]).to_csv(
        export, index=False
    )
    result = CliRunner().invoke(
        app,
        ["ingest", str(export), "-w", str(workspace), "--map",
         "customer_id=customer,ordered_at=date,revenue=amount,email=email,"
         "accepts_marketing=marketing"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with Workspace(workspace) as ws:
        shared = ws.shared_addresses()
    assert dict(zip(shared["customer_id"], shared["address"], strict=True)) == {
        "C0": "dora@shop.com", "C1": "dora@shop.com", "C2": "erin@shop.com", "C3": "erin@shop.com"
    }  # fmt: skip
    ids = pd.Series([customer for customer, _, _ in people])
    assert address_declined(ids, shared).tolist() == [True, True, True, True, False, False]
