"""`valuecast refresh`, `history` and `compare` through the command line."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from valuecast.analysis.compare import SNAPSHOT_GROUPS
from valuecast.cli import app
from valuecast.jobs.snapshots import compare, history
from valuecast.store import Workspace
from valuecast.store.snapshots import list_snapshots

runner = CliRunner()


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    """A workspace analysed on an export to 2025-12-31 (6 months ahead, half the revenue kept),
    then refreshed with one to 2026-06-30."""
    from shops import two_exports

    folder = tmp_path_factory.mktemp("history")
    early, full = two_exports(folder, customers=500, seed=11)
    workspace = folder / "w.duckdb"
    first = runner.invoke(
        app, ["analyze", str(early), "-w", str(workspace), "-o", str(folder / "q4"),
              "--horizon", "6", "--margin", "0.5"],
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    second = runner.invoke(
        app, ["refresh", str(full), "-w", str(workspace), "-o", str(folder / "q2"), "--top", "3"]
    )
    assert second.exit_code == 0, second.output
    return folder, workspace, second.output


def test_refresh_writes_results_and_compares_with_the_last_snapshot(refreshed):
    folder, workspace, output = refreshed
    summary = json.loads((folder / "q2" / "summary.json").read_text())
    assert summary["as_of"] == "2026-06-30"
    # the quarter's analysis is the last one's, so the two snapshots compare like with like
    assert (summary["horizon_months"], summary["margin"]) == (6, 0.5)
    # the headline says which of its figures are margin, as the report and the dashboard do
    assert re.search(r"margin in predicted CLV +50% \(historic CLV is revenue\)", output)
    # the interval is named as what it holds: the fit's range of the expected value
    low, high = summary["totals"]["predicted_clv_p10"], summary["totals"]["predicted_clv_p90"]
    interval = rf"80% interval of the expected value +{low:,.0f} to {high:,.0f} *\n"
    assert re.search(interval, output)
    # beside it, the range of the sales to come: wider, by the chance in who orders
    sales_low = summary["totals"]["predicted_sales_p10"]
    sales_high = summary["totals"]["predicted_sales_p90"]
    assert sales_low < low < high < sales_high
    # at the 50% margin, as the prediction is: named so, not as a range of sales
    sales = rf"80% range of the 50% margin to come +{sales_low:,.0f} to {sales_high:,.0f} *\n"
    assert re.search(sales, output)
    with Workspace(workspace, read_only=True) as ws:
        snapshots = list_snapshots(ws)
        comparison = compare(ws)
    assert [s.as_of.isoformat() for s in snapshots] == ["2025-12-31", "2026-06-30"]
    assert summary["snapshot_id"] == snapshots[-1].snapshot_id
    assert "snapshot 1 (2025-12-31) -> 2 (2026-06-30)" in output
    movers = len(comparison.high_value_to_at_risk)
    who = "1 customer" if movers == 1 else f"{movers:,} customers"
    assert f"{who} moved from the high spend tier to at risk" in output
    # the change is that of the figures shown, so that the columns add up
    totals = re.findall(
        r"│ (customers|historic CLV|predicted CLV) +│ +([\d,]+) │ +([\d,]+) │ +(\S+) │", output
    )
    assert [name for name, *_ in totals] == ["customers", "historic CLV", "predicted CLV"]
    for _, before, after, change in totals:
        number = lambda text: int(text.replace(",", ""))  # noqa: E731
        assert number(after) - number(before) == (0 if change == "0" else number(change)), output
    # the totals are named as the history table and the report name them
    assert "historic CLV" in output and "predicted CLV" in output
    assert "historic clv" not in output and "predicted clv" not in output
    customers = pd.read_csv(folder / "q2" / "customers.csv")
    assert len(customers) == snapshots[-1].n_customers


def test_refresh_counts_the_orders_new_updated_and_already_stored(refreshed):
    folder, _, output = refreshed
    report = json.loads((folder / "q2" / "ingest_report.json").read_text())
    assert report["new_orders"] and report["unchanged_orders"]
    line = (
        f"ingested {report['orders']:,} orders (new {report['new_orders']:,}, updated "
        f"{report['updated_orders']:,}, unchanged {report['unchanged_orders']:,}; ingest "
        f"#{report['ingest_id']})"
    )
    assert line in " ".join(output.split())


def test_analyze_and_refresh_store_the_dashboards_pages_with_each_snapshot(refreshed):
    """`valuecast serve` reads the charts and sort orders instead of computing them."""
    from valuecast.store.snapshots import SORT_ORDERS, load_pages
    from valuecast.web.views import VIEW

    _, workspace, _ = refreshed
    with Workspace(workspace, read_only=True) as ws:
        stored = [set(load_pages(ws, s.snapshot_id)) for s in list_snapshots(ws)]
    assert stored == [{VIEW, SORT_ORDERS}, {VIEW, SORT_ORDERS}]


def test_history_lists_each_snapshot(refreshed, tmp_path):
    _, workspace, _ = refreshed
    out = tmp_path / "history.csv"
    result = runner.invoke(app, ["history", "-w", str(workspace), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "2025-12-31" in result.output and "2026-06-30" in result.output
    written = pd.read_csv(out)
    with Workspace(workspace, read_only=True) as ws:
        expected = history(ws)
    assert written["customers"].tolist() == expected["customers"].tolist()
    assert written["rfm: Champions"].tolist() == expected["rfm: Champions"].tolist()
    assert [c for c in written.columns if c.startswith("rfm: ")] == [
        f"rfm: {group}" for group in SNAPSHOT_GROUPS
    ]  # no column of prospects, whom no snapshot holds
    # the console names the snapshots' one currency in the title (several get a column)
    assert set(expected["currency"]) == {"USD"} and "snapshots (amounts in USD)" in result.output
    # every customer is in exactly one RFM group and has at most one tier
    groups = written[[c for c in written.columns if c.startswith("rfm: ")]].sum(axis=1)
    assert groups.tolist() == written["customers"].tolist()
    # a narrow terminal cuts no figure: each historic CLV is shown whole
    from valuecast.cli import common

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(common.console, "_width", 48)
        narrow = runner.invoke(app, ["history", "-w", str(workspace)])
    for value in expected["historic_clv"]:
        assert f"{value:,.0f}" in narrow.output


def test_compare_writes_the_migration_tables(refreshed, tmp_path):
    _, workspace, _ = refreshed
    result = runner.invoke(
        app, ["compare", "1", "2026-06-30", "-w", str(workspace), "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "amounts in USD" in " ".join(result.output.split())  # both snapshots' currency
    rfm = pd.read_csv(tmp_path / "rfm_migration.csv").set_index("before")
    with Workspace(workspace, read_only=True) as ws:
        snapshots = list_snapshots(ws)
        expected = compare(ws, "1", "2")
    # every customer of the later snapshot is counted once: from a group, or new
    assert rfm.to_numpy().sum() == snapshots[-1].n_customers
    assert rfm.loc["(new)"].sum() == snapshots[-1].n_customers - snapshots[0].n_customers
    assert rfm.equals(expected.rfm_matrix.rename_axis(columns=None))
    # a row and a column for each group of customers with orders, empty ones too, as the
    # dashboard's table has them; no Prospects, whom no snapshot holds
    assert list(rfm.index) == ["(new)", *SNAPSHOT_GROUPS]
    assert list(rfm.columns) == list(SNAPSHOT_GROUPS)
    movers = pd.read_csv(tmp_path / "high_value_to_at_risk.csv")
    assert len(movers) == len(expected.high_value_to_at_risk)


def test_compare_takes_a_quarter_end_for_the_snapshot_dated_before_it(refreshed):
    _, workspace, _ = refreshed
    result = runner.invoke(app, ["compare", "2026-01-02", "2026-07-01", "-w", str(workspace)])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "note: 2026-01-02 is snapshot 1, as of 2025-12-31 (the latest snapshot on" in output
    assert "note: 2026-07-01 is snapshot 2, as of 2026-06-30" in output
    assert "snapshot 1 (2025-12-31) -> 2 (2026-06-30)" in output
    exact = runner.invoke(app, ["compare", "2025-12-31", "2", "-w", str(workspace)])
    assert exact.exit_code == 0 and "note: 2025-12-31 is" not in exact.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "7"], "no snapshot '7'"),
        (["compare", "2026-03-31", "latest"], "no snapshot as of 2026-03-31"),
        (["compare", "2025-12-30", "latest"], "no snapshot as of 2025-12-30"),
        (["compare", "latest", "2"], "both sides are snapshot 2"),
    ],
)
def test_compare_bad_snapshot_is_one_line(refreshed, args, message):
    _, workspace, _ = refreshed
    result = runner.invoke(app, [*args, "-w", str(workspace)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0]


def test_history_without_snapshots_is_one_line(tmp_path):
    source = tmp_path / "orders.csv"
    source.write_text("order,client,when,amount\n1,a@x.com,2024-01-05,10\n")
    workspace = tmp_path / "w.duckdb"
    done = runner.invoke(
        app,
        ["ingest", str(source), "-w", str(workspace), "--map",
         "customer_id=client,ordered_at=when,revenue=amount,order_id=order"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    result = runner.invoke(app, ["history", "-w", str(workspace)])
    assert result.exit_code == 2
    assert "no snapshots yet" in result.output


def test_compare_says_when_the_analyses_ran_with_other_options(refreshed, tmp_path):
    # the refresh kept the first analysis' options: nothing to say; an analysis with another
    # horizon and margin is compared with a note naming them, and history lists them
    _, workspace, output = refreshed
    assert "differ in" not in output
    # the same options, but the backtest chose another model this quarter: that is said
    assert "note: another model made the predictions (pnbd -> bgnbd)" in " ".join(output.split())
    copy = tmp_path / "w.duckdb"
    copy.write_bytes(workspace.read_bytes())
    other = runner.invoke(
        app, ["analyze", "-w", str(copy), "-o", str(tmp_path / "out"), "--as-of", "2026-03-31",
              "--horizon", "12", "--margin", "1.0"],
    )  # fmt: skip
    assert other.exit_code == 0, other.output
    result = runner.invoke(app, ["compare", "1", "2026-03-31", "-w", str(copy)])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert (
        "note: the two analyses differ in horizon 6 months -> 12 months, margin 50% -> 100%:"
        in flat
    )
    with Workspace(copy, read_only=True) as ws:
        assert compare(ws, "1", "2").differences == {"model": ("pnbd", "bgnbd")}
        listed = history(ws)
    assert listed["horizon_months"].tolist() == [6, 12, 6]
    assert listed["margin"].tolist() == [0.5, 1.0, 0.5]
    # the console says so too, where the snapshots differ in them
    shown = runner.invoke(app, ["history", "-w", str(copy)])
    assert shown.exit_code == 0, shown.output
    assert (
        "note: the snapshots' predictions ran with other settings (1: horizon 6 months, "
        "margin 50%; 3: horizon 12 months, margin 100%; 2: horizon 6 months, margin 50%)"
        in " ".join(shown.output.split())
    )


def test_refresh_as_of_a_past_date_compares_with_the_snapshot_dated_before_it(
    refreshed_in_march, tmp_path
):
    # snapshots of 2025-12-31 and 2026-06-30; a refresh as of 2026-03-31 adds one between them,
    # and its comparison is with 2025-12-31, not between the two others
    output = refreshed_in_march[2]
    assert "snapshot 1 (2025-12-31) -> 3 (2026-03-31)" in output
    refresh = _refresh_a_copy(refreshed_in_march, tmp_path)
    early = refresh("2025-06-30")
    assert "the new snapshot is the earliest: nothing dated before it to compare with" in (
        " ".join(early.output.split())
    )


def test_the_previous_of_an_earlier_snapshot_is_the_one_dated_before_it(
    refreshed_in_march, tmp_path
):
    # snapshots of 2025-12-31, 2026-03-31 and 2026-06-30: `compare previous 2026-03-31` (and
    # the API given `after` alone) compares 2026-03-31 with 2025-12-31, not with itself
    workspace = tmp_path / "w.duckdb"
    shutil.copy(refreshed_in_march[1], workspace)
    shown = runner.invoke(app, ["compare", "previous", "2026-03-31", "-w", str(workspace)])
    assert shown.exit_code == 0, shown.output
    assert "snapshot 1 (2025-12-31) -> 3 (2026-03-31)" in shown.output
    with Workspace(workspace, read_only=True) as ws:
        assert compare(ws, None, "2026-03-31").before.as_of.isoformat() == "2025-12-31"
        assert compare(ws).before.as_of.isoformat() == "2026-03-31"  # the latest's previous
    earliest = runner.invoke(app, ["compare", "previous", "2025-12-31", "-w", str(workspace)])
    assert earliest.exit_code != 0
    assert "snapshot 1 (2025-12-31) is the earliest: nothing dated before it" in earliest.output


def test_a_refresh_of_a_stored_as_of_date_says_which_snapshot_it_replaces(
    refreshed_in_march, tmp_path
):
    # the refresh as of 2026-03-31, a date no snapshot had, replaces none; one as of the
    # stored 2025-12-31 names the snapshot it replaces
    assert "replaces snapshot" not in refreshed_in_march[2]
    refresh = _refresh_a_copy(refreshed_in_march, tmp_path)
    flat = " ".join(refresh("2025-12-31").output.split())
    assert "note: this snapshot replaces snapshot 1, of the same as-of date (2025-12-31)" in flat
    assert flat.count("replaces snapshot") == 1


def test_an_analysis_of_a_stored_as_of_date_says_which_snapshot_it_replaces(refreshed, tmp_path):
    # trying another margin on the quarter replaces its snapshot: analyze says so, as refresh
    folder, workspace, _ = refreshed
    copy = tmp_path / "w.duckdb"
    shutil.copy(workspace, copy)
    args = ["analyze", "-w", str(copy), "--as-of", "2025-12-31", "-o", str(tmp_path / "o")]
    result = runner.invoke(app, [*args, "--margin", "0.5"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "note: this snapshot replaces snapshot 1, of the same as-of date (2025-12-31)" in flat
    fresh = runner.invoke(app, [*args[:4], "2025-09-30", "-o", str(tmp_path / "p")])
    assert fresh.exit_code == 0 and "replaces snapshot" not in fresh.output


@pytest.fixture(scope="module")
def refreshed_in_march(refreshed, tmp_path_factory):
    """``refreshed`` refreshed again with the full export as of 2026-03-31, a date between its
    two snapshots (tests copy it before writing to it), as ``refreshed`` gives it: the folder of
    the exports, the workspace, the refresh's output."""
    folder, workspace, _ = refreshed
    march = tmp_path_factory.mktemp("march")
    copy = march / "w.duckdb"
    shutil.copy(workspace, copy)
    result = runner.invoke(
        app, ["refresh", str(folder / "full.csv"), "-w", str(copy), "-o", str(march / "out"),
              "--as-of", "2026-03-31"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder, copy, result.output


def _refresh_a_copy(refreshed, tmp_path):
    """``refresh(as_of)``: the full export refreshed, as of ``as_of``, into a copy of the
    refreshed workspace (each call a new output folder); the result, checked to succeed."""
    folder, workspace, _ = refreshed
    copy = tmp_path / "w.duckdb"
    copy.write_bytes(workspace.read_bytes())

    def refresh(as_of: str):
        result = runner.invoke(
            app, ["refresh", str(folder / "full.csv"), "-w", str(copy), "-o",
                  str(tmp_path / f"out-{as_of}"), "--as-of", as_of],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        return result

    return refresh


def test_history_of_a_one_customer_shop_reads_plainly(tmp_path):
    # no model fitted is "none fitted", not None; one customer is "1 customer"; the as-of date
    # is never cut short
    orders = tmp_path / "one.csv"
    orders.write_text(
        "customer_id,order_date,revenue\na,2026-01-05,10\na,2026-02-05,12\na,2026-03-04,14\n"
    )
    workspace = tmp_path / "w.duckdb"
    done = runner.invoke(
        app, ["analyze", str(orders), "-w", str(workspace), "-o", str(tmp_path / "o")]
    )
    assert done.exit_code == 0, done.output
    assert "only 1 customer with orders" in " ".join(done.output.split())
    shown = runner.invoke(app, ["history", "-w", str(workspace)], terminal_width=80)
    assert shown.exit_code == 0, shown.output
    assert "2026-03-04" in shown.output and "None" not in shown.output
    assert "none" in shown.output


def test_a_withheld_prediction_reads_as_a_dash_not_nan():
    # a snapshot whose predictions were withheld can store its predicted CLV as NaN
    from valuecast.cli.history import _money, _shown_change

    assert _money(float("nan")) == "-" and _shown_change(float("nan"), 5.0) == "-"
    assert _money(None) == "-" and _money(1234.4) == "1,234" and _shown_change(5.0, 0.0) == "-5"


def test_another_model_is_a_difference_the_note_names():
    from valuecast.analysis.compare import difference_notes, option_differences

    same = {"horizon_months": 12, "margin": 1.0, "annual_discount_rate": 0.1, "currency": "USD"}
    before = {**same, "model": {"name": "mbgnbd"}}
    after = {**same, "model": {"name": "pnbd"}}
    withheld = {**same, "model": {"name": "pnbd", "fitted": False}}
    assert option_differences(before, after) == {"model": ("mbgnbd", "pnbd")}
    assert option_differences(after, after) == {}
    assert option_differences(withheld, before) == {"model": (None, "mbgnbd")}
    assert difference_notes(option_differences(before, after)) == [
        "note: another model made the predictions (mbgnbd -> pnbd): part of the change in "
        "predicted CLV is the model's (--model NAME keeps one model)"
    ]
    # none fitted on one side: no change in predicted CLV to put down to a model
    assert difference_notes(option_differences(withheld, before)) == [
        "note: the earlier analysis made no predictions (no model was fitted: its notes say "
        "why), so predicted CLV has no change to compare"
    ]
    assert difference_notes(option_differences(before, withheld)) == [
        "note: the later analysis made no predictions (no model was fitted: its notes say why), "
        "so predicted CLV has no change to compare"
    ]


def test_customers_the_later_snapshot_no_longer_has_are_a_note(refreshed):
    # a till's customers known by national numbers, re-read with their country code: every id
    # changed, so the comparison's moves are all (gone) and (new), which a note explains
    from types import SimpleNamespace

    from valuecast.analysis.compare import comparison, gone_note

    def info(snapshot_id, as_of, n):
        return SimpleNamespace(snapshot_id=snapshot_id, as_of=as_of, n_customers=n,
                               historic_clv=0.0, predicted_clv=None)  # fmt: skip

    def moves(*pairs):
        return pd.DataFrame(pairs, columns=["before", "after", "n"])

    renamed = moves(("Dormant", "(gone)", 60), ("Loyal", "(gone)", 29), ("(new)", "Loyal", 100))
    tiers = moves(("medium", "(gone)", 89), ("(new)", "medium", 100))
    result = comparison(
        info(2, "2025-12-31", 89), info(4, "2026-02-23", 100), renamed, tiers, pd.DataFrame()
    )
    assert gone_note(result) == (
        "note: none of the 89 customers of snapshot 2 (2025-12-31) is in snapshot 4 "
        "(2026-02-23) by the same id: their orders were withdrawn since (cancelled or refunded "
        "in full), or the same people are named by other ids now (a phone number given its "
        "country code, an export keyed by other ids) and counted again as (new), whose moves "
        "are then not seen"
    )
    one = moves(("Dormant", "(gone)", 1), ("Loyal", "Loyal", 88), ("(new)", "Loyal", 3))
    result = comparison(
        info(2, "2025-12-31", 89), info(4, "2026-02-23", 91), one, tiers, pd.DataFrame()
    )
    assert gone_note(result).startswith(
        "note: 1 of the 89 customers of snapshot 2 (2025-12-31) is not in snapshot 4 "
        "(2026-02-23): their orders were withdrawn since"
    )
    # a refresh keeping every customer says nothing of it
    _, _, output = refreshed
    assert "by the same id" not in output and "were withdrawn since" not in output


def test_gone_customers_are_a_column_of_the_tier_moves_never_a_row():
    # a customer of the earlier snapshot no longer there: the column (gone), and no row of
    # zeros named (gone) in the tier table (rows: the earlier snapshot's tiers)
    from types import SimpleNamespace

    from valuecast.analysis.compare import comparison

    def info(snapshot_id, n):
        return SimpleNamespace(snapshot_id=snapshot_id, as_of="2026-03-30", n_customers=n,
                               historic_clv=0.0, predicted_clv=None)  # fmt: skip

    def moves(*pairs):
        return pd.DataFrame(pairs, columns=["before", "after", "n"])

    rfm = moves(("Loyal", "(gone)", 1), ("Loyal", "Loyal", 5), ("(new)", "New", 2))
    tiers = moves(("high", "(gone)", 1), ("high", "medium", 5), ("(new)", "low", 2))
    result = comparison(info(2, 6), info(4, 7), rfm, tiers, pd.DataFrame())
    for matrix in (result.rfm_matrix, result.tier_matrix):
        assert "(gone)" in matrix.columns and "(gone)" not in matrix.index
        assert int(matrix["(gone)"].sum()) == 1
    assert list(result.tier_matrix.index) == ["(new)", "high", "medium", "low"]


def test_compare_newer_first_says_the_moves_run_back_in_time(refreshed):
    _, workspace, _ = refreshed
    backwards = runner.invoke(app, ["compare", "2026-06-30", "2025-12-31", "-w", str(workspace)])
    assert backwards.exit_code == 0, backwards.output
    flat = " ".join(backwards.output.split())
    assert "note: BEFORE (2026-06-30) is dated after AFTER (2025-12-31)" in flat
    # the later snapshot's customers the earlier lacks had not ordered yet: none was lost
    assert "were withdrawn since" not in flat
    assert re.search(
        r"note: \d+ of the [\d,]+ customers of snapshot 2 \(2026-06-30\) are not in snapshot 1 "
        r"\(2025-12-31\): snapshot 1 \(2025-12-31\) is dated before snapshot 2 \(2026-06-30\), "
        r"and they first ordered after 2025-12-31",
        flat,
    ), flat
    forwards = runner.invoke(app, ["compare", "2025-12-31", "2026-06-30", "-w", str(workspace)])
    assert forwards.exit_code == 0 and "run back in time" not in forwards.output


@pytest.mark.parametrize(
    ("currencies", "said"),
    [
        ((None, "EUR"), "note: the currency is (none) -> EUR: the amounts are the same"),
        (("EUR", "GBP"), "different currencies (EUR -> GBP): their amounts compare only converted"),
    ],
)
def test_a_currency_change_is_said_apart_from_the_settings(currencies, said):
    """A currency named by one analysis's files only is no setting to refresh with; two
    currencies are amounts to convert."""
    from valuecast.analysis.compare import difference_notes

    notes = difference_notes({"currency": currencies, "horizon_months": (6, 12)})
    assert any(said in note for note in notes), notes
    settings = next(note for note in notes if "differ in" in note)
    assert "currency" not in settings and "horizon 6 months -> 12 months" in settings


def test_history_of_snapshots_in_several_currencies_has_a_currency_column(tmp_path):
    plain = tmp_path / "plain.csv"
    euros = tmp_path / "euros.csv"
    for path, unit in ((plain, ""), (euros, "€")):
        rows = [f"c{n}@x.com,2026-0{1 + n % 3}-0{1 + n % 7},{unit}{10 + n}" for n in range(12)]
        if unit:  # a later export: a snapshot of its own, not the first one's replacement
            rows.append(f"c1@x.com,2026-04-15,{unit}30")
        path.write_text("customer_id,order_date,revenue\n" + "\n".join(rows) + "\n")
    workspace = tmp_path / "w.duckdb"
    for source in (plain, euros):
        done = runner.invoke(
            app, ["analyze", str(source), "-w", str(workspace), "-o", str(tmp_path / "o")]
        )
        assert done.exit_code == 0, done.output
    from valuecast.cli import common

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(common.console, "_width", 150)
        shown = runner.invoke(app, ["history", "-w", str(workspace)])
    assert shown.exit_code == 0, shown.output
    header = next(line for line in shown.output.splitlines() if "as of" in line)
    assert "┃ currency" in header and "amounts in" not in shown.output
    assert "EUR" in shown.output
    # too narrow for its nine columns: a snapshot a line, each naming its currency
    narrow = _at_80_columns(["history", "-w", str(workspace)])
    lines = [line for line in narrow.splitlines() if line.startswith("  snapshot ")]
    assert len(lines) == 2 and "…" not in narrow
    assert ("USD" in lines[0] or "-" in lines[0]) and "EUR" in lines[1]


def test_a_comparison_of_two_currencies_names_each_amounts_and_gives_no_change(tmp_path):
    # the whole history exported again in dollars: 34 EUR -> 40 USD is no change of +6
    workspace = tmp_path / "w.duckdb"
    for currency, orders in (("EUR", 12), ("USD", 13)):
        source = tmp_path / f"{currency}.csv"
        rows = [f"{n},c{n % 6}@x.com,2026-0{1 + n // 6}-10,{10 + n},{currency}"
                for n in range(orders)]  # fmt: skip
        source.write_text("order_id,customer_id,order_date,revenue,currency\n" + "\n".join(rows))
        done = runner.invoke(app, ["refresh", str(source), "-w", str(workspace), "-o",
                                   str(tmp_path / currency)])  # fmt: skip
        assert done.exit_code == 0, done.output
    shown = _at_80_columns(["compare", "-w", str(workspace)])
    row = next(line for line in shown.splitlines() if "historic CLV" in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells[1].endswith(" EUR") and cells[2].endswith(" USD") and cells[3] == "-", row
    customers = next(line for line in shown.splitlines() if "│ customers" in line)
    assert customers.split("│")[-2].strip() == "0"
    with Workspace(workspace, read_only=True) as ws:
        totals = compare(ws).totals
    assert totals["change"].isna().tolist() == [False, True, True]


def test_the_comparisons_change_is_that_of_the_whole_numbers_shown():
    from valuecast.cli.history import _shown_change

    # 11,067.31 -> 10,912.62 are shown 11,067 and 10,913: the change shown is -154, not -155
    assert _shown_change(11067.31, 10912.62) == "-154"
    assert _shown_change(18718.38, 24950.21) == "+6,232"
    assert _shown_change(100.4, 99.6) == "0"
    assert _shown_change(None, 5.0) == "-" and _shown_change(5.0, float("nan")) == "-"


def _at_80_columns(arguments: list[str]) -> str:
    """The command's output on an 80-column terminal, checked to succeed."""
    from valuecast.cli import common

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(common.console, "_width", 80)
        result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    return result.output


def _tables_whole(output: str) -> bool:
    """Whether every bordered table line keeps its right border (Rich crops a wider table)."""
    edges = {"┏": "┓", "┃": "┃", "┡": "┩", "│": "│", "└": "┘"}
    return all(
        line.rstrip().endswith(edges[line[0]]) for line in output.splitlines() if line[:1] in edges
    )


def test_compare_on_an_80_column_terminal_cuts_no_name(refreshed):
    """Ten RFM groups side by side do not fit 80 columns: the matrix comes in parts with every
    group's name whole, and each customer moved to at risk is named whole, not "ksmith@…"."""
    _, workspace, _ = refreshed
    output = _at_80_columns(["compare", "-w", str(workspace), "--top", "5"])
    assert "…" not in output and _tables_whole(output)
    with Workspace(workspace, read_only=True) as ws:
        expected = compare(ws)
    matrix = expected.rfm_matrix
    shown = matrix.loc[matrix.sum(axis=1) > 0, matrix.sum(axis=0) > 0]
    assert "customers between RFM groups (1 of " in output
    flat = " ".join(output.split())
    for group in shown.columns:
        assert f" {group} " in flat, group
    for customer in expected.high_value_to_at_risk["customer_id"].head(5):
        assert str(customer) in output


def test_compare_on_an_80_column_terminal_keeps_its_title_on_one_line(refreshed):
    """The totals' four narrow columns made Rich wrap their title after its comma: "snapshot
    1 (...) -> 2 (...)," over "amounts in USD"; the table takes the title's width instead."""
    _, workspace, _ = refreshed
    output = _at_80_columns(["compare", "-w", str(workspace)])
    with Workspace(workspace, read_only=True) as ws:
        first, second = list_snapshots(ws)[-2:]
    title = (
        f"snapshot {first.snapshot_id} ({first.as_of}) -> {second.snapshot_id} "
        f"({second.as_of}), amounts in USD"
    )
    assert title in [line.strip() for line in output.splitlines()], output


def test_history_on_an_80_column_terminal_shows_every_column_whole(refreshed):
    _, workspace, _ = refreshed
    output = _at_80_columns(["history", "-w", str(workspace)])
    assert "…" not in output and _tables_whole(output)
    with Workspace(workspace, read_only=True) as ws:
        expected = history(ws)
    flat = " ".join(output.split())
    for as_of, model in zip(expected["as_of"], expected["model"], strict=True):
        # the snapshot's model is shown in its row (or line), before the next snapshot's date
        row = rf"{as_of}(?:(?!20\d\d-\d\d-\d\d).)*\b{model}\b"
        assert re.search(row, flat), (as_of, model)


def test_history_on_an_80_column_terminal_keeps_each_interval_on_its_row(refreshed):
    """The interval column was squeezed to 11 characters at 80 columns: its header took five
    lines and every range two ("1,376 to" over "2,713"); the amounts' headers wrap instead."""
    _, workspace, _ = refreshed
    output = _at_80_columns(["history", "-w", str(workspace)])
    with Workspace(workspace, read_only=True) as ws:
        expected = history(ws)
    lines = output.splitlines()
    for row in expected.itertuples():
        interval = f"{row.predicted_clv_p10:,.0f} to {row.predicted_clv_p90:,.0f}"
        assert any(str(row.as_of) in line and interval in line for line in lines), interval
    title = next(i for i, line in enumerate(lines) if line.strip().startswith("snapshots"))
    rule = next(i for i, line in enumerate(lines) if i > title and "───" in line)
    assert rule - title - 1 <= 3, "\n".join(lines[title:rule])


def test_history_names_a_withheld_snapshot_beside_fitted_ones_none_fitted(refreshed, tmp_path):
    # a quarter whose predictions were withheld, listed beside quarters with a model: its model
    # reads "none fitted", as a shop's only snapshot does, not "nan"
    _, workspace, _ = refreshed
    copy = tmp_path / "w.duckdb"
    shutil.copy(workspace, copy)
    early = runner.invoke(
        app, ["analyze", "-w", str(copy), "--as-of", "2024-07-20", "-o", str(tmp_path / "o")]
    )
    assert early.exit_code == 0, early.output
    assert "withheld" in early.output
    shown = runner.invoke(app, ["history", "-w", str(copy)])
    assert shown.exit_code == 0, shown.output
    rows = [line for line in shown.output.splitlines() if "2024-07-20" in line]
    assert rows and "none" in rows[0], shown.output  # "none fitted", wrapped in its column
    assert "nan" not in shown.output


@pytest.mark.parametrize("width", [200, 60])
def test_a_mover_into_a_withheld_quarter_has_no_nan_churn_probability(width):
    # a high-value customer gone at risk in a quarter whose predictions were withheld: no churn
    # probability was made, so it reads "-", in the table and in the narrow terminal's lines
    from valuecast.cli import common
    from valuecast.cli.history import _print_movers

    movers = pd.DataFrame(
        {
            "customer_id": ["ann@example.com", "bob@example.com"],
            "rfm_group_before": ["Active", "Loyal"],
            "rfm_group_after": ["Almost lost", "At risk"],
            "predicted_clv_before": [float("nan"), 120.0],
            "predicted_clv_after": [float("nan"), float("nan")],
            "churn_probability_after": [float("nan"), float("nan")],
            "last_order_date": ["2024-09-30", "2024-08-02"],
        }
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(common.console, "_width", width)
        with common.console.capture() as captured:
            _print_movers(movers)
    shown = captured.get()
    assert "nan" not in shown, shown
    assert "ann@example.com" in shown and "bob@example.com" in shown
    if width == 60:
        assert "churn probability -, last order 2024-09-30" in shown


def test_a_refresh_whose_export_holds_no_later_order_says_it_is_not_a_new_period(
    refreshed, tmp_path
):
    # a quiet quarter: its export holds only the weeks overlapping the last one, so the
    # analysis takes the last snapshot's date, and as the export changes none of the stored
    # orders, is that snapshot again and keeps it; the merchant, expecting the new quarter
    # beside the last, is told so and how to date it
    folder, workspace, _ = refreshed
    copy = tmp_path / "w.duckdb"
    shutil.copy(workspace, copy)
    full = pd.read_csv(folder / "full.csv", dtype=str, keep_default_na=False)
    overlap = tmp_path / "quiet_quarter.csv"
    full[full["Created at"] >= "2026-06-01"].to_csv(overlap, index=False)
    result = runner.invoke(
        app, ["refresh", str(overlap), "-w", str(copy), "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "note: this is snapshot 2 (2026-06-30) again" in flat, flat
    assert (
        "No order in these files is dated after 2026-06-30, the date the analysis takes by "
        "default (the last order date): this is that date's analysis again, not a new period's"
    ) in flat
    assert "run again with --as-of set to the last day the export covers" in flat
    # given --as-of, the date is the merchant's own: the replacement alone is noted
    shutil.copy(workspace, copy)
    dated = runner.invoke(
        app, ["refresh", str(overlap), "-w", str(copy), "-o", str(tmp_path / "p"),
              "--as-of", "2026-06-30"],
    )  # fmt: skip
    assert dated.exit_code == 0, dated.output
    assert "replaces snapshot" in dated.output and "No order in these files" not in dated.output


def test_a_refresh_adding_orders_up_to_the_snapshots_date_says_it_is_that_date_with_them(
    refreshed, tmp_path
):
    """Files that add orders, none after the last snapshot's date (orders that came late, or a
    snapshot dated by --as-of before the day's last orders): the note said these files hold
    no new period and to date the analysis by the export's last day, the very date just run."""
    folder, workspace, _ = refreshed
    copy = tmp_path / "w.duckdb"
    shutil.copy(workspace, copy)
    full = pd.read_csv(folder / "full.csv", dtype=str, keep_default_na=False)
    paid = full[(full["Financial Status"] == "paid") & (full["Cancelled at"] == "")]
    last = full[full["Name"] == paid["Name"].iloc[0]].copy()
    late = pd.concat([last.assign(Name="#990001"), last.assign(Name="#990002")])
    late["Created at"] = "2026-06-29 10:00:00 -0400"
    if "Id" in late:
        late["Id"] = ""
    export = tmp_path / "late_orders.csv"
    pd.concat([full[full["Created at"] >= "2026-06-01"], late]).to_csv(export, index=False)
    result = runner.invoke(
        app, ["refresh", str(export), "-w", str(copy), "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "note: this snapshot replaces snapshot 2, of the same as-of date (2026-06-30)" in flat
    assert (
        "These files add 2 orders, none dated after 2026-06-30: this is that date's analysis "
        "again, now with them"
    ) in flat, flat
    assert "not a new period's" not in flat


def test_a_refresh_with_an_older_export_says_so_not_to_date_it_later(refreshed, tmp_path):
    """An older export read again (its last order months before the stored orders') holds no
    new period: the note said to run again with --as-of set to the last day the export covers,
    which would date a snapshot after orders the export does not hold."""
    folder, workspace, _ = refreshed
    copy = tmp_path / "w.duckdb"
    shutil.copy(workspace, copy)
    full = pd.read_csv(folder / "full.csv", dtype=str, keep_default_na=False)
    older = tmp_path / "first_quarter.csv"
    first = full[full["Created at"] < "2026-04-01"]
    first.to_csv(older, index=False)
    last = pd.to_datetime(first["Created at"].str[:10]).max().date().isoformat()
    result = runner.invoke(app, ["refresh", str(older), "-w", str(copy), "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "note: this is snapshot 2 (2026-06-30) again" in flat, flat
    assert (
        f"These files' last order is dated {last}, before 2026-06-30, the stored orders' last "
        "(an older export): they hold no new period"
    ) in flat
    assert "--as-of set to the last day" not in flat


@pytest.mark.parametrize("width", [120, 48])
def test_history_names_the_interval_as_that_of_the_expected_value(refreshed, width):
    """The history's column said "80% interval" alone, where analyze's headline, the report and
    the customer page say "80% interval of the expected value": the same range, named alike in
    the table (its header in two lines) and in a narrow terminal's lines."""
    from valuecast.cli import common

    _, workspace, _ = refreshed
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(common.console, "_width", width)
        result = runner.invoke(app, ["history", "-w", str(workspace)])
    assert result.exit_code == 0, result.output
    if width == 120:
        assert re.search(r"80% interval of ┃[^\n]*\n[^\n]*┃ the expected value ┃", result.output)
        assert _tables_whole(result.output)
    else:
        flat = " ".join(result.output.split())
        assert re.search(r"\(80% interval of the expected value [\d,]+ to [\d,]+\)", flat)


def test_a_refresh_keeping_the_only_snapshot_does_not_call_it_the_first(tmp_path):
    """The same export refreshed into a workspace of one snapshot keeps that snapshot: there
    is still nothing to compare with, and it is no first snapshot; a refresh of a new
    workspace makes the first."""
    orders = tmp_path / "orders.csv"
    rows = [f"c{k % 30},2025-{1 + k % 12:02d}-{1 + k % 27:02d},{10 + k % 7}" for k in range(200)]
    orders.write_text("customer_id,order_date,revenue\n" + "\n".join(rows) + "\n")
    workspace = tmp_path / "w.duckdb"
    first = runner.invoke(
        app, ["refresh", str(orders), "-w", str(workspace), "-o", str(tmp_path / "a")]
    )
    assert first.exit_code == 0, first.output
    assert "first snapshot: nothing to compare with yet" in first.output
    again = runner.invoke(
        app, ["refresh", str(orders), "-w", str(workspace), "-o", str(tmp_path / "b")]
    )
    assert again.exit_code == 0, again.output
    text = " ".join(again.output.split())
    assert "first snapshot" not in text
    assert "snapshot 1 is still the only one: nothing dated before it to compare with" in text


def test_refresh_keeps_the_last_analysis_seasons_setting(tmp_path):
    """`analyze --no-seasons`, then `refresh` with the next export: the refresh analyses without
    seasons too (it has no --no-seasons of its own, and its seasons came back)."""
    from shops import two_exports
    from valuecast.jobs.snapshots import last_options

    early, full = two_exports(tmp_path, customers=300, seed=12)
    workspace = tmp_path / "w.duckdb"
    first = runner.invoke(
        app, ["analyze", str(early), "-w", str(workspace), "-o", str(tmp_path / "q4"),
              "--no-seasons"],
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["refresh", str(full), "-w", str(workspace), "-o",
                                 str(tmp_path / "q2")])  # fmt: skip
    assert second.exit_code == 0, second.output
    with Workspace(workspace, read_only=True) as ws:
        assert last_options(ws).seasons is False
    summary = json.loads((tmp_path / "q2" / "summary.json").read_text())
    assert "+season" not in summary["model"]["name"]
