"""The report's analysis leaves the product tables out (it shows none), keeping their notes."""

from __future__ import annotations

from valuecast.datasets.demo_shop import generate_demo_shop
from valuecast.io import read_exports
from valuecast.store import Workspace


def test_the_report_pairs_no_products_yet_counts_the_buyers_left_out_of_pairs(
    tmp_path, monkeypatch
):
    """Pairing a long tail's products was most of `report`'s work on a 40,000-customer shop of
    10,000 products, for tables it does not show.  The buyers of too many products to pair
    are still counted: the report's notes are those of `analyze`'s report."""
    from valuecast.analysis.growth import affinity
    from valuecast.jobs.analyze import analyze_with_growth
    from valuecast.jobs.report import analyse_for_report

    export = tmp_path / "orders_export.csv"
    generate_demo_shop(export, customers=150, seed=5)
    workspace = tmp_path / "shop.duckdb"
    with Workspace(workspace) as ws:
        ws.ingest(read_exports([export]))
    monkeypatch.setattr(affinity, "MAX_PRODUCTS_PAIRED", 3)
    with Workspace(workspace, read_only=True) as ws:
        analysis, tables = analyze_with_growth(ws)
    wide = [note for note in analysis.summary["notes"] if "distinct products" in note]
    assert len(wide) == 1 and len(tables["affinity.csv"])

    def never(*args, **kwargs):
        raise AssertionError("the report paired products")

    monkeypatch.setattr(affinity, "product_affinity", never)
    with Workspace(workspace, read_only=True) as ws:
        summary, _customers, report_tables, _ = analyse_for_report(ws)
    assert [note for note in summary["notes"] if "distinct products" in note] == wide
    assert summary["notes"] == analysis.summary["notes"]
    assert report_tables["affinity.csv"].empty and report_tables["next_products.csv"].empty
