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
