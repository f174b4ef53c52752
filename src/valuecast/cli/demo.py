"""``valuecast demo``: a simulated Shopify shop written as an export, then analysed."""

from __future__ import annotations

from pathlib import Path

import typer

from valuecast.cli.analyze import run_analysis
from valuecast.cli.common import console, fail
from valuecast.cli.options import OutOption


def demo(
    customers: int = typer.Option(5000, "--customers", help="Customers in the simulated shop."),
    seed: int = typer.Option(0, "--seed", help="Seed of the simulation (same seed, same shop)."),
    out: OutOption = Path("valuecast-demo"),
) -> None:
    """Simulate a two-year Shopify shop, analyse it, and show where everything is.

    The shop is written as a Shopify orders export (OUT/orders_export.csv) so you can see the
    whole path a merchant takes: export -> valuecast analyze -> customers.csv and summary.json.
    """
    from valuecast.datasets.demo_shop import generate_demo_shop

    if customers < 1:
        fail("--customers must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    export = out / "orders_export.csv"
    workspace = out / "valuecast.duckdb"
    _remove_workspace(workspace)  # a fresh workspace: the same seed gives the same figures
    info = generate_demo_shop(export, customers=customers, seed=seed)
    console.print(
        f"[bold]demo shop[/]: {info.n_customers:,} customers, {info.n_orders:,} orders "
        f"({info.first_order_date} to {info.last_order_date}) written as a Shopify export to "
        f"{export}",
        highlight=False,
        soft_wrap=True,
    )
    run_analysis([str(export)], workspace, None, None, None, out=out / "results")
    console.print(
        f"\nnext: open {out / 'results' / 'customers.csv'} (one row per customer), or run "
        f"`valuecast analyze --workspace {workspace}` with other options (see --help).",
        highlight=False,
        soft_wrap=True,
    )


def _remove_workspace(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
