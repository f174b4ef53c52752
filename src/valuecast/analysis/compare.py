"""Comparing snapshots: the history of the headline figures and how customers moved.

Pure table logic over what :mod:`valuecast.store.snapshots` reads: the stored summaries, and the
counts of customers by (label before, label after) of two snapshots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from valuecast.tables import (
    CLV_SETTINGS,
    GROUPS,
    TIERS,
    clv_setting_value,
    predicting_model,
    whole_amount,
)

__all__ = [
    "AT_RISK_GROUPS",
    "GONE",
    "NEW",
    "PREDICTION_OPTIONS",
    "SNAPSHOT_GROUPS",
    "Comparison",
    "comparison",
    "currencies_differ",
    "difference_notes",
    "gone_note",
    "history_table",
    "option_differences",
    "renamed_note",
    "rewritten_later_note",
    "rewritten_note",
]

AT_RISK_GROUPS: tuple[str, ...] = ("At risk", "Previously loyal", "Almost lost", "Dormant")
"""The RFM groups of customers whose last order is long past (recency score 1 or 2)."""

NEW = "(new)"
"""The label of customers first seen in the later snapshot."""
GONE = "(gone)"
"""The label, in the later snapshot, of customers it no longer has (their orders removed since,
or a phone customer now known by e-mail)."""


SNAPSHOT_GROUPS: tuple[str, ...] = tuple(group for group in GROUPS if group != "Prospects")
"""The RFM groups a snapshot's customers are in, each a row and a column of a migration table
and a column of the history, even with nobody in it, so that every comparison's table has the
same shape.  A snapshot holds the customers with orders, never a prospect (a customer without
one): a Prospects row and column would only ever hold zeros, and read as if prospects had been
counted and none had moved."""


PREDICTION_OPTIONS = ("horizon_months", "margin", "annual_discount_rate", "currency")
"""summary.json's settings that scale every predicted CLV: two snapshots that differ in one
compare unlike figures (:func:`option_differences`)."""


def option_differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple]:
    """The :data:`PREDICTION_OPTIONS` two snapshots' summaries differ in, and ``model`` when
    another model made the predictions (``auto`` may choose another one each quarter; None:
    none fitted): name -> (before, after)."""
    differences = {
        name: (before.get(name), after.get(name))
        for name in PREDICTION_OPTIONS
        if before.get(name) != after.get(name)
    }
    models = predicting_model(before), predicting_model(after)
    if models[0] != models[1]:
        differences["model"] = models
    return differences


def difference_notes(differences: dict[str, tuple]) -> list[str]:
    """The notes on what two snapshots' predictions differ in besides the customers
    (:func:`option_differences`): a line naming the settings, one for the currency, and one for
    another model (which ``auto`` may choose with the same settings).  ``valuecast compare`` and
    the dashboard's Data page say them."""

    def shown(value) -> str:
        return "(none)" if value is None else str(value)

    notes = []
    changed = ", ".join(
        f"{CLV_SETTINGS[name]} {clv_setting_value(name, before)} -> "
        f"{clv_setting_value(name, after)}"
        for name, (before, after) in differences.items()
        if name in CLV_SETTINGS
    )
    if changed:
        notes.append(
            f"note: the two analyses differ in {changed}: the change in predicted CLV is partly "
            "theirs, not the customers' (refresh with the same options to compare like with like)"
        )
    if "currency" in differences:
        before, after = differences["currency"]
        if before is None or after is None:  # the same amounts, named in one of them only
            notes.append(
                f"note: the currency is {shown(before)} -> {shown(after)}: the amounts are "
                "the same, one analysis's files named no currency"
            )
        else:
            notes.append(
                f"note: the two analyses are in different currencies ({before} -> {after}): "
                "their amounts compare only converted (ingest with --fx RATES.csv)"
            )
    if "model" in differences:
        before, after = differences["model"]
        if before is None or after is None:  # no change in predicted CLV to put down to a model
            notes.append(
                f"note: the {'earlier' if before is None else 'later'} analysis made no "
                "predictions (no model was fitted: its notes say why), so predicted CLV has no "
                "change to compare"
            )
        else:
            notes.append(
                f"note: another model made the predictions ({before} -> {after}): part of the "
                "change in predicted CLV is the model's (--model NAME keeps one model)"
            )
    return notes


def currencies_differ(differences: dict[str, tuple]) -> bool:
    """Whether two snapshots' amounts are in two named currencies (:func:`option_differences`):
    their totals' change would subtract euros from dollars, so none is given."""
    before, after = differences.get("currency", (None, None))
    return before is not None and after is not None


def history_table(stored: Sequence[tuple[Any, dict[str, Any]]]) -> pd.DataFrame:
    """One row per snapshot: totals, customer counts, and customers per RFM group and tier.

    ``stored``: (snapshot info, summary) pairs, oldest first.  Columns: snapshot_id, as_of,
    created_at, model, customers, orders, historic_clv, predicted_clv (+ _p10/_p90), the
    options the predictions depend on (:data:`PREDICTION_OPTIONS`), then ``rfm: GROUP`` and
    ``tier: TIER`` counts.
    """
    rows = []
    for snapshot, summary in stored:
        totals = summary.get("totals", {})
        row: dict[str, Any] = {
            "snapshot_id": snapshot.snapshot_id,
            "as_of": snapshot.as_of,
            "created_at": snapshot.created_at,
            "model": snapshot.model,
            "customers": snapshot.n_customers,
            "orders": int(summary.get("n_orders", 0)),
            "historic_clv": snapshot.historic_clv,
            "predicted_clv": snapshot.predicted_clv,
            "predicted_clv_p10": totals.get("predicted_clv_p10"),
            "predicted_clv_p90": totals.get("predicted_clv_p90"),
            **{name: summary.get(name) for name in PREDICTION_OPTIONS},
        }
        groups = summary.get("rfm_groups", {})
        for group in SNAPSHOT_GROUPS:
            row[f"rfm: {group}"] = int(groups.get(group, {}).get("count", 0))
        tiers = summary.get("spend_tiers", {})
        for tier in TIERS:
            row[f"tier: {tier}"] = int(tiers.get(tier, {}).get("count", 0))
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass
class Comparison:
    """How customers moved between two snapshots ``before`` and ``after``.

    ``rfm_matrix`` and ``tier_matrix`` count customers by (row: group in ``before``, column: group
    in ``after``); customers first seen in ``after`` are the row ``(new)``, customers ``after``
    no longer has the column ``(gone)`` (only when there are some).
    ``totals``: customers, historic and predicted CLV before and after, and their change (none
    for the amounts of two snapshots in two currencies: :func:`currencies_differ`).
    ``high_value_to_at_risk`` lists the customers in the high predicted-spend tier in ``before``
    whose RFM group in ``after`` is one of :data:`AT_RISK_GROUPS` (and was not before), highest
    ``before`` predicted CLV first.  ``differences``: the settings the two predictions differ
    in (:func:`option_differences`), which make their predicted CLV unlike.  ``renamed``: the
    customers of ``before`` that ``after`` names by another e-mail (columns ``then_id``,
    ``now_id``), counted in the matrices as the same customers.  ``notes``: a line
    for each date given for a side that took a snapshot dated before it, naming that snapshot.
    """

    before: Any  # store.snapshots.SnapshotInfo
    after: Any  # store.snapshots.SnapshotInfo
    rfm_matrix: pd.DataFrame
    tier_matrix: pd.DataFrame
    high_value_to_at_risk: pd.DataFrame
    totals: pd.DataFrame
    differences: dict[str, tuple] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    renamed: pd.DataFrame | None = None
    rewritten: Any = None  # store.snapshots.RewrittenOrders
    rewritten_later: Any = None  # store.snapshots.LaterRewrites


def _matrix(pairs: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """Counts of (before, after) label pairs as a square table in ``order`` (zeros kept);
    ``(gone)`` is a column alone, as no customer of the earlier snapshot was gone then."""
    kept = [label for label in order if label != GONE]
    rows = [NEW, *kept] if (pairs["before"] == NEW).any() else kept
    counts = pairs.groupby(["before", "after"], observed=True)["n"].sum()
    matrix = pd.DataFrame(
        0, index=pd.Index(rows, name="before"), columns=pd.Index(order, name="after")
    )
    for (before, after), n in counts.items():
        if before not in matrix.index:
            matrix.loc[before] = 0
        if after not in matrix.columns:
            matrix[after] = 0
        matrix.loc[before, after] = int(n)
    return matrix.astype("int64")


def comparison(
    first: Any,
    second: Any,
    rfm_moves: pd.DataFrame,
    tier_moves: pd.DataFrame,
    movers: pd.DataFrame,
) -> Comparison:
    """The :class:`Comparison` of snapshots ``first`` and ``second`` (their infos).

    ``rfm_moves`` and ``tier_moves``: customers counted by (``before``, ``after``) RFM group and
    predicted-spend tier, ``(new)`` for customers first seen in ``second``; ``movers``: the high
    value customers now at risk.
    """
    tiers = tier_moves.copy()
    tiers["before"] = tiers["before"].fillna("no tier")
    tiers["after"] = tiers["after"].fillna("no tier")
    others = sorted(set(tiers["after"]) - set(TIERS) - {NEW, GONE})
    tier_order = [*TIERS, *others, *([GONE] if (tiers["after"] == GONE).any() else [])]
    totals = pd.DataFrame(
        {
            "before": [first.n_customers, first.historic_clv, first.predicted_clv],
            "after": [second.n_customers, second.historic_clv, second.predicted_clv],
        },
        index=pd.Index(["customers", "historic_clv", "predicted_clv"], name="figure"),
    )
    totals["change"] = totals["after"] - totals["before"]
    return Comparison(
        before=first,
        after=second,
        rfm_matrix=_matrix(rfm_moves, SNAPSHOT_GROUPS),
        tier_matrix=_matrix(tiers, tier_order),
        high_value_to_at_risk=movers,
        totals=totals,
    )


def gone_note(comparison: Comparison) -> str | None:
    """A note on the earlier snapshot's customers the later one no longer has (``(gone)``), or
    None: their orders were withdrawn since, or the same people are named by other ids now (a
    phone number given its country code, an export keyed by other ids), and are then counted
    again as ``(new)``, so that their moves, and the high-value customers now at risk, are not
    seen.  Compared newer first, they are the customers who first ordered after the earlier
    snapshot's date, and the note says that instead."""
    matrix = comparison.rfm_matrix
    gone = int(matrix[GONE].sum()) if GONE in matrix.columns else 0
    if not gone:
        return None
    before, after = comparison.before, comparison.after
    earlier = int(matrix.drop(index=NEW, errors="ignore").to_numpy().sum())
    first = f"snapshot {before.snapshot_id} ({before.as_of})"
    second = f"snapshot {after.snapshot_id} ({after.as_of})"
    if gone == earlier:
        said = f"none of the {earlier:,} customers of {first} is in {second} by the same id"
    else:
        one = gone == 1
        said = (
            f"{gone:,} of the {earlier:,} customers of {first} {'is' if one else 'are'} not in "
            f"{second}"
        )
    if after.as_of < before.as_of:
        # compared newer first: the customers the earlier snapshot lacks are those who first
        # ordered after its date, not customers lost
        return (
            f"note: {said}: {second} is dated before {first}, and they first ordered after "
            f"{after.as_of}"
        )
    return (
        f"note: {said}: their orders were withdrawn since (cancelled or refunded in full), or "
        "the same people are named by other ids now (a phone number given its country code, an "
        f"export keyed by other ids) and counted again as {NEW}, whose moves are then not seen"
    )


def renamed_note(comparison: Comparison, shown: int = 3) -> str | None:
    """A note on the customers of the earlier snapshot that the later one names by another
    e-mail (a registered customer's latest orders give a new address, or a newer export names
    every order of theirs by it), counted as the same
    customers rather than as ``(gone)`` and ``(new)``, naming the first ``shown``; None when
    there are none."""
    renamed = comparison.renamed
    if renamed is None or renamed.empty:
        return None
    count = len(renamed)
    named = ", ".join(f"{row.then_id} -> {row.now_id}" for row in renamed.head(shown).itertuples())
    more = f", and {count - shown:,} more" if count > shown else ""
    before, after = comparison.before, comparison.after
    return (
        f"note: {count:,} customer{'' if count == 1 else 's'} of snapshot {before.snapshot_id} "
        f"({before.as_of}) {'is' if count == 1 else 'are'} named by another e-mail in snapshot "
        f"{after.snapshot_id} ({after.as_of}), that of their latest orders ({named}{more}; "
        "their earlier orders give the one before, or a newer export gives them the new one "
        "too): counted as the same "
        f"customer{'' if count == 1 else 's'}, not as gone and new"
    )


def _signed(amount: int) -> str:
    return f"{amount:+,}" if amount else "0"


def rewritten_note(comparison: Comparison) -> str | None:
    """A note splitting the change in historic CLV into the past rewritten (the orders dated on
    or before the earlier snapshot's as-of date that later exports edited, added late or
    withdrawn: their count and what they changed) and the orders dated after it; None when no
    order was withdrawn and the edits changed no amount (an export states each order's consent
    as the customer's at the time of export, so a re-export edits many orders in that alone),
    the stored orders cannot say (:attr:`Comparison.rewritten` None), or the two snapshots are
    in two currencies.

    A quarter's historic CLV grows by its new sales, and moves by the corrections of the
    quarters before (an order's amount edited, a refund, a cancellation): told apart, a
    merchant sees which is which.  The two parts are of the whole amounts shown, so that they
    add up to the change the totals show.
    """
    rewritten = comparison.rewritten
    if rewritten is None or currencies_differ(comparison.differences):
        return None
    before, after = comparison.before, comparison.after
    past = whole_amount(rewritten.historic_clv_now) - whole_amount(before.historic_clv)
    if not (rewritten.withdrawn or past):  # edits of no amount (consent, a line's name)
        return None
    new = whole_amount(after.historic_clv) - whole_amount(rewritten.historic_clv_now)
    dated = f"dated on or before {rewritten.as_of}"
    parts = _rewrite_parts(rewritten.written, rewritten.withdrawn, rewritten.as_of)
    since = f"since snapshot {before.snapshot_id} ({before.as_of})"
    changed = " and ".join(parts) if parts else f"orders {dated} changed"
    return (
        f"note: {_signed(past)} of the historic CLV change ({_signed(past + new)}) is the past "
        f"rewritten, not new sales: {changed} {since}; the other {_signed(new)} is the orders "
        f"dated after {rewritten.as_of}"
    )


def _rewrite_parts(written: int, withdrawn: int, as_of: object) -> list[str]:
    """The words for ``written`` orders dated on or before ``as_of`` edited or added late and
    ``withdrawn`` stored orders withdrawn, those that are not none."""
    parts = []
    if written:
        one = written == 1
        parts.append(
            f"{written:,} {'order' if one else 'orders'} dated on or before {as_of} "
            f"{'was' if one else 'were'} edited (in any field) or added late"
        )
    if withdrawn:
        one = withdrawn == 1
        parts.append(
            f"{withdrawn:,} stored {'order was' if one else 'orders were'} withdrawn "
            "(cancelled or refunded in full)"
        )
    return parts


def rewritten_later_note(comparison: Comparison) -> str | None:
    """A note that the change in historic CLV is not split into the past rewritten and new
    sales because ingests after the later snapshot rewrote orders of the earlier one's dates
    (:attr:`Comparison.rewritten_later`), saying how many; None when none did, or the two
    snapshots are in two currencies.

    The split reads the stored orders as the later snapshot read them: once a newer export
    has rewritten them, a merchant comparing two earlier quarters is told why it is missing
    rather than left to take the whole change for new sales.
    """
    later = comparison.rewritten_later
    if later is None or currencies_differ(comparison.differences):
        return None
    before, after = comparison.before, comparison.after
    change = whole_amount(after.historic_clv) - whole_amount(before.historic_clv)
    parts = _rewrite_parts(later.written, later.withdrawn, later.as_of)
    return (
        f"note: the historic CLV change ({_signed(change)}) is not split into the past "
        f"rewritten and new sales: {' and '.join(parts)} since snapshot {after.snapshot_id} "
        f"({after.as_of}), so the stored orders are no longer those it read; `refresh` splits "
        "it as it stores each snapshot, against the one dated before it"
    )
