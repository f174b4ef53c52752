"""`valuecast analyze` when its results cannot be written: before the work, a --out that is no
folder; after the snapshot is committed, a failing write keeps the snapshot and says so."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from valuecast.cli import analyze as analyze_command
from valuecast.cli import app
from valuecast.datasets.demo_shop import generate_demo_shop
from valuecast.store import Workspace
from valuecast.store.snapshots import list_snapshots

runner = CliRunner()


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    path = tmp_path_factory.mktemp("outputs") / "orders_export.csv"
    generate_demo_shop(path, customers=150, seed=5)
    return path


def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def test_an_out_path_under_a_file_fails_before_the_work(export, tmp_path):
    workspace = tmp_path / "w.duckdb"
    result = runner.invoke(
        app, ["analyze", str(export), "-w", str(workspace), "-o", str(export / "results")]
    )
    assert result.exit_code == 2
    line = _one_line(result.output)
    assert line.startswith(f"error: {export / 'results'}: not a folder") and "is a file" in line
    assert not workspace.exists()  # nothing ingested, nothing analysed


def test_an_export_named_as_a_result_in_the_out_folder_is_refused_before_the_work(export, tmp_path):
    """An orders table saved as customers.csv, analysed with --out its own folder, was
    overwritten by the results: a second run then could not tell its format.  The folder's
    results are every file analyze writes (the refused names are the ones it writes)."""
    import shutil

    workspace = tmp_path / "w.duckdb"
    out = tmp_path / "out"
    result = runner.invoke(app, ["analyze", str(export), "-w", str(workspace), "-o", str(out)])
    assert result.exit_code == 0, result.output
    written = {path.name for path in out.iterdir() if not path.name.startswith(".")}
    assert written <= set(analyze_command.RESULT_FILES)
    assert set(analyze_command.RESULT_FILES) - written == {"cac.csv"}  # written with spend
    saved = tmp_path / "customers.csv"
    shutil.copy(export, saved)
    before = saved.read_bytes()
    again = tmp_path / "w2.duckdb"
    result = runner.invoke(app, ["analyze", str(saved), "-w", str(again), "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert _one_line(result.output) == (
        f"error: {saved}: is a file the results are written to (--out {tmp_path}): give --out "
        "another folder, or rename the file"
    )
    assert saved.read_bytes() == before and not again.exists()


@pytest.mark.parametrize("step", ["_store_pages", "_write_results"])
def test_a_write_failing_after_the_commit_keeps_the_snapshot_and_says_so(
    export, tmp_path, monkeypatch, step
):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(analyze_command, step, full_disk)
    workspace, out = tmp_path / "w.duckdb", tmp_path / "results"
    result = runner.invoke(app, ["analyze", str(export), "-w", str(workspace), "-o", str(out)])
    assert result.exit_code == 2
    line = _one_line(result.output)
    assert line.startswith(f"error: {out}: writing the results failed: OSError:")
    assert "No space left on device" in line
    with Workspace(workspace, read_only=True) as ws:
        (stored,) = list_snapshots(ws)
    assert line.endswith(
        f"the analysis is stored in {workspace} as snapshot {stored.snapshot_id} "
        f"(as of {stored.as_of})"
    )
    assert not (out / "customers.csv").exists()


def test_pages_failing_while_the_customers_files_are_written_is_the_one_line(
    export, tmp_path, monkeypatch
):
    """The customers files stream the snapshot on a cursor in another thread, and a connection
    refuses to close while a cursor of it reads: the workspace closes only once they are
    written, even when the dashboard's pages fail first."""
    import time

    import valuecast.outputs.files as files

    events = []
    write, close = files.write_arrow_batches, Workspace.close

    def slow(*args, **kwargs):
        time.sleep(1.0)  # the pages fail meanwhile
        written = write(*args, **kwargs)
        events.append("customers files written")
        return written

    def closing(self):
        events.append("workspace closed")
        return close(self)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "write_arrow_batches", slow)
    monkeypatch.setattr(Workspace, "close", closing)
    monkeypatch.setattr(analyze_command, "_store_pages", full_disk)
    workspace, out = tmp_path / "w.duckdb", tmp_path / "results"
    result = runner.invoke(app, ["analyze", str(export), "-w", str(workspace), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "No space left on device" in _one_line(result.output)
    assert events[-2:] == ["customers files written", "workspace closed"]
    assert not (out / "customers.csv").exists()  # nothing published after the failure


def test_the_printed_backtest_gives_a_failure_whole_and_marks_versions_not_competing():
    from types import SimpleNamespace

    from valuecast.cli.analyze import _print_analysis
    from valuecast.cli.common import console

    reason = "FitError: BetaGeo cannot be fitted: no customer made a repeat purchase in the data"
    scores = {"mae_orders": 0.3, "aggregate_error_orders": 0.1, "spearman_orders": 0.3,
              "top_decile_revenue_share": 0.4}  # fmt: skip
    summary = {
        "as_of": "2026-06-30", "currency": "USD", "n_customers": 10, "n_orders": 20,
        "n_guest_orders": 0, "totals": {"historic_clv": 100.0}, "model": {"name": "pnbd"},
        "rfm_groups": {}, "low_confidence": False, "low_confidence_reasons": [],
        "backtest": {
            "calibration_end": "2025-12-31", "best": "pnbd",
            "models": {"bgnbd": {"error": reason}, "pnbd": scores, "mbgnbd": scores,
                       "mbgnbd+covariates": scores},
            "covariates": {"eligible": ["bgnbd", "pnbd", "mbgnbd+covariates"]},
        },
    }  # fmt: skip
    with console.capture() as captured:
        _print_analysis(SimpleNamespace(summary=summary), {}, 1.0, [])
    text = " ".join(captured.get().replace("│", " ").split())
    assert "no customer made a repeat purchase in the data" in text
    assert "mbgnbd (not eligible)" in text and "pnbd (not eligible)" not in text


@pytest.mark.parametrize(
    ("kept", "said"), [({"pnbd": False}, "none of the models"), ({"pnbd": True}, "pnbd")]
)
def test_the_printed_backtest_says_what_came_of_the_covariates(kept, said):
    """``--covariates`` was answered by "pnbd+covariates (not eligible)" alone, and the long
    name cut the numbers' headers to "aggrega…" and "top-dec…" in 80 columns."""
    from types import SimpleNamespace

    from valuecast.cli.analyze import _print_analysis
    from valuecast.cli.common import console

    scores = {"mae_orders": 0.3, "aggregate_error_orders": 0.1, "spearman_orders": 0.3,
              "top_decile_revenue_share": 0.4}  # fmt: skip
    eligible = ["pnbd+covariates"] if kept["pnbd"] else ["pnbd"]
    summary = {
        "as_of": "2026-06-30", "currency": "USD", "n_customers": 10, "n_orders": 20,
        "n_guest_orders": 0, "totals": {"historic_clv": 100.0}, "model": {"name": "pnbd"},
        "rfm_groups": {}, "low_confidence": False, "low_confidence_reasons": [],
        "backtest": {
            "calibration_end": "2025-12-31", "best": "pnbd",
            "models": {"pnbd": scores, "pnbd+covariates": scores},
            "naive": scores, "covariates": {"kept": kept, "eligible": eligible},
        },
    }  # fmt: skip
    with console.capture() as captured:
        _print_analysis(SimpleNamespace(summary=summary), {}, 1.0, [])
    printed = captured.get()
    assert "…" not in printed and "aggregate" in printed and "top-decile" in printed
    text = " ".join(printed.split())
    assert f"covariates kept by: {said}. Each model competes with its covariates where" in text


@pytest.fixture(scope="module")
def heard(export, tmp_path_factory) -> list[str]:
    """What one ``run_analysis`` of the export told its ``on_step`` in order, with "released"
    where it released the memory the allocator kept (the test only records both)."""
    from valuecast.jobs import refresh as refresh_job
    from valuecast.store import memory

    folder = tmp_path_factory.mktemp("heard")
    events = []
    release = memory.release_unused_memory

    def releasing(**kwargs) -> None:
        events.append("released")
        release(**kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(memory, "release_unused_memory", releasing)
        patch.setattr(refresh_job, "release_unused_memory", releasing)
        analyze_command.run_analysis(
            [str(export)], folder / "w.duckdb", out=folder / "results", quiet=True,
            on_step=events.append,
        )  # fmt: skip
    return events


def test_each_step_is_named_to_the_caller_as_it_starts(heard):
    """``on_step`` (what benchmarks/end_to_end.py times) hears every step the progress line
    shows, in order, the ingest's first and the files' last."""
    steps = [event for event in heard if event != "released"]
    assert steps == [
        "reading exports",
        "writing the orders",
        "counting cohorts and repeat orders",
        "summarising customers",
        "backtesting models",
        "fitting models and predicting",
        "segmenting customers",
        "cohorts, channels, products",
        "storing the snapshot",
        "storing the dashboard's charts",
        "writing results and the report",
    ]


def test_summary_json_is_strict_json_where_a_figure_is_no_number(export, tmp_path, monkeypatch):
    """A standard error the fit cannot give (NaN) is null in summary.json: a bare NaN is not
    JSON, and a browser's or a spreadsheet's parser refuses the whole file."""
    import json

    write = analyze_command.write_analysis

    def with_nan(analysis, *args, **kwargs):
        analysis.summary["model"]["seasons"] = {"standard_errors": {"season_feb": float("nan")}}
        analysis.summary["totals"]["unbounded"] = float("inf")
        return write(analysis, *args, **kwargs)

    monkeypatch.setattr(analyze_command, "write_analysis", with_nan)
    out = tmp_path / "results"
    result = runner.invoke(app, ["analyze", str(export), "-w", str(tmp_path / "w.duckdb"),
                                 "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output

    def refuse(constant: str):
        raise ValueError(f"{constant} in summary.json")

    summary = json.loads((out / "summary.json").read_text(), parse_constant=refuse)
    assert summary["model"]["seasons"]["standard_errors"]["season_feb"] is None
    assert summary["totals"]["unbounded"] is None
    json.loads((out / "ingest_report.json").read_text(), parse_constant=refuse)


def test_ctrl_c_while_writing_the_files_says_the_snapshot_is_stored(export, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(analyze_command, "_write_results", interrupted)
    workspace = tmp_path / "w.duckdb"
    result = runner.invoke(app, [str(a) for a in
                                 ("analyze", export, "-w", workspace, "-o", tmp_path / "out")])  # fmt: skip
    assert result.exit_code == 130
    text = " ".join(result.output.split())
    assert f"interrupted: the analysis is stored in {workspace} as snapshot 1" in text
    with Workspace(workspace, read_only=True) as ws:
        assert len(list_snapshots(ws)) == 1


def _printed_exclusions(output: str) -> dict | None:
    """The exclusions ``analyze`` printed after its "ingested" line, as the ingest report
    counts them (``excluded_orders``, ``excluded_rows``, ``excluded_revenue`` and where it named
    the report), or None where it printed none."""
    import re

    text = " ".join(output.split())
    whole = re.search(
        r"excluded (\d[\d,]*) orders? \((\d[\d,]*) rows?, ([\d,.]+) revenue\): (.*?); counted by "
        r"reason in (\S+)",
        text,
    )
    if whole is None:
        assert not any(line.startswith("excluded") for line in output.splitlines()), output
        return None
    number = lambda text: float(text.replace(",", ""))  # noqa: E731
    found = {"excluded_orders": {}, "excluded_rows": {}, "excluded_revenue": {}}
    for reason, orders, rows, revenue in re.findall(
        r"(?:^|, )([^,()]+?) (?:(\d[\d,]*) )?\((\d[\d,]*) rows?(?:, ([\d,.]+))?\)", whole[4]
    ):
        if orders:
            found["excluded_orders"][reason] = int(number(orders))
            found["excluded_revenue"][reason] = number(revenue)
        found["excluded_rows"][reason] = int(number(rows))
    assert int(number(whole[1])) == sum(found["excluded_orders"].values())
    assert int(number(whole[2])) == sum(found["excluded_rows"].values())
    assert number(whole[3]) == pytest.approx(sum(found["excluded_revenue"].values()), abs=0.01)
    found["named"] = whole[5]
    return found


def _analyzed(files, workspace: str, monkeypatch, folder) -> tuple[dict | None, dict]:
    """What ``analyze FILES`` printed of its exclusions, and the ingest_report.json it wrote."""
    import json

    monkeypatch.chdir(folder)  # a short --out: its path is printed whole
    result = runner.invoke(app, ["analyze", *map(str, files), "-w", workspace, "-o", "out"])
    assert result.exit_code == 0, result.output
    report = json.loads((folder / "out" / "ingest_report.json").read_text())
    lines = result.output.splitlines()
    printed = _printed_exclusions(result.output)
    if printed is not None:  # right after the line counting the orders ingested
        assert lines[0].startswith("ingested ") and lines[1].startswith("excluded "), lines[:2]
        assert printed.pop("named") == "out/ingest_report.json"
    return printed, report


def _as_printed(report: dict) -> dict:
    return {key: report[key] for key in ("excluded_orders", "excluded_rows", "excluded_revenue")}


@pytest.fixture(scope="module")
def two_exports(tmp_path_factory):
    from shops import two_exports

    return two_exports(tmp_path_factory.mktemp("two"), customers=150, seed=5)


def test_analyze_says_what_each_ingest_excluded_by_reason(two_exports, tmp_path, monkeypatch):
    """The orders the files held and the analysis leaves out (cancelled, refunded, test, ...)
    are counted by reason under the "ingested" line as the ingest report counts them: on a
    new workspace and on a workspace refreshed with a newer export; an export not read again
    (unchanged since the last ingest) excluded nothing now and is said to be analysed as
    stored."""
    early, full = two_exports
    printed, report = _analyzed([early], "w.duckdb", monkeypatch, tmp_path)
    assert len(report["excluded_orders"]) >= 3  # several reasons
    assert printed == _as_printed(report)
    printed, report = _analyzed([full], "w.duckdb", monkeypatch, tmp_path)
    assert report["ingest_id"] == 2 and printed == _as_printed(report)
    printed, report = _analyzed([full], "w.duckdb", monkeypatch, tmp_path)
    assert printed is None and report["ingest_id"] == 2


def test_analyze_of_two_files_counts_an_order_both_exclude_once(two_exports, tmp_path, monkeypatch):
    """One ingest of two exports, the early one within the full: an order both exclude is one
    excluded order (each file's rows are counted), as ingest_report.json counts it."""
    early, full = two_exports
    printed, report = _analyzed([early, full], "w.duckdb", monkeypatch, tmp_path)
    assert printed == _as_printed(report)
    assert sum(report["excluded_rows"].values()) > sum(report["excluded_orders"].values())


def test_analyze_says_nothing_of_exclusions_where_the_files_held_none(tmp_path, monkeypatch):
    orders = tmp_path / "one.csv"
    orders.write_text(
        "customer_id,order_date,revenue\na,2026-01-05,10\na,2026-02-05,12\na,2026-03-04,14\n"
    )
    printed, report = _analyzed([orders], "w.duckdb", monkeypatch, tmp_path)
    assert printed is None and report["orders"] == 3 and not report["excluded_rows"]


def test_the_exclusions_line_counts_rows_without_orders_and_is_none_without_exclusions():
    from valuecast.cli.common import excluded_line

    nothing = {"excluded_orders": {}, "excluded_rows": {}, "excluded_revenue": {}}
    assert excluded_line(nothing) is None and excluded_line({}) is None
    report = {"excluded_orders": {"test order": 1}, "excluded_rows": {"empty row": 2,
              "test order": 1}, "excluded_revenue": {"test order": 1234.5}}  # fmt: skip
    assert excluded_line(report) == (
        "excluded 1 order (3 rows, 1,234.50 revenue): empty row (2 rows), test order 1 "
        "(1 row, 1,234.50)"
    )


def test_analyze_returns_what_the_importers_freed_before_the_orders_are_written(heard):
    """As ``ingest`` does: the peak is then the larger of reading and writing, not their sum."""
    written = heard.index("writing the orders")
    assert "released" in heard[heard.index("reading exports") : written]


def test_analyze_counts_the_customer_records_a_customers_export_gave(tmp_path):
    """A customers export read beside the orders gives consent and contacts, no orders: the
    first line says how many of its records the ingest stored, beside the orders."""
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer,date,amount\n"
        + "".join(f"c{k}@example.com,2024-0{1 + k % 6}-1{k % 9},{20 + k}\n" for k in range(60))
    )
    customers = tmp_path / "customers_export.csv"
    customers.write_text(
        "First Name,Last Name,Email,Accepts Marketing,Total Spent,Total Orders\n"
        "Ann,Lee,c1@example.com,yes,21.00,1\nPia,Neu,pia@example.com,no,0.00,0\n"
    )
    result = runner.invoke(
        app,
        ["analyze", str(orders), str(customers), "-w", str(tmp_path / "w.duckdb"),
         "-o", str(tmp_path / "out"), "--map", "customer_id=customer,ordered_at=date,revenue=amount"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "ingested 60 orders (new 60, updated 0, unchanged 0) and 2 customer records (new 2, "
        "updated 0; ingest #1)"
    )


def test_the_terminal_rounds_a_half_as_the_files_and_the_report_do(tmp_path):
    """A historic CLV of 282.5 is 283 in the terminal, as the report, the dashboard and the
    files round it (half up), not 282 (Python's formatting, half to even); the RFM groups' and
    `history`'s amounts alike."""
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer_id,order_date,revenue\nA,2026-01-05,100.25\nA,2026-02-05,100.25\n"
        "B,2026-01-07,50\nC,2026-01-09,20\nD,2026-02-11,12\n"
    )
    workspace = tmp_path / "w.duckdb"
    result = runner.invoke(
        app, ["analyze", str(orders), "-w", str(workspace), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"historic CLV +283\b", result.output), result.output
    history = runner.invoke(app, ["history", "-w", str(workspace)])
    assert history.exit_code == 0, history.output
    assert "283" in history.output and "282" not in history.output, history.output


def test_amount_text_rounds_halves_up_with_thousands_separators():
    from valuecast.tables import amount_text

    assert amount_text(282.5) == "283"
    assert amount_text(75432.5) == "75,433"
    assert amount_text(2.675, 2) == "2.68"
    assert amount_text(-0.5) == "-1"


def test_comparisons_add_up_as_their_figures_are_shown_rounded_half_up():
    """A comparison's change is the difference of its figures as shown: 282.5 shows as 283 in
    the terminal and on the dashboard, so 282.5 -> 300 is +17, not +18 (a half rounded to
    even on one side and up on the other)."""
    from valuecast.cli.history import _money, _shown_change
    from valuecast.outputs.report.charts import count_text
    from valuecast.web.pages import _change_from

    assert (_money(282.5), _money(300.0), _shown_change(282.5, 300.0)) == ("283", "300", "+17")
    assert (count_text(282.5), _change_from(300.0, 282.5)) == ("283", "+17")
    assert (_money(100.5), _money(101.5), _shown_change(100.5, 101.5)) == ("101", "102", "+1")
