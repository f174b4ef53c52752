"""`valuecast fit`: a summary CSV in, parameters out; bad input is one line and exit code 2."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from valuecast.cli import app
from valuecast.datasets import data_file

runner = CliRunner()


@pytest.fixture
def cdnow_csv(tmp_path):
    """The shipped CDNOW summary with spend (x, t_x, T, zbar column names)."""
    with data_file("cdnow_customers_summary_with_transactions.csv") as path:
        target = tmp_path / "cdnow.csv"
        target.write_text(path.read_text())
    return target


def run_json(*args):
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_fit_bgnbd_on_cdnow_reproduces_the_paper(cdnow_csv):
    # Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4
    result = run_json("fit", str(cdnow_csv), "--model", "bgnbd")
    assert result["model"] == "BetaGeo"
    assert result["params"]["r"] == pytest.approx(0.243, abs=5e-4)
    assert result["params"]["alpha"] == pytest.approx(4.414, abs=5e-3)
    assert result["log_likelihood"] == pytest.approx(-9582.4, abs=0.1)
    assert result["n"] == 2357
    assert set(result["standard_errors"]) == {"r", "alpha", "a", "b"}
    assert result["fit_seconds"] >= 0


def test_fit_gamma_gamma_reads_zbar(cdnow_csv):
    # Fader & Hardie (2013): p = 6.25, q = 3.74, v = 15.44 on the 946 repeaters
    result = run_json("fit", str(cdnow_csv), "--model", "gg")
    assert result["params"]["p"] == pytest.approx(6.25, abs=5e-3)
    assert result["params"]["q"] == pytest.approx(3.74, abs=5e-3)


def test_fit_compressed_summary_with_weights(tmp_path):
    # the donations table is already compressed (frequency, recency, periods, weights)
    with data_file("donations.csv") as path:
        result = run_json("fit", str(path), "--model", "bgbb")
    # Fader, Hardie & Shang (2010): alpha = 1.204, LL = -33225.58
    assert result["params"]["alpha"] == pytest.approx(1.204, abs=5e-4)
    assert result["log_likelihood"] == pytest.approx(-33225.58, abs=0.1)
    assert result["n"] == 11104


def test_fit_sbg_from_percentages(tmp_path):
    table = pd.DataFrame(
        {"year": range(8), "high_end_pct": [100, 86.9, 74.3, 65.3, 59.3, 55.1, 51.7, 49.1]}
    )
    path = tmp_path / "survival.csv"
    table.to_csv(path, index=False)
    result = run_json("fit", str(path), "--model", "sbg")
    # Fader & Hardie (2007), Appendix B: alpha = 0.668, beta = 3.806, LL = -1611.2
    assert result["params"]["alpha"] == pytest.approx(0.668, abs=5e-4)
    assert result["params"]["beta"] == pytest.approx(3.806, abs=5e-3)
    assert result["log_likelihood"] == pytest.approx(-1611.2, abs=0.1)
    assert result["notes"] == []


def test_fit_sbg_of_two_columns_says_it_pools_them_as_one_population(tmp_path):
    table = pd.DataFrame({
        "year": range(8),
        "regular_pct": [100, 63.1, 46.8, 38.2, 32.6, 28.9, 26.2, 24.1],
        "high_end_pct": [100, 86.9, 74.3, 65.3, 59.3, 55.1, 51.7, 49.1],
    })  # fmt: skip
    path = tmp_path / "survival.csv"
    table.to_csv(path, index=False)
    result = run_json("fit", str(path), "--model", "sbg")
    assert result["notes"] == [
        "2 columns fitted together as cohorts of one population (regular_pct, high_end_pct): "
        "for segments that may churn differently, fit a file of one column each"
    ]


def test_predictions_are_written_per_row(cdnow_csv, tmp_path):
    out = tmp_path / "pred.csv"
    result = runner.invoke(app, ["fit", str(cdnow_csv), "--predict", "39", "--out", str(out)])
    assert result.exit_code == 0, result.output
    predictions = pd.read_csv(out)
    assert len(predictions) == 2357
    assert list(predictions.columns) == ["ID", "probability_alive", "expected_transactions"]
    # FHL (2005): E[X(39) | x=2, t_x=30.43, T=38.86] = 1.226 for customer 1 (at the fitted values)
    assert predictions.loc[0, "expected_transactions"] == pytest.approx(1.226, abs=5e-3)
    assert predictions["probability_alive"].between(0, 1).all()


def test_human_output_shows_parameters(cdnow_csv):
    result = runner.invoke(app, ["fit", str(cdnow_csv), "--model", "pnbd"])
    assert result.exit_code == 0, result.output
    assert "ParetoNBD" in result.output and "beta" in result.output
    assert "log-likelihood" in result.output


@pytest.mark.parametrize(
    "content, message",
    [
        ("frequency,recency\n1,2\n", "column 'T' is missing (name it T or t; found: frequency"),
        ("frequency,recency,T\n1,2,5\n1,abc,5\n", "row 3, column 'recency': not a number ('abc')"),
        ("frequency,recency,T\n1,,5\n", "row 2, column 'recency': not a number (an empty cell)"),
        ("frequency,recency,T\n", "no rows after the header: nothing to fit"),
        ("", "not a readable CSV"),
        ("frequency,t_x,T\n1,8,20\n2,0,30\n", "row 3, column 't_x': 0 with frequency 2: repeat"),
    ],
)
def test_bad_summary_is_one_line_exit_2(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = runner.invoke(app, ["fit", str(path)])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_predictions_of_a_compressed_table_keep_the_rows_histories(tmp_path):
    """Without an id column the rows are told apart by what was fitted: the predictions name
    each row's history (and its weight), so they join back to the table."""
    path = tmp_path / "compressed.csv"
    path.write_text("frequency,recency,T,count\n0,0,30,50\n1,10,30,20\n3,25,30,5\n")
    out = tmp_path / "pred.csv"
    result = runner.invoke(app, ["fit", str(path), "--predict", "30", "--out", str(out)])
    assert result.exit_code == 0, result.output
    predictions = pd.read_csv(out)
    assert list(predictions.columns) == [  # as the file names them
        "frequency", "recency", "T", "count", "probability_alive", "expected_transactions",
    ]  # fmt: skip
    assert predictions["frequency"].tolist() == [0, 1, 3]
    assert predictions["count"].tolist() == [50, 20, 5]
    bgbb = runner.invoke(app, ["fit", str(path), "--model", "bgbb"])
    assert bgbb.exit_code == 2
    assert (
        "column 'n_periods' is missing (name it periods, n_periods or n; found: frequency, "
        "recency, T, count)"
    ) in " ".join(bgbb.output.split())


def test_a_negative_penalizer_is_refused_and_json_has_no_bare_nan(tmp_path, cdnow_csv):
    result = runner.invoke(app, ["fit", str(cdnow_csv), "--penalizer", "-1"])
    assert result.exit_code == 2 and "--penalizer must be 0 or more" in result.output
    # a shop without visible dropout: Pareto/NBD's limit, whose dropout has no standard error
    path = tmp_path / "nodrop.csv"
    path.write_text("frequency,recency,T\n" + "".join(
        f"{k % 5},{(k % 5) * 30},{150 + k}\n" for k in range(60)
    ))  # fmt: skip
    result = runner.invoke(app, ["fit", str(path), "--model", "pnbd", "--json"])
    assert result.exit_code == 0, result.output
    assert "NaN" not in result.output
    json.loads(result.output, parse_constant=lambda name: pytest.fail(f"bare {name}"))


def test_missing_file_and_out_without_predict(tmp_path):
    result = runner.invoke(app, ["fit", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2 and "no such file" in result.output
    result = runner.invoke(app, ["fit", str(tmp_path / "nope.csv"), "--out", "x.csv"])
    assert result.exit_code == 2 and "--predict" in result.output


def test_fit_ggompertz_nbd_reaches_the_pareto_limit_on_cdnow(cdnow_csv):
    # CLVTools' CDNOW fit of the GGompertz/NBD (Bemmaor & Glady 2012): LL -9594.9762, r 0.55313,
    # alpha 10.5758, with b -> 0 (the Pareto/NBD limit, beta/b its beta = 11.67)
    result = run_json("fit", str(cdnow_csv), "--model", "ggnbd", "--predict", "39")
    assert result["model"] == "GGompertzNBD"
    assert result["log_likelihood"] == pytest.approx(-9594.9762, abs=1e-2)
    assert result["params"]["r"] == pytest.approx(0.553, abs=5e-4)
    assert result["params"]["beta"] / result["params"]["b"] == pytest.approx(11.67, abs=0.01)
    assert set(result["params"]) == {"r", "alpha", "b", "s", "beta"}


def _orders_of_a_few_repeat_buyers(path, customers: int, prefix: str):
    """An orders CSV of ``customers`` buyers (ids ``prefix`` + a number) of 1-4 orders each in
    the first months of 2024."""
    rows = []
    for k in range(customers):
        for n in range(1 + k % 4):
            rows.append(f"{prefix}{k},2024-0{1 + n}-{10 + k % 15},{20 + 3 * n + k % 7}")
    path.write_text("customer_id,order_date,revenue\n" + "\n".join(rows) + "\n")
    return path


def test_summary_output_fits_gamma_gamma_and_a_limit_is_a_note(tmp_path):
    # `valuecast summary --out` names the repeat orders' mean value avg_repeat_order_value;
    # a shop whose buyers show no dropout sends BG/NBD to its limit: a note, not a warning
    orders = _orders_of_a_few_repeat_buyers(tmp_path / "orders.csv", 30, "c")
    summary = tmp_path / "summary.csv"
    made = runner.invoke(
        app, ["summary", str(orders), "--as-of", "2024-05-01", "--out", str(summary)]
    )
    assert made.exit_code == 0, made.output
    assert "avg_repeat_order_value" in summary.read_text().splitlines()[0]
    result = run_json("fit", str(summary), "--model", "gg")
    assert result["n"] == 22 and result["params"]["p"] > 0  # the 22 repeat buyers
    fitted = runner.invoke(app, ["fit", str(summary), "--model", "bgnbd"])
    assert fitted.exit_code == 0, fitted.output
    assert "RuntimeWarning" not in fitted.output and "_fitting.py" not in fitted.output
    assert "note: " in fitted.output
    assert run_json("fit", str(summary), "--model", "bgnbd")["notes"]


def test_an_orders_export_given_to_fit_is_pointed_to_summary(tmp_path):
    """A merchant's export is not a summary table: the error says which command makes one,
    and lists a wide export's first columns, not all of them."""
    export = tmp_path / "orders_export.csv"
    header = ["Name", "Email", "Created at", "Total", *(f"Extra {k}" for k in range(40))]
    export.write_text(",".join(header) + "\n" + ",".join(["#1", "a@x.com", "2024-01-01", "9"]
                                                          + [""] * 40) + "\n")  # fmt: skip
    result = runner.invoke(app, ["fit", str(export)])
    assert result.exit_code == 2, result.output
    line = " ".join(result.output.split())
    assert f"`valuecast summary {export} --out summary.csv` writes that from an export" in line
    assert "Extra 7, ... (44 in all)" in line and "Extra 8" not in line


def test_fit_takes_the_models_names_as_the_papers_write_them(cdnow_csv):
    """``Pareto/NBD`` and ``Gamma-Gamma`` are the models ``pnbd`` and ``gg``."""
    assert run_json("fit", str(cdnow_csv), "--model", "Pareto/NBD")["model"] == "ParetoNBD"
    assert run_json("fit", str(cdnow_csv), "--model", "Gamma-Gamma")["model"] == "GammaGamma"


def test_a_fit_of_few_customers_says_so_and_shows_no_nan(tmp_path, cdnow_csv):
    """A one-customer summary: the limit's parameters have no standard error, shown as a dash
    (null in JSON), and a note says the fit rests on fewer customers than `analyze` trusts."""
    path = tmp_path / "one.csv"
    path.write_text("frequency,recency,T\n3,200,300\n")
    result = runner.invoke(app, ["fit", str(path), "--model", "bgnbd"])
    assert result.exit_code == 0, result.output
    assert "nan" not in result.output
    said = " ".join(result.output.split())
    assert "note: fitted on 1 customer (fewer than 500): the estimates and their standard" in said
    assert run_json("fit", str(path))["notes"][-1].startswith("fitted on 1 customer (fewer")
    assert not any("fewer than 500" in note for note in run_json("fit", str(cdnow_csv))["notes"])


def test_predictions_give_the_ids_back_as_the_summary_wrote_them(tmp_path):
    """The predictions join back on the summary's ids: 000123 stays 000123 (not 123, which a
    number guessed from the cell would write) and an id NA stays NA (not an empty cell)."""
    ids = ["000001", "000002", "NA", "12345678901234567890123", "7"]
    rows = [f"{i},{f},{r},{t}" for i, f, r, t in zip(ids, [0, 2, 1, 3, 0], [0, 20, 8, 30, 0],
                                                     [40, 35, 38, 39, 30], strict=True)]  # fmt: skip
    summary = tmp_path / "summary.csv"
    summary.write_text("customer_id,frequency,recency,T\n" + "\n".join(rows * 8) + "\n")
    out = tmp_path / "predictions.csv"
    result = runner.invoke(app, ["fit", str(summary), "--predict", "10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = out.read_text().splitlines()
    assert [line.split(",")[0] for line in written[1:6]] == ids


def test_gamma_gamma_leaves_out_repeat_purchases_of_no_value_with_a_note(tmp_path):
    """A summary of a shop with free repeat orders (what `valuecast summary --out` writes for
    it) is fitted as `analyze` fits it, without those rows, and the note names the first; their
    expected value is left empty, not made up."""
    rows = [f"c{k},{1 + k % 3},{10 + k},{60},{20 + k % 7}" for k in range(40)]
    rows += ["free1,2,30,60,0", "free2,1,12,60,-4"]
    summary = tmp_path / "summary.csv"
    summary.write_text(
        "customer_id,frequency,recency,T,avg_repeat_order_value\n" + "\n".join(rows) + "\n"
    )
    out = tmp_path / "predictions.csv"
    result = runner.invoke(
        app, ["fit", str(summary), "--model", "gg", "--predict", "1", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    fitted = json.loads(result.stdout)
    assert fitted["n"] == 40
    assert any(
        "2 rows with repeat purchases of value 0 or less (the first: row 42, column "
        "'avg_repeat_order_value') left out of the fit" in note
        for note in fitted["notes"]
    ), fitted["notes"]
    predictions = pd.read_csv(out, keep_default_na=False, na_values=[""])
    value = predictions.set_index("customer_id")["expected_average_value"]
    assert value[["free1", "free2"]].isna().all() and value.drop(["free1", "free2"]).gt(0).all()


def test_a_parquet_summary_fits_as_its_csv_does(tmp_path):
    """`valuecast summary --out summary.parquet` writes Parquet: `fit` reads it as it reads the
    CSV (the same estimates, the ids as written), and a bad cell names its row, 1 the first."""
    orders = _orders_of_a_few_repeat_buyers(tmp_path / "orders.csv", 40, "00")
    fitted = {}
    for suffix in ("csv", "parquet"):
        summary = tmp_path / f"summary.{suffix}"
        made = runner.invoke(
            app, ["summary", str(orders), "--as-of", "2024-06-01", "--out", str(summary)]
        )
        assert made.exit_code == 0, made.output
        fitted[suffix] = run_json("fit", str(summary), "--model", "pnbd")
        out = tmp_path / f"predictions_{suffix}.csv"
        done = runner.invoke(app, ["fit", str(summary), "--predict", "30", "--out", str(out)])
        assert done.exit_code == 0, done.output
    assert fitted["parquet"]["params"] == fitted["csv"]["params"]
    assert fitted["parquet"]["n"] == fitted["csv"]["n"] == 40
    written = {s: (tmp_path / f"predictions_{s}.csv").read_text() for s in ("csv", "parquet")}
    assert written["parquet"] == written["csv"]
    assert "\n000," in written["parquet"]  # the id 000 as written, not 0

    frame = pd.read_parquet(tmp_path / "summary.parquet")
    frame.loc[2, "recency"] = float("nan")
    frame.to_parquet(tmp_path / "bad.parquet")
    result = runner.invoke(app, ["fit", str(tmp_path / "bad.parquet")])
    assert result.exit_code == 2
    assert "bad.parquet: row 3, column 'recency': not a number" in result.output
