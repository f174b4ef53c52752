"""``--where``: a filter on the audience table in a small, safe expression language.

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
"""

from __future__ import annotations

import ast
import io
import operator
import re
import tokenize
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from valuecast.outputs.audiences.table import AUDIENCE_COLUMNS, CONTACT_FIELDS, ExportError
from valuecast.tables import CUSTOMER_COLUMN_KINDS

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


WHERE_COLUMN_KINDS: dict[str, str] = {
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
    columns = AUDIENCE_COLUMNS if columns is None else tuple(columns)
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
        if WHERE_COLUMN_KINDS.get(node.id, "bool") != "bool":
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
    kinds = [WHERE_COLUMN_KINDS.get(column.name) for column in columns]
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
    return WHERE_COLUMN_KINDS.get(name) or _kind(table[name], name)


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
