"""Snapshot use cases: refresh (ingest + analysis + snapshot in one transaction), reusing a
current snapshot, and the history and comparison of the stored snapshots.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from valuecast.analysis.compare import (
    AT_RISK_GROUPS,
    GONE,
    NEW,
    Comparison,
    comparison,
    currencies_differ,
    history_table,
    option_differences,
)
from valuecast.jobs.refresh import RefreshResult, refresh
from valuecast.store.snapshots import (
    SnapshotError,
    high_value_movers,
    label_moves,
    latest_options,
    list_snapshots,
    load_customers,
    load_summary,
    renamed_customers,
    resolve_snapshot,
    reusable_snapshot,
    rewrites_between,
    stored_summaries,
)

__all__ = [
    "RefreshResult", "compare", "history", "last_analysis", "last_options", "refresh",
    "reusable_analysis",
]  # fmt: skip


def reusable_analysis(workspace, options=None):
    """The latest snapshot as an :class:`~valuecast.jobs.analyze.Analysis` when it is exactly what
    analysing the workspace with ``options`` would give now, else None.

    That is: it ran with the same options (any, when ``options`` is None), and nothing was
    ingested after it.
    """
    from valuecast.jobs.analyze import Analysis, with_reading_note

    snapshot_id = reusable_snapshot(workspace, options)
    if snapshot_id is None:
        return None
    customers = load_customers(workspace, snapshot_id)
    for column in ("first_order_date", "last_order_date"):  # as the pipeline gives them
        customers[column] = pd.to_datetime(customers[column]).astype("datetime64[s]")
    summary = with_reading_note(workspace, load_summary(workspace, snapshot_id))
    return Analysis(customers=customers, summary=summary)


def last_options(workspace, **given):
    """The :class:`~valuecast.jobs.analyze.AnalysisOptions` of the workspace's last analysis
    (its latest snapshot), with the ``given`` ones that are not None over them; the defaults
    where no snapshot recorded its options.

    A command that reads an analysis without making one (``report``, ``export``, ``channels``)
    shows the one ``analyze`` made: its horizon, model, margin, discount rate, seasons,
    covariates and calendar (read back from its recorded text), not the defaults.
    """
    from valuecast.io.calendar import Calendar
    from valuecast.jobs.analyze import AnalysisOptions

    stored = latest_options(workspace) or {}
    known = {field.name for field in dataclasses.fields(AnalysisOptions)}
    fields = {name: value for name, value in stored.items() if name in known}
    if "covariates" in fields:
        fields["covariates"] = tuple(fields["covariates"])
    if fields.get("calendar") is not None:
        fields["calendar"] = Calendar.from_text(str(fields["calendar"]))
    # the non-product names the workspace keeps when the analysis runs, not those of the last
    # one: a name given to `affinity --not-product` since is left out of the report and the
    # exports too
    fields.pop("not_products", None)
    fields.update((name, value) for name, value in given.items() if value is not None)
    return AnalysisOptions(**fields)


def last_analysis(workspace, **given):
    """The workspace's last analysis, with the ``given`` options that are not None changed
    (see :func:`last_options`): its snapshot while nothing was ingested after it and nothing
    is changed, else the analysis with those options run now (or read from a snapshot that
    ran them on the same data)."""
    from valuecast.jobs.analyze import analyze

    options = last_options(workspace, **given)
    options.validate()
    unchanged = all(value is None for value in given.values())
    reused = reusable_analysis(workspace, None if unchanged else options)
    return reused if reused is not None else analyze(workspace, options)


# ------------------------------------------------------------------------------------------------
# history and comparison
# ------------------------------------------------------------------------------------------------
def history(workspace) -> pd.DataFrame:
    """One row per snapshot (:func:`valuecast.analysis.compare.history_table`)."""
    return history_table(stored_summaries(workspace))


def compare(
    workspace, before: str | int | None = "previous", after: str | int | None = "latest"
) -> Comparison:
    """Compare two snapshots (ids, as-of dates, ``latest`` or ``previous``); see :class:`Comparison`.

    ``previous`` (or None) for ``before`` is the snapshot dated before ``after``: the latest's
    previous one where ``after`` is the latest, else the one before the snapshot ``after`` takes.
    """
    second = resolve_snapshot(workspace, after)
    first = _before_of(workspace, before, second)
    if first.snapshot_id == second.snapshot_id:
        raise SnapshotError(f"both sides are snapshot {first.snapshot_id} ({first.as_of})")
    moves = {
        column: label_moves(workspace, first.snapshot_id, second.snapshot_id, column, NEW, GONE)
        for column in ("rfm_group", "predicted_spend_tier")
    }
    movers = high_value_movers(workspace, first.snapshot_id, second.snapshot_id, AT_RISK_GROUPS)
    result = comparison(first, second, moves["rfm_group"], moves["predicted_spend_tier"], movers)
    result.renamed = renamed_customers(workspace, first.snapshot_id, second.snapshot_id)
    result.rewritten, result.rewritten_later = rewrites_between(
        workspace, first.snapshot_id, second.snapshot_id
    )
    result.differences = option_differences(
        load_summary(workspace, first.snapshot_id), load_summary(workspace, second.snapshot_id)
    )
    if currencies_differ(result.differences):  # euros less dollars is no change
        result.totals.loc[["historic_clv", "predicted_clv"], "change"] = float("nan")
    given = ((before, first), (after, second))
    result.notes = [note for note in (date_taken_note(*side) for side in given) if note]
    return result


def _before_of(workspace, before: str | int | None, after):
    """The snapshot ``before`` names, where ``previous`` (or None) is the one dated before the
    snapshot ``after`` (a :class:`~valuecast.store.snapshots.SnapshotInfo`)."""
    if before is not None and str(before).strip() != "previous":
        return resolve_snapshot(workspace, before)
    snapshots = list_snapshots(workspace)
    if after.snapshot_id == snapshots[-1].snapshot_id:  # its error names a lone snapshot
        return resolve_snapshot(workspace, "previous")
    earlier = [info for info in snapshots if info.as_of < after.as_of]
    if not earlier:
        raise SnapshotError(
            f"snapshot {after.snapshot_id} ({after.as_of}) is the earliest: nothing dated before "
            "it to compare with"
        )
    return earlier[-1]


def date_taken_note(given: str | int | None, taken) -> str | None:
    """A line naming the snapshot that the date ``given`` took when it is dated before that
    date (:func:`~valuecast.store.snapshots.resolve_snapshot`); None for any other reference."""
    text = str(given).strip()
    if len(text) != 10 or text.count("-") != 2 or text == taken.as_of.isoformat():
        return None
    return (
        f"note: {text} is snapshot {taken.snapshot_id}, as of {taken.as_of} (the latest "
        "snapshot on or before that date)"
    )
