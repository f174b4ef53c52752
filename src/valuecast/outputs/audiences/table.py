"""The customers to export: the analysis customers table with their contact fields.

:func:`audience_table` left-joins the analysis customers table (columns
:data:`valuecast.tables.CUSTOMER_COLUMNS`) with the workspace's contact fields
(:meth:`valuecast.store.Workspace.contacts`: a customers export's, the e-mail of a customer's
latest order where it has none there, and the name, phone and address of their latest orders
giving them where it gives none): ``email, first_name, last_name, phone, city, province,
country, zip`` on ``customer_id``.  A customer without a contact row keeps empty contact fields;
``email`` falls back to ``customer_id`` when that holds an ``@`` (orders tables keyed by
e-mail), and ``phone`` to the number of a customer identified by phone
(``phone:+8809356524432``, see :mod:`valuecast.io.phones`), so a cash-on-delivery shop's
customers reach the platforms that match phones (Meta, Google).  Every column can be used in ``--where``.

Consent
-------
Only customers whose ``accepts_marketing`` is true are exported (missing counts as no), unless
``include_non_consenting=True``; the number left out is reported.  Where ``contacts`` holds an
``accepts_marketing`` column (the workspace's: the consent known today), it replaces the
analysis' own, which is as of the analysis' date.  Consent belongs to the address: an e-mail
address that any customer record declines marketing for is left out whichever record is
selected (:func:`declined_addresses`).
"""

from __future__ import annotations

import pandas as pd

from valuecast.io.phones import INVISIBLE, phone_from_id
from valuecast.outputs.audiences.contacts import normalize_email
from valuecast.tables import CONTACT_FIELDS, CUSTOMER_COLUMNS


class ExportError(ValueError):
    """A bad segment, filter or format: its message is always one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


AUDIENCE_COLUMNS: tuple[str, ...] = (*CUSTOMER_COLUMNS, *CONTACT_FIELDS)
"""The columns of :func:`audience_table`: the ones ``--where`` may name."""


def number_column(table: pd.DataFrame, column: str) -> pd.Series:
    """``table[column]`` as floats; NaN where a cell is not a number."""
    return pd.to_numeric(table[column], errors="coerce").astype(float)


def audience_table(customers: pd.DataFrame, contacts: pd.DataFrame | None = None) -> pd.DataFrame:
    """The analysis ``customers`` table with the contact fields of ``contacts`` joined on.

    ``contacts`` is the workspace ``customers`` table (or any frame with ``customer_id`` and some
    of :data:`CONTACT_FIELDS`); a customer id repeated there keeps its last row.  The contact
    fields are strings; ``email`` falls back to ``customer_id`` when that holds an ``@`` (an
    address, or an e-mail cell that is none, counted as such), ``phone`` to the number of a
    ``phone:`` id.
    """
    missing = [column for column in ("customer_id",) if column not in customers.columns]
    if missing:
        raise ExportError("the customers table has no customer_id column")
    out = customers.drop(columns=[c for c in CONTACT_FIELDS if c in customers.columns])
    if contacts is not None and len(contacts) and "customer_id" in contacts.columns:
        fields = [column for column in CONTACT_FIELDS if column in contacts.columns]
        if "accepts_marketing" in contacts.columns:
            fields.append("accepts_marketing")
        extra = contacts[["customer_id", *fields]].copy()
        extra = extra.rename(columns={"accepts_marketing": "accepts_marketing_today"})
        extra["customer_id"] = extra["customer_id"].astype("string")
        extra = extra.dropna(subset=["customer_id"]).drop_duplicates("customer_id", keep="last")
        keys = out["customer_id"].astype("string")
        out = out.assign(_key=keys).merge(
            extra.rename(columns={"customer_id": "_key"}), on="_key", how="left"
        )
        if "accepts_marketing_today" in out.columns:
            # the consent known today replaces an earlier analysis' (an opt-out since counts)
            today = out.pop("accepts_marketing_today").astype("boolean")
            if "accepts_marketing" in out.columns:
                today = today.fillna(out["accepts_marketing"].astype("boolean"))
            out["accepts_marketing"] = today
        out = out.drop(columns="_key")
    for column in CONTACT_FIELDS:
        if column not in out.columns:
            out[column] = pd.NA
        text = out[column].astype("string").str.strip()
        out[column] = text.mask(text == "")
    # the key of a person and of their consent: an invisible character is no part of it
    email = out["email"].astype("string[pyarrow]").str.replace(f"[{INVISIBLE}]", "", regex=True)
    email = email.str.strip().astype("string")
    out["email"] = email.mask(email == "")
    ids = out["customer_id"].astype("string").str.strip()
    # an id holding an @ is the e-mail cell of an orders table keyed by e-mail, an address or
    # not (``omar@example``): kept as the e-mail, so that one that is none is counted as such
    email_cell = ids.str.contains("@", regex=False).fillna(False).astype(bool)
    out["email"] = out["email"].fillna(ids.where(email_cell))
    phones = pd.Series([phone_from_id(i) for i in ids], index=out.index, dtype="string")
    out["phone"] = out["phone"].fillna(phones.mask(phones == ""))
    others = [column for column in out.columns if column not in CONTACT_FIELDS]
    return out[[*others, *CONTACT_FIELDS]].reset_index(drop=True)


def declined_addresses(table: pd.DataFrame) -> set[str]:
    """The e-mail addresses (trimmed, lower-cased) that some customer of ``table`` (an
    :func:`audience_table`) holding them declines marketing for.

    Consent belongs to the address: two customer records sharing one (a shop keyed by customer
    number, a customer who registered twice) reach one inbox, and one record's opt-out is not
    undone by the other's opt-in."""
    if "email" not in table.columns or "accepts_marketing" not in table.columns:
        return set()
    declined = table["accepts_marketing"].astype("boolean").eq(False).fillna(False)
    addresses = table.loc[declined.to_numpy(bool), "email"].map(normalize_email)
    return set(addresses) - {""}


def consenting(
    table: pd.DataFrame, include_non_consenting: bool = False, declined: set[str] | None = None
) -> tuple[pd.DataFrame, int]:
    """The rows whose ``accepts_marketing`` is true and whose e-mail address is not in
    ``declined`` (:func:`declined_addresses`), and how many were left out.

    Missing consent counts as no.  With ``include_non_consenting`` every row is kept (0 left out).
    """
    if include_non_consenting:
        return table, 0
    consent = table["accepts_marketing"].astype("boolean").fillna(False).astype(bool)
    if declined and "email" in table.columns:  # the address as the e-mail tools key it
        consent &= ~table["email"].map(normalize_email).isin(declined).to_numpy(bool)
    return table[consent.to_numpy()], int((~consent).sum())


def consent_today(
    customer_ids: pd.Series, contacts: pd.DataFrame, shared: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per customer id of ``customer_ids`` (same index): ``email``, the address to write to (a
    customers export's, else their latest order's, else the id where it is an e-mail address:
    :func:`audience_table`), and ``accepts_marketing``, their marketing consent known today:
    False where they decline it, or where another customer record holding their e-mail address
    declines it (consent belongs to the address: :func:`declined_addresses`), True where they
    accept it, <NA> where no export records it.

    ``contacts`` is the workspace's contact fields (:meth:`valuecast.store.Workspace.contacts`),
    ``shared`` its customers who share an address (``address``, ``accepts_marketing``:
    :meth:`valuecast.store.Workspace.shared_addresses`), the only ones another record's
    opt-out reaches.  Only the distinct ids given are looked up, not every customer.
    """
    ids = customer_ids.astype("string")
    distinct = pd.DataFrame({"customer_id": ids.dropna().unique()})
    table = audience_table(distinct, contacts)
    if "accepts_marketing" in table.columns:
        consent = table["accepts_marketing"].astype("boolean")
    else:
        consent = pd.Series(pd.NA, index=table.index, dtype="boolean")
    if shared is not None and len(shared):
        declines = shared["accepts_marketing"].astype("boolean").eq(False).fillna(False)
        addresses = set(shared.loc[declines.to_numpy(bool), "address"].astype(str)) - {""}
        if addresses:
            elsewhere = table["email"].map(normalize_email).isin(addresses).to_numpy(bool)
            consent = consent.mask(elsewhere, False)
    keys = table["customer_id"].astype(str)
    by_id = pd.DataFrame(
        {
            "email": table["email"].astype("string").to_numpy(),
            "accepts_marketing": consent.to_numpy(),
        },
        index=keys,
    )
    out = by_id.reindex(ids.astype(object).where(ids.notna(), None))
    out.index = customer_ids.index
    return out.astype({"email": "string", "accepts_marketing": "boolean"})
