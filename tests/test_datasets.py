"""The datasets shipped inside the package (copies of the public CDNOW, donations and retention data)."""

from valuecast import datasets


def test_cdnow_summary_matches_the_published_description():
    summary = datasets.load_cdnow_summary()
    assert len(summary) == 2357
    assert (summary["frequency"] > 0).sum() == 946
    assert list(summary.columns) == ["customer_id", "frequency", "recency", "T", "monetary_value"]
    assert list(datasets.load_cdnow_summary(with_spend=False).columns) == [
        "customer_id",
        "frequency",
        "recency",
        "T",
    ]


def test_cdnow_transactions():
    sample = datasets.load_cdnow_transactions()
    assert sample.shape == (6919, 4) and sample["customer_id"].nunique() == 2357
    assert len(sample[["customer_id", "date"]].drop_duplicates()) == 6696
    full = datasets.load_cdnow_transactions(full=True)
    assert full.shape == (69659, 4) and full["customer_id"].nunique() == 23570
    assert full["date"].min().strftime("%Y-%m-%d") == "1997-01-01"
    assert full["date"].max().strftime("%Y-%m-%d") == "1998-06-30"


def test_donations_and_retention():
    donations = datasets.load_donations()
    assert donations["weights"].sum() == 11104
    assert datasets.load_donations_binary().shape == (11104, 13)
    retention = datasets.load_retention_tables()
    assert list(retention["year"]) == list(range(13))
    assert retention.loc[7, "high_end_pct"] == 49.1
