"""``valuecast fit``: one model fitted to a summary table, its parameters printed.

Reading the file and fitting are :mod:`valuecast.jobs.fit_file`'s, imported in the command body (as
every command imports its heavy modules); this module checks the options and prints the result.
"""

from __future__ import annotations

import math
import time
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table

from valuecast.cli.common import console, fail, writing_to
from valuecast.cli.options import JsonOption, model_named


class ModelName(StrEnum):
    bgnbd = "bgnbd"
    pnbd = "pnbd"
    mbgnbd = "mbgnbd"
    ggnbd = "ggnbd"
    bgbb = "bgbb"
    gg = "gg"
    sbg = "sbg"


def _fit_model(text: str | ModelName) -> ModelName:
    return model_named(text, ModelName)


def fit(
    summary: Path = typer.Argument(
        ...,
        help="CSV or Parquet file with one row per customer (or per distinct history, with a "
        "weights column).",
    ),
    model: ModelName = typer.Option(
        ModelName.bgnbd,
        "--model",
        "-m",
        metavar="<model>",
        parser=_fit_model,
        help="Model to fit: bgnbd (BG/NBD), pnbd (Pareto/NBD), mbgnbd (MBG/NBD), ggnbd "
        "(GGompertz/NBD), bgbb (BG/BB), gg (Gamma-Gamma) or sbg (shifted beta-geometric).",
    ),
    penalizer: float = typer.Option(0.0, help="L2 penalty on the parameters."),
    as_json: JsonOption = False,
    predict: float | None = typer.Option(
        None,
        "--predict",
        help="Also predict each row over the next T time units (in the unit of the data).",
    ),
    out: Path | None = typer.Option(None, "--out", help="CSV for the per-row predictions."),
    cohort_size: int = typer.Option(
        1000, help="sbg only: customers per cohort when the columns are percentages."
    ),
) -> None:
    """Fit a model to a summary table and print its parameters.

    Columns are matched by name: frequency/recency/T/monetary_value/weights, or CDNOW-style
    x/t_x/T/zbar (and summary --out's avg_repeat_order_value); bgbb takes
    frequency/recency/periods; sbg takes one column of survivors per cohort (columns named
    *_pct are percentages of --cohort-size).
    """
    from valuecast.jobs.fit_file import FitInputError, fit_summary_file

    if out is not None and predict is None:
        fail("--out writes predictions: give --predict T too")
    if predict is not None and not (predict >= 0 and math.isfinite(predict)):
        fail(f"--predict {predict:g}: the time to predict over is a number of 0 or more (39: "
             "the next 39 time units of the data)")  # fmt: skip
    if not penalizer >= 0:  # a negative penalty rewards extreme parameters (NaN: no penalty)
        fail(f"--penalizer must be 0 or more (got {penalizer})")
    try:
        started = time.perf_counter()
        result = fit_summary_file(summary, model.value, penalizer, predict, cohort_size)
        elapsed = time.perf_counter() - started
    except FitInputError as error:
        fail(str(error))
    except Exception as error:  # a model that cannot be fitted: say why, no traceback
        fail(f"{summary}: {model.value} fit failed: {error}")
    result["fit_seconds"] = round(elapsed, 4)
    predictions = result.pop("predictions", None)
    if out is not None and predictions is not None:
        from valuecast.outputs.files import write_csv

        with writing_to(out, "the predictions"):
            write_csv(predictions, out)
        result["predictions_file"] = str(out)
    elif as_json and predictions is not None:  # no file for them: the JSON holds them
        result["predictions"] = predictions.to_dict(orient="records")
    if as_json:
        from valuecast.analysis.payload import json_text

        print(json_text(result))  # a standard error that is none is null, not a bare NaN
        return
    console.print(f"[bold]{result['model']}[/] fitted on {summary.name}", highlight=False)
    table = Table()
    table.add_column("parameter")
    table.add_column("estimate", justify="right")
    table.add_column("std. error", justify="right")
    for name, value in result["params"].items():
        error = result["standard_errors"][name]
        table.add_row(name, f"{value:.4f}", "-" if math.isnan(error) else f"{error:.4f}")
    console.print(table)
    console.print(
        f"log-likelihood {result['log_likelihood']:.2f}   n = {result['n']:,}   "
        f"distinct rows = {result['n_distinct']:,}   fit {result['fit_seconds']:.3f} s"
    )
    for note in result["notes"]:
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    if predictions is not None and out is None:
        console.print(predictions.head(10).to_string(index=False))
    if "predictions_file" in result:
        console.print(f"predictions written to {result['predictions_file']}")
