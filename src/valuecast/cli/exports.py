"""``valuecast export``: a segment of the customers as a Klaviyo, Mailchimp, Meta or Google file.

Registered in :mod:`valuecast.cli`.  The workspace is opened read-only; the
customers table is the last ``valuecast analyze`` snapshot when nothing was ingested after it,
else the workspace is analysed with that snapshot's options
(:func:`valuecast.jobs.snapshots.last_analysis`); the rules,
formats and hashing are in :mod:`valuecast.outputs.audiences`.  Every error is one line and
exit code 2.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from valuecast.cli.common import (
    check_options_or_fail,
    console,
    counted,
    describe,
    earlier_as_of_note,
    err_console,
    fail,
    open_workspace,
    stale_analysis_note,
    writing_to,
)
from valuecast.cli.options import LastAsOfOption, LastMarginOption, WorkspaceOption
from valuecast.dates import months_text
from valuecast.outputs.audiences.names import FORMATS, SEGMENTS

# segments on churn probability or the expected next order: empty without a fitted model
# (spend tiers then fall back to historic CLV, so the tier segments still select customers)
_PREDICTION_SEGMENTS = {"at-risk-high-value", "win-back", "due-for-reorder"}


_RULED = ("at-risk-high-value", "win-back", "due-for-reorder", "new-high-potential")
_SEGMENT_HELP = (
    "A named segment: "
    + "; ".join(f"{name} ({SEGMENTS[name]})" for name in _RULED)
    + "; or an RFM group or spend tier: "
    + ", ".join(name for name in SEGMENTS if name not in _RULED)
    + "."
)


def _no_orders(as_of: str | None):
    """The analysis of a workspace without orders: no customer, dated ``as_of`` or today."""
    import pandas as pd

    from valuecast.jobs.analyze import Analysis
    from valuecast.tables import CUSTOMER_COLUMNS

    day = as_of or date.today().isoformat()
    return Analysis(customers=pd.DataFrame(columns=list(CUSTOMER_COLUMNS)), summary={"as_of": day})


_CONTACT_COLUMNS = {
    "meta": {"a name": ("fn", "ln"), "a place (city, zip or country)": ("ct", "zip", "country")},
    "google": {
        "a name": ("First Name", "Last Name"),
        "a place (zip or country)": ("Country", "Zip"),
    },
}
"""The columns of the hashed formats that raise the match rate beside the e-mail and phone."""


_CUSTOMERS_EXPORT_FIELDS = {
    "a name": (("first_name", "last_name"), ("First Name", "Last Name")),
    "a place": (("city", "zip", "country"), ("Default Address",)),
}
"""Each kind of :data:`_CONTACT_COLUMNS`: the contact fields that give it and the columns of a
Shopify customers export that hold them."""


def _without_contact_fields(frame, target: str) -> list[str]:
    """The names and places (:data:`_CONTACT_COLUMNS`' kinds) the exported rows of ``target``
    all lack."""
    if target not in _CONTACT_COLUMNS or not len(frame):
        return []
    return [
        kind
        for kind, columns in _CONTACT_COLUMNS[target].items()
        if all(frame[column].fillna("").astype(str).str.strip().eq("").all() for column in columns)
    ]


_ORDERS_EXPORT_FIELDS = {
    "shopify": "a Shopify customers export",
    "woocommerce": "a WooCommerce orders export with its billing_first_name, billing_last_name, "
    "billing_city, billing_postcode and billing_country columns",
    "magento": "a Magento sales_order export joined with its billing address (billing_firstname, "
    "billing_lastname, billing_city, billing_postcode, billing_country_id)",
}
"""Per platform of the orders (``source``), what adds names and places where no customers
export is ingested: a Shopify customers export, or the columns of the platform's orders export
that give them."""

_CUSTOMERS_FILE = (
    "a customers CSV with Email, First Name, Last Name, City, Zip, Country and Accepts Email "
    "Marketing columns (read as a Shopify customers export)"
)
"""What adds names and places to a shop whose orders come from its own table (``orders``,
``cdnow``): a customers file in the columns of the one customers export valuecast reads."""


def _where_contact_fields_come_from(
    missing: list[str], contacts, customers_export: bool, sources: set[str] | None = None
) -> str:
    """Why the exported rows lack the ``missing`` names or places and what adds them: no
    customers export ingested (what gives them for each platform the shop's orders come from,
    ``sources``), one whose columns for them are missing or empty, or one that gives them for
    other customers only."""
    if not customers_export:
        remedies = dict.fromkeys(
            _ORDERS_EXPORT_FIELDS.get(source, _CUSTOMERS_FILE)
            for source in sorted(sources or {"orders"})
        )
        listed = ", or ".join(remedies) + ("," if len(remedies) > 1 else "")
        return f"ingest {listed} to add them and match more"
    kinds = [_CUSTOMERS_EXPORT_FIELDS[kind.split(" (")[0]] for kind in missing]
    given = any(
        contacts[field].fillna("").astype(str).str.strip().ne("").any()
        for fields, _ in kinds
        for field in fields
        if field in contacts
    )
    if given:
        # the places given (by the customers export or the orders) are of other customers
        return "the exports ingested give them for other customers only"
    columns = [column for _, names in kinds for column in names]
    listed = ", ".join(columns[:-1]) + " and " + columns[-1] if len(columns) > 1 else columns[0]
    return f"the customers export ingested has none: its {listed} columns are missing or empty"


def _label_case_hints(where: str) -> list[str]:
    """For a filter that selected nobody: each quoted text that names an RFM group or a spend
    tier in other letters ('champions'), which ``==`` compares as written."""
    import re

    from valuecast.tables import GROUPS, TIERS

    labels = {label.lower(): label for label in (*GROUPS, *TIERS)}
    hints = []
    for text in dict.fromkeys(re.findall(r"'([^']*)'|\"([^\"]*)\"", where)):
        written = text[0] or text[1]
        label = labels.get(written.strip().lower())
        if label is not None and label != written:
            hints.append(
                f"{written!r} is written {label!r} in the customers table (texts compare as written)"
            )
    return hints


def _unrecorded_consent(audience) -> str:
    """Which of the customers left out for lack of consent no export records consent of, and
    what records it: a customer reached by a phone alone needs consent for the phone."""

    def whose(count: int) -> str:
        return "all of them" if count == audience.left_out_consent else f"{count:,} of them"

    by_phone = audience.phone_consent_unknown
    by_email = audience.consent_unknown - by_phone
    parts = []
    if by_email:
        parts.append(
            f"{whose(by_email)} with no consent recorded: the exports ingested say nothing of "
            "it; a Shopify customers export or a column mapped as accepts_marketing records it"
        )
    if by_phone:
        parts.append(
            f"{whose(by_phone)} known by a phone alone, with no consent recorded for it: a "
            "Shopify order's Accepts Marketing is consent to e-mail; a Shopify customers "
            "export's Accepts SMS Marketing, or a column mapped as accepts_marketing, records it"
        )
    return "; ".join(parts)


def export(
    segment: str | None = typer.Option(
        None,
        "--segment",
        "-s",
        help=_SEGMENT_HELP,
        show_default=False,
    ),
    where: str | None = typer.Option(
        None,
        "--where",
        help="A filter on the customers table instead of a segment, e.g. "
        "\"predicted_clv > 100 and rfm_group in ('Loyal', 'Champions')\".",
        show_default=False,
    ),
    to: str | None = typer.Option(
        None, "--to", help=f"Required: {', '.join(FORMATS)}.", show_default=False
    ),
    workspace: WorkspaceOption = Path("valuecast.duckdb"),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="CSV file to write (default: SEGMENT-TO.csv in the current folder, e.g. "
        "win-back-klaviyo.csv; where-TO.csv with --where).",
        show_default=False,
    ),
    include_non_consenting: bool = typer.Option(
        False,
        "--include-non-consenting",
        help="Also export customers who have not accepted marketing (left out by default).",
    ),
    margin: LastMarginOption = None,
    as_of: LastAsOfOption = None,
) -> None:
    """Write the customers of a segment (or --where filter) as an audience file for --to.

    Klaviyo and Mailchimp get e-mail addresses with predicted CLV, churn probability, RFM group
    and next order date; Meta and Google get SHA-256-hashed identifiers (Meta also the predicted
    CLV as the value of a value-based audience).  Only customers who accepted marketing are
    exported unless --include-non-consenting is given.

    --margin and --as-of re-run the last analysis with them, as in channels and report.
    """
    from valuecast.analysis.summary import SummaryError, default_as_of
    from valuecast.io.schema import InputError
    from valuecast.jobs.snapshots import last_analysis, reusable_analysis
    from valuecast.outputs.audiences import (
        ExportError,
        build_audience,
        parse_where,
        write_audience,
    )
    from valuecast.store import EngineError

    if segment is not None and where is not None:
        fail("give either --segment or --where, not both")
    if segment is None and where is None:
        fail(f"give --segment NAME or --where EXPR; segments: {', '.join(SEGMENTS)}")
    if to is None:
        fail(f"give --to: {', '.join(FORMATS)}")
    check_options_or_fail(as_of=as_of, margin=margin)
    target = to.strip().lower()
    if target not in FORMATS:
        fail(f"unknown --to {to!r}: use {', '.join(FORMATS)}")
    if segment is not None:
        # as the analysis prints the groups (Champions, At risk): case and spaces aside
        spelled = {name.replace("-", " "): name for name in SEGMENTS}
        segment = spelled.get(" ".join(segment.lower().replace("-", " ").split()), segment)
    if segment is not None and segment not in SEGMENTS:
        fail(f"unknown segment {segment!r}: known segments are {', '.join(SEGMENTS)}")
    if where is not None:
        try:
            parse_where(where)
        except ExportError as error:
            fail(str(error))
    path = out if out is not None else Path(f"{segment or 'where'}-{target}.csv")
    if path.is_dir():
        fail(f"{path}: is a folder (give a .csv file)")
    if not path.parent.exists():
        fail(f"{path}: folder {path.parent} does not exist")

    ws = open_workspace(workspace)
    with ws:
        try:
            # the last `analyze` of this data when there is one, else its analysis (its
            # horizon, model and margin) now
            analysis = reusable_analysis(ws) if as_of is None and margin is None else None
            if analysis is None and segment == "prospects" and default_as_of(ws.orders()) is None:
                # a shop before its first sale: its subscribers are all prospects
                analysis = _no_orders(as_of)
            elif analysis is None:
                with err_console.status("analysing the workspace"):
                    analysis = last_analysis(ws, as_of=as_of, margin=margin)
            contacts = ws.contacts()
            customers_export = ws.customers().count().execute() > 0
            sources = set(ws.orders().select("source").distinct().execute()["source"].dropna())
            prospects = ws.prospects() if segment == "prospects" else None
            dated = earlier_as_of_note(ws, analysis.summary["as_of"], as_of)
        except (SummaryError, InputError, EngineError, ValueError) as error:
            fail(str(error))
        except Exception as error:  # a backend error must still not print a traceback
            fail(f"{workspace}: could not analyse the workspace: {describe(error)}")
    try:
        audience = build_audience(
            analysis.customers,
            contacts,
            target,
            segment=segment,
            where=where,
            as_of=analysis.summary["as_of"],
            include_non_consenting=include_non_consenting,
            prospects=prospects,
        )
    except ExportError as error:
        fail(str(error))
    with writing_to(path, "the audience"):
        write_audience(audience.frame, path)

    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    chosen = f"segment {segment}" if segment is not None else f"--where {where}"
    say(
        f"exported {counted(audience.exported, 'customer')} ({chosen}, "
        f"{audience.selected:,} selected, as of {analysis.summary['as_of']}) for {target} to "
        f"{path}"
    )
    if dated is not None:
        say(dated)
    stale = stale_analysis_note(analysis.summary["as_of"])
    if stale is not None:
        say(stale)
    kept = analysis.summary.get("margin")
    if kept is not None and kept != 1:  # the money of every file is the margin's, not revenue
        whose = "" if margin is not None else " (the last analysis'; --margin 1 for revenue)"
        say(
            f"its predicted CLV is at a {kept:.0%} margin over the next "
            f"{months_text(analysis.summary['horizon_months'])}{whose}"
        )
    if audience.left_out_no_identifier:
        by_email = target in ("klaviyo", "mailchimp")
        contact = "an e-mail" if by_email else "an e-mail or a phone"
        known = "" if by_email else " whose country code is known"
        if not by_email:  # both match a mailing address too: Meta a city where no zip is given
            place = "a zip" if target == "google" else "a zip or a city"
            contact, known = (
                "an e-mail, a phone",
                f"{known} or both names with a country and {place}",
            )
        phones = audience.phone_only
        of_them = "" if phones == audience.left_out_no_identifier else f"{phones:,} of them "
        by_phone = (
            f" ({of_them}known by a phone number alone: the meta and google files match them)"
            if phones
            else ""
        )
        if audience.impossible_phone:
            bad = audience.impossible_phone
            whose = "all of them" if bad == audience.left_out_no_identifier else f"{bad:,} of them"
            by_phone = (
                f" ({whose} with a phone that is not a valid number: too short or too long for "
                "its country, so it is not hashed)"
            )
        say(f"{audience.left_out_no_identifier:,} left out without {contact}{known}{by_phone}")
        if audience.not_an_address:
            say(
                f"note: of those, {audience.not_an_address:,} "
                f"{'has' if audience.not_an_address == 1 else 'have'} an e-mail cell that is "
                f"no address (carl@example, bob @example.com), which {target} would reject or "
                "match nobody on"
            )
        if audience.left_out_no_identifier == audience.selected and not phones:
            what = "an e-mail" if by_email else "an e-mail, a phone or a name and address"
            say(
                f"note: no customer selected has {what}: the exports ingested give them "
                "none; an orders table's e-mail column (--map email=COLUMN) or a Shopify "
                "customers export adds them"
            )
    if include_non_consenting:
        say("customers who have not accepted marketing are included (--include-non-consenting)")
    elif audience.consent_unknown:
        say(
            f"{audience.left_out_consent:,} left out for lack of marketing consent "
            f"({_unrecorded_consent(audience)}, and --include-non-consenting exports them "
            "where you hold consent elsewhere)"
        )
    else:
        say(f"{audience.left_out_consent:,} left out for lack of marketing consent")
    if audience.several_addresses:
        say(
            f"note: {counted(audience.several_addresses, 'customer')} exported with an e-mail "
            "cell holding more than one address (carl@x.com;dora@x.com): each is exported under "
            "the first, as the platforms take one address a cell"
        )
    if audience.phones_left_empty:
        say(
            f"note: {counted(audience.phones_left_empty, 'customer')} exported by e-mail "
            "with a phone that is not a valid number (too short or too long): their phone "
            "cells are empty"
        )
    if audience.emails_left_empty:
        say(
            f"note: {counted(audience.emails_left_empty, 'customer')} exported by a phone or "
            "a name and address with an e-mail cell that is no address (carl@example): their "
            "e-mail cells are empty"
        )
    if audience.left_out_duplicates:
        repeated = (
            "e-mail addresses"
            if target in ("klaviyo", "mailchimp")
            else "e-mail addresses, phones or names and addresses"
        )
        say(
            f"{audience.left_out_duplicates:,} left out as repeated {repeated} (of the "
            "customers sharing one, the one with the most historic CLV is kept)"
        )
    if not audience.exported:
        say(f"note: {path} holds the header only: no customer of the selection could be exported")
    unmatched = _without_contact_fields(audience.frame, target)
    if unmatched:
        phone = {"meta": "phone", "google": "Phone"}[target]
        with_phone = audience.frame[phone].fillna("").astype(str).str.strip().ne("").any()
        keys = "the e-mail and phone" if with_phone else "the e-mail"
        remedy = _where_contact_fields_come_from(unmatched, contacts, customers_export, sources)
        say(
            f"note: no customer exported has {' or '.join(unmatched)}: {target} matches them "
            f"on {keys} alone; {remedy}"
        )
    if target == "meta" and audience.exported and segment == "prospects":
        # prospects have no order to predict from, whatever the analysis fitted
        say(
            "note: the value column is 0 on every row: prospects have no orders, so no spend "
            "and no predicted CLV; upload it as a plain custom audience, not a value-based one"
        )
    elif target == "meta" and audience.exported and audience.frame["value"].isna().all():
        say(
            "note: the value column is empty: no predicted CLV in this analysis (see "
            "`valuecast analyze`); upload it as a plain custom audience, not a value-based one"
        )
    if where is not None and not audience.selected:
        for hint in _label_case_hints(where):
            say(f"note: {hint}")
    if (
        segment in _PREDICTION_SEGMENTS
        and not analysis.customers["churn_probability"].notna().any()
    ):
        say(
            "note: the model could not be fitted on this workspace, so segments on predictions "
            "select nobody (see `valuecast analyze`)"
        )
