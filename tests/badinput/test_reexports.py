"""A newer export of the same shop: an order stored from an earlier one that the newer export
cancels, refunds in full or otherwise excludes leaves the workspace, counted by reason (the
newer export's word on an order replaces the older one's, as an update does)."""

from __future__ import annotations

import pytest

# format -> the newer export's fields for two stored orders: (reason, fields) each
LATER = {
    "shopify": [
        ("cancelled", {"Cancelled at": "2024-03-01 10:00:00 -0500"}),
        ("refunded", {"Financial Status": "refunded"}),
    ],
    "magento": [
        ("cancelled", {"state": "canceled", "status": "canceled"}),
        ("refunded", {"state": "closed", "status": "closed"}),
    ],
    "woocommerce": [
        ("cancelled", {"status": "wc-cancelled"}),
        ("refunded", {"status": "wc-refunded"}),
    ],
}


@pytest.mark.parametrize("fmt", ["shopify", "magento", "woocommerce", "orders"])
def test_an_order_excluded_by_a_newer_export_leaves_the_workspace(corpus, tmp_path, fmt):
    first = corpus.shop(2)  # #1001 .. #1004
    workspace = tmp_path / "ws.duckdb"
    corpus.report(corpus.ingest(corpus.write(tmp_path / "q1.csv", fmt, first), workspace, "--json"))
    assert len(corpus.stored_orders(workspace)) == 4

    later = [dict(order) for order in first]
    changes = LATER.get(fmt, [("negative amount", {})])
    for order, (reason, fields) in zip(later, changes, strict=False):
        order["extra"] = fields
        if reason == "negative amount":
            order["amount"] = "-" + order["amount"]
    later.append(corpus.order("1005", "c1@example.com", "2024-03-05 10:00:00", "7.00"))
    path = corpus.write(tmp_path / "q2.csv", fmt, later)
    report = corpus.report(corpus.ingest(path, workspace, "--json"))

    withdrawn = {reason: 1 for reason, _ in changes}
    assert report["withdrawn_orders"] == withdrawn
    assert report["workspace_orders"] == 5 - len(changes)
    gone = {order["number"] for order in later[: len(changes)]}
    expected = {
        o["number"]: (o["email"], o["date"][:10], float(o["amount"]))
        for o in later
        if o["number"] not in gone
    }
    assert corpus.stored_orders(workspace) == expected
    note = f"{len(changes)} stored order"
    assert any(n.startswith(note) and "removed from the workspace" in n for n in report["notes"])
    # the same export again: nothing left to remove, nothing changes
    again = corpus.report(corpus.ingest(path, workspace, "--json"))
    assert again["withdrawn_orders"] == {} and again["workspace_orders"] == 5 - len(changes)
