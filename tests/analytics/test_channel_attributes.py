"""Grouping customers by tags and by joined attribute columns."""

import pandas as pd

from valuecast.analysis.growth.channels import (
    NONE_LABEL,
    clv_by_group,
    explode_tags,
    join_attributes,
)


def customers():
    return pd.DataFrame(
        {
            "customer_id": ["a@x.com", "b@x.com", "c@x.com"],
            "historic_clv": [100.0, 50.0, 30.0],
            "predicted_clv": [10.0, 20.0, 30.0],
            "total_clv": [110.0, 70.0, 60.0],
        }
    )


def test_tags_split_trimmed_and_case_insensitive():
    tags = pd.DataFrame(
        {"customer_id": ["a@x.com", "b@x.com", None], "tags": ["VIP, wholesale", "vip,VIP ", "x"]}
    )
    out = explode_tags(customers(), tags)
    groups = clv_by_group(out, "tag").set_index("tag")
    # a is in VIP and wholesale, b in VIP once (its two spellings are one tag), c has none
    assert groups.loc["VIP", "customers"] == 2
    assert groups.loc["VIP", "total_clv_mean"] == (110 + 70) / 2
    assert groups.loc["wholesale", "customers"] == 1
    assert groups.loc[NONE_LABEL, "customers"] == 1
    assert len(out) == 4


def test_attributes_join_on_lower_cased_keys_and_keep_existing_columns():
    attributes = pd.DataFrame(
        {
            "customer_id": [" A@X.COM", "c@x.com"],
            "tier": ["gold", "silver"],
            "total_clv": ["9", "9"],
        }
    )
    out = join_attributes(customers(), attributes)
    assert out["tier"].tolist()[0] == "gold" and pd.isna(out["tier"].tolist()[1])
    assert out["total_clv"].tolist() == [110.0, 70.0, 60.0]  # the customers table's own column
    assert out.attrs["unmatched_attributes"] == (0, 2)


def test_attributes_match_customer_ids_written_in_capitals():
    """The file's keys were lower-cased, the customer ids not: C1 matched no row of C1's."""
    shop = customers().assign(customer_id=["C1", "C2", "c3"])
    attributes = pd.DataFrame({"customer_id": ["C1", "c2", "nobody"], "tier": ["vip", "vip", "x"]})
    out = join_attributes(shop, attributes)
    assert out["tier"].tolist()[:2] == ["vip", "vip"] and pd.isna(out["tier"].tolist()[2])
    assert out["customer_id"].tolist() == ["C1", "C2", "c3"]  # the ids as they are
    assert out.attrs["unmatched_attributes"] == (1, 3)


def test_orders_of_one_day_come_in_the_order_of_their_numbers(tmp_path):
    """Order 9 before order 10 on the same day (as text, "10" sorts first): the first order's
    channel and code are 9's, the consent the latest order states is 10's, in `summary` and in
    `analyze`'s customers.csv."""
    from typer.testing import CliRunner

    from valuecast.cli import app

    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_id,ordered_at,revenue,channel,discount_code,accepts_marketing\n"
        "10,ann@example.com,2024-03-05,20,meta,SECOND10,no\n"
        "9,ann@example.com,2024-03-05,10,google,FIRST9,yes\n"
        "11,bob@example.com,2024-03-01,15,web,,no\n"
        + "".join(f"{20 + i},c{i}@example.com,2024-0{1 + i % 5}-0{1 + i % 9},{5 + i},web,,\n"
                  for i in range(30))
    )  # fmt: skip
    runner = CliRunner()
    result = runner.invoke(app, ["summary", str(orders), "--out", str(tmp_path / "s.csv")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["analyze", str(orders), "-w", str(tmp_path / "w.duckdb"),
                                 "-o", str(tmp_path / "out")])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(tmp_path / "s.csv").set_index("customer_id")
    customers = pd.read_csv(tmp_path / "out" / "customers.csv").set_index("customer_id")
    ann = summary.loc["ann@example.com"]
    assert (ann["channel"], ann["first_discount_code"]) == ("google", "FIRST9")
    assert not ann["accepts_marketing"]
    ann = customers.loc["ann@example.com"]
    assert (ann["acquisition_channel"], ann["first_discount_code"]) == ("google", "FIRST9")
    assert not ann["accepts_marketing"]
