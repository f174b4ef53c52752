"""The options several commands share, each declared once with its help text.

A command names the option type (``workspace: WorkspaceOption = Path("valuecast.duckdb")``) and
so shows the same flag, short form and help as every other command taking it.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from valuecast.analysis.covariate_names import COVARIATES

__all__ = [
    "AnalysisOutOption",
    "ENGINE_HELP",
    "FORMAT_NAMES",
    "FX_HELP",
    "TABLES_HELP",
    "AsOfOption",
    "CalendarOption",
    "ClearNotProductsOption",
    "CovariatesOption",
    "DiscountRateOption",
    "EngineOption",
    "ExportFormat",
    "FormatOption",
    "FxOption",
    "HorizonOption",
    "JsonOption",
    "LastAsOfOption",
    "LastDiscountRateOption",
    "LastHorizonOption",
    "LastMarginOption",
    "LastModelOption",
    "MapOption",
    "joined_map",
    "MarginOption",
    "MODEL_SPELLINGS",
    "ModelChoice",
    "ModelOption",
    "grouping_named",
    "grouping_names",
    "model_named",
    "OutOption",
    "SeasonsOption",
    "NoKeptSpendOption",
    "NoSpendOption",
    "NotProductOption",
    "SpendOption",
    "TablesOption",
    "TopOption",
    "WorkspaceOption",
]


class ExportFormat(StrEnum):
    shopify = "shopify"
    shopify_customers = "shopify-customers"
    magento = "magento"
    magento_grid = "magento-grid"
    woocommerce = "woocommerce"
    orders = "orders"
    cdnow = "cdnow"


class ModelChoice(StrEnum):
    auto = "auto"
    bgnbd = "bgnbd"
    pnbd = "pnbd"
    mbgnbd = "mbgnbd"
    ggnbd = "ggnbd"


Choice = TypeVar("Choice", bound=StrEnum)


def grouping_named(text: str | StrEnum, choices: type[Choice]) -> Choice:
    """The grouping of ``choices`` that ``text`` names, in any case and with a dash for the
    underscore (``first-product``, as the command line's own option names are written); else a
    bad parameter listing the names."""
    if isinstance(text, choices):
        return text
    name = str(text).strip().casefold().replace("-", "_")
    if name in choices.__members__:
        return choices[name]
    names = ", ".join(repr(choice.value) for choice in choices)
    raise typer.BadParameter(f"{str(text)!r} is not one of {names}.")


def grouping_names(choices: type[StrEnum]) -> str:
    """The metavar listing ``choices``, as a choice option's own shows them."""
    return "<" + "|".join(choice.value for choice in choices) + ">"


MODEL_SPELLINGS: dict[str, str] = {
    "paretonbd": "pnbd",
    "ggompertznbd": "ggnbd",
    "gammagamma": "gg",
    "shiftedbetageometric": "sbg",
}
"""The models' names as the literature writes them (``Pareto/NBD``), by their letters alone,
where those are not already the command-line name (``BG/NBD`` is ``bgnbd``)."""


def model_named(text: str | StrEnum, choices: type[Choice]) -> Choice:
    """The model of ``choices`` that ``text`` names, as an analyst types it: in any case, with or
    without its slash or dash (``BG/NBD``, ``bg-nbd``, ``Pareto/NBD``); else a bad parameter
    listing the names."""
    if isinstance(text, choices):
        return text
    letters = "".join(char for char in str(text).casefold() if char.isalnum())
    name = MODEL_SPELLINGS.get(letters, letters)
    if name in choices.__members__:
        return choices[name]
    names = ", ".join(choice.value for choice in choices)
    raise typer.BadParameter(f"{str(text)!r} is no model valuecast knows: use {names}")


def _analysis_model(text: str | ModelChoice) -> ModelChoice:
    return model_named(text, ModelChoice)


ENGINE_HELP = (
    "Where the work runs: duckdb (the workspace, default), spark (the active SparkSession or a "
    "local one; spark://HOST:PORT for a standalone master) or a database URL such as "
    "postgres://host/db. See docs/scale.md."
)
TABLES_HELP = (
    "With --engine: where the canonical tables are. Spark: a folder of Parquet tables "
    "(orders.parquet, ...) or a catalog schema (valuecast_orders, ...); a database: the schema "
    "holding valuecast_orders (default: the connection's)."
)


# `--engine` and `--tables` of ingest, summary and analyze (docs/scale.md)
EngineOption = Annotated[str, typer.Option("--engine", help=ENGINE_HELP)]
TablesOption = Annotated[str | None, typer.Option("--tables", help=TABLES_HELP)]

# every command on a workspace
WorkspaceOption = Annotated[
    Path, typer.Option("--workspace", "-w", help="The workspace DuckDB file.")
]

# `analyze` and `refresh` (some also in `channels`, `report`, `demo` and `affinity`); `ingest`
# and `summary` word --format, --map and --fx for their own use
FORMAT_NAMES = ", ".join(f.value for f in ExportFormat)
"""The --format choices, named in its help: Typer's own list of them folds into a narrow column."""
FormatOption = Annotated[
    ExportFormat | None,
    typer.Option(
        "--format",
        metavar="<format>",
        case_sensitive=False,  # Shopify as the merchant writes the platform's name
        help=f"Force the export format instead of detecting it from the header: {FORMAT_NAMES}.",
    ),
]
MapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        metavar="<map>",
        # spaced after its commas (which the map allows): the help's column wraps only at spaces
        help="Columns of a generic orders table: customer_id=COL, ordered_at=COL, revenue=COL, "
        "... (a line-level log: quantity=COL, unit_price=COL[, product=COL, sku=COL] instead of "
        "revenue); phone=COL[, country=COL or country=FR] names customers without an id by "
        "their phone number; status=COL leaves out cancelled, failed and refunded orders; "
        "time_zone=ZONE (e.g. Europe/Paris) reads a Magento sales_order or WooCommerce wc_orders "
        "table's UTC times, or an orders table's instants (TIMESTAMPTZ, Unix times), in the store's "
        "time zone; amount_unit=cents reads amounts written in cents (a column named so, such as "
        "amount_cents, is); date_format=%d.%m.%Y reads dates written so; "
        'a name with a comma in double quotes: revenue="Total (USD, incl tax)"; --map may be '
        "repeated",
    ),
]


def joined_map(given: list[str] | None) -> str | None:
    """The ``--map`` options as one map: a repeated ``--map`` adds its keys to the others'
    (``--map customer_id=Email --map revenue=Total``), as one ``--map`` of them all would."""
    if not given:
        return None
    return ",".join(given)


FX_HELP = (
    "RATES.csv (currency, rate) converting every currency to one base currency, the one of "
    "rate 1; another's rate is one unit of it in the base (EUR,1.08 beside USD,1)."
)
"""--fx's help, of every command reading exports: the columns ``io.fx.load_rates`` reads."""
FxOption = Annotated[Path | None, typer.Option("--fx", help=FX_HELP)]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: the last order date).")
]
_DISCOUNT_RATE_HELP = "Yearly rate future orders are discounted at, as a fraction (0.10 for 10%)"

HorizonOption = Annotated[
    int, typer.Option("--horizon", help="Prediction horizon in months (1 to 120).")
]
DiscountRateOption = Annotated[
    float,
    typer.Option(
        "--annual-discount-rate",
        help=f"{_DISCOUNT_RATE_HELP}.",
    ),
]
MarginOption = Annotated[
    float,
    typer.Option(
        "--margin", help="Share of net revenue kept as profit, as a fraction (0.4 for 40%)."
    ),
]
ModelOption = Annotated[
    ModelChoice,
    typer.Option(
        "--model",
        metavar="<model>",
        parser=_analysis_model,
        help="auto picks the best of bgnbd (BG/NBD), pnbd (Pareto/NBD) and mbgnbd (MBG/NBD) on "
        "a holdout backtest; ggnbd (GGompertz/NBD, slower to fit) runs only when named.",
    ),
]
# `refresh`, `report` and `channels`: unless given, the last analysis' (jobs.snapshots.last_options)
LastHorizonOption = Annotated[
    int | None,
    typer.Option(
        "--horizon", help="Prediction horizon in months (default: the last analysis', else 12)."
    ),
]
LastDiscountRateOption = Annotated[
    float | None,
    typer.Option(
        "--annual-discount-rate",
        help=f"{_DISCOUNT_RATE_HELP}; default: the last analysis', else 0.10.",
    ),
]
LastAsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="YYYY-MM-DD (default: the last analysis' as-of date, if it gave one; else the last "
        "order date).",
    ),
]
LastMarginOption = Annotated[
    float | None,
    typer.Option(
        "--margin",
        help="Share of net revenue kept as profit, as a fraction (0.4 for 40%; default: the last "
        "analysis', else 1.0).",
    ),
]
LastModelOption = Annotated[
    ModelChoice | None,
    typer.Option(
        "--model",
        metavar="<model>",
        parser=_analysis_model,
        help="auto, bgnbd, pnbd, mbgnbd or ggnbd (default: the last analysis' choice, else auto).",
    ),
]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]
AnalysisOutOption = Annotated[
    Path,
    typer.Option(
        "--out",
        "-o",
        help="Folder for the analysis files: customers.csv, summary.json, report.html and the "
        "rest (made when missing).",
    ),
]
SpendOption = Annotated[
    Path | None,
    typer.Option(
        "--spend",
        help=(
            "SPEND.csv (month, channel, spend; without a channel column, or with channel all "
            "or total, the whole shop's): adds CAC, CLV:CAC and payback, blended and per "
            "channel; kept in the workspace (replacing the one kept before) for the commands "
            "given no --spend."
        ),
    ),
]
NoSpendOption = Annotated[
    bool,
    typer.Option(
        "--no-spend",
        help=(
            "Analyse without marketing spend and drop the spend the workspace keeps (e.g. "
            "after the shop's currency changed); CAC then needs a new --spend."
        ),
    ),
]
NoKeptSpendOption = Annotated[
    bool,
    typer.Option(
        "--no-spend",
        help="Leave out the spend the workspace keeps (this run only; it stays kept).",
    ),
]
NotProductOption = Annotated[
    list[str] | None,
    typer.Option(
        "--not-product",
        metavar="NAME",
        help=(
            "An order line name or SKU that is no product (a fee, a free sample), left out of "
            "affinity, next products, reminders and first_product like the built-in ones "
            "(shipping, postage, tips, gift wrap, insurance...); repeat for more. Kept in the "
            "workspace for every later command, added to the names kept before."
        ),
    ),
]
ClearNotProductsOption = Annotated[
    bool,
    typer.Option(
        "--clear-not-products",
        help="Forget the --not-product names the workspace keeps (the built-in ones stay).",
    ),
]

CalendarOption = Annotated[
    Path | None,
    typer.Option(
        "--calendar",
        help="CALENDAR.csv (week or month, then numeric columns such as promo): time-varying "
        "purchase covariates, tried in the backtest with the seasons.",
    ),
]
SeasonsOption = Annotated[
    bool,
    typer.Option(
        "--seasons/--no-seasons",
        help="Try calendar-month effects in the backtest (once the history holds two of every "
        "month).",
    ),
]
CovariatesOption = Annotated[
    str | None,
    typer.Option(
        "--covariates",
        help=f"Customer columns the models may use: {', '.join(COVARIATES)}. The backtest "
        "keeps them where they predict the holdout better; their effects go to summary.json and "
        "the report's What drives value.",
    ),
]

# `refresh` and `compare`
TopOption = Annotated[
    int, typer.Option("--top", min=0, help="High-value customers at risk to list (0: none).")
]

# `fit` and `stage` (the other --json flags say what they print)
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
