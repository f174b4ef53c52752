"""The workspace keeps the merchant's non-product names (``--not-product``): given once, to
any command that takes it, every product output after it leaves them out, until
``--clear-not-products`` forgets them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from test_cli_products import make_workspace
from valuecast.cli import app
from valuecast.store import Workspace

runner = CliRunner()

SAMPLE = "Sample Sachet"
# six customers re-buy Coffee every 14 days, each order with a free-standing sample line
# first: the sample is every customer's first line, in every basket and re-bought on a cycle
ORDERS = [
    (
        f"{who}{n}",
        f"{who}@example.com",
        str(pd.Timestamp("2024-01-01") + pd.Timedelta(days=14 * n + i)),
    )
    for i, who in enumerate(["ann", "bob", "cat", "dan", "eve", "fay"])
    for n in range(3)
]
LINES = [line for number, *_ in ORDERS for line in [(number, SAMPLE), (number, "Coffee")]]


@pytest.fixture
def shop(tmp_path):
    return make_workspace(tmp_path / "w.duckdb", ORDERS, LINES)


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """``analysed(*options)``: the shop after ``analyze -w W --out OUT *options``, made once a
    module for each ``options``: its workspace, results' folder and what it said (see
    :func:`_copied`)."""
    made = {}

    def analysed_with(*options: str):
        if options not in made:
            folder = tmp_path_factory.mktemp("analysed")
            shop = make_workspace(folder / "w.duckdb", ORDERS, LINES)
            said = invoke("analyze", "-w", str(shop), "--out", str(folder / "out"), *options)
            made[options] = shop, folder / "out", said
        return made[options]

    return analysed_with


def _copied(analysed, tmp_path) -> tuple[Path, Path, str]:
    """The module's ``analysed`` shop as the test's own: ``tmp_path / "w.duckdb"`` and the
    results in ``tmp_path / "out"``; and what the analysis said."""
    shop, out, said = analysed
    shutil.copy(shop, tmp_path / "w.duckdb")
    shutil.copytree(out, tmp_path / "out")
    return tmp_path / "w.duckdb", tmp_path / "out", said


def products_written(out) -> set[str]:
    """Every product the analysis' product outputs name."""
    pairs = pd.read_csv(out / "affinity.csv")
    named = set(pairs["product_a"]) | set(pairs["product_b"])
    named |= set(pd.read_csv(out / "next_products.csv")["product"])
    named |= set(pd.read_csv(out / "reminders.csv")["product"])
    return named | set(pd.read_csv(out / "customers.csv")["first_product"])


def test_a_name_given_to_reminders_is_left_out_of_the_next_analysis(analysed, tmp_path):
    shop, out, _ = _copied(analysed(), tmp_path)
    assert SAMPLE in products_written(out)  # a product until the merchant says otherwise

    said = invoke("reminders", "-w", str(shop), "--not-product", "sample  SACHET")
    assert "'sample SACHET' kept in the workspace as no product" in said
    assert "check the spelling" not in said  # the name matches, whatever its case
    invoke("analyze", "-w", str(shop), "--out", str(out))
    assert products_written(out) == {"Coffee"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["growth"]["products"]["not_products"] == ["sample SACHET"]
    assert any("'sample SACHET' are left out as no product" in n for n in summary["notes"])


def test_the_kept_names_serve_every_product_command_until_cleared(analysed, tmp_path):
    shop, out, said = _copied(analysed("--not-product", SAMPLE), tmp_path)
    assert f"order lines named '{SAMPLE}' are left out as no product" in said
    assert products_written(out) == {"Coffee"}

    said = invoke("affinity", "-w", str(shop), "--out", str(tmp_path / "aff"))
    assert f"'{SAMPLE}' left out as no product, as the workspace keeps it" in said
    assert pd.read_csv(tmp_path / "aff" / "affinity.csv").empty
    said = invoke("reminders", "-w", str(shop), "--out", str(tmp_path / "r.csv"))
    assert set(pd.read_csv(tmp_path / "r.csv")["product"]) == {"Coffee"}

    said = invoke("reminders", "-w", str(shop), "--clear-not-products")
    assert f"forgot the non-product names the workspace kept ('{SAMPLE}')" in said
    invoke("analyze", "-w", str(shop), "--out", str(out))
    assert SAMPLE in products_written(out)
    with Workspace(shop, read_only=True) as ws:
        from valuecast.store.not_products import kept_not_products

        assert kept_not_products(ws) == ()


def test_a_name_given_later_is_added_to_those_kept_and_the_list_is_named(shop, tmp_path):
    """A merchant names one more non-product at a time: the second ``--not-product`` keeps the
    first (it used to replace it, and the first's lines counted as products again unsaid), and
    each command names the whole list it now keeps."""
    said = invoke("reminders", "-w", str(shop), "--not-product", SAMPLE)
    assert f"'{SAMPLE}' kept in the workspace as no product" in said
    said = invoke("affinity", "-w", str(shop), "--out", str(tmp_path / "aff"),
                  "--not-product", "Gift Card")  # fmt: skip
    assert f"'Gift Card', '{SAMPLE}' kept in the workspace as no product" in said
    assert "--not-product adds to them" in said
    out = tmp_path / "out"
    said = invoke("analyze", "-w", str(shop), "--out", str(out), "--not-product", "gift card")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["growth"]["products"]["not_products"] == ["Gift Card", SAMPLE]
    assert f"order lines named 'Gift Card', '{SAMPLE}' are left out as no product" in said
    assert products_written(out) == {"Coffee"}


def test_analyze_clear_not_products_forgets_them_and_says_so(analysed, tmp_path):
    shop, out, _ = _copied(analysed("--not-product", SAMPLE), tmp_path)
    said = invoke("analyze", "-w", str(shop), "--out", str(out), "--clear-not-products")
    assert f"forgot the non-product names the workspace kept ('{SAMPLE}')" in said
    assert SAMPLE in products_written(out)


def test_first_product_groupings_follow_a_name_kept_after_the_analysis(analysed, tmp_path):
    """``channels`` reads the last analysis while it is what an analysis now gives: a name kept
    since changes the first products, so it is run again; ``cohorts`` reads the lines."""
    shop, _, _ = _copied(analysed(), tmp_path)
    invoke("affinity", "-w", str(shop), "--out", str(tmp_path / "aff"), "--not-product", SAMPLE)

    invoke("channels", "-w", str(shop), "--by", "first_product", "--out", str(tmp_path / "ch"))
    assert set(pd.read_csv(tmp_path / "ch" / "channels.csv")["first_product"]) == {"Coffee"}
    invoke("cohorts", "-w", str(shop), "--by", "first_product", "--out", str(tmp_path / "co"))
    assert set(pd.read_csv(tmp_path / "co" / "cohorts.csv")["first_product"]) == {"Coffee"}
    audience = tmp_path / "coffee.csv"
    invoke("export", "-w", str(shop), "--where", "first_product == 'Coffee'", "--to", "klaviyo",
           "--include-non-consenting", "--out", str(audience))  # fmt: skip
    assert len(pd.read_csv(audience)) == 6


def test_the_report_names_the_kept_names_in_its_notes(analysed, tmp_path):
    shop, _, _ = _copied(analysed(), tmp_path)
    invoke("reminders", "-w", str(shop), "--not-product", SAMPLE)
    invoke("report", "-w", str(shop), "--out", str(tmp_path / "report.html"))
    text = (tmp_path / "report.html").read_text()
    assert f"Order lines named &#39;{SAMPLE}&#39; are left out as no product" in text


def test_not_product_and_clear_together_are_refused(shop):
    for command in ("analyze", "affinity", "reminders"):
        result = runner.invoke(
            app, [command, "-w", str(shop), "--not-product", SAMPLE, "--clear-not-products"]
        )
        assert result.exit_code == 2, result.output
        assert "--not-product and --clear-not-products cannot be given together" in result.output


def test_a_name_no_line_carries_is_named_to_check_its_spelling(shop, tmp_path):
    """A mistyped name leaves nothing out: every command that leaves the names out says so."""
    out = tmp_path / "out"
    said = invoke("reminders", "-w", str(shop), "--not-product", "Sample Sachett",
                  "--not-product", "coffee")  # fmt: skip
    assert "no order line is named 'Sample Sachett': check the spelling" in said
    said = invoke("affinity", "-w", str(shop), "--out", str(tmp_path / "aff"))
    assert "no order line is named 'Sample Sachett': check the spelling" in said
    invoke("analyze", "-w", str(shop), "--out", str(out))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["growth"]["products"]["not_products_unmatched"] == ["Sample Sachett"]
    assert any("no order line is named 'Sample Sachett'" in note for note in summary["notes"])
    assert products_written(out) == {SAMPLE}


def test_refresh_keeps_the_names_given_with_its_snapshot(tmp_path):
    """The brief's shop: `refresh --not-product` keeps the name in the same transaction as
    the snapshot that leaves it out, by its SKU as by its name."""
    from valuecast.datasets.demo_shop import generate_demo_shop

    export = tmp_path / "orders_export.csv"
    generate_demo_shop(export, customers=150, seed=3)
    shop, out = tmp_path / "shop.duckdb", tmp_path / "out"
    invoke("analyze", str(export), "-w", str(shop), "--out", str(out))
    blend = "House Blend Coffee Beans 12oz"
    assert blend in set(pd.read_csv(out / "reminders.csv")["product"])
    invoke("refresh", str(export), "-w", str(shop), "--out", str(out), "--not-product", "jo-hb-12")
    assert blend not in products_written(out)
    said = invoke("reminders", "-w", str(shop))
    assert "'jo-hb-12' left out as no product, as the workspace keeps it" in said
    assert "check the spelling" not in said
