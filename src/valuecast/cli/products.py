"""``valuecast affinity`` and ``valuecast reminders``: cross-sell and replenishment from the workspace.

Registered in :mod:`valuecast.cli`.  Both open the workspace read-only; errors are
one line and exit code 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from valuecast.cli.common import (
    check_options_or_fail,
    console,
    describe,
    fail,
    forgotten_not_products_note,
    not_products_given_or_fail,
    not_products_to_keep,
    open_workspace,
    writing_to,
    writing_workspace,
)
from valuecast.cli.options import (
    ClearNotProductsOption,
    NotProductOption,
    OutOption,
    WorkspaceOption,
)
from valuecast.cli.tables import records_fitting

DUE_WITHIN = 14
"""``--due-within``'s default, the days ahead the dashboard counts as due soon
(:data:`valuecast.analysis.growth.replenishment.DUE_WITHIN`, which the CLI does not import at
start-up)."""
_AS_OF_HELP = "YYYY-MM-DD (default: the last order date in the data)."


def _one_line(value: object) -> str:
    """A cell of the printed tables on one line: a product name holding a line break (a
    spreadsheet's Alt+Enter) would break the table's rows."""
    return " ".join(str(value).split())


def _not_products(ws, given: tuple[str, ...] | None) -> tuple[tuple[str, ...], str | None]:
    """The merchant's non-product names a command leaves out (those the workspace keeps, with
    those given added) and the note saying which, and which of them no order line carries, when
    there are any."""
    from valuecast.analysis.growth.affinity import unmatched_not_products
    from valuecast.store.not_products import kept_not_products

    kept = kept_not_products(ws)
    names = not_products_to_keep(kept, given)
    if names is None:
        names = kept
    if not names:
        return names, None
    listed = ", ".join(f"'{_one_line(name)}'" for name in names)
    unmatched = unmatched_not_products(ws.order_lines(), names)
    missing = ", ".join(f"'{_one_line(name)}'" for name in unmatched)
    check = f"; no order line is named {missing}: check the spelling" if unmatched else ""
    if given is None:
        return names, (
            f"note: {listed} left out as no product, as the workspace keeps "
            f"{'it' if len(names) == 1 else 'them'} (--not-product adds to them, "
            f"--clear-not-products forgets them){check}"
        )
    return names, (
        f"note: {listed} kept in the workspace as no product: analyze, refresh, report and "
        f"these commands leave {'it' if len(names) == 1 else 'them'} out from now on "
        f"(--not-product adds to them, --clear-not-products forgets them){check}"
    )


def _keep_not_products(workspace: Path, given: tuple[str, ...] | None) -> str | None:
    """Add the names given to those ``workspace`` keeps (none given: forget those kept), once
    the command's results are written; the note of ``--clear-not-products``, if any."""
    if given is None:
        return None
    from valuecast.store.not_products import kept_not_products, store_not_products

    with writing_workspace(workspace, what="the non-product names are not kept") as ws:
        kept = kept_not_products(ws)
        forgotten = kept if not given else ()
        store_not_products(ws, not_products_to_keep(kept, given))
    note = forgotten_not_products_note(forgotten)
    return None if note is None else f"note: {note}"


def _left_out_note(counts) -> str | None:
    """The note naming the lines left out as no product (``name, lines``), most first, and
    those left out as given free (``counts.attrs["free_lines"]``)."""
    free = int(counts.attrs.get("free_lines") or 0)
    given = (
        f"{free:,} {'line' if free == 1 else 'lines'} given free (at a price of 0 or discounted "
        "in full: not bought)"
        if free
        else ""
    )
    if not len(counts):
        return f"note: {given} left out" if free else None
    total = int(counts["lines"].sum())
    named = ", ".join(
        f"{_one_line(row.name)} {int(row.lines):,}" for row in counts.head(5).itertuples()
    )
    more = f" and {len(counts) - 5:,} more" if len(counts) > 5 else ""
    return (
        f"note: {total:,} order {'line' if total == 1 else 'lines'} of shipping, fees and "
        f"other non-products left out ({named}{more}); --not-product NAME leaves out more"
        + (f"; {given} left out too" if free else "")
    )


_NUMBERS = ("items",)
"""The reminders table's columns of numbers, right-aligned."""

MAX_DAYS = 3650
"""The longest window in days an option takes: ten years."""


def _at_least(least: int, **given: int) -> None:
    """Fail, naming the option as typed, on the first value below ``least`` (or a number of
    days above :data:`MAX_DAYS`)."""
    for name, value in given.items():
        if value < least:
            fail(f"--{name.replace('_', '-')} must be at least {least} (got {value})")
        if name in ("within_days", "due_within") and value > MAX_DAYS:
            fail(f"--{name.replace('_', '-')} must be at most {MAX_DAYS:,} days (got {value:,})")


NO_PRODUCTS_NOTE = (
    "note: the orders name no products (an orders table without line items): an export with "
    "its line items (Shopify's orders export, Magento's sales_order with sales_order_item, "
    "WooCommerce's with its items) names them, as does --map product=COLUMN beside an orders "
    "table's other columns"
)


def _no_products_note(ws) -> str | None:
    from valuecast.analysis.growth.affinity import names_products

    return None if names_products(ws.order_lines()) else NO_PRODUCTS_NOTE


def _lapsed_note(lapsed: int, due_within: int) -> str | None:
    """The note on the reminders left out as overdue by longer than the list looks (or by more
    than the customer's cycle): their customers had their reminder or lapsed."""
    if not lapsed:
        return None
    return (
        f"note: {lapsed:,} {'reminder' if lapsed == 1 else 'reminders'} overdue by more than "
        f"{due_within} days (or the customer's cycle) left out: those customers had their "
        "reminder or have lapsed, and writing to them is a win-back (analyze's reminders.csv "
        "lists every reminder)"
    )


def _print_note(note: str | None) -> None:
    if note:
        console.print(note, highlight=False, markup=False, soft_wrap=True)


@contextmanager
def _computing(workspace: Path, what: str) -> Iterator[None]:
    """Fail in one line on an error computing ``what``: the analysis' own message, else the
    backend's (a backend error must still not print a traceback)."""
    from valuecast.analysis.summary import SummaryError

    try:
        yield
    except (SummaryError, ValueError) as error:
        fail(str(error))
    except Exception as error:
        fail(f"{workspace}: could not compute {what}: {describe(error)}")


def _purchases(ws, as_of: str | None, not_products: tuple[str, ...]):
    """What both commands read first: the as-of date (``--as-of``, else the last order date),
    the products each order to it bought, and the lines left out as no product (``name,
    lines``)."""
    from valuecast.analysis.growth.affinity import non_product_lines, product_purchases
    from valuecast.analysis.growth.history import resolve_as_of

    as_of_date = resolve_as_of(ws.orders(), as_of)
    purchases = product_purchases(
        ws.orders(), ws.order_lines(), as_of_date, not_products=not_products
    )
    left_out = non_product_lines(ws.orders(), ws.order_lines(), as_of_date, not_products)
    return as_of_date, purchases, left_out


def _consenting_reminders(ws, due, include_non_consenting: bool):
    """The reminders to send (``due`` less those to customers who decline marketing today,
    unless ``include_non_consenting``), each with the customer's ``email``, and the note saying
    how many were left out, or kept without a consent recorded."""
    import pandas as pd

    from valuecast.outputs.audiences.table import consent_today

    if not len(due):
        empty = due.copy()
        empty.insert(1, "email", pd.Series(dtype="string"))
        return empty, None
    known = consent_today(due["customer_id"], ws.contacts(), ws.shared_addresses())
    # the address to write to beside the customer (a shop keyed by customer number has no other)
    due = due.copy()
    due.insert(1, "email", known["email"].to_numpy())
    consent = known["accepts_marketing"]
    declined = consent.eq(False).fillna(False).to_numpy(bool)
    unknown = int(consent.isna().sum())
    notes = []
    if declined.any() and not include_non_consenting:
        due = due[~declined].reset_index(drop=True)
        left = int(declined.sum())
        notes.append(
            f"{left:,} {'reminder' if left == 1 else 'reminders'} left out: their customer "
            "declines marketing (--include-non-consenting keeps them)"
        )
    elif declined.any():
        kept = int(declined.sum())
        notes.append(
            f"{kept:,} {'reminder goes' if kept == 1 else 'reminders go'} to customers who "
            "decline marketing (--include-non-consenting)"
        )
    if unknown:
        notes.append(
            f"{unknown:,} {'reminder goes' if unknown == 1 else 'reminders go'} to customers "
            "whose marketing consent no export records: check it before sending"
        )
    return due, ("note: " + "; ".join(notes)) if notes else None


def affinity(
    workspace: WorkspaceOption = Path("valuecast.duckdb"),
    as_of: str | None = typer.Option(None, "--as-of", help=_AS_OF_HELP),
    within_days: int = typer.Option(
        90, "--within-days", help="Days after a first purchase of A in which B counts as after A."
    ),
    min_pairs: int = typer.Option(
        2,
        "--min-pairs",
        help="Drop pairs bought by fewer customers (a guest's order: one of its own).",
    ),
    top: int = typer.Option(3, "--top", help="Next products per customer."),
    out: OutOption = Path("valuecast-out"),
    not_product: NotProductOption = None,
    clear_not_products: ClearNotProductsOption = False,
) -> None:
    """Write product pairs bought together or one after the other, and each customer's next products.

    A product's sizes ("Coffee - 250g", "Coffee - 1kg") are one product, named by its title.

    Writes affinity.csv (kind, product_a, product_b, pairs, support, confidence, lift,
    beyond_chance: the pairs seen more often than chance alone often gives come first) and
    next_products.csv (customer_id, rank, product, score, because_of, kind) to --out.
    """
    from rich.table import Table
    from rich.text import Text

    from valuecast.analysis.growth.affinity import (
        FEW_PAIRS,
        next_products,
        product_affinity,
        wide_buyers_note,
        within_chance,
    )
    from valuecast.dates import to_date
    from valuecast.outputs.files import write_csv

    _at_least(1, within_days=within_days, min_pairs=min_pairs, top=top)
    check_options_or_fail(as_of=as_of)
    given = not_products_given_or_fail(not_product, clear_not_products)
    if out.exists() and not out.is_dir():
        fail(f"{out}: exists and is not a folder")
    if not out.parent.exists():
        fail(f"{out}: folder {out.parent} does not exist")
    ws = open_workspace(workspace)
    with ws, _computing(workspace, "the affinities"):
        not_products, named_note = _not_products(ws, given)
        as_of_date, purchases, left_out = _purchases(ws, as_of, not_products)
        pairs = product_affinity(
            ws.orders(),
            ws.order_lines(),
            as_of=as_of_date,
            within_days=within_days,
            min_pairs=min_pairs,
            purchases=purchases,
        )
        suggestions = next_products(
            ws.orders(),
            ws.order_lines(),
            as_of=as_of_date,
            k=top,
            affinity=pairs,
            purchases=purchases,
        )
        first = ws.orders().order_date.min().execute()
        no_products = _no_products_note(ws)
    affinity_path, next_path = out / "affinity.csv", out / "next_products.csv"
    with writing_to(out, "the affinities"):
        out.mkdir(exist_ok=True)
        write_csv(pairs, affinity_path)
        write_csv(suggestions, next_path)
    forgotten_note = _keep_not_products(workspace, given)

    counts = pairs["kind"].value_counts()
    console.print(
        f"{len(pairs):,} product pairs ({counts.get('same order', 0):,} same order, "
        f"{counts.get('after', 0):,} after within {within_days} days) as of {as_of_date}, "
        f"next products for {suggestions['customer_id'].nunique():,} customers",
        highlight=False,
    )
    _print_note(no_products)
    _print_note(_left_out_note(left_out))
    _print_note(wide_buyers_note(pairs.attrs.get("wide_buyers") or 0))
    _print_note(named_note)
    _print_note(forgotten_note)
    if len(pairs) and within_chance(pairs).all():
        most = int(pairs["pairs"].max())
        why = (
            "too few purchases yet to tell an affinity from chance"
            if most < FEW_PAIRS
            else "the products are bought together about as often as their sales alone have it"
        )
        console.print(
            f"note: no pair is seen more often than chance alone often gives (at most "
            f"{most:,} orders or customers a pair): {why}, so the next products are weak "
            "suggestions",
            highlight=False,
            soft_wrap=True,
        )
    history_days = (as_of_date - to_date(first)).days if first is not None else 0
    if history_days < 0:  # the as-of date comes before every order
        console.print(
            f"note: the as-of date {as_of_date} is before the first order ({to_date(first)}): "
            "no purchase is counted",
            highlight=False,
            soft_wrap=True,
        )
    elif not counts.get("after", 0) and history_days < within_days:
        # a pair counts a customer watched for the whole window after their first A
        console.print(
            f"note: the history ({history_days} days) is shorter than --within-days "
            f"{within_days}, so no purchase has been watched for a whole window; a shorter "
            "--within-days finds pairs bought one after the other",
            highlight=False,
            soft_wrap=True,
        )
    if len(pairs):
        table = Table(title="strongest pairs (by lift)")
        for column in ("kind", "product A", "product B", "pairs", "confidence", "lift"):
            table.add_column(column, justify="right" if column in ("pairs", "lift") else "left")
        for row in pairs.head(10).itertuples(index=False):
            table.add_row(
                row.kind,
                Text(_one_line(row.product_a)),
                Text(_one_line(row.product_b)),
                f"{row.pairs:,}",
                f"{row.confidence:.1%}",
                f"{row.lift:.2f}",
            )
        console.print(table)
    console.print(f"written: {affinity_path}, {next_path}", highlight=False, markup=False)


def reminders(
    workspace: WorkspaceOption = Path("valuecast.duckdb"),
    as_of: str | None = typer.Option(None, "--as-of", help=_AS_OF_HELP),
    due_within: int = typer.Option(
        DUE_WITHIN,
        "--due-within",
        help=(
            "Keep reminders due within this many days, or overdue by at most as many (and one "
            "cycle): longer overdue is a win-back, not a reminder."
        ),
    ),
    min_customers: int = typer.Option(
        5, "--min-customers", help="Customers who must re-buy a product for it to get a cycle."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="CSV file for the reminders, or a folder to write reminders.csv into.",
    ),
    not_product: NotProductOption = None,
    clear_not_products: ClearNotProductsOption = False,
    include_non_consenting: bool = typer.Option(
        False,
        "--include-non-consenting",
        help="Also keep reminders to customers who decline marketing (left out by default).",
    ),
) -> None:
    """Show replenishment reminders due soon; write them with --out.

    A product's cycle is the median of its customers' own median days to buy it again (its
    sizes together; each customer counts once); a customer is due when the items of their last
    purchase of it have lasted: one item lasts the days the customer takes per item bought,
    weighed with the product's median of them as one more repeat (n repeats: (n x own +
    product's) / (n + 1)), or, for a customer who bought it once, the product's.  The list
    holds the reminders due within --due-within days or overdue by at most as many (and one
    cycle): made every that many days, it reaches each customer just before and just after their
    items run out; a customer overdue by longer has had their reminder or lapsed, and reminding
    them is a win-back.  Shipping, fees and tips are
    no products (--not-product names more, kept in the workspace for later commands).
    Each reminder gives the customer's e-mail address beside their id.  A customer who declines
    marketing today (or whose e-mail address another record declines it for) gets no reminder
    unless --include-non-consenting is given.
    """
    from rich.table import Table
    from rich.text import Text

    from valuecast.analysis.growth.replenishment import (
        kept_reminders,
        reminder_counts,
        replenishment_cycles,
    )
    from valuecast.analysis.growth.replenishment import reminders as due_reminders
    from valuecast.outputs.files import rounded_for_csv, write_csv
    from valuecast.outputs.report.charts import due_text

    _at_least(0, due_within=due_within)
    check_options_or_fail(as_of=as_of)
    _at_least(1, min_customers=min_customers)
    given = not_products_given_or_fail(not_product, clear_not_products)
    if out is not None and out.is_dir():  # a folder, as affinity's and analyze's --out
        out = out / "reminders.csv"
    if out is not None and not out.parent.exists():
        fail(f"{out}: folder {out.parent} does not exist")
    ws = open_workspace(workspace)
    with ws, _computing(workspace, "the reminders"):
        not_products, named_note = _not_products(ws, given)
        as_of_date, purchases, left_out = _purchases(ws, as_of, not_products)
        cycles = replenishment_cycles(
            ws.orders(),
            ws.order_lines(),
            as_of=as_of_date,
            min_customers=min_customers,
            purchases=purchases,
        )
        every = due_reminders(
            ws.orders(),
            ws.order_lines(),
            as_of=as_of_date,
            cycles=cycles,
            purchases=purchases,
        )
        due = kept_reminders(every, due_within).reset_index(drop=True)
        lapsed_note = _lapsed_note(reminder_counts(every, due_within)["lapsed"], due_within)
        due, consent_note = _consenting_reminders(ws, due, include_non_consenting)
        no_products = _no_products_note(ws)
    if out is not None:
        with writing_to(out, "the reminders"):
            write_csv(due, out)
    forgotten_note = _keep_not_products(workspace, given)
    console.print(
        f"{len(due):,} {'reminder' if len(due) == 1 else 'reminders'} due within {due_within} "
        f"days of {as_of_date} or overdue by up to {due_within} days "
        f"(and one cycle); products with a cycle: {len(cycles):,}",
        highlight=False,
    )
    _print_note(no_products)
    _print_note(lapsed_note)
    _print_note(_left_out_note(left_out))
    _print_note(named_note)
    _print_note(forgotten_note)
    _print_note(consent_note)
    if len(due):
        per_product = Table(title="reminders per product")
        for column in ("product", "cycle (days)", "reminders", "overdue"):
            per_product.add_column(column, justify="left" if column == "product" else "right")
        grouped = (
            due.assign(overdue=due["days_until_due"] < 0)
            .groupby("product", sort=False)
            .agg(
                cycle=("product_cycle_days", "first"),
                n=("customer_id", "size"),
                late=("overdue", "sum"),
            )
            .reset_index()
            .sort_values(["n", "product"], ascending=[False, True], kind="stable")
        )
        for row in grouped.itertuples(index=False):
            per_product.add_row(
                Text(_one_line(row.product)), str(row.cycle), f"{row.n:,}", f"{int(row.late):,}"
            )
        console.print(per_product)
        first = Table(title="first reminders")
        for column in ("customer", "product", "last purchase", "items", "due", "when"):
            # "23 days overdue" is read whole: the product's column wraps instead
            first.add_column(
                column,
                justify="right" if column in _NUMBERS else "left",
                no_wrap=column in ("due", "when"),
            )
        shown = rounded_for_csv(due.head(10))
        for row in shown.itertuples(index=False):
            first.add_row(
                Text(_one_line(row.customer_id)),
                Text(_one_line(row.product)),
                row.last_purchase_date,
                f"{row.last_quantity:,g}",
                row.due_date,
                due_text(row.days_until_due),
            )
        fitting = records_fitting(first, console)
        if fitting is not None:
            console.print(fitting)
        else:  # a customer cut to "jessicachen@e…" is no one to remind: a line each
            console.print("first reminders:", highlight=False)
            for row in shown.itertuples(index=False):
                console.print(
                    f"  {_one_line(row.customer_id)}: {_one_line(row.product)}, last bought "
                    f"{row.last_purchase_date} ({row.last_quantity:,g} "
                    f"{'item' if row.last_quantity == 1 else 'items'}), due {row.due_date} "
                    f"({due_text(row.days_until_due)})",
                    highlight=False, markup=False,
                )  # fmt: skip
    if out is not None:
        console.print(f"written: {out}", highlight=False, markup=False)
