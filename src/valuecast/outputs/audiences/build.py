"""An audience in one call (:func:`build_audience`) and its formula-safe file.

:func:`write_audience` writes through :func:`valuecast.outputs.files.write_csv`, the writer of
every CSV valuecast writes: a text cell starting with ``= + - @``, a tab or a carriage return gets
a leading apostrophe (OWASP's CSV-injection advice; the exact rule and how it reads back are in
:mod:`valuecast.csvsafe`), so a spreadsheet opening the file never runs a formula from
customer data.  SHA-256 hex digests never start with those; it matters for the plain fields
(names, e-mails, zip codes).  :func:`format_audience` keeps the values themselves, so the file is
escaped exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from valuecast.csvsafe import escape_frame
from valuecast.outputs.audiences.platforms import (
    DECIMALS,
    FORMATS,
    format_audience,
    has_phone,
    impossible_phones,
    not_addresses,
    reachable,
)
from valuecast.outputs.audiences.segments import segment_mask
from valuecast.outputs.audiences.table import (
    ExportError,
    audience_table,
    consenting,
    declined_addresses,
)
from valuecast.outputs.audiences.where import where_mask
from valuecast.outputs.files import csv_text, write_csv


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` as the CSV writer escapes it.

    The rule is :func:`valuecast.csvsafe.escape_frame`.
    """
    return escape_frame(frame)


def write_audience(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as a formula-safe UTF-8 CSV, atomically (a temporary file, then a rename),
    its numbers with the places of its format (:data:`~.platforms.DECIMALS`)."""
    write_csv(frame, Path(path), decimals=DECIMALS)


def audience_text(frame: pd.DataFrame) -> str:
    """The text :func:`write_audience` writes of ``frame`` (the dashboard's downloads)."""
    return csv_text(frame, decimals=DECIMALS)


@dataclass
class Audience:
    """An export ready to write, with the counts to report."""

    frame: pd.DataFrame
    selected: int  # customers in the segment or filter
    exported: int  # rows of ``frame``
    left_out_consent: int  # selected customers with an identifier but no marketing consent
    left_out_no_identifier: int  # without an e-mail (Klaviyo, Mailchimp) / e-mail or phone
    left_out_duplicates: int  # a second row of one person: the same e-mail (or phone)
    consent_unknown: int = 0  # of ``left_out_consent``, those whose consent no export recorded
    phone_only: int = 0  # of ``left_out_no_identifier`` (Klaviyo, Mailchimp), those with a phone
    phone_consent_unknown: int = 0  # of ``consent_unknown``, those reached by a phone alone
    impossible_phone: int = 0  # of ``left_out_no_identifier`` (Meta, Google), a phone no number
    phones_left_empty: int = 0  # exported rows whose phone is no number: the cell left empty
    several_addresses: int = 0  # exported rows whose e-mail cell held several: the first kept
    not_an_address: int = 0  # of ``left_out_no_identifier``, an e-mail cell that is no address
    emails_left_empty: int = 0  # exported rows (by phone) whose e-mail is no address: cell empty


def _declined(table: pd.DataFrame, contacts: pd.DataFrame | None) -> set[str]:
    """The addresses some customer record declines marketing for (:func:`declined_addresses`):
    of ``table``'s customers and of the workspace's other records in ``contacts``, such as a
    customers export keyed by e-mail beside orders keyed by customer number, whose opt-out
    the address's orders are bound by though no analysed customer has its id."""
    declined = declined_addresses(table)
    if contacts is None or "accepts_marketing" not in contacts.columns:
        return declined
    ids = contacts["customer_id"].astype("string")
    others = contacts[~ids.isin(table["customer_id"].astype("string")).to_numpy(bool)]
    if len(others):
        declined |= declined_addresses(audience_table(others[["customer_id"]], others))
    return declined


def build_audience(
    customers: pd.DataFrame,
    contacts: pd.DataFrame | None,
    to: str,
    *,
    segment: str | None = None,
    where: str | None = None,
    as_of: date | str | pd.Timestamp | None = None,
    include_non_consenting: bool = False,
    prospects: pd.DataFrame | None = None,
) -> Audience:
    """Select ``segment`` or ``where`` (exactly one), keep the consenting customers, format.

    ``prospects`` (``customer_id``, ``accepts_marketing``: the customers a customers export
    names who have no order, which the analysis' ``customers`` table does not hold) are the
    ``prospects`` segment, in the RFM group Prospects with score ``000`` and no value.
    """
    if (segment is None) == (where is None):
        raise ExportError("give exactly one of a segment or a --where expression")
    if to not in FORMATS:
        raise ExportError(f"unknown format {to!r}: use {', '.join(FORMATS)}")
    if segment == "prospects" and prospects is not None and len(prospects):
        # only this segment: added to every selection they would move the shop-level
        # thresholds (the top 30% of historic value) the other segments use
        customers = _with_prospects(customers, prospects)
    table = audience_table(customers, contacts)
    mask = segment_mask(table, segment, as_of) if segment is not None else where_mask(table, where)
    selected = table[mask.to_numpy(dtype=bool)]
    # a customer the platform cannot match is left out for that first, consent or not: what
    # would export them is an e-mail (or phone), not --include-non-consenting
    matched = reachable(selected, to).to_numpy(dtype=bool)
    # an address one record declines for is declined, whichever record is selected
    allowed, left_out = consenting(
        selected[matched], include_non_consenting, _declined(table, contacts)
    )
    formatted = format_audience(allowed, to)
    phone_only = impossible = 0
    if to in ("klaviyo", "mailchimp"):  # the e-mail tools' files: Meta and Google match phones
        phone_only = int(has_phone(selected[~matched]).sum())
    elif (~matched).any():  # a phone that is no number is not one, and said so
        impossible = int(impossible_phones(selected[~matched]).sum())
    not_an_address = int(not_addresses(selected[~matched]).sum())
    unknown_consent = selected["accepts_marketing"].isna().to_numpy(bool) & matched
    if include_non_consenting:
        unknown_consent[:] = False
    # those reached by a phone alone: what records their consent is told apart
    by_phone = unknown_consent & selected["email"].isna().to_numpy(bool)
    if by_phone.any():  # not those reached by their mailing address alone
        phone = has_phone(selected[by_phone])
        by_phone &= phone.reindex(selected.index, fill_value=False).to_numpy(bool)
    return Audience(
        frame=formatted.frame,
        selected=int(len(selected)),
        exported=int(len(formatted.frame)),
        left_out_consent=left_out,
        consent_unknown=int(unknown_consent.sum()),
        left_out_no_identifier=int((~matched).sum()) + formatted.no_identifier,
        left_out_duplicates=formatted.duplicates,
        phone_only=phone_only,
        phone_consent_unknown=int(by_phone.sum()),
        impossible_phone=impossible,
        phones_left_empty=formatted.impossible_phones,
        several_addresses=formatted.several_addresses,
        not_an_address=not_an_address,
        emails_left_empty=formatted.emails_left_empty,
    )


def _with_prospects(customers: pd.DataFrame, prospects: pd.DataFrame) -> pd.DataFrame:
    """``customers`` with a row per prospect: group Prospects, score 000, no orders or value."""
    known = set(customers["customer_id"].astype(str))
    new = prospects[~prospects["customer_id"].astype(str).isin(known)].reset_index(drop=True)
    rows = pd.DataFrame(index=range(len(new)), columns=customers.columns)
    rows["customer_id"] = new["customer_id"].to_numpy()
    rows["accepts_marketing"] = new["accepts_marketing"].to_numpy()
    for column, value in (("rfm_group", "Prospects"), ("rfm_score", "000"),
                          ("historic_number_of_orders", 0), ("historic_clv", 0.0)):  # fmt: skip
        if column in rows.columns:
            rows[column] = value
    rows = rows.astype({c: customers[c].dtype for c in customers.columns}, errors="ignore")
    return pd.concat([customers, rows], ignore_index=True)
