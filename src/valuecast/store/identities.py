"""One customer under one id across the files and ingests of a workspace: the ingest's steps that
link, join and rename the customers it stores.

The importers make a customer one id within a file (:mod:`valuecast.io._build`: a phone or an
e-mail linked to its customer, ids read without ``.0`` or characters that show nothing); an
ingest does the same across its files and the ingests before it, on the stored and the staged
orders, inside its transaction (:meth:`valuecast.store.workspace.Workspace.ingest` calls these
steps in turn and adds their notes to its report):

- stored ids read as the importers read a file's now (:func:`read_visible_ids_again`,
  :func:`read_whole_number_ids_again`), and stored phones written without their country named by
  the one number with it they can be (:func:`join_stored_national_phones`): renamed in every
  table naming a customer, past analyses' included, and in the numbers of orders numbered by
  their customer (a file without order ids);
- staged phones written without their country given that number's customer
  (:func:`join_national_phones`), among the numbers stored, staged or kept as written
  (:func:`store_phone_cells`, first);
- the orders of a customer known by a phone or an e-mail alone, stored or staged, given to the
  customer that phone or address belongs to in every ingest so far (:func:`link_phones`,
  :func:`link_emails`).

They are one concern (who a customer is) with rules and notes of their own, apart from staging,
merging and reporting the orders; they share the workspace's connection, its temporary tables
(``_stage_orders``) and its SQL helpers (:mod:`valuecast.store.rawsql`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from valuecast.io._build import WHOLE_NUMBER_ID
from valuecast.io.phones import INVISIBLE, PHONE_ID_PREFIX, national_owners, phone_ids
from valuecast.io.schema import ImportResult
from valuecast.store.rawsql import (
    COMPUTED,
    SPACES_SQL,
    connection_table_names,
    sql,
    stored_columns,
)
from valuecast.store.sort_orders import SORT_ORDERS, SORT_ORDERS_TABLE


def link_phones(
    raw: Any, results: Sequence[ImportResult], ingest_id: int, direct: dict[str, bool]
) -> tuple[int, int, tuple[int, str]]:
    """Store the files' phone links (:attr:`~valuecast.io.schema.ImportResult.phone_links`) and
    give the orders of a customer known by a phone alone, stored or staged, to the customer
    that phone belongs to in every ingest so far; returns how many (stored, staged) orders moved,
    and how many stored orders took the number their phone gives them, with the first
    (:func:`_renumber_phone_orders`).

    The files' importers link a phone to its customer within a file
    (:func:`valuecast.io._build.with_phones`); this does it across files and ingests, by the same
    rule: a phone seen with one customer only belongs to it, one seen with two (a household, an
    office line) links nothing.  Orders it gave away before a second customer showed up stay
    where they went.  Runs before the merge, so a staged order compares with its stored self
    under the same customer.
    """
    frames = [r.phone_links for r in results if r.phone_links is not None and len(r.phone_links)]
    frames.append(_normalised_phone_cells(raw))
    frames = [frame for frame in frames if len(frame)]
    if frames:
        links = pd.concat(frames, ignore_index=True).astype("string").drop_duplicates()
        raw.from_df(links).query(  # a relation, not registered: see store_phone_cells
            "_phone_links_in",
            f"SELECT n.phone_id, n.customer_id, CAST({int(ingest_id)} AS BIGINT) "
            "FROM _phone_links_in n ANTI JOIN phone_links p "
            "ON n.phone_id = p.phone_id AND n.customer_id = p.customer_id",
        ).insert_into("phone_links")
    if not sql(raw, "SELECT 1 FROM phone_links LIMIT 1"):
        return 0, 0, (0, "")
    renumbered = (0, "") if direct["orders"] else _renumber_phone_orders(raw)
    # a link to a customer whose orders a later export gave to another (read again under a
    # new e-mail: moved_orders) and who has none left names no one now: it would leave the
    # phone shared by two; a customer seen only with orders left out (a cancelled one) keeps
    # the phone shared, as in the file that showed it
    staged = (
        ""
        if direct["orders"] or not _orders_staged(raw)
        else " UNION ALL SELECT customer_id FROM _stage_orders"
    )
    sql(
        raw,
        "CREATE OR REPLACE TEMP TABLE _phone_owners AS SELECT phone_id, min(customer_id) AS "
        "owner FROM phone_links WHERE customer_id NOT IN (SELECT customer_id FROM moved_orders "
        "WHERE customer_id NOT IN (SELECT customer_id FROM (SELECT customer_id FROM orders "
        f"UNION ALL SELECT customer_id FROM customers{staged}) WHERE customer_id IS NOT NULL)) "
        "GROUP BY phone_id HAVING count(DISTINCT customer_id) = 1",
    )

    def move(table: str) -> int:
        return int(
            sql(
                raw,
                f"UPDATE {table} SET customer_id = o.owner FROM _phone_owners o "
                f"WHERE {table}.customer_id = o.phone_id",
            )[0][0]
        )

    try:
        if direct["orders"]:  # staged straight into the empty orders table
            return 0, move("orders"), renumbered
        stored = move("orders")
        if not _orders_staged(raw):
            return (
                stored,
                0,
                renumbered,
            )  # no orders staged (a customers export): the stage is a view
        # a staged order stored under its owner already (an export read again) is no news
        staged = sql(
            raw,
            "SELECT count(*) FROM _stage_orders s JOIN _phone_owners o "
            "ON s.customer_id = o.phone_id ANTI JOIN orders t ON t.source = s.source "
            "AND t.order_number = s.order_number AND t.customer_id = o.owner",
        )[0][0]
        move("_stage_orders")
        # an older export read again gives an order its phone's id where the phone has been seen
        # with a second customer since: the order keeps the customer it was given
        sql(
            raw,
            "UPDATE _stage_orders s SET customer_id = t.customer_id FROM orders t, phone_links l "
            "WHERE starts_with(s.customer_id, ?) AND t.source = s.source "
            "AND t.order_number = s.order_number AND l.phone_id = s.customer_id "
            "AND l.customer_id = t.customer_id",
            [PHONE_ID_PREFIX],
        )
        return stored, int(staged), renumbered
    finally:
        sql(raw, "DROP TABLE _phone_owners")


def store_phone_cells(raw: Any, results: Sequence[ImportResult], ingest_id: int) -> None:
    """Keep the files' phones as written (:attr:`~valuecast.io.schema.ImportResult.phone_cells`)
    that the workspace does not hold yet: before the joins of numbers without their country
    (:func:`join_stored_national_phones`, :func:`join_national_phones`), which read their last
    digits, as :func:`link_phones` does after them."""
    for result in results:
        cells = result.phone_cells
        if cells is None or not cells.num_rows:
            continue
        # read through a relation, not registered: a registered Arrow table stays referenced
        # until the transaction commits, and `refresh` analyses inside it (see workspace._stage);
        # each phone's last digits are kept beside it, for the lookup of a phone-only
        # customer's candidates
        raw.from_arrow(cells).query(
            "_phone_cells_in",
            f"SELECT n.customer_id, n.phone, n.country, "
            f"right(regexp_replace(n.phone, '[^0-9]', '', 'g'), {_PHONE_TAIL}), "
            f"CAST({int(ingest_id)} AS BIGINT) "
            "FROM (SELECT DISTINCT customer_id, phone, country FROM _phone_cells_in) n "
            "ANTI JOIN phone_cells p ON p.customer_id = n.customer_id AND p.phone = n.phone "
            "AND p.country IS NOT DISTINCT FROM n.country",
        ).insert_into("phone_cells")


_PHONE_TAIL = 7
"""Digits at the end of a phone number that find the written phones that may be it: a national
number and its international form (``07700 900123``, ``+44 7700 900123``) end alike."""


def _normalised_phone_cells(raw: Any) -> pd.DataFrame:
    """The (``phone_id``, ``customer_id``) pairs of the stored phones as written
    (``phone_cells``) that may be the phone of a customer known by a phone alone, stored or
    staged: the written phones ending in the same digits, normalised
    (:func:`valuecast.io.phones.phone_ids`) and let go of from ``phone_cells``."""
    none = pd.DataFrame({"phone_id": pd.Series(dtype="string"),
                         "customer_id": pd.Series(dtype="string")})  # fmt: skip
    if not sql(raw, "SELECT 1 FROM phone_cells LIMIT 1"):
        return none
    candidates = raw.execute(
        "SELECT DISTINCT phone, country FROM phone_cells WHERE tail IN ("
        f"SELECT right(customer_id, {_PHONE_TAIL}) FROM orders "
        f"WHERE starts_with(customer_id, '{PHONE_ID_PREFIX}') "
        f"UNION SELECT right(customer_id, {_PHONE_TAIL}) FROM _stage_orders "
        f"WHERE starts_with(customer_id, '{PHONE_ID_PREFIX}'))"
    ).df()
    if candidates.empty:
        return none
    candidates = candidates.astype({"phone": "string", "country": "string"})
    candidates["phone_id"] = phone_ids(candidates["phone"], candidates["country"]).to_numpy()
    raw.register("_phone_candidates", candidates)
    try:
        pairs = raw.execute(
            "SELECT DISTINCT c.phone_id, p.customer_id FROM phone_cells p "
            "JOIN _phone_candidates c ON p.phone = c.phone "
            "AND p.country IS NOT DISTINCT FROM c.country WHERE c.phone_id IS NOT NULL"
        ).df()
        sql(
            raw,
            "DELETE FROM phone_cells p WHERE EXISTS (SELECT 1 FROM _phone_candidates c "
            "WHERE p.phone = c.phone AND p.country IS NOT DISTINCT FROM c.country)",
        )
    finally:
        raw.unregister("_phone_candidates")
    return pairs.astype("string")


def linked_by_phone_note(stored: int, staged: int) -> str:
    """The ingest note for orders of customers known by a phone alone that went to the customer
    the phone belongs to (:func:`link_phones`)."""
    total = stored + staged
    return (
        f"{total:,} {'order' if total == 1 else 'orders'} without e-mail "
        f"({_stored_and_staged(stored, staged)}) "
        f"{'belongs' if total == 1 else 'belong'} to the customer whose orders or customer "
        "record in other files carry the same phone"
    )


def _orders_staged(raw: Any) -> bool:
    """Whether this ingest staged orders as a table (a customers export stages a view)."""
    return bool(sql(raw, "SELECT 1 FROM duckdb_tables() WHERE table_name = '_stage_orders'"))


def _national_phone_ids_sql(table: str) -> str:
    """SQL of a column ``id``: the distinct phone ids of numbers without their country
    (``phone:07700900123``) that ``table``'s orders name their customers by."""
    prefix = PHONE_ID_PREFIX
    return (
        f"SELECT DISTINCT customer_id AS id FROM {table} WHERE starts_with(customer_id, "
        f"'{prefix}') AND NOT starts_with(customer_id, '{prefix}+')"
    )


@dataclass(frozen=True)
class NationalJoin:
    """What :func:`join_national_phones` did, for the ingest's notes."""

    moved: int
    """Staged orders given the customer of a stored number (not stored so already)."""
    national: str
    """The first phone id without its country given one (``phone:07700900123``)."""
    owner: str
    """The id it was given (``phone:+447700900123``)."""
    joined: tuple[str, ...] = ()
    """Every phone id without its country given one."""


NO_NATIONAL_JOIN = NationalJoin(0, "", "")


def join_national_phones(
    raw: Any, direct: dict[str, bool], results: Sequence[ImportResult]
) -> NationalJoin:
    """Give the staged orders of a customer known by a phone written without its country
    (``phone:07700900123``) the customer of the one international number it can be among the
    numbers stored, staged and carried beside a customer in the files ``results``
    (``phone:+447700900123``: :func:`valuecast.io.phones.national_owners`), as the importers
    do within a file: a later export leaving the country cell empty, or writing the number as
    dialled at home, names the customer an earlier one gave with its country.  Digits that can be two stored numbers (of two countries) stay a
    customer of their own.  Returns how many orders were given one (not stored so already),
    the first national and international ids and every national id given one (for the
    ingest's notes).

    Runs before the phones' links (:func:`link_phones`), so that the international number's
    customer, where a customer id gave it, takes the orders too.  Reads nothing where no
    staged order is of such a customer; else, of the stored ids, only the international numbers
    ending as one of them does.  A first ingest of one file (joined by its importer) reads
    nothing; one of several files joins them in the orders table they were staged into."""
    if direct["orders"] and len(results) < 2:
        return NO_NATIONAL_JOIN
    # several files into an empty workspace are staged straight into its orders table
    staged = "orders" if direct["orders"] else "_stage_orders"
    if not direct["orders"] and not _orders_staged(raw):
        return NO_NATIONAL_JOIN  # no orders staged (a customers export): the stage is a view
    national = _national_phone_ids_sql(staged)
    if not sql(raw, f"{national} LIMIT 1"):
        return NO_NATIONAL_JOIN
    owners = _national_phone_owners(raw, national, results)
    if not owners:
        return NO_NATIONAL_JOIN
    try:
        give = (
            f"UPDATE {staged} SET customer_id = o.owner FROM _national_owners o "
            f"WHERE {staged}.customer_id = o.national"
        )
        if direct["orders"]:  # nothing was stored before: every order given one is news
            (moved,) = sql(raw, give)[0]
        else:
            # a staged order stored under the number already (an export read again) is no news
            (moved,) = sql(
                raw,
                "SELECT count(*) FROM _stage_orders s JOIN _national_owners o "
                "ON s.customer_id = o.national ANTI JOIN orders t ON t.source = s.source "
                "AND t.order_number = s.order_number AND t.customer_id = o.owner",
            )[0]
            sql(raw, give)
        first = min(owners)
        return NationalJoin(int(moved), first, owners[first], tuple(owners))
    finally:
        sql(raw, "DROP TABLE _national_owners")


def _national_phone_owners(
    raw: Any, national: str, results: Sequence[ImportResult]
) -> dict[str, str]:
    """Of the phone ids of numbers without their country that ``national`` (SQL of a column
    ``id``) selects, those that are one international number stored, staged, carried beside
    a customer in the files ``results`` or kept as written (:func:`_written_phone_ids`): id ->
    that number's id
    (:func:`valuecast.io.phones.national_owners`), also as the temporary table
    ``_national_owners`` (``national``, ``owner``), which the caller drops."""
    # the files' phone links are stored only by link_phones, which runs after the joins
    carried = [r.phone_links[["phone_id"]] for r in results if r.phone_links is not None]
    files = pd.DataFrame({"phone_id": pd.Series(dtype="string")})
    files = pd.concat(
        [files, *carried, _written_phone_ids(raw, national)], ignore_index=True
    ).astype("string")
    # a national number's last digits are those of every international number it can be
    # (it holds at least MIN_PHONE_DIGITS digits); the files' ids read through a relation,
    # not registered (see store_phone_cells)
    candidates = raw.from_df(files).query(
        "_files_phone_ids",
        f"""WITH national AS MATERIALIZED ({national}),
        known AS (SELECT customer_id AS id FROM orders UNION ALL SELECT phone_id FROM
            phone_links UNION ALL SELECT customer_id FROM _stage_orders
            UNION ALL SELECT phone_id FROM _files_phone_ids)
        SELECT id FROM national UNION SELECT id FROM known
        WHERE starts_with(id, '{PHONE_ID_PREFIX}+')
            AND right(id, 5) IN (SELECT right(id, 5) FROM national)""",
    )
    ids = [row[0] for row in candidates.fetchall()]
    owners = national_owners(ids)
    if owners:
        frame = pd.DataFrame({"national": list(owners), "owner": list(owners.values())})
        raw.from_df(frame).query("_owners_in", "SELECT * FROM _owners_in").create(
            "_national_owners"
        )
    return owners


def _written_phone_ids(raw: Any, national: str) -> pd.DataFrame:
    """The phone ids (column ``phone_id``) of the phones kept as written (``phone_cells``, the
    files' among them: :func:`store_phone_cells`) that end in the last digits of a number
    without its country that ``national`` selects: DuckDB's route leaves its customers' phones
    so, and a number a customer gave there with its country is one the national number can be,
    as it is in the importer's phone links.  Only those few are normalised
    (:func:`valuecast.io.phones.phone_ids`)."""
    candidates = raw.execute(
        f"""WITH tails AS MATERIALIZED (SELECT DISTINCT right(id, 5) AS tail FROM ({national}))
        SELECT DISTINCT phone, country FROM phone_cells
        WHERE right(tail, 5) IN (SELECT tail FROM tails)"""
    ).df()
    candidates = candidates.astype({"phone": "string", "country": "string"})
    ids = phone_ids(candidates["phone"], candidates["country"]).dropna()
    return pd.DataFrame({"phone_id": ids.to_numpy()}, dtype="string")


def join_stored_national_phones(raw: Any, results: Sequence[ImportResult]) -> IdsReadAgain | None:
    """Name the stored customers known by a phone written without its country
    (``phone:07700900123``, of an export read before) by the one international number stored,
    staged or carried beside a customer in the files ``results`` that it is
    (``phone:+447700900123``), as :func:`join_national_phones` names a staged one: a later
    export giving the number with its country names the same customer.  They are renamed as :func:`_read_ids_again` renames ids read again (their orders numbered
    by the phone take the number's, as the files number them now).  None where no stored
    customer is such a phone, or none is one number."""
    if not _orders_staged(raw):
        return None  # no orders staged (a customers export): the stage is a view
    national = _national_phone_ids_sql("orders")
    if not sql(raw, f"{national} LIMIT 1") or not _national_phone_owners(raw, national, results):
        return None
    try:
        read = _read_ids_again(
            raw,
            "CREATE OR REPLACE TEMP TABLE _ids_read_again AS "
            "SELECT national AS written, owner AS now FROM _national_owners",
            keep_email=False,
            every_source=True,
        )
    finally:
        sql(raw, "DROP TABLE _national_owners")
    return IdsReadAgain(*read)


def stored_national_phones_note(joined: IdsReadAgain) -> str:
    """The ingest note on the stored customers of a phone without its country named by the
    number with it (:func:`join_stored_national_phones`)."""
    one = joined.orders == 1
    note = (
        f"{joined.orders:,} stored {'order' if one else 'orders'} named "
        f"{'its' if one else 'their'} customer by a phone number without its country "
        f"({joined.written.removeprefix(PHONE_ID_PREFIX)}): named by the one number with its "
        "country it can be now, as these files give it, so that each is one customer"
    )
    return note + _merged_and_snapshots_note(joined, "that number")


def national_phones_joined_note(join: NationalJoin) -> str:
    """The ingest note for the orders of a phone written without its country given the customer
    of the stored international number it is (:func:`join_national_phones`)."""
    moved, national, owner = join.moved, join.national, join.owner
    one = moved == 1
    return (
        f"{moved:,} {'order' if one else 'orders'} naming {'its' if one else 'their'} customer "
        f"by a phone number without its country ({national.removeprefix(PHONE_ID_PREFIX)}"
        f"{'' if one else ' ...'}) {'is' if one else 'are'} the customer of the one number "
        f"stored with its country {'it' if one else 'they'} can be "
        f"({owner.removeprefix(PHONE_ID_PREFIX)}{'' if one else ' ...'}), by which the audience "
        "files match them"
    )


_TABLE_SOURCE = "orders"
"""The source of an orders table of any layout (:mod:`valuecast.io.generic`): the only one whose
customers are named by an id beside their e-mail, or by the e-mail where an order has no id."""


def _renumber_phone_orders(raw: Any) -> tuple[int, str]:
    """Give the stored orders that a file of an orders table without order ids numbers by the
    phone that links them to their customer (``phone:+16169547888|2024-05-05``, see
    :mod:`valuecast.io.generic`) that number, where the workspace stores them under their
    customer's number (``1001|2024-05-05``); returns how many, and the first such number (for
    the ingest's note).

    Such a stored order is one of a customer the staged order's phone is linked to (in any
    ingest so far), of the same time, date as written and net revenue, under a number no staged
    order has: the customer's order of another file on the same day (a till's and a web shop's)
    is no such order unless it is of the same amount too.  A staged order that orders of two
    customers could be is left alone, and so are those beyond as many as are stored (another
    order of the same time).  Renumbered, the order is found by the merge (unchanged, or
    updated) instead of being stored twice.  One whose amount was corrected since is not found,
    and is stored again."""
    if not _orders_staged(raw):
        return 0, ""  # no orders staged (a customers export): the stage is a view
    source, prefix = f"'{_TABLE_SOURCE}'", f"'{PHONE_ID_PREFIX}'"
    staged = (
        "SELECT order_number AS number, split_part(order_number, '|', 1) AS phone_id, "
        "split_part(order_number, '|', 2) AS written, ordered_at, net_revenue "
        f"FROM _stage_orders s WHERE source = {source} AND starts_with(order_number, {prefix}) "
        "AND NOT EXISTS (SELECT 1 FROM orders t WHERE t.source = s.source "
        "AND t.order_number = s.order_number)"
    )
    if not sql(raw, f"{staged} LIMIT 1"):
        return 0, ""
    stored = (
        "SELECT order_number AS number, customer_id, ordered_at, net_revenue, split_part("
        "substr(order_number, length(customer_id) + 2), '|', 1) AS written FROM orders t "
        f"WHERE source = {source} AND starts_with(order_number, customer_id || '|') "
        f"AND NOT starts_with(customer_id, {prefix}) AND NOT EXISTS (SELECT 1 FROM _stage_orders "
        "s WHERE s.source = t.source AND s.order_number = t.order_number)"
    )
    same = "written, ordered_at, net_revenue"
    matched = " AND ".join(f"t.{key} = s.{key}" for key in same.split(", "))
    sql(
        raw,
        f"""CREATE OR REPLACE TEMP TABLE _renumbered AS
        WITH s AS ({staged}), t AS ({stored}),
        candidates AS (
            SELECT s.number, l.customer_id, {same} FROM s
            JOIN (SELECT DISTINCT phone_id, customer_id FROM phone_links) l USING (phone_id)
            WHERE EXISTS (SELECT 1 FROM t WHERE t.customer_id = l.customer_id AND {matched})
        ),
        one AS (SELECT * FROM candidates QUALIFY count(*) OVER (PARTITION BY number) = 1),
        new AS (SELECT *, row_number() OVER (PARTITION BY customer_id, {same}
                                             ORDER BY number) AS k FROM one),
        old AS (SELECT *, row_number() OVER (PARTITION BY customer_id, {same}
                                             ORDER BY number) AS k FROM t)
        SELECT old.number AS old, new.number AS new FROM new
        JOIN old USING (customer_id, {same}, k)""",
    )
    try:
        count, first = sql(raw, "SELECT count(*), coalesce(min(new), '') FROM _renumbered")[0]
        if count:
            _renumber_table_orders(raw, "_renumbered")
        return int(count), first
    finally:
        sql(raw, "DROP TABLE _renumbered")


def renumbered_phone_orders_note(count: int, first: str) -> str:
    """The ingest note for stored orders given the number their phone gives them
    (:func:`_renumber_phone_orders`; ``first``: the first such number)."""
    one = count == 1
    return (
        f"{count:,} stored {'order' if one else 'orders'} without a customer id, given "
        f"{'its' if one else 'their'} customer by {'its' if one else 'their'} phone, "
        f"{'is' if one else 'are'} numbered by that phone now, as these files number "
        f"{'it' if one else 'them'} ({first}{'' if one else ' ...'}): the same "
        f"{'order' if one else 'orders'}, not counted twice"
    )


def _email_columns(raw: Any, table: str) -> tuple[str, str]:
    """SQL over the columns ``table`` stores of an order's e-mail, and of whether it has one
    other than its customer id: computed from the columns stored in its place
    (:data:`STORED_IN_PLACE`), or in a workspace made before, stored."""
    if "email_is_customer_id" in stored_columns(raw, table, layout="orders"):
        return COMPUTED["orders"]["email"], "other_email IS NOT NULL"
    return "email", "email IS DISTINCT FROM customer_id AND email IS NOT NULL"


def link_emails(raw: Any, direct: dict[str, bool], files: int) -> tuple[int, int]:
    """Give the orders of an orders table's customer known by an e-mail alone (an order without
    a customer id: :func:`valuecast.io._build.with_emails`), stored or staged, to the customer
    that address belongs to in every ingest so far; returns how many (stored, staged) orders
    moved.

    The importers link an address to its customer within a file; this does it across files and
    ingests, by the same rule: an address the orders of one customer id only carry (compared
    trimmed and lower-cased) belongs to it, one carried by two links nothing.  Only orders
    tables' orders (source ``orders``) take part: a platform's customers are their e-mail
    addresses, which its customers export keys too.  Runs before the merge, so a staged order
    compares with its stored self under the same customer.  A first ingest of one file (linked
    by its importer) and a workspace without a customer known by an e-mail alone read no
    e-mail: a shop's ids hold no ``@``, which is tested first."""
    if direct["orders"] and files < 2:
        return 0, 0
    staged = not direct["orders"] and _orders_staged(raw)
    tables = {table: _email_columns(raw, table)
              for table in (["orders", "_stage_orders"] if staged else ["orders"])}  # fmt: skip
    by_email = {
        table: f"source = '{_TABLE_SOURCE}' AND contains(customer_id, '@') "
        f"AND lower(trim({email})) = customer_id"
        for table, (email, _) in tables.items()
    }
    if not any(
        sql(raw, f"SELECT 1 FROM {t} WHERE {where} LIMIT 1") for t, where in by_email.items()
    ):
        return 0, 0
    carried = " UNION ALL ".join(
        f"SELECT customer_id, lower(trim({email})) AS address FROM {table} "
        f"WHERE source = '{_TABLE_SOURCE}' AND {other}"
        for table, (email, other) in tables.items()
    )
    sql(
        raw,
        f"CREATE OR REPLACE TEMP TABLE _email_owners AS SELECT address, min(customer_id) AS owner "
        f"FROM ({carried}) WHERE contains(address, '@') AND customer_id <> address "
        "GROUP BY address HAVING min(customer_id) = max(customer_id)",
    )
    try:
        if not sql(raw, "SELECT 1 FROM _email_owners LIMIT 1"):
            return 0, 0

        def move(table: str) -> int:
            email = tables[table][0]
            # the e-mail stored in place of one computed from the customer id keeps its text
            kept = (
                ", email_is_customer_id = false, other_email = "
                f"CASE WHEN email_is_customer_id THEN {table}.customer_id ELSE other_email END"
                if email != "email"
                else ""
            )
            return int(
                sql(
                    raw,
                    f"UPDATE {table} SET customer_id = o.owner{kept} FROM _email_owners o "
                    f"WHERE {table}.customer_id = o.address AND {by_email[table]}",
                )[0][0]
            )

        # the phones seen with an address now follow its orders to their owner
        sql(
            raw,
            "UPDATE phone_links SET customer_id = o.owner FROM _email_owners o "
            "WHERE phone_links.customer_id = o.address",
        )
        if direct["orders"]:  # staged straight into the empty orders table
            return 0, move("orders")
        stored = move("orders")
        if not staged:
            return stored, 0
        # a staged order stored under its owner already (an export read again) is no news
        again = sql(
            raw,
            "SELECT count(*) FROM _stage_orders s JOIN _email_owners o "
            "ON s.customer_id = o.address ANTI JOIN orders t ON t.source = s.source "
            "AND t.order_number = s.order_number AND t.customer_id = o.owner "
            f"WHERE s.source = '{_TABLE_SOURCE}'",
        )[0][0]
        moved = move("_stage_orders")
        return stored, min(int(again), moved)
    finally:
        sql(raw, "DROP TABLE IF EXISTS _email_owners")


def linked_by_email_note(stored: int, staged: int) -> str:
    """The ingest note for orders without a customer id that went to the customer whose orders
    in other files carry their e-mail (:func:`link_emails`)."""
    total = stored + staged
    return (
        f"{total:,} {'order' if total == 1 else 'orders'} without a customer id "
        f"({_stored_and_staged(stored, staged)}) {'belongs' if total == 1 else 'belong'} to the "
        "customer whose orders in other files carry the same e-mail"
    )


def _stored_and_staged(stored: int, staged: int) -> str:
    """``2 stored, 1 in these files``: where the orders a linking note counts are."""
    parts = [f"{stored:,} stored"] if stored else []
    if staged:
        parts.append(f"{staged:,} in these files")
    return ", ".join(parts)


def _whole_number_ids_stored(raw: Any) -> bool:
    """Whether the stored orders of orders tables (source ``orders``) name their customers by
    whole numbers some of which are written with ``.0`` (``1.0``, as pandas writes an id column
    with gaps), as :func:`valuecast.io._build.whole_number_ids` finds such a file's: a workspace
    made before the importers read them as the whole number (``1``).  A phone's id and an
    e-mail address (the customer of orders without an id) take no part, as in a file, where
    they are given after the rule.  One pass over the customer ids finds none in the common
    case; the whole-number check runs only where one ends with ``.0``."""
    named = (
        f"source = '{_TABLE_SOURCE}' AND customer_id IS NOT NULL "
        f"AND NOT starts_with(customer_id, '{PHONE_ID_PREFIX}') AND NOT contains(customer_id, '@')"
    )
    return _whole_numbers_stored(raw, "customer_id", named)


def _whole_numbers_stored(raw: Any, column: str, among: str) -> bool:
    """Whether the stored orders ``among`` (SQL) hold whole numbers alone in ``column``, some
    written with ``.0``: one pass finds none ending so in the common case, and the whole-number
    check runs only where one does."""
    ended = f"SELECT 1 FROM orders WHERE {among} AND ends_with({column}, '.0') LIMIT 1"
    if not sql(raw, ended):
        return False
    other = (
        f"SELECT 1 FROM orders WHERE {among} "
        f"AND NOT regexp_full_match({column}, '{WHOLE_NUMBER_ID}') LIMIT 1"
    )
    return not sql(raw, other)


def _read_without_point_zero(column: str, written: str, now: str, among: str) -> str:
    """SQL: each distinct ``column`` of the stored orders ``among`` written as a whole number
    with ``.0`` (as ``written``) and without it (as ``now``)."""
    return (
        f"SELECT DISTINCT {column} AS {written}, regexp_replace({column}, '\\.0+$', '') AS {now} "
        rf"FROM orders WHERE {among} AND regexp_matches({column}, '^[+-]?[0-9]+\.0+$')"
    )


@dataclass(frozen=True)
class IdsReadAgain:
    """What :func:`read_whole_number_ids_again` or :func:`read_visible_ids_again` changed,
    for the ingest's note."""

    orders: int
    """Stored orders whose customer id is read as the files' are now (without its ``.0``)."""
    written: str
    """The first such id as it was stored (``1.0``)."""
    merged: int
    """Stored orders without an order id that are one order with another stored one now."""
    snapshot_customers: int
    """Customers' rows of past analyses (snapshots) named as the files' ids are now."""


def read_whole_number_ids_again(raw: Any) -> IdsReadAgain | None:
    """Read the stored customer ids written as whole numbers with ``.0`` as the whole numbers
    (:func:`_whole_number_ids_stored`), as the importers read a file's now, in every table that
    names a customer: so that the customers of a workspace made before and of the files given
    now are the same (``1``), not each split in two with their orders and CLV.

    The orders of a file without order ids are numbered by their customer as written
    (``1.0|2024-05-05``, see :mod:`valuecast.io.generic`): they take the number the file gives
    them now (``1|2024-05-05``) with their lines, contacts and withdrawal, so that the file read
    again finds them; one whose number another stored order has already (the same customer's
    order at the same time in a file of whole ids) is that order, as two files giving one
    number are, and the version ingested last is kept.  Past analyses' customers take the new
    ids too, so that comparing a snapshot made before with one made after matches each customer
    with itself; a snapshot's row that would then name a customer it holds already (it counted
    ``1.0`` and ``1`` apart) keeps its id.  None where nothing is read again."""
    if not _whole_number_ids_stored(raw):
        return None
    source = f"source = '{_TABLE_SOURCE}'"
    read = _read_ids_again(
        raw,
        "CREATE OR REPLACE TEMP TABLE _ids_read_again AS "
        + _read_without_point_zero("customer_id", "written", "now", source),
        keep_email=True,
        every_source=False,
    )
    return IdsReadAgain(*read)


@dataclass(frozen=True)
class OrderIdsReadAgain:
    """What :func:`read_whole_number_order_ids_again` changed, for the ingest's note."""

    orders: int
    """Stored orders whose id is read as the files' are now (without its ``.0``)."""
    written: str
    """The first such id as it was stored (``1.0``)."""
    merged: int
    """Of those, the orders that are then one with an order stored under the whole number."""


def read_whole_number_order_ids_again(raw: Any) -> OrderIdsReadAgain | None:
    """Number the stored orders of orders tables by their ids read without ``.0`` where every
    such id is a whole number and some are written with it (``1.0``, as pandas or a spreadsheet
    saves an id column), as the importers read a file's order ids now
    (:func:`valuecast.io._build.whole_number_ids`): so that an export given again, as written
    before or as first downloaded (``1``), names the stored orders and is not counted twice.

    The orders of files without order ids (numbered ``<customer>|<date>``) take no part.  Where
    the workspace holds an order under both numbers (the export given both ways before), they
    are one order, the version ingested last kept, with its lines and contacts.  None where
    nothing is read again."""
    keyed = f"source = '{_TABLE_SOURCE}' AND NOT contains(order_number, '|')"
    if not _whole_numbers_stored(raw, "order_number", keyed):
        return None
    try:
        sql(
            raw,
            "CREATE OR REPLACE TEMP TABLE _numbers_read_again AS "
            + _read_without_point_zero("order_number", "old", "new", keyed),
        )
        orders, written = sql(
            raw,
            f"SELECT count(*), min(order_number) FROM orders WHERE {keyed} "
            "AND order_number IN (SELECT old FROM _numbers_read_again)",
        )[0]
        merged = _merge_renumbered_orders(raw)
        _renumber_orders_read_again(raw)
    finally:
        sql(raw, "DROP TABLE IF EXISTS _numbers_read_again")
    return OrderIdsReadAgain(int(orders), str(written), int(merged))


def whole_number_order_ids_note(whole: OrderIdsReadAgain) -> str:
    """The ingest note on the stored order ids read without their ``.0``
    (:func:`read_whole_number_order_ids_again`)."""
    note = _read_as_whole_numbers(
        whole.orders, "had {} id as a whole number", whole.written, "order ids",
        "the same orders given again are not counted twice",
    )  # fmt: skip
    if whole.merged:
        many = whole.merged != 1
        note += (
            f"; {whole.merged:,} of them {'were' if many else 'was'} the same "
            f"{'orders' if many else 'order'} as {'ones' if many else 'one'} stored under the "
            "whole number, kept once"
        )
    return note


def _read_ids_again(
    raw: Any, read_as: str, *, keep_email: bool, every_source: bool
) -> tuple[int, str, int, int]:
    """Name the stored customers by the ids ``read_as`` (SQL creating :data:`_ids_read_again`,
    a table of each id as ``written`` and as the files give it ``now``) reads them as, in every
    table that names a customer, and number the orders numbered by such an id (a file without
    order ids: ``1.0|2024-05-05``) by the id given now, as :func:`read_whole_number_ids_again`
    tells; ``keep_email``: whether an order's e-mail that is its customer id keeps the text
    written; ``every_source``: whether platforms' orders are renamed too, not only orders
    tables'.  Returns how many orders were renamed, the first id as written, how many orders
    are then one with another, and how many rows of past analyses' customers were renamed."""
    source = f"'{_TABLE_SOURCE}'"
    try:
        sql(raw, read_as)
        sql(
            raw,
            "CREATE OR REPLACE TEMP TABLE _numbers_read_again AS SELECT o.order_number AS old, "
            "w.now || substr(o.order_number, length(w.written) + 1) AS new FROM orders o "
            f"JOIN _ids_read_again w ON o.customer_id = w.written WHERE o.source = {source} "
            "AND starts_with(o.order_number, w.written || '|')",
        )
        merged = _merge_renumbered_orders(raw)
        _renumber_orders_read_again(raw)
        orders, written = _rename_customers_read_again(raw, keep_email, every_source)
        return orders, written, merged, _rename_snapshot_customers(raw)
    finally:
        sql(raw, "DROP TABLE IF EXISTS _numbers_read_again")
        sql(raw, "DROP TABLE IF EXISTS _ids_read_again")


def _visible_id_sql(cell: str) -> str:
    """The SQL expression of customer id ``cell`` as the importers read an id now
    (:func:`valuecast.io._build.visible_ids`): NFC, without the characters that show nothing,
    an address (an id holding ``@``) without a zero-width (non-)joiner too, trimmed."""
    hidden = f"regexp_replace(nfc_normalize({cell}), '[{INVISIBLE}]', '', 'g')"
    joined = (
        f"CASE WHEN contains({hidden}, '@') "
        f"THEN regexp_replace({hidden}, '[\u200c\u200d]', '', 'g') ELSE {hidden} END"
    )
    return f"regexp_replace({joined}, '^{SPACES_SQL}+|{SPACES_SQL}+$', '', 'g')"


# an id that may read otherwise: one holding a character that shows nothing or a mark (an accent
# written apart from its letter); an id of ASCII alone (nearly all: its length in bytes is its
# length) is spared the regular expression
_MAY_HIDE = (
    "strlen(customer_id) <> length(customer_id) "
    f"AND regexp_matches(customer_id, '[{INVISIBLE}\u200c\u200d\\p{{M}}]')"
)


def read_visible_ids_again(raw: Any) -> IdsReadAgain | None:
    """Read the stored customer ids holding a character that shows nothing (a zero-width
    space, byte-order mark, word joiner or soft hyphen, copied with a cell from a web page), or
    an accent written as a combining mark, as the importers read a file's now
    (:func:`_visible_id_sql`), in every table that names a customer, as
    :func:`read_whole_number_ids_again` reads ``1.0`` as ``1``: so that a customer of a
    workspace made before and of the files given now is one customer (``C1``), not two (``C1``
    and ``C1`` with a zero-width space), each with part of the orders and CLV.

    Orders of every source take part (a platform's customer ids are e-mail addresses, read so
    too).  An id holding nothing else (read as no customer now) keeps its text.  None where no
    stored id reads otherwise: one scan of the ids (0.1 s at 3M orders), which reads again only
    those that may hide a character (:data:`_MAY_HIDE`); once an ingest has read them again
    none is left, as the importers store none."""
    # the ids that may hide a character are found first, apart (a materialized CTE): a filter
    # of both conditions computes the id read again for every row
    read_otherwise = (
        "WITH may_hide AS MATERIALIZED (SELECT DISTINCT customer_id FROM (SELECT customer_id "
        f"FROM orders UNION ALL SELECT customer_id FROM customers) "
        f"WHERE customer_id IS NOT NULL AND {_MAY_HIDE}) "
        f"SELECT customer_id AS written, now FROM (SELECT customer_id, "
        f"{_visible_id_sql('customer_id')} AS now FROM may_hide) "
        "WHERE now <> customer_id AND now <> ''"
    )
    if not sql(raw, f"{read_otherwise} LIMIT 1"):
        return None
    read = _read_ids_again(
        raw,
        f"CREATE OR REPLACE TEMP TABLE _ids_read_again AS {read_otherwise}",
        keep_email=False,
        every_source=True,
    )
    return IdsReadAgain(*read)


def visible_ids_note(visible: IdsReadAgain) -> str:
    """The ingest note on the stored customer ids read without their invisible characters
    (:func:`read_visible_ids_again`)."""
    one = visible.orders == 1
    note = (
        f"{visible.orders:,} stored {'order' if one else 'orders'} named "
        f"{'its' if one else 'their'} customer by an id holding a character that shows nothing "
        f"(a zero-width space, byte-order mark, word joiner or soft hyphen) or an accent written "
        f"as a combining mark ({visible.written.encode('unicode_escape').decode()}): read as "
        "it shows now, as the files' ids are, so that each is one customer"
    )
    return note + _merged_and_snapshots_note(visible)


def _merge_renumbered_orders(raw: Any) -> int:
    """Delete, with their lines and contacts, the stored orders that another stored order is
    once renumbered (:func:`read_whole_number_ids_again`): of the orders sharing a number,
    the one ingested last is kept, and of those, one numbered so already.  Returns how many."""
    source = f"'{_TABLE_SOURCE}'"
    if not sql(raw, "SELECT 1 FROM _numbers_read_again LIMIT 1"):
        return 0
    sql(
        raw,
        f"""CREATE OR REPLACE TEMP TABLE _merged_numbers AS SELECT order_number FROM (
            SELECT o.order_number, coalesce(n.new, o.order_number) AS number, o.ingest_id,
                n.old IS NULL AS numbered_so
            FROM orders o LEFT JOIN _numbers_read_again n ON o.order_number = n.old
            WHERE o.source = {source}
                AND coalesce(n.new, o.order_number) IN (SELECT new FROM _numbers_read_again))
        QUALIFY row_number() OVER (
            PARTITION BY number ORDER BY ingest_id DESC, numbered_so DESC, order_number) > 1""",
    )
    try:
        (merged,) = sql(raw, "SELECT count(*) FROM _merged_numbers")[0]
        if merged:
            ids = f"SELECT {source} || ':' || order_number FROM _merged_numbers"
            for table in ("order_lines", "order_contacts"):
                sql(raw, f"DELETE FROM {table} WHERE order_id IN ({ids})")
            sql(
                raw,
                f"DELETE FROM orders WHERE source = {source} "
                "AND order_number IN (SELECT order_number FROM _merged_numbers)",
            )
        return int(merged)
    finally:
        sql(raw, "DROP TABLE _merged_numbers")


def _renumber_orders_read_again(raw: Any) -> None:
    """Give the stored orders numbered by a customer id with ``.0`` (:data:`_numbers_read_again`)
    the number of the whole id, in the orders and every table naming an order by its id."""
    if sql(raw, "SELECT 1 FROM _numbers_read_again LIMIT 1"):
        _renumber_table_orders(raw, "_numbers_read_again")


def _renumber_table_orders(raw: Any, numbers: str) -> None:
    """Give the stored orders of orders tables without order ids the numbers of ``numbers``
    (a table of ``old`` and ``new`` order numbers), in the orders and every table naming an
    order by its id, so that none is left naming an order no longer there."""
    source = f"'{_TABLE_SOURCE}'"
    stores_id = "order_id" in stored_columns(raw, "orders")
    order_id = f", order_id = {source} || ':' || n.new" if stores_id else ""
    sql(
        raw,
        f"UPDATE orders SET order_number = n.new{order_id} FROM {numbers} n "
        f"WHERE orders.source = {source} AND orders.order_number = n.old",
    )
    for table in ("order_lines", "order_contacts", "withdrawn_orders", "moved_orders"):
        sql(
            raw,
            f"UPDATE {table} SET order_id = {source} || ':' || n.new FROM {numbers} n "
            f"WHERE {table}.order_id = {source} || ':' || n.old",
        )


def _rename_customers_read_again(raw: Any, keep_email: bool, every_source: bool) -> tuple[int, str]:
    """Name the customers of :data:`_ids_read_again` by their id read again in the stored orders
    (of orders tables, or ``every_source``), phone links, phones and moved orders; the e-mail
    stored in place of one computed from the customer id keeps its text where ``keep_email``.
    Returns how many orders, and the first id as it was stored."""
    email, _ = _email_columns(raw, "orders")
    kept = (
        ", email_is_customer_id = false, other_email = "
        "CASE WHEN email_is_customer_id THEN orders.customer_id ELSE other_email END"
        if keep_email and email != "email"
        else ""
    )
    sources = "" if every_source else f" AND orders.source = '{_TABLE_SOURCE}'"
    (orders,) = sql(
        raw,
        f"UPDATE orders SET customer_id = w.now{kept} FROM _ids_read_again w "
        f"WHERE orders.customer_id = w.written{sources}",
    )[0]
    for table in ("phone_links", "phone_cells", "moved_orders"):
        sql(
            raw,
            f"UPDATE {table} SET customer_id = w.now FROM _ids_read_again w "
            f"WHERE {table}.customer_id = w.written",
        )
    _rename_customer_records(raw)
    (written,) = sql(raw, "SELECT min(written) FROM _ids_read_again")[0]
    return int(orders), written


def _rename_customer_records(raw: Any) -> None:
    """Name the records of a customers export by the ids of :data:`_ids_read_again`: of the
    records that are then one customer's, the one ingested last is kept (the latest export's),
    as an export ingested again replaces a customer's record."""
    sql(
        raw,
        """DELETE FROM customers WHERE rowid IN (
            SELECT rowid FROM (
                SELECT c.rowid, coalesce(w.now, c.customer_id) AS id, c.ingest_id,
                    w.now IS NULL AS named_so
                FROM customers c LEFT JOIN _ids_read_again w ON c.customer_id = w.written
                WHERE coalesce(w.now, c.customer_id) IN (SELECT now FROM _ids_read_again))
            QUALIFY row_number() OVER (
                PARTITION BY id ORDER BY ingest_id DESC, named_so DESC) > 1)""",
    )
    sql(
        raw,
        "UPDATE customers SET customer_id = w.now FROM _ids_read_again w "
        "WHERE customers.customer_id = w.written",
    )


def _rename_snapshot_customers(raw: Any) -> int:
    """Name the customers of :data:`_ids_read_again` by their id read again in the past
    analyses' customers tables and their tables of a row per customer (next products,
    reminders), where the snapshot does not hold that id already; returns how many customers'
    rows.  (The snapshot tables are :mod:`valuecast.store.snapshots`'; the ingest renames them
    here, in its transaction, as that module reads the workspace's tables through :mod:`valuecast.store.workspace`.)
    A snapshot whose ids then sort otherwise (``b`` and a zero-width space before ``a`` read as
    ``ba``) drops the sort orders of its customers page, which are positions in id order: the
    dashboard sorts its customers again.  An id's order among whole numbers is the same with or
    without ``.0``."""
    if "snapshot_customers" not in connection_table_names(raw):
        return 0
    (renamed,) = sql(
        raw,
        "UPDATE snapshot_customers SET customer_id = w.now FROM _ids_read_again w "
        "WHERE snapshot_customers.customer_id = w.written AND NOT EXISTS (SELECT 1 FROM "
        "snapshot_customers c WHERE c.snapshot_id = snapshot_customers.snapshot_id "
        "AND c.customer_id = w.now)",
    )[0]
    if renamed and "snapshot_tables" in connection_table_names(raw):
        _rename_snapshot_table_customers(raw)
    if renamed:
        _drop_sort_orders_out_of_id_order(raw)
    return int(renamed)


def _drop_sort_orders_out_of_id_order(raw: Any) -> None:
    """Drop the stored sort orders (:mod:`valuecast.store.sort_orders`) of the snapshots holding
    a customer of :data:`_ids_read_again` whose id now sorts among the snapshot's others
    otherwise than the id written did."""
    tables = connection_table_names(raw)
    if SORT_ORDERS_TABLE not in tables:
        return
    moved = [
        row[0]
        for row in sql(
            raw,
            """WITH renamed AS (
                SELECT DISTINCT snapshot_id FROM snapshot_customers
                WHERE customer_id IN (SELECT now FROM _ids_read_again)),
            ranked AS (
                SELECT snapshot_id, rank() OVER (PARTITION BY snapshot_id ORDER BY lower(
                    coalesce(w.written, c.customer_id))) AS before, rank() OVER (
                    PARTITION BY snapshot_id ORDER BY lower(c.customer_id)) AS now
                FROM snapshot_customers c LEFT JOIN _ids_read_again w ON c.customer_id = w.now
                WHERE snapshot_id IN (SELECT snapshot_id FROM renamed))
            SELECT DISTINCT snapshot_id FROM ranked WHERE before <> now""",
        )
    ]
    for snapshot_id in moved:
        sql(raw, f"DELETE FROM {SORT_ORDERS_TABLE} WHERE snapshot_id = ?", [snapshot_id])
        if "snapshot_pages" in tables:
            sql(
                raw,
                "DELETE FROM snapshot_pages WHERE snapshot_id = ? AND name = ?",
                [snapshot_id, SORT_ORDERS],
            )


def _rename_snapshot_table_customers(raw: Any) -> None:
    """Rename in each snapshot's tables with a ``customer_id`` column (Parquet in a BLOB) the
    ids its customers table was given (:func:`_rename_snapshot_customers`): those of
    :data:`_ids_read_again` it holds no longer."""
    now = dict(sql(raw, "SELECT written, now FROM _ids_read_again"))
    written = set(now)
    held: dict[int, set[str]] = {}
    for snapshot_id, customer_id in sql(
        raw,
        "SELECT snapshot_id, customer_id FROM snapshot_customers "
        "WHERE customer_id IN (SELECT written FROM _ids_read_again)",
    ):
        held.setdefault(snapshot_id, set()).add(customer_id)
    for snapshot_id, name, data in sql(raw, "SELECT snapshot_id, name, data FROM snapshot_tables"):
        table = pq.read_table(BytesIO(data))
        if "customer_id" not in table.column_names:
            continue
        ids = table.column("customer_id")
        if not (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
            continue
        renamed = sorted(written - held.get(snapshot_id, set()))
        given = pc.fill_null(pc.is_in(ids, value_set=pa.array(renamed, ids.type)), False)
        if not pc.any(given).as_py():
            continue
        read = pa.array([now.get(written_id) for written_id in renamed], ids.type)
        named = pc.take(read, pc.index_in(ids, value_set=pa.array(renamed, ids.type)))
        table = table.set_column(
            table.column_names.index("customer_id"), "customer_id", pc.if_else(given, named, ids)
        )
        sink = BytesIO()
        pq.write_table(table, sink)
        sql(
            raw,
            "UPDATE snapshot_tables SET data = ? WHERE snapshot_id = ? AND name = ?",
            [sink.getvalue(), snapshot_id, name],
        )


def whole_number_ids_note(whole: IdsReadAgain) -> str:
    """The ingest note on the stored customer ids read without their ``.0``
    (:func:`read_whole_number_ids_again`)."""
    note = _read_as_whole_numbers(
        whole.orders, "named {} customer by a whole number", whole.written, "ids",
        "each is one customer",
    )  # fmt: skip
    return note + _merged_and_snapshots_note(whole, "the whole number")


def _read_as_whole_numbers(orders: int, told: str, written: str, ids: str, so_that: str) -> str:
    """The start of a note on stored ids read without their ``.0``: ``orders`` stored orders
    that ``told`` (its/their in place of ``{}``) written with '.0' (the first as ``written``)."""
    one = orders == 1
    whole_id = re.sub(r"\.0+$", "", written)
    return (
        f"{orders:,} stored {'order' if one else 'orders'} {told.format('its' if one else 'their')}"
        f" written with '.0' ({written}): read as the whole number ({whole_id}) now, as the "
        f"files' {ids} are, so that {so_that}"
    )


def _merged_and_snapshots_note(read: IdsReadAgain, stored_under: str = "the id read so") -> str:
    """The end of the note on stored ids read again: the orders then kept once, and the rows
    of past analyses renamed; '' where neither."""
    note = ""
    if read.merged:
        many = read.merged != 1
        note += (
            f"; {read.merged:,} more without an order id {'are' if many else 'is'} then the "
            f"same {'orders' if many else 'order'} as {'ones' if many else 'one'} stored under "
            f"{stored_under}, kept once"
        )
    if read.snapshot_customers:
        many = read.snapshot_customers != 1
        note += (
            f"; past analyses name {'those' if many else 'that'} customer{'s' if many else ''} "
            f"so too ({read.snapshot_customers:,} {'rows' if many else 'row'})"
        )
    return note
