"""``valuecast demo``: a simulated Shopify shop written as an export, then analysed."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from valuecast.cli.analyze import run_analysis
from valuecast.cli.common import console, fail, writing_to
from valuecast.cli.options import OutOption

DEMO_MARKER = ".valuecast-demo"
"""The file the demo leaves in its folder: a folder holding it is the demo's to overwrite."""
MAX_DEMO_CUSTOMERS = 2_000_000
"""The largest demo shop: simulated in memory, a few GB at this size."""

DEFAULT_OUT = Path("valuecast-demo")


def demo(
    customers: int = typer.Option(5000, "--customers", help="Customers in the simulated shop."),
    seed: int = typer.Option(0, "--seed", help="Seed of the simulation (same seed, same shop)."),
    out: OutOption = DEFAULT_OUT,
) -> None:
    """Simulate a two-year Shopify shop, analyse it, and show where everything is.

    The shop is written as a Shopify orders export (OUT/orders_export.csv) so you can see the
    whole path a merchant takes: export -> valuecast analyze -> customers.csv and summary.json.
    """
    from valuecast.datasets.demo_shop import generate_demo_shop

    if customers < 1:
        fail("--customers must be at least 1")
    if customers > MAX_DEMO_CUSTOMERS:
        fail(
            f"--customers {customers:,} is more than the demo simulates "
            f"({MAX_DEMO_CUSTOMERS:,}): benchmarks/ simulates larger shops"
        )
    if seed < 0:
        fail(f"--seed must be 0 or more (got {seed})")
    if out.exists() and not out.is_dir():
        fail(f"{out}: is a file (give --out a folder)")
    export = out / "orders_export.csv"
    workspace = out / "valuecast.duckdb"
    _refuse_a_folder_of_the_shops(out, [export, workspace])
    with writing_to(out, "the demo shop"):
        out.mkdir(parents=True, exist_ok=True)
        (out / DEMO_MARKER).write_text("written by `valuecast demo`: it replaces its files here\n")
    _remove_workspace(workspace)  # a fresh workspace: the same seed gives the same figures
    info = generate_demo_shop(export, customers=customers, seed=seed)
    console.print(
        f"[bold]demo shop[/]: {info.n_customers:,} customers, {info.n_orders:,} orders "
        f"({info.first_order_date} to {info.last_order_date}) written as a Shopify export to "
        f"{escape(str(export))}",
        highlight=False,
        soft_wrap=True,
    )
    run_analysis([str(export)], workspace, None, None, None, out=out / "results")
    console.print(
        f"\nnext: open {out / 'results' / 'customers.csv'} (one row per customer), or run "
        f"`valuecast analyze --workspace {workspace}` with other options (see --help).",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def _refuse_a_folder_of_the_shops(out: Path, written: list[Path]) -> None:
    """Fail when ``out`` holds a workspace or an export the demo would replace and did not write
    (a merchant's ``orders_export.csv`` and ``valuecast.duckdb``, say in ``--out .``). The default
    folder, named for the demo, and one the demo marked are its own."""
    if out == DEFAULT_OUT or (out / DEMO_MARKER).exists():
        return
    found = [path.name for path in written if path.exists()]
    if found:
        fail(
            f"{out}: holds {' and '.join(found)}, which the demo did not write and would "
            "replace; give --out a new folder"
        )


def _remove_workspace(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
