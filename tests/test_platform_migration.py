"""A shop that moved platforms: its old platform's history beside its new one's export."""

from __future__ import annotations

from typer.testing import CliRunner

from valuecast.cli import app

runner = CliRunner()

WOO_HEADER = (
    "order_id,order_number,order_date,status,shipping_total,shipping_tax_total,tax_total,"
    "discount_total,order_total,refunded_total,order_currency,billing_email,customer_user,"
    "item_name,item_sku,item_quantity,item_total\n"
)
SHOPIFY_HEADER = (
    "Name,Email,Financial Status,Accepts Marketing,Currency,Subtotal,Shipping,Taxes,Total,"
    "Discount Amount,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,"
    "Lineitem taxable,Refunded Amount,Source,Payment Method,Id\n"
)
WOO_HISTORY = WOO_HEADER + (
    "501,501,2023-08-10 10:00:00,completed,5.00,0.00,10.00,0.00,65.00,0.00,USD,ann@x.com,7,"
    "Linen Shirt,LS,1,50.00\n"
    "502,502,2024-05-10 10:00:00,completed,5.00,0.00,10.00,0.00,65.00,0.00,USD,ann@x.com,7,"
    "Wool Coat,WC,1,50.00\n"
    "503,503,2024-06-10 10:00:00,completed,5.00,0.00,10.00,0.00,65.00,0.00,USD,bob@y.com,8,"
    "Belt,BE,1,50.00\n"
)
# the migration app's copies of 502 and 503 (#W502, #W503, Source import), then a new order
SHOPIFY_WITH_COPIES = SHOPIFY_HEADER + (
    "#W502,ann@x.com,paid,yes,USD,50.00,5.00,10.00,65.00,0.00,2024-05-10 10:00:00 -0400,1,"
    "Wool Coat,50.00,WC,true,0.00,import,,9000\n"
    "#W503,bob@y.com,paid,yes,USD,50.00,5.00,10.00,65.00,0.00,2024-06-10 10:00:00 -0400,1,"
    "Belt,50.00,BE,true,0.00,import,,9001\n"
    "#1002,ann@x.com,paid,yes,USD,40.00,0.00,3.20,43.20,0.00,2026-01-05 10:00:00 -0400,1,"
    "Tee,40.00,TE,true,0.00,web,Shopify Payments,9002\n"
)
COPIES_NOTE = "2 new orders of one format match a new order of another format in these files"


def _ingest(tmp_path, workspace, *texts):
    files = []
    for number, (name, text) in enumerate(texts):
        path = tmp_path / f"{number}_{name}"
        path.write_text(text)
        files.append(str(path))
    result = runner.invoke(app, ["ingest", *files, "-w", str(tmp_path / workspace)])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_imported_copies_of_the_old_history_given_in_one_ingest_are_noted(tmp_path):
    """A migration app's copies of the WooCommerce history in the Shopify export were counted
    twice without a word when both files went into one ingest (the check compared earlier
    ingests' orders only): historic CLV 49% high on a 1,500-customer migration."""
    both = _ingest(
        tmp_path, "one.duckdb", ("woo.csv", WOO_HISTORY), ("shopify.csv", SHOPIFY_WITH_COPIES)
    )
    assert f"note: {COPIES_NOTE}" in both
    assert "a migration app's imported copies" in both
    # files of one format key one order alike: their repeats are no copies of another format
    alone = _ingest(tmp_path, "alone.duckdb", ("shopify.csv", SHOPIFY_WITH_COPIES))
    assert "format in these files" not in alone


def test_the_same_number_years_apart_on_the_new_platform_is_no_twin(tmp_path):
    """Shopify numbers from #1001 again: the customer's #1001 of 2026 was said to repeat the
    old shop's 1001 of 2024 ("counted twice; ... start a new workspace")."""
    old = WOO_HEADER + (
        "1001,1001,2024-02-10 10:00:00,completed,5.00,0.00,10.00,0.00,65.00,0.00,USD,kim@x.com,"
        "3,Dress,DR,1,50.00\n"
    )
    new = SHOPIFY_HEADER + (
        "#1001,kim@x.com,paid,yes,USD,120.00,0.00,9.60,129.60,0.00,2026-03-01 10:00:00 -0400,1,"
        "Coat,120.00,CO,true,0.00,web,Shopify Payments,1\n"
    )
    _ingest(tmp_path, "w.duckdb", ("woo.csv", old))
    assert "counted twice" not in _ingest(tmp_path, "w.duckdb", ("shopify.csv", new))
