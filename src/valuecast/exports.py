"""Audience exports: a segment of the customers as a Klaviyo, Mailchimp, Meta or Google file.

Pure functions on pandas frames; ``valuecast export`` (:mod:`valuecast.cli_exports`) runs the
analysis and calls them.  The path is::

    audience_table(analysis.customers, workspace contacts)     one row per customer
      -> segment_mask(table, name, as_of) | where_mask(table, EXPR)
      -> consenting(...)                                         accepts_marketing true only
      -> format_audience(selected, "klaviyo"|"mailchimp"|"meta"|"google")
      -> write_audience(frame, path)                             formula-safe CSV, atomically

:func:`build_audience` does all but the writing in one call.

The customers
-------------
:func:`audience_table` left-joins the analysis customers table (columns
:data:`valuecast.tables.CUSTOMER_COLUMNS`) with the contact fields of the workspace ``customers``
table (a Shopify customers export): ``email, first_name, last_name, phone, city, province,
country, zip`` on ``customer_id``.  A customer without a contact row keeps empty contact fields;
``email`` falls back to ``customer_id`` when that looks like an e-mail address (orders tables keyed
by e-mail).  Every column can be used in ``--where``.

Named segments
--------------
Thresholds are module constants; "high historic value" means the customer's ``historic_clv`` is
higher than that of at least 70% of the shop's customers (the rule of the *high* predicted spend
tier, :func:`valuecast.analysis.segments.predicted_spend_tier`, applied to historic CLV and computed
over the whole table, before any consent filter).

``champions``
    ``rfm_group`` is Champions.
``at-risk-high-value``
    High historic value and ``0.3 <= churn_probability < 0.6``: valuable customers who are
    slipping but are still more likely active than not by a fair margin, worth a retention offer.
``win-back``
    High historic value and ``churn_probability >= 0.6``: valuable customers who have most
    likely lapsed.  Disjoint from ``at-risk-high-value``.
``due-for-reorder``
    ``probability_alive >= 0.5`` and either ``expected_date_of_next_order`` falls within 14 days
    of the as-of date (on or before as-of + 14 days), or the customer has a repeat purchase and
    ``last_order_date + average_days_between_orders`` is on or before as-of + 14 days (their
    usual gap between purchases ends within 14 days or has already passed: due or overdue while
    still probably active).
``new-high-potential``
    ``rfm_group`` is New or Promising and ``predicted_spend_tier`` is high.
``<rfm group>``
    Every RFM group by its slug (lower case, spaces as dashes): ``champions``, ``loyal``,
    ``active``, ``new``, ``promising``, ``needs-attention``, ``at-risk``, ``previously-loyal``,
    ``almost-lost``, ``dormant``, ``prospects``.
``tier-high``, ``tier-medium``, ``tier-low``
    ``predicted_spend_tier``.

``at-risk-high-value``, ``win-back`` and ``due-for-reorder`` select nobody when the shop's model
could not be fitted (churn and alive probabilities are then missing); the spend tiers then rank
historic CLV (:func:`valuecast.jobs.analyze.analyze`), so the tier segments still select customers.

``--where`` expressions
-----------------------
A small, safe filter language parsed with :mod:`ast` and evaluated by walking a strict whitelist
of node types -- nothing is ever passed to ``eval``, ``exec`` or ``DataFrame.query``::

    predicted_clv > 100 and rfm_group in ('Champions', 'Loyal')
    not (churn_probability >= 0.5) or country == 'US'
    last_order_date < '2026-01-01' and accepts_marketing

Allowed: column names, comparisons ``< > <= >= == !=`` (chains such as ``0.2 < x < 0.5`` too),
``in (...)`` / ``not in (...)`` with a list of literals (``in ('A')`` is a list of one),
``and``, ``or``, ``not``, parentheses, string literals in quotes, numbers, ``True``/``False``,
``None`` (``col == None`` tests for a missing value) and a boolean column on its own as a
condition.  ``AND``/``OR``/``NOT``/``IN`` and
``true``/``false``/``null`` are accepted in any letter case.  Columns ending in ``_date`` compare
with ISO dates in quotes (``'2026-07-01'``).  A comparison with a missing value is false (also
for ``!=``), and ``not`` negates that.  Anything else -- function calls, attribute access,
indexing, arithmetic, unknown names -- is an :class:`ExportError` with a one-line message.

Consent
-------
Only customers whose ``accepts_marketing`` is true are exported (missing counts as no), unless
``include_non_consenting=True``; the number left out is reported.

Formats
-------
Rows are one per customer of the selection, in ``customer_id`` order.  Money is rounded to cents,
probabilities to 4 decimals, predicted orders to 2, dates are ISO ``YYYY-MM-DD``; missing values
are empty cells.

``klaviyo``
    ``Email``, then the profile properties ``predicted_clv, churn_probability, rfm_group,
    expected_date_of_next_order, historic_clv, predicted_spend_tier, predicted_number_of_orders``.
``mailchimp``
    ``Email Address, First Name, Last Name`` (Mailchimp's default merge fields), then the same
    properties with readable names: ``Predicted CLV, Churn Probability, RFM Group, Next Order
    Date, Historic CLV, Spend Tier, Predicted Orders`` (map them to merge fields on import).
``meta`` (custom audience from a customer list, value-based)
    ``email, phone, fn, ln, ct, st, zip, country, value``.  Every identifier is the SHA-256 hex
    digest of its normalised value; an empty value stays an empty cell (never the hash of "").
    ``value`` is the predicted CLV in cents precision, not hashed, for value-based lookalikes.
    Normalisation (Meta's customer-list rules): email trimmed and lower-cased; phone digits only
    with the country code (below); ``fn``/``ln`` lower-case without punctuation or symbols
    (runs of spaces kept as one space); ``ct`` lower-case letters only (no spaces, digits or
    punctuation); ``st`` the 2-letter code in lower case for the US (full state names are
    mapped), elsewhere lower-case letters only; ``zip`` lower-case without spaces or dashes, for
    the US the first 5 digits (a 4- or 8-digit US zip that lost its leading zero gets it back),
    for the UK the area, district and sector (``SW1A 1AA`` -> ``sw1a1``); ``country`` the ISO
    3166-1 alpha-2 code in lower case (common country names are mapped; anything else is left
    empty).  Text is Unicode-NFC normalised before hashing.
``google`` (Customer Match)
    ``Email, Phone, First Name, Last Name, Country, Zip``.  Email, phone and names are hashed
    SHA-256 after normalising: trimmed and lower-cased (Gmail's dot and plus-suffix rules are
    *not* applied: addresses are hashed as written, apart from case and surrounding spaces;
    names are not stripped of punctuation either); phone in E.164 (``+`` and digits,
    country code as below).  ``Country`` (2-letter, upper case) and ``Zip`` (trimmed; US: 5
    digits) are plain text.

Phone numbers: a number written with ``+`` or the international prefix ``00`` (``011`` in the
US and Canada) already has its country code (a bracketed trunk ``(0)`` after it is dropped).
Otherwise, when the customer's country is in :data:`CALLING_CODES`, the number is national: it
keeps its digits if they already start with the calling code and are longer than the country's
longest national number, else the national trunk ``0`` is dropped (except in Italy, where it
belongs to the number) and the calling code prefixed (US ``(616) 954-7888`` -> ``16169547888``,
UK ``07700 900123`` -> ``447700900123``).  For other countries the digits are kept as written
(Google's column then gets ``+`` and those digits, which match nothing if the code is missing).

Rows that cannot be matched are left out and counted: without an e-mail for Klaviyo and
Mailchimp, without both e-mail and phone for Meta and Google; a second row with the same e-mail
(Klaviyo, Mailchimp) is left out as a duplicate.

CSV safety
----------
:func:`write_audience` writes through :func:`valuecast.outputs.write_csv`, the writer of every CSV
valuecast writes: a text cell starting with ``= + - @``, a tab or a carriage return gets a leading
apostrophe (OWASP's CSV-injection advice; the exact rule and how it reads back are in
:mod:`valuecast.csvsafe`), so a spreadsheet opening the file never runs a formula from customer
data.  SHA-256 hex digests never start with those; it matters for the plain fields (names,
e-mails, zip codes).  :func:`format_audience` keeps the values themselves, so the file is escaped
exactly once.
"""

from __future__ import annotations

import ast
import hashlib
import io
import operator
import re
import tokenize
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from valuecast.analysis.segments import predicted_spend_tier
from valuecast.csvsafe import escape_frame
from valuecast.outputs import write_csv
from valuecast.tables import CUSTOMER_COLUMN_KINDS, CUSTOMER_COLUMNS, GROUPS, TIERS

__all__ = [
    "AUDIENCE_COLUMNS",  # noqa: F822 - module __getattr__ (imports valuecast.jobs.analyze on use)
    "CALLING_CODES",
    "CONTACT_FIELDS",
    "FORMATS",
    "HEADERS",
    "SEGMENTS",
    "Audience",
    "ExportError",
    "Formatted",
    "audience_table",
    "build_audience",
    "consenting",
    "country_code",
    "e164_phone",
    "format_audience",
    "high_historic_value",
    "neutralize_formulas",
    "normalize_phone",
    "parse_where",
    "segment_mask",
    "sha256_hex",
    "where_mask",
    "write_audience",
]


class ExportError(ValueError):
    """A bad segment, filter or format: its message is always one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


FORMATS: tuple[str, ...] = ("klaviyo", "mailchimp", "meta", "google")
CONTACT_FIELDS: tuple[str, ...] = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "city",
    "province",
    "country",
    "zip",
)


def _audience_columns() -> tuple[str, ...]:
    return (*CUSTOMER_COLUMNS, *CONTACT_FIELDS)


def __getattr__(name: str) -> Any:
    if name == "AUDIENCE_COLUMNS":  # the columns of audience_table: the ones --where may name
        return _audience_columns()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------------------------------------
# segments
# ------------------------------------------------------------------------------------------------
HIGH_VALUE_SHARE = 0.30
"""High historic value: ``historic_clv`` higher than that of at least 70% of the customers."""
AT_RISK_CHURN = 0.3
"""``at-risk-high-value``: churn probability from this ..."""
LAPSED_CHURN = 0.6
"""... up to (not including) this; ``win-back`` from this up."""
ALIVE = 0.5
"""``due-for-reorder``: probability alive at least this."""
REORDER_WINDOW_DAYS = 14
"""``due-for-reorder``: due on or before the as-of date plus this many days."""


def _slug(name: str) -> str:
    return "-".join(name.lower().split())


_RFM_SLUGS: dict[str, str] = {_slug(group): group for group in GROUPS}

SEGMENTS: dict[str, str] = {
    "champions": "rfm_group is Champions",
    "at-risk-high-value": (
        f"historic CLV in the top {HIGH_VALUE_SHARE:.0%} of the shop and "
        f"{AT_RISK_CHURN} <= churn_probability < {LAPSED_CHURN}"
    ),
    "win-back": (
        f"historic CLV in the top {HIGH_VALUE_SHARE:.0%} of the shop and "
        f"churn_probability >= {LAPSED_CHURN}"
    ),
    "due-for-reorder": (
        f"probability_alive >= {ALIVE} and the next order expected within "
        f"{REORDER_WINDOW_DAYS} days of the as-of date, or the usual gap between purchases "
        f"(last_order_date + average_days_between_orders) ending within {REORDER_WINDOW_DAYS} "
        "days or already passed"
    ),
    "new-high-potential": "rfm_group is New or Promising and predicted_spend_tier is high",
    **{slug: f"rfm_group is {group}" for slug, group in _RFM_SLUGS.items() if slug != "champions"},
    **{f"tier-{tier}": f"predicted_spend_tier is {tier}" for tier in TIERS},
}
"""Every named segment and its rule, in the order ``valuecast export --help`` lists them."""


def _as_timestamp(value: date | str | pd.Timestamp | None) -> pd.Timestamp:
    if value is None:
        raise ExportError("an as-of date is needed for this segment")
    try:
        return pd.Timestamp(value).normalize()
    except (TypeError, ValueError) as error:
        raise ExportError(f"as-of date {value!r} is not a date: {error}") from None


def high_historic_value(table: pd.DataFrame) -> pd.Series:
    """True where ``historic_clv`` beats at least 70% of the table's customers."""
    tiers = predicted_spend_tier(
        table["historic_clv"].to_numpy(dtype=float), high_share=HIGH_VALUE_SHARE
    )
    return pd.Series(tiers == "high", index=table.index)


def _number(table: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(table[column], errors="coerce").astype(float)


def _dates(table: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_datetime(table[column], errors="coerce")


def segment_mask(
    table: pd.DataFrame, name: str, as_of: date | str | pd.Timestamp | None = None
) -> pd.Series:
    """Boolean Series: which rows of ``table`` (an :func:`audience_table`) are in segment ``name``.

    ``as_of`` (the analysis' as-of date) is needed for ``due-for-reorder`` only.
    """
    if name not in SEGMENTS:
        raise ExportError(f"unknown segment {name!r}: known segments are {', '.join(SEGMENTS)}")
    group = table["rfm_group"].astype("string")
    tier = table["predicted_spend_tier"].astype("string")
    if name in _RFM_SLUGS:
        mask = group == _RFM_SLUGS[name]
    elif name.startswith("tier-"):
        mask = tier == name.removeprefix("tier-")
    elif name == "new-high-potential":
        mask = group.isin(["New", "Promising"]) & (tier == "high")
    elif name in ("at-risk-high-value", "win-back"):
        churn = _number(table, "churn_probability")
        band = (
            (churn >= AT_RISK_CHURN) & (churn < LAPSED_CHURN)
            if name == "at-risk-high-value"
            else churn >= LAPSED_CHURN
        )
        mask = high_historic_value(table) & band
    else:  # due-for-reorder
        until = _as_timestamp(as_of) + pd.Timedelta(days=REORDER_WINDOW_DAYS)
        alive = _number(table, "probability_alive") >= ALIVE
        expected = _dates(table, "expected_date_of_next_order") <= until
        gap = _number(table, "average_days_between_orders")
        usual = _dates(table, "last_order_date") + pd.to_timedelta(gap, unit="D")
        mask = alive & (expected | (usual <= until))
    return pd.Series(np.asarray(mask.fillna(False), dtype=bool), index=table.index)


# ------------------------------------------------------------------------------------------------
# the customers to export
# ------------------------------------------------------------------------------------------------
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def audience_table(customers: pd.DataFrame, contacts: pd.DataFrame | None = None) -> pd.DataFrame:
    """The analysis ``customers`` table with the contact fields of ``contacts`` joined on.

    ``contacts`` is the workspace ``customers`` table (or any frame with ``customer_id`` and some
    of :data:`CONTACT_FIELDS`); a customer id repeated there keeps its last row.  The contact
    fields are strings; ``email`` falls back to ``customer_id`` when that looks like an e-mail.
    """
    missing = [column for column in ("customer_id",) if column not in customers.columns]
    if missing:
        raise ExportError("the customers table has no customer_id column")
    out = customers.drop(columns=[c for c in CONTACT_FIELDS if c in customers.columns])
    if contacts is not None and len(contacts) and "customer_id" in contacts.columns:
        fields = [column for column in CONTACT_FIELDS if column in contacts.columns]
        extra = contacts[["customer_id", *fields]].copy()
        extra["customer_id"] = extra["customer_id"].astype("string")
        extra = extra.dropna(subset=["customer_id"]).drop_duplicates("customer_id", keep="last")
        keys = out["customer_id"].astype("string")
        out = out.assign(_key=keys).merge(
            extra.rename(columns={"customer_id": "_key"}), on="_key", how="left"
        )
        out = out.drop(columns="_key")
    for column in CONTACT_FIELDS:
        if column not in out.columns:
            out[column] = pd.NA
        text = out[column].astype("string").str.strip()
        out[column] = text.mask(text == "")
    ids = out["customer_id"].astype("string").str.strip()
    looks_like_email = ids.str.match(_EMAIL.pattern).fillna(False).astype(bool)
    out["email"] = out["email"].fillna(ids.where(looks_like_email))
    others = [column for column in out.columns if column not in CONTACT_FIELDS]
    return out[[*others, *CONTACT_FIELDS]].reset_index(drop=True)


def consenting(
    table: pd.DataFrame, include_non_consenting: bool = False
) -> tuple[pd.DataFrame, int]:
    """The rows whose ``accepts_marketing`` is true, and how many were left out.

    Missing consent counts as no.  With ``include_non_consenting`` every row is kept (0 left out).
    """
    if include_non_consenting:
        return table, 0
    consent = table["accepts_marketing"].astype("boolean").fillna(False).astype(bool)
    return table[consent.to_numpy()], int((~consent).sum())


# ------------------------------------------------------------------------------------------------
# --where: a whitelisted expression language on ast
# ------------------------------------------------------------------------------------------------
MAX_WHERE_LENGTH = 2000
_KEYWORDS = {"and": "and", "or": "or", "not": "not", "in": "in"}
_LITERAL_WORDS = {"true": "True", "false": "False", "null": "None", "none": "None"}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.Gt: operator.gt,
    ast.LtE: operator.le,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_REJECTED = {
    ast.Call: "function calls",
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.BinOp: "arithmetic",
    ast.Lambda: "lambdas",
    ast.IfExp: "if-expressions",
    ast.NamedExpr: "assignment",
    ast.Starred: "starred expressions",
    ast.JoinedStr: "f-strings",
    ast.ListComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.Dict: "dictionaries",
    ast.Is: "'is'",
    ast.IsNot: "'is not'",
}
_WHERE_HINT = (
    "write conditions like rfm_group == 'Champions' and predicted_clv > 100 "
    "(comparisons, and/or/not, parentheses, in (...))"
)


def _python_keywords(expression: str) -> str:
    """``AND``/``Or``/``TRUE``/``null`` ... as Python's words; everything else unchanged."""
    tokens = []
    for token in tokenize.generate_tokens(io.StringIO(expression).readline):
        text = token.string
        if token.type == tokenize.NAME:
            lower = text.lower()
            text = _KEYWORDS.get(lower, _LITERAL_WORDS.get(lower, text))
        tokens.append((token.type, text))
    return tokenize.untokenize(tokens)


def _kind(column: pd.Series, name: str) -> str:
    """``date``, ``bool``, ``number`` or ``text``: how a column compares."""
    if name.endswith("_date") or pd.api.types.is_datetime64_any_dtype(column):
        return "date"
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_object_dtype(dtype):
        inferred = pd.api.types.infer_dtype(column, skipna=True)
        if inferred == "boolean":
            return "bool"
        if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
            return "number"
    return "text"


_STATIC_KINDS: dict[str, str] = {
    **CUSTOMER_COLUMN_KINDS,
    **dict.fromkeys(CONTACT_FIELDS, "text"),
}
"""How each column of :func:`audience_table` compares: text, number, date or bool."""


@dataclass(frozen=True)
class _Column:
    name: str


@dataclass(frozen=True)
class _Literal:
    value: Any


class _Where:
    """A validated ``--where`` expression: call it on a table to get a boolean Series."""

    def __init__(self, expression: str, tree: ast.expr, columns: tuple[str, ...]) -> None:
        self.expression, self._tree, self.columns = expression, tree, columns

    def __call__(self, table: pd.DataFrame) -> pd.Series:
        unknown = [name for name in _names(self._tree) if name not in table.columns]
        if unknown:
            raise ExportError(f"--where: unknown column {unknown[0]!r}")
        result = _condition(self._tree, table)
        return pd.Series(np.asarray(result, dtype=bool), index=table.index)


def _names(node: ast.AST) -> list[str]:
    return [child.id for child in ast.walk(node) if isinstance(child, ast.Name)]


def _reject(node: ast.AST) -> ExportError:
    what = _REJECTED.get(type(node), f"{type(node).__name__} expressions")  # e.g. Set, Await
    return ExportError(f"--where: no {what} allowed; {_WHERE_HINT}")


def parse_where(expression: str, columns: Iterable[str] | None = None) -> _Where:
    """Parse and check a ``--where`` expression against ``columns``; raise :class:`ExportError`.

    ``columns`` defaults to ``AUDIENCE_COLUMNS``, the columns of :func:`audience_table`.

    Nothing of the expression is executed: it is parsed by :func:`ast.parse` and every node is
    checked against a whitelist (see the module docstring); the result is evaluated by walking
    the tree.
    """
    columns = _audience_columns() if columns is None else tuple(columns)
    text = str(expression)
    if not text.strip():
        raise ExportError(f"--where: the expression is empty; {_WHERE_HINT}")
    if len(text) > MAX_WHERE_LENGTH:
        raise ExportError(f"--where: the expression is longer than {MAX_WHERE_LENGTH} characters")
    if "\n" in text or "\r" in text or "\x00" in text:
        raise ExportError("--where: the expression must be one line")
    try:
        tree = ast.parse(_python_keywords(text.strip()), mode="eval").body
    except (SyntaxError, tokenize.TokenError) as error:
        detail = error.msg if isinstance(error, SyntaxError) else str(error.args[0])
        if re.search(r"(?<![=!<>])=(?!=)", text):
            detail += " (compare with ==, not =)"
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise ExportError(f"--where: cannot read {shown!r}: {detail}; {_WHERE_HINT}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExportError("--where: the expression is too deeply nested or invalid") from None
    try:
        _check_condition(tree, columns)
    except RecursionError:
        raise ExportError("--where: expression too deeply nested") from None
    return _Where(text, tree, columns)


def _check_condition(node: ast.AST, columns: tuple[str, ...]) -> None:
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check_condition(value, columns)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check_condition(node.operand, columns)
    elif isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        for position, op in enumerate(node.ops):
            left, right = operands[position], operands[position + 1]
            if isinstance(op, (ast.In, ast.NotIn)):
                column = _operand(left, columns)
                if not isinstance(column, _Column):
                    raise ExportError("--where: 'in' needs a column on its left")
                for element in _in_values(right):
                    value = _operand(element, columns)
                    if not isinstance(value, _Literal):
                        raise ExportError("--where: the values after 'in' must be literals")
                    _check_types((column, value))
            elif type(op) in _COMPARE:
                if isinstance(right, (ast.Tuple, ast.List, ast.Set)):
                    raise ExportError("--where: a list of values needs 'in'")
                pair = (_operand(left, columns), _operand(right, columns))
                if not any(isinstance(operand, _Column) for operand in pair):
                    raise ExportError("--where: a comparison needs a column on one side")
                _check_types(pair)
            else:
                raise _reject(op)
    elif isinstance(node, ast.Name):
        _operand(node, columns)
        if _STATIC_KINDS.get(node.id, "bool") != "bool":
            raise _not_a_condition(node.id)
    elif isinstance(node, ast.Constant):
        raise ExportError(f"--where: {node.value!r} on its own is not a condition; {_WHERE_HINT}")
    else:
        raise _reject(node)


def _in_values(node: ast.AST) -> list[ast.expr]:
    """The values after ``in``: a tuple or list, or one value (``in ('A')`` is ``in ('A',)``)."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return list(node.elts)
    if isinstance(node, (ast.Constant, ast.UnaryOp)):
        return [node]  # type: ignore[list-item]
    raise ExportError("--where: 'in' needs a list of values in parentheses")


def _not_a_condition(name: str) -> ExportError:
    return ExportError(f"--where: column {name!r} is not true/false: compare it with a value")


def _check_types(pair: tuple[_Column | _Literal, _Column | _Literal]) -> None:
    """Check a literal against a column whose kind is known before the table is (one line)."""
    columns = [operand for operand in pair if isinstance(operand, _Column)]
    literals = [operand for operand in pair if isinstance(operand, _Literal)]
    kinds = [_STATIC_KINDS.get(column.name) for column in columns]
    if len(columns) == 2 and None not in kinds and kinds[0] != kinds[1]:
        raise ExportError(
            f"--where: cannot compare {columns[0].name} ({kinds[0]}) "
            f"with {columns[1].name} ({kinds[1]})"
        )
    if columns and literals and kinds[0] is not None:
        _literal(literals[0].value, kinds[0], columns[0].name)


def _operand(node: ast.AST, columns: tuple[str, ...]) -> _Column | _Literal:
    if isinstance(node, ast.Name):
        if node.id not in columns:
            raise ExportError(f"--where: unknown column {node.id!r}; columns: {', '.join(columns)}")
        return _Column(node.id)
    if isinstance(node, ast.Constant):
        if node.value is None or isinstance(node.value, (str, bool, int, float)):
            return _Literal(node.value)
        raise ExportError(f"--where: {node.value!r} is not a string, number or True/False")
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, (ast.USub, ast.UAdd))
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, (int, float))
        and not isinstance(node.operand.value, bool)
    ):
        value = node.operand.value
        return _Literal(-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        raise ExportError("--where: a list of values needs 'in'")
    if isinstance(node, (ast.BoolOp, ast.Compare)) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    ):
        raise ExportError(f"--where: use parentheses around conditions; {_WHERE_HINT}")
    raise _reject(node)


def _condition(node: ast.AST, table: pd.DataFrame) -> np.ndarray:
    if isinstance(node, ast.BoolOp):
        parts = [_condition(value, table) for value in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        return combine.reduce(parts)
    if isinstance(node, ast.UnaryOp):  # checked: not
        return ~_condition(node.operand, table)
    if isinstance(node, ast.Name):
        if _column_kind(table, node.id) != "bool":
            raise _not_a_condition(node.id)
        return table[node.id].astype("boolean").fillna(False).to_numpy(dtype=bool)
    # Compare
    operands = [node.left, *node.comparators]
    result = np.ones(len(table), dtype=bool)
    for position, op in enumerate(node.ops):
        left, right = operands[position], operands[position + 1]
        result &= _compare(left, op, right, table)
    return result


def _column_kind(table: pd.DataFrame, name: str) -> str:
    return _STATIC_KINDS.get(name) or _kind(table[name], name)


def _series(table: pd.DataFrame, name: str, kind: str) -> pd.Series:
    column = table[name]
    if kind == "date":
        return pd.to_datetime(column, errors="coerce")
    if kind == "number":
        return pd.to_numeric(column, errors="coerce").astype(float)
    if kind == "bool":
        return column.astype("boolean")
    return column.astype("string")


def _literal(value: Any, kind: str, column: str) -> Any:
    """``value`` converted for comparison with a column of ``kind``, or a one-line error."""
    if value is None:
        return None
    if kind == "date":
        if isinstance(value, str):
            try:
                return pd.Timestamp(date.fromisoformat(value.strip()))
            except ValueError:
                pass
        raise ExportError(
            f"--where: {column} holds dates: compare it with a date like '2026-07-01'"
        )
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise ExportError(f"--where: {column} is true/false: compare it with True or False")
    if kind == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ExportError(f"--where: {column} holds numbers: compare it with a number")
    if isinstance(value, str):
        return value
    raise ExportError(f"--where: {column} holds text: compare it with a string in quotes")


def _compare(left: ast.AST, op: ast.cmpop, right: ast.AST, table: pd.DataFrame) -> np.ndarray:
    columns = tuple(table.columns)
    a = _operand(left, columns)
    if isinstance(op, (ast.In, ast.NotIn)):
        elements = _in_values(right)
        values = [_operand(element, columns).value for element in elements]  # literals: checked
        if not isinstance(a, _Column):
            raise ExportError("--where: 'in' needs a column on its left")
        kind = _column_kind(table, a.name)
        series = _series(table, a.name, kind)
        wanted = [_literal(value, kind, a.name) for value in values]
        present = series.notna().to_numpy(dtype=bool)
        inside = series.isin([value for value in wanted if value is not None])
        inside = inside.fillna(False).to_numpy(dtype=bool) & present
        if any(value is None for value in wanted):
            inside |= ~present
            present = np.ones(len(table), dtype=bool)
        return inside if isinstance(op, ast.In) else ~inside & present
    compare = _COMPARE[type(op)]
    b = _operand(right, columns)
    if isinstance(a, _Column) and isinstance(b, _Column):
        kind_a, kind_b = _column_kind(table, a.name), _column_kind(table, b.name)
        if kind_a != kind_b:
            raise ExportError(
                f"--where: cannot compare {a.name} ({kind_a}) with {b.name} ({kind_b})"
            )
        x, y = _series(table, a.name, kind_a), _series(table, b.name, kind_b)
        known = (x.notna() & y.notna()).to_numpy(dtype=bool)
        return _fill(compare(x, y)) & known
    column, literal, flipped = (a, b, False) if isinstance(a, _Column) else (b, a, True)
    kind = _column_kind(table, column.name)
    series = _series(table, column.name, kind)
    value = _literal(literal.value, kind, column.name)  # type: ignore[union-attr]
    if value is None:
        if isinstance(op, ast.Eq):
            return series.isna().to_numpy(dtype=bool)
        if isinstance(op, ast.NotEq):
            return series.notna().to_numpy(dtype=bool)
        raise ExportError("--where: None (a missing value) can only be tested with == or !=")
    if kind == "bool" and not isinstance(op, (ast.Eq, ast.NotEq)):
        raise ExportError(f"--where: {column.name} is true/false: use == or !=")
    known = series.notna().to_numpy(dtype=bool)
    outcome = compare(value, series) if flipped else compare(series, value)
    return _fill(outcome) & known


def _fill(outcome: Any) -> np.ndarray:
    return pd.Series(outcome).astype("boolean").fillna(False).to_numpy(dtype=bool)


def where_mask(table: pd.DataFrame, expression: str) -> pd.Series:
    """Boolean Series: the rows of ``table`` for which the ``--where`` expression holds."""
    return parse_where(expression, tuple(table.columns))(table)


# ------------------------------------------------------------------------------------------------
# normalisation and hashing
# ------------------------------------------------------------------------------------------------
CALLING_CODES: dict[str, tuple[str, int]] = {
    # ISO country: (calling code, longest national significant number)
    "US": ("1", 10), "CA": ("1", 10), "GB": ("44", 10), "IE": ("353", 9), "FR": ("33", 9),
    "DE": ("49", 11), "AT": ("43", 13), "CH": ("41", 9), "NL": ("31", 9), "BE": ("32", 9),
    "LU": ("352", 11), "ES": ("34", 9), "PT": ("351", 9), "IT": ("39", 11), "DK": ("45", 8),
    "SE": ("46", 9), "NO": ("47", 8), "FI": ("358", 10), "PL": ("48", 9), "CZ": ("420", 9),
    "AU": ("61", 9), "NZ": ("64", 10), "JP": ("81", 10), "KR": ("82", 10), "SG": ("65", 8),
    "HK": ("852", 8), "IN": ("91", 10), "MX": ("52", 10), "BR": ("55", 11), "ZA": ("27", 9),
    "AE": ("971", 9), "IL": ("972", 9), "CN": ("86", 11),
}  # fmt: skip
"""Calling code and longest national number of the countries whose phone numbers get one."""
_KEEPS_TRUNK_ZERO = {"IT"}  # Italian numbers keep their leading 0 after the country code
_NANP = {"US", "CA"}

_COUNTRY_NAMES: dict[str, str] = {
    "united states": "US", "united states of america": "US", "usa": "US", "us": "US",
    "canada": "CA", "united kingdom": "GB", "uk": "GB", "great britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB", "ireland": "IE", "france": "FR",
    "germany": "DE", "deutschland": "DE", "austria": "AT", "switzerland": "CH",
    "netherlands": "NL", "the netherlands": "NL", "belgium": "BE", "luxembourg": "LU",
    "spain": "ES", "portugal": "PT", "italy": "IT", "denmark": "DK", "sweden": "SE",
    "norway": "NO", "finland": "FI", "poland": "PL", "czech republic": "CZ", "czechia": "CZ",
    "australia": "AU", "new zealand": "NZ", "japan": "JP", "south korea": "KR",
    "korea, republic of": "KR", "singapore": "SG", "hong kong": "HK", "india": "IN",
    "mexico": "MX", "brazil": "BR", "south africa": "ZA", "united arab emirates": "AE",
    "israel": "IL", "china": "CN",
}  # fmt: skip

US_STATES: dict[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
    "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI", "minnesota": "MN",
    "mississippi": "MS", "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV",
    "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM", "new york": "NY",
    "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK",
    "oregon": "OR", "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC",
    "south dakota": "SD", "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT",
    "virginia": "VA", "washington": "WA", "west virginia": "WV", "wisconsin": "WI",
    "wyoming": "WY", "puerto rico": "PR",
}  # fmt: skip
"""US state and territory names -> their 2-letter codes (Meta wants the code)."""


def _text(value: Any) -> str:
    """A cell as trimmed NFC text; missing values as ''."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return unicodedata.normalize("NFC", str(value)).strip()


def sha256_hex(value: str) -> str:
    """SHA-256 hex digest of ``value`` (UTF-8); the empty string stays empty."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest() if value else ""


def normalize_email(value: Any) -> str:
    """Trimmed, lower-cased e-mail address ('' when missing)."""
    return _text(value).lower()


def country_code(value: Any) -> str:
    """ISO 3166-1 alpha-2 code in upper case: 2-letter codes as given, common names mapped."""
    text = " ".join(_text(value).lower().replace(".", "").split())
    if text in _COUNTRY_NAMES:
        return _COUNTRY_NAMES[text]
    if len(text) == 2 and text.isascii() and text.isalpha():
        return text.upper()
    return ""


def normalize_phone(phone: Any, country: Any = None) -> str:
    """Digits only with the country code ('' when there are no digits); see the module docstring."""
    # "+44 (0)20 ...": the bracketed trunk 0 is not dialled after the country code
    text = _text(phone).lstrip("'").strip().replace("(0)", "")
    digits = re.sub(r"\D", "", text)
    if not digits:
        return ""
    if text.startswith("+"):
        return digits
    code = country_code(country)
    if digits.startswith("00"):
        return digits[2:]
    if code in _NANP and digits.startswith("011"):
        return digits[3:]
    if code not in CALLING_CODES:
        return digits
    calling, longest = CALLING_CODES[code]
    if digits.startswith(calling) and len(digits) > longest:
        return digits
    if code not in _KEEPS_TRUNK_ZERO and digits.startswith("0"):
        digits = digits[1:]
    return calling + digits if digits else ""


def e164_phone(phone: Any, country: Any = None) -> str:
    """``+`` and the digits of :func:`normalize_phone` ('' without digits)."""
    digits = normalize_phone(phone, country)
    return f"+{digits}" if digits else ""


def _without_punctuation(text: str) -> str:
    kept = "".join(c for c in text if not unicodedata.category(c).startswith(("P", "S")))
    return " ".join(kept.split())


def normalize_name(value: Any) -> str:
    """Meta's ``fn``/``ln``: lower case, no punctuation or symbols, single spaces."""
    return _without_punctuation(_text(value).lower())


def normalize_city(value: Any) -> str:
    """Meta's ``ct``: lower-case letters only (no spaces, digits or punctuation)."""
    return "".join(c for c in _text(value).lower() if c.isalpha())


def normalize_state(value: Any, country: Any = None) -> str:
    """Meta's ``st``: 2-letter code in lower case for the US, else lower-case letters only."""
    text = _text(value).lower()
    if country_code(country) == "US":
        name = " ".join(re.sub(r"[^a-z ]", " ", text).split())
        if name in US_STATES:
            return US_STATES[name].lower()
    return "".join(c for c in text if c.isalpha())


def _us_zip(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    if len(digits) in (4, 8):  # a leading zero lost to a spreadsheet
        digits = "0" + digits
    return digits[:5]


def normalize_zip(value: Any, country: Any = None) -> str:
    """Meta's ``zip``: lower case without spaces or dashes; US 5 digits; UK to the sector."""
    text = _text(value).lstrip("'")
    code = country_code(country)
    if code == "US":
        return _us_zip(text)
    compact = re.sub(r"[\s\-]", "", text).lower()
    if code == "GB" and len(compact) >= 5:
        return compact[:-2]  # drop the unit: SW1A1AA -> sw1a1 (area, district, sector)
    return compact


def plain_zip(value: Any, country: Any = None) -> str:
    """Google's plain ``Zip``: trimmed as written; US zips as 5 digits."""
    text = _text(value).lstrip("'").strip()
    return _us_zip(text) if country_code(country) == "US" and text else text


# ------------------------------------------------------------------------------------------------
# formats
# ------------------------------------------------------------------------------------------------
PROPERTIES: tuple[str, ...] = (
    "predicted_clv",
    "churn_probability",
    "rfm_group",
    "expected_date_of_next_order",
    "historic_clv",
    "predicted_spend_tier",
    "predicted_number_of_orders",
)
"""The customer properties Klaviyo and Mailchimp files carry, in this order."""
MAILCHIMP_NAMES: dict[str, str] = {
    "predicted_clv": "Predicted CLV",
    "churn_probability": "Churn Probability",
    "rfm_group": "RFM Group",
    "expected_date_of_next_order": "Next Order Date",
    "historic_clv": "Historic CLV",
    "predicted_spend_tier": "Spend Tier",
    "predicted_number_of_orders": "Predicted Orders",
}
HEADERS: dict[str, tuple[str, ...]] = {
    "klaviyo": ("Email", *PROPERTIES),
    "mailchimp": (
        "Email Address",
        "First Name",
        "Last Name",
        *(MAILCHIMP_NAMES[p] for p in PROPERTIES),
    ),
    "meta": ("email", "phone", "fn", "ln", "ct", "st", "zip", "country", "value"),
    "google": ("Email", "Phone", "First Name", "Last Name", "Country", "Zip"),
}
"""Each format's header, exactly."""
_ROUNDING = {
    "predicted_clv": 2,
    "historic_clv": 2,
    "churn_probability": 4,
    "predicted_number_of_orders": 2,
}


def _iso_date(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _properties(table: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=table.index)
    for name in PROPERTIES:
        if name in _ROUNDING:
            out[name] = _number(table, name).round(_ROUNDING[name])
        elif name == "expected_date_of_next_order":
            out[name] = [_iso_date(value) for value in table[name]]
        else:
            out[name] = [_text(value) for value in table[name]]
    return out


def _cells(table: pd.DataFrame, function: Callable[..., str], *columns: str) -> list[str]:
    return [function(*values) for values in zip(*(table[c] for c in columns), strict=True)]


def _klaviyo(table: pd.DataFrame) -> pd.DataFrame:
    out = _properties(table)
    out.insert(0, "Email", _cells(table, normalize_email, "email"))
    return out


def _mailchimp(table: pd.DataFrame) -> pd.DataFrame:
    out = _properties(table).rename(columns=MAILCHIMP_NAMES)
    out.insert(0, "Last Name", _cells(table, _text, "last_name"))
    out.insert(0, "First Name", _cells(table, _text, "first_name"))
    out.insert(0, "Email Address", _cells(table, normalize_email, "email"))
    return out


def _hashed(table: pd.DataFrame, function: Callable[..., str], *columns: str) -> list[str]:
    return [sha256_hex(value) for value in _cells(table, function, *columns)]


def _meta(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "email": _hashed(table, normalize_email, "email"),
            "phone": _hashed(table, normalize_phone, "phone", "country"),
            "fn": _hashed(table, normalize_name, "first_name"),
            "ln": _hashed(table, normalize_name, "last_name"),
            "ct": _hashed(table, normalize_city, "city"),
            "st": _hashed(table, normalize_state, "province", "country"),
            "zip": _hashed(table, normalize_zip, "zip", "country"),
            "country": _hashed(table, lambda c: country_code(c).lower(), "country"),
            "value": _number(table, "predicted_clv").round(2).to_numpy(),
        },
        index=table.index,
    )


def _google_name(value: Any) -> str:
    return _text(value).lower()


def _google(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Email": _hashed(table, normalize_email, "email"),
            "Phone": _hashed(table, e164_phone, "phone", "country"),
            "First Name": _hashed(table, _google_name, "first_name"),
            "Last Name": _hashed(table, _google_name, "last_name"),
            "Country": _cells(table, country_code, "country"),
            "Zip": _cells(table, plain_zip, "zip", "country"),
        },
        index=table.index,
    )


_FORMATTERS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "klaviyo": _klaviyo,
    "mailchimp": _mailchimp,
    "meta": _meta,
    "google": _google,
}


@dataclass
class Formatted:
    """A format's rows and what was left out (rows without an identifier, duplicate e-mails)."""

    frame: pd.DataFrame
    no_identifier: int
    duplicates: int


def format_audience(table: pd.DataFrame, to: str) -> Formatted:
    """The rows of ``table`` (an :func:`audience_table` selection) in format ``to``, ready to write.

    Rows that cannot be matched are dropped and counted (module docstring); the cells hold the
    values themselves, and :func:`write_audience` escapes formula cells when it writes them.
    """
    if to not in _FORMATTERS:
        raise ExportError(f"unknown format {to!r}: use {', '.join(FORMATS)}")
    frame = _FORMATTERS[to](table) if len(table) else pd.DataFrame(columns=list(HEADERS[to]))
    frame = frame.reset_index(drop=True)
    if to in ("klaviyo", "mailchimp"):
        key = frame[HEADERS[to][0]].astype(str)
        identified = key != ""
        duplicate = identified & key.duplicated()
    else:
        first, second = HEADERS[to][:2]
        identified = (frame[first].astype(str) != "") | (frame[second].astype(str) != "")
        duplicate = pd.Series(False, index=frame.index)
    keep = identified & ~duplicate
    out = frame[keep.to_numpy(dtype=bool)].reset_index(drop=True)
    return Formatted(
        frame=out[list(HEADERS[to])],
        no_identifier=int((~identified).sum()),
        duplicates=int(duplicate.sum()),
    )


# ------------------------------------------------------------------------------------------------
# CSV safety and writing
# ------------------------------------------------------------------------------------------------
def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` as the CSV writer escapes it (:func:`valuecast.csvsafe.escape_frame`)."""
    return escape_frame(frame)


def write_audience(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as a formula-safe UTF-8 CSV, atomically (a temporary file, then a rename)."""
    write_csv(frame, Path(path))


# ------------------------------------------------------------------------------------------------
# everything in one call
# ------------------------------------------------------------------------------------------------
@dataclass
class Audience:
    """An export ready to write, with the counts to report."""

    frame: pd.DataFrame
    selected: int  # customers in the segment or filter
    exported: int  # rows of ``frame``
    left_out_consent: int  # selected customers without marketing consent
    left_out_no_identifier: int  # without an e-mail (Klaviyo, Mailchimp) / e-mail or phone
    left_out_duplicates: int  # a second row with the same e-mail (Klaviyo, Mailchimp)


def build_audience(
    customers: pd.DataFrame,
    contacts: pd.DataFrame | None,
    to: str,
    *,
    segment: str | None = None,
    where: str | None = None,
    as_of: date | str | pd.Timestamp | None = None,
    include_non_consenting: bool = False,
) -> Audience:
    """Select ``segment`` or ``where`` (exactly one), keep the consenting customers, format."""
    if (segment is None) == (where is None):
        raise ExportError("give exactly one of a segment or a --where expression")
    if to not in FORMATS:
        raise ExportError(f"unknown format {to!r}: use {', '.join(FORMATS)}")
    table = audience_table(customers, contacts)
    mask = segment_mask(table, segment, as_of) if segment is not None else where_mask(table, where)
    selected = table[mask.to_numpy(dtype=bool)]
    allowed, left_out = consenting(selected, include_non_consenting)
    formatted = format_audience(allowed, to)
    return Audience(
        frame=formatted.frame,
        selected=int(len(selected)),
        exported=int(len(formatted.frame)),
        left_out_consent=left_out,
        left_out_no_identifier=formatted.no_identifier,
        left_out_duplicates=formatted.duplicates,
    )
