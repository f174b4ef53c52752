"""Cross-sell: which products go together, and what each customer is likely to buy next (Ibis).

Everything heavy runs as portable Ibis expressions on the workspace tables ``orders`` and
``order_lines``; only aggregated pair counts and the per-customer top-k come back to pandas.

Conventions:

* **Product** = the line's ``product_name`` (trimmed), or its ``sku`` when the name is missing or
  blank (a product renamed under its SKU goes by its current name: :func:`current_names`);
  lines with neither, lines at a unit price of 0 (free gifts) and lines with a quantity of zero
  or less (removed or fully refunded items) are ignored.  A product appears once per order
  however many lines or units hold it.
* Variants of one product (``Coffee - 250g`` and ``Coffee - 1kg``, as Shopify and WooCommerce
  name them) are one product named by their title, as replenishment counts them
  (:func:`by_title`): a cross-sell is another product, not another size of the same one, so
  two sizes never pair and a customer who owns one size is never offered another.
* Only orders with an order date up to and including the as-of date count (by default the last
  order date, as in :func:`valuecast.analysis.summary.default_as_of`).
* **Guests** (``customer_id`` NULL) count in the *same order* statistics (a basket is a basket,
  whoever bought it) but never in the *after* statistics nor in :func:`next_products`, which need
  a customer history.

Two kinds of ordered pairs (A, B), A != B (the ``kind`` column):

``"same order"``
    ``pairs`` = orders holding both A and B; ``support`` = pairs / orders with product lines;
    ``confidence`` = pairs / orders holding A = P(B in the order | A in the order);
    ``lift`` = confidence / (orders holding B / orders with product lines).

``"after"``
    A customer *adopts* a product on the first day they buy it.  The customer shows the sequence
    A -> B when their first purchase of B falls 1 to ``within_days`` days (both ends included)
    after their first purchase of A (so a B bought on the day of the first A is not "after").
    Right-censoring: only customers whose first A is at least ``within_days`` days before the
    as-of date (the whole window observed) count, in the numerator and the denominator; a
    customer who adopted A more recently has not had the full chance to buy B yet.
    ``pairs`` = such observed customers with A -> B;
    ``confidence`` = pairs / observed A customers who had not bought B by the day of their first
    A (customers who already had B cannot adopt it after A) = P(adopt B within the window |
    adopted A, B not owned yet);
    ``support`` = pairs / customers (every non-guest customer with product lines up to the as-of
    date); ``lift`` = confidence / (customers who ever bought B / customers).

Pairs bought by fewer than ``min_pairs`` (default 2) customers are dropped (a guest's order is a
customer of its own): one basket, or one customer who buys the same two products every month,
is an anecdote, not an affinity.  ``beyond_chance`` says whether the pair's count is more than
chance alone often gives (:func:`within_chance`): two baskets of a small shop can hold a pair of
lift 50, and a best-seller pair can reach its count by the two products' sales alone.  Rows are
sorted with the pairs beyond chance first, then by lift, then pairs (both descending), then
kind, product A and product B.

:func:`next_products` turns the pairs into one rule per (A, B) (the *after* confidence, else the
*same order* one) and gives each customer the best-scoring products they have not bought yet.

The *after* self-join runs on one row per customer and product (the first purchase date), never
on line items, so its size is the sum over customers of (distinct products bought)^2.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from valuecast.analysis.growth.history import resolve_as_of
from valuecast.analysis.growth.non_products import (
    VARIANT_TITLE,
    non_product_counts,
    non_product_values,
    unmatched_names,
    without_non_products,
)
from valuecast.analysis.summary import SummaryError, prepare_orders
from valuecast.dates import as_date
from valuecast.io.schema import empty_frame

if TYPE_CHECKING:
    import pyarrow as pa

SAME_ORDER = "same order"
AFTER = "after"
KINDS: tuple[str, ...] = (SAME_ORDER, AFTER)
WITHIN_DAYS = 90
"""Days after the first purchase of A in which a first purchase of B counts as "after"."""
MIN_PAIRS = 2
"""Pairs bought by fewer customers than this are dropped (a guest's order: a customer of its own)."""
TOP_K = 3
MAX_PRODUCTS_PAIRED = 200
"""Distinct products a buyer (a customer, or a guest's order) may have bought up to the as-of
date and still be paired: a wholesale account buying the catalogue pairs every product with
every other, in a number of rows the square of its products (15 accounts of 5,500 products:
450M, beyond the memory the workspace's engine keeps to), and tells nothing of what a shopper
buys next.  Such buyers are left out of the pairs and counted (``wide_buyers``)."""

# the output tables: column -> dtype
AFFINITY_SCHEMA: dict[str, str] = {
    "kind": "string",
    "product_a": "string",
    "product_b": "string",
    "pairs": "int64",
    "support": "float64",
    "confidence": "float64",
    "lift": "float64",
    "beyond_chance": "bool",
}
NEXT_PRODUCTS_SCHEMA: dict[str, str] = {
    "customer_id": "string",
    "rank": "int64",
    "product": "string",
    "score": "float64",
    "because_of": "string",
    "kind": "string",
}
AFFINITY_COLUMNS: tuple[str, ...] = tuple(AFFINITY_SCHEMA)
NEXT_PRODUCTS_COLUMNS: tuple[str, ...] = tuple(NEXT_PRODUCTS_SCHEMA)


def names_products(order_lines: ir.Table) -> bool:
    """Whether any order line names a product (what affinity and reminders are made of): an
    orders table of customer, date and amount has none."""
    return bool(product_lines(order_lines).limit(1).count().execute())


def product_lines(
    order_lines: ir.Table,
    *,
    first_line: bool = False,
    dated: ir.Table | None = None,
    not_products: Iterable[str] = (),
    items: bool = False,
) -> ir.Table:
    """``order_id, product``: one row per product an order bought (with ``first_line``, also
    the lowest line number of its lines; with ``items``, the items of it the order kept).

    The product is the trimmed ``product_name`` (one spelling of it: :func:`one_spelling`), else
    the trimmed ``sku``; lines with neither are
    left out, and so are lines given free (:func:`_given_free`: a unit price of 0, or a line
    discount of its whole price, a free gift or sample: given, not bought, so it neither pairs
    with what was bought nor asks to be bought again, nor is a customer's first product), and so
    are the lines that are no product (shipping, fees, tips: the names
    and SKUs of :mod:`~valuecast.analysis.growth.non_products` and ``not_products``).  An order
    bought a product when its lines of it add up to more than zero items (a
    line without a quantity counts one): a product bought and returned in the same order (``X, 1``
    and ``X, -1``) was not bought, so it neither pairs with others nor asks to be bought again.

    ``dated`` (``order_id, order_date`` and any other columns of the orders whose lines count,
    which each row then carries) keeps only their lines and names each SKU's product as the
    catalogue names it at their last date (:func:`current_names`): a product renamed is one
    product under its latest name, and a line without a name takes its SKU's.
    """
    lines = _keyed_lines(order_lines)
    named = lines.filter(lines._product.notnull())
    # the catalogue is read once, for the non-products and the spellings alike
    catalogue = ibis.memtable(_distinct_names(order_lines).to_pandas())
    named = without_non_products(named, non_product_values(catalogue, not_products))
    named = one_spelling(named, catalogue)
    free = _given_free(named)
    if free is not None:
        named = named.filter(~free)
    carried: list[str] = []
    dates = None
    if dated is not None:
        carried = [column for column in dated.columns if column != "order_id"]
        dates = dated.mutate(_order=dated.order_id.cast("string")).drop("order_id")
        several = skus_named_otherwise(order_lines)
        if several is not None and _scalar(several.count()):
            # names are read per line and date: the lines join their orders before grouping;
            # the SKUs are a subquery, as a list of thousands written into the SQL is slow
            of_skus = named.filter(named._sku.isin(several.sku))
            names = current_names(of_skus, dates.select("_order", "order_date"))
            named = named.inner_join(dates, "_order")
            named = named.left_join(
                names, [named._sku == names._sku, named._product == names._product]
            )
            named = named.mutate(_product=ibis.coalesce(named.renamed, named._product))
            dates = None
    # without renames the products are netted first and join their orders after: grouping by
    # the order's columns too cost affinity 70% more time at 5M lines
    grouped = carried if dates is None else []
    first = {"first_line": named.line_number.min()} if first_line else {}
    keys = {"order_id": named._order, "product": named._product, **{c: named[c] for c in grouped}}
    kept = ["items"] if items else []
    if "quantity" not in order_lines.columns and not first_line and not items:
        bought = named.select(**keys)
    else:
        count = (
            named.quantity.cast("float64").fill_null(1.0).sum()
            if "quantity" in order_lines.columns
            else named.count().cast("float64")  # a line without a quantity counts one
        )
        netted = named.group_by(**keys).agg(items=count, **first)
        bought = netted.filter(netted["items"] > 0).select(*keys, *first, *kept)
    if dates is None:
        return bought
    joined = bought.inner_join(dates, bought.order_id == dates._order)
    return joined.select("order_id", "product", *carried, *first, *kept)


GIFT_TOLERANCE = 0.005
"""Half a cent: a line discount within it of the line's price takes the whole price off."""


def _given_free(lines: ir.Table) -> ir.BooleanValue | None:
    """Per line, whether it was given free: a unit price of 0 (a tote with every order), or a
    line discount of the line's whole price (Shopify's "buy X, get Y free", a sample added at
    100% off: the line keeps its list price and the discount takes it off); None without a
    ``unit_price`` column.  A return line (no items) is no gift."""
    if "unit_price" not in lines.columns:
        return None
    price = lines.unit_price.cast("float64")
    at_zero = (price == 0).fill_null(False)
    if "line_discount" not in lines.columns:
        return at_zero
    items = lines.quantity.cast("float64").fill_null(1.0) if "quantity" in lines.columns else 1.0
    charged = price * items
    discount = lines.line_discount.cast("float64")
    discounted = (charged > 0) & (discount >= charged - GIFT_TOLERANCE)
    return at_zero | discounted.fill_null(False)


def _spelling_key(names: pd.Series) -> pd.Series:
    """A product name as :func:`one_spelling` compares it: in lower case, its spaces single,
    each accented letter one character (Unicode's NFC: ``é`` is written as one character or as
    ``e`` and an accent, which look the same)."""
    key = names.astype("string").str.normalize("NFC")
    return key.str.split().str.join(" ").str.lower()


def one_spelling(lines: ir.Table, catalogue: ir.Table) -> ir.Table:
    """``lines`` (with ``_product``) with the names of one product written in several spellings,
    told apart by letter case or spaces alone (``Green Tea``, ``GREEN TEA``, ``green  tea``, as
    a till's or a spreadsheet's lines write one product), named by the spelling most lines
    write (ties: the greatest): one product to pair, suggest and re-buy, not three.

    ``catalogue``: the distinct names of the lines (:func:`_distinct_names`); the lines are
    counted, and joined to the spellings, only in a shop that writes such names."""
    frame = catalogue.filter(catalogue._named).select(name=catalogue._product).to_pandas()
    frame = frame.drop_duplicates()
    frame["key"] = _spelling_key(frame["name"])
    several = frame[frame.groupby("key")["name"].transform("size") > 1]
    if not len(several):
        return lines
    spelled = lines.filter(lines._product.isin(ibis.memtable(several[["name"]]).name))
    counts = spelled.group_by("_product").aggregate(n=spelled.count()).to_pandas()
    counts["key"] = _spelling_key(counts["_product"])
    counts = counts.sort_values(["key", "n", "_product"], ascending=[True, False, False])
    chosen = counts.drop_duplicates("key").set_index("key")["_product"]
    counts["_spelling"] = counts["key"].map(chosen)
    renamed = counts.loc[counts["_spelling"] != counts["_product"], ["_product", "_spelling"]]
    return _renamed(lines, "_product", renamed["_product"], renamed["_spelling"])


def _keyed_lines(order_lines: ir.Table) -> ir.Table:
    """The order lines with ``_order`` (the order id as text), ``_sku`` (trimmed, NULL when
    blank), ``_named`` (whether the line writes a name) and ``_product`` (the trimmed name, else
    the SKU)."""
    missing = [name for name in ("order_id", "product_name") if name not in order_lines.columns]
    if missing:
        raise SummaryError(
            f"order lines table has no {', '.join(missing)} column "
            f"(it has {', '.join(order_lines.columns)})"
        )
    return _named(order_lines).mutate(_order=order_lines.order_id.cast("string"))


def _named(order_lines: ir.Table) -> ir.Table:
    """``order_lines`` with ``_sku``, ``_named`` and ``_product`` (:func:`_keyed_lines`)."""
    name = order_lines.product_name.cast("string").strip().nullif("")
    sku = (
        order_lines.sku.cast("string").strip().nullif("")
        if "sku" in order_lines.columns
        else ibis.null().cast("string")
    )
    return order_lines.mutate(
        _sku=sku,
        _named=name.notnull(),
        _product=ibis.coalesce(name, sku),
    )


def non_product_lines(
    orders: ir.Table, order_lines: ir.Table, as_of: date | str, not_products: Iterable[str] = ()
) -> pd.DataFrame:
    """``name, lines``: the lines of orders to ``as_of`` that :func:`product_lines` leaves out
    as no product (shipping, fees, tips: :mod:`~valuecast.analysis.growth.non_products`), per
    name, most first, so that what is left out is said; ``attrs["free_lines"]``: the product
    lines it leaves out as given free (:func:`_given_free`)."""
    as_of_date = as_date(as_of, "as-of", error=SummaryError)
    o = prepare_orders(orders)
    dated = o.filter(
        o.order_date.notnull() & (o.order_date <= ibis.literal(as_of_date, type="date"))
    )
    counted = dated.select(_order=dated.order_id.cast("string"))
    lines = _keyed_lines(order_lines)
    lines = lines.filter(lines._product.notnull())
    values = _non_products_of(order_lines, not_products)
    frame = non_product_counts(lines, values, counted)
    free = 0
    if _given_free(lines) is not None:
        given = without_non_products(lines, values)
        given = given.filter(_given_free(given)).semi_join(counted, "_order")
        free = _scalar(given.count())
    frame.attrs["free_lines"] = free
    return frame


def unmatched_not_products(order_lines: ir.Table, not_products: Iterable[str]) -> list[str]:
    """The names of ``not_products`` no order line carries (as its name, product title or SKU):
    :func:`~valuecast.analysis.growth.non_products.unmatched_names` over the lines' distinct
    names and SKUs."""
    names = list(not_products)
    return unmatched_names(_distinct_names(order_lines), names) if names else []


def _non_products_of(
    order_lines: ir.Table, not_products: Iterable[str]
) -> tuple[list[str], list[str]]:
    """The product names and SKUs of ``order_lines`` that are no product
    (:func:`~valuecast.analysis.growth.non_products.non_product_values`), read from their
    distinct names and SKUs (:func:`_distinct_names`)."""
    # no filter on the keys: the engine would push it below the distinct, onto every line
    return non_product_values(_distinct_names(order_lines), not_products)


def _distinct_names(order_lines: ir.Table) -> ir.Table:
    """The distinct (``product_name``, ``sku``) pairs of ``order_lines`` with ``_sku``,
    ``_named`` and ``_product`` (:func:`_named`): the catalogue the lines write, one short pass
    over two columns rather than a look at every line."""
    columns = ["product_name", *(["sku"] if "sku" in order_lines.columns else [])]
    return _named(order_lines.select(*columns).distinct())


def skus_named_otherwise(order_lines: ir.Table) -> ir.Table | None:
    """The SKUs (trimmed, column ``sku``) written under two names or more, or on a line without
    a name: the only ones :func:`current_names` may rename; None without a ``sku`` column.
    Read from the distinct (sku, name) pairs (:func:`_distinct_names`), one pass over the
    lines, so that a shop whose SKUs each have one name pays no more than it."""
    if "sku" not in order_lines.columns:
        return None
    names = _distinct_names(order_lines)
    name = ibis.ifelse(names._named, names._product, ibis.null().cast("string"))
    pairs = names.select(sku=names._sku, name=name).distinct()
    # the lines without a SKU are one group, left out by an aggregate: a filter on the key would
    # be pushed below the distinct and trim every line's SKU
    several = (pairs.count() > 1) | pairs.name.isnull().any()
    return pairs.group_by("sku").having(several & pairs.sku.notnull().any()).aggregate()


def current_names(lines: ir.Table, dates: ir.Table) -> ir.Table:
    """``_sku, _product, renamed``: the name each SKU's lines are given instead of the one they
    carry (``_product``: their name, else the SKU itself).

    ``lines`` (those of the SKUs :func:`skus_named_otherwise` names) hold ``_order``, ``_sku``,
    ``_product`` and ``_named`` (whether the line writes a name); ``dates`` the ``_order`` and
    ``order_date`` of the orders that count.  A SKU's current name is the one written on its
    latest order (ties: the name first written latest, then the greatest); another name of the
    SKU is renamed to it when it was last written no later than the day the current name was
    first written (a product renamed in the catalogue, its old orders keeping the old name).
    Names written in the same period under one SKU (a SKU given to a product's variants, or a
    placeholder such as ``N/A``) are kept apart, and so are two variants of one product as
    Shopify and WooCommerce name them (``T-shirt - S`` and ``T-shirt - M``: the same title
    before the last `` - ``), whenever each sold.  A line without a name takes its SKU's current
    name.
    """
    candidates = lines.inner_join(dates, "_order")
    written = candidates.filter(candidates._named)
    uses = written.group_by(["_sku", "_product"]).aggregate(
        first=written.order_date.min(), last=written.order_date.max()
    )
    current = uses.group_by("_sku").aggregate(
        current=uses._product.argmax(
            ibis.struct({"last": uses.last, "first": uses.first, "name": uses._product})
        ),
    )
    begun = current.inner_join(
        uses, [current._sku == uses._sku, current.current == uses._product]
    ).select(_sku=current._sku, current=current.current, begun=uses.first)
    old = uses.inner_join(begun, "_sku")
    title, current_title = _title(old._product), _title(old.current)
    variant = (title != "") & (title == current_title)
    old = old.filter((old._product != old.current) & (old.last <= old.begun) & ~variant)
    renames = old.select("_sku", "_product", renamed=old.current)
    nameless = begun.select("_sku", _product=begun._sku, renamed=begun.current)
    return renames.union(nameless)


def _title(name: ir.StringValue) -> ir.StringValue:
    """The product title of a line item named ``Title - Variant`` (:data:`VARIANT_TITLE`),
    else the empty string."""
    return name.re_extract(VARIANT_TITLE, 1)


def variant_titles(products: ir.Table) -> ir.Table:
    """``product, title``: the product each distinct ``product`` is one variant of.

    Variants of one product, as Shopify and WooCommerce name them (``Coffee - 250g`` and
    ``Coffee - 1kg``: the same title before the last `` - ``), are one product named by their
    title.  A name whose title no other name shares stays as it is: ``Jazz - Live at Montreux``
    alone is a product of its own, not a variant of ``Jazz``.
    """
    title = _title(products.product).strip()
    titled = products.mutate(_title=title)
    variants = titled.product.count().over(ibis.window(group_by=titled._title))
    shared = (titled._title != "") & (variants > 1)
    return titled.select("product", title=ibis.ifelse(shared, titled._title, titled.product))


def _variants_written(order_lines: ir.Table) -> bool:
    """Whether two of the names (else SKUs) the lines write share a product title: the only
    shops whose purchases :func:`by_title` renames, told from the distinct names (one short
    pass over two columns: :func:`_distinct_names`) rather than from every purchase."""
    names = _distinct_names(order_lines)
    titles = variant_titles(names.select(product=names._product).distinct())
    # counted by an aggregate, not a filter: a filter would be pushed onto every line
    return bool(_scalar((titles.title != titles.product).sum()))


def by_title(purchases: ir.Table, order_lines: ir.Table) -> ir.Table:
    """``purchases`` (a ``product`` column) with each product that is one variant of several
    named by its title (:func:`variant_titles`, over the distinct products of ``purchases``),
    so that affinity and next products count a product as replenishment does.

    ``purchases`` come back as they are when no two names of ``order_lines`` share a title.
    """
    if not _variants_written(order_lines):
        return purchases
    titles = variant_titles(purchases.select("product").distinct())
    renamed = titles.filter(titles.title != titles.product).to_pandas()
    return _renamed(purchases, "product", renamed["product"], renamed["title"])


def _renamed(table: ir.Table, column: str, old: pd.Series, new: pd.Series) -> ir.Table:
    """``table`` with each ``column`` value in ``old`` replaced by its ``new`` (``table`` itself
    when none is): the catalogue's few renamed names, joined as a table rather than written
    into the SQL."""
    if not len(old):
        return table
    names = ibis.memtable(pd.DataFrame({"_old": old.to_numpy(), "_new": new.to_numpy()}))
    joined = table.left_join(names, table[column] == names._old)
    return joined.mutate(**{column: ibis.coalesce(joined._new, joined[column])}).drop(
        "_old", "_new"
    )


def product_purchases(
    orders: ir.Table,
    order_lines: ir.Table,
    as_of: date | str,
    *,
    customers_only: bool = False,
    not_products: Iterable[str] = (),
) -> ir.Table:
    """``order_id, customer_id, order_date, product, items``: the products each order to
    as_of bought, one row each, with the items of it the order kept.

    Guests' orders (``customer_id`` NULL) are kept unless ``customers_only``; products are
    named as of ``as_of`` (:func:`current_names`, over every order to then, guests' too);
    ``not_products`` names lines that are no product besides the built-in ones.
    """
    as_of_date = as_date(as_of, "as-of", error=SummaryError)
    o = prepare_orders(orders)
    dated = o.filter(
        o.order_date.notnull() & (o.order_date <= ibis.literal(as_of_date, type="date"))
    ).select("order_id", "customer_id", "order_date")
    bought = product_lines(order_lines, dated=dated, not_products=not_products, items=True)
    if customers_only:
        bought = bought.filter(bought.customer_id.notnull())
    return bought.select("order_id", "customer_id", "order_date", "product", "items")


def purchases_of(
    orders: ir.Table,
    order_lines: ir.Table,
    as_of: date | str,
    purchases: ir.Table | None,
    *,
    customers_only: bool = False,
) -> ir.Table:
    """:func:`product_purchases` to ``as_of``, or ``purchases`` when the caller computed them
    already (for the same as-of date, guests' orders included): the products' tables read them
    several times each, and computed once they are read from one table."""
    if purchases is None:
        return product_purchases(orders, order_lines, as_of, customers_only=customers_only)
    return purchases.filter(purchases.customer_id.notnull()) if customers_only else purchases


def _check(within_days: int, min_pairs: int) -> None:
    if int(within_days) < 1:
        raise ValueError(f"within_days must be at least 1 (got {within_days})")
    if int(min_pairs) < 1:
        raise ValueError(f"min_pairs must be at least 1 (got {min_pairs})")


def _scalar(expr: ir.Scalar) -> int:
    value = expr.execute()
    return 0 if value is None or value != value else int(value)


def _rates(kind: str, frame: pd.DataFrame, base_a: pd.Series, total: int) -> pd.DataFrame:
    """Support, confidence and lift from counts: pairs / total, pairs / base_a and
    pairs * total / (base_a * n_b), each ONE division of exact integers, so that equal ratios
    give equal floats (and sort as ties)."""
    pairs = frame["pairs"].to_numpy(dtype=np.int64)
    base = base_a.to_numpy(dtype=np.int64)
    n_b = frame["n_b"].to_numpy(dtype=np.int64)
    total = max(int(total), 1)
    return pd.DataFrame(
        {
            "kind": kind,
            "product_a": frame["product_a"],
            "product_b": frame["product_b"],
            "pairs": pairs,
            "support": pairs / total,
            "confidence": pairs / base,
            "lift": (pairs * total) / (base * n_b),
        }
    )


def _same_order_pairs(purchases: ir.Table, min_pairs: int) -> pd.DataFrame:
    basket = purchases.select("order_id", "customer_id", "product").distinct()
    n_orders = _scalar(basket.order_id.nunique())
    a, b = basket, basket.view()
    pairs = a.join(b, [a.order_id == b.order_id, a.product != b.product]).select(
        product_a=a.product, product_b=b.product, customer_id=a.customer_id
    )
    # one customer's habit (the same two products in each monthly order) is no affinity: a
    # pair needs min_pairs buyers, each guest's order a buyer of its own
    pairs = pairs.group_by(["product_a", "product_b"]).aggregate(
        pairs=ibis._.count(),
        buyers=ibis._.customer_id.nunique() + ibis._.count(where=ibis._.customer_id.isnull()),
    )
    pairs = pairs.filter(pairs.buyers >= min_pairs)
    counts = basket.group_by("product").aggregate(n=ibis._.count())
    joined = pairs.inner_join(
        counts.select(product_a=counts.product, n_a=counts.n), "product_a"
    ).inner_join(counts.select(product_b=counts.product, n_b=counts.n), "product_b")
    frame = joined.select("product_a", "product_b", "pairs", "n_a", "n_b").to_pandas()
    return _rates(SAME_ORDER, frame, frame["n_a"], n_orders)


def _after_pairs(
    purchases: ir.Table, as_of: date, within_days: int, min_pairs: int
) -> pd.DataFrame:
    known = purchases.filter(purchases.customer_id.notnull())
    firsts = known.group_by(["customer_id", "product"]).aggregate(first=known.order_date.min())
    n_customers = _scalar(firsts.customer_id.nunique())
    cutoff = ibis.literal(as_of - timedelta(days=int(within_days)), type="date")
    a, b = firsts, firsts.view()
    joined = a.join(b, [a.customer_id == b.customer_id, a.product != b.product]).select(
        product_a=a.product,
        product_b=b.product,
        first_a=a.first,
        gap=b.first.delta(a.first, unit="day"),
    )
    observed = joined.first_a <= cutoff
    sequence = observed & (joined.gap >= 1) & (joined.gap <= int(within_days))
    pairs = joined.group_by(["product_a", "product_b"]).aggregate(
        pairs=joined.count(where=sequence),
        owned_before=joined.count(where=observed & (joined.gap <= 0)),
    )
    pairs = pairs.filter(pairs.pairs >= min_pairs)
    observed_a = (
        firsts.filter(firsts.first <= cutoff)
        .group_by("product")
        .aggregate(observed_a=ibis._.count())
        .rename(product_a="product")
    )
    buyers_b = firsts.group_by("product").aggregate(n_b=ibis._.count()).rename(product_b="product")
    frame = (
        pairs.inner_join(observed_a, "product_a")
        .inner_join(buyers_b, "product_b")
        .select("product_a", "product_b", "pairs", "owned_before", "observed_a", "n_b")
        .to_pandas()
    )
    return _rates(AFTER, frame, frame["observed_a"] - frame["owned_before"], n_customers)


def product_affinity(
    orders: ir.Table,
    order_lines: ir.Table,
    *,
    as_of: date | str | None = None,
    within_days: int = WITHIN_DAYS,
    min_pairs: int = MIN_PAIRS,
    purchases: ir.Table | None = None,
) -> pd.DataFrame:
    """Product pairs of both kinds with :data:`AFFINITY_COLUMNS` (the module docstring defines them).

    One row per ordered pair (A, B) and kind bought by at least ``min_pairs`` customers (a
    guest's order: one of its own); sorted by ``beyond_chance``, lift, then pairs, descending.
    ``as_of`` None means the last
    order date.  ``purchases``: :func:`product_purchases` to that date, if computed already.
    """
    _check(within_days, min_pairs)
    as_of_date = resolve_as_of(orders, as_of)
    purchases = by_title(purchases_of(orders, order_lines, as_of_date, purchases), order_lines)
    purchases, wide = _without_wide_buyers(purchases)
    parts = [
        _same_order_pairs(purchases, int(min_pairs)),
        _after_pairs(purchases, as_of_date, int(within_days), int(min_pairs)),
    ]
    parts = [part for part in parts if len(part)]
    if not parts:
        empty = empty_frame(AFFINITY_SCHEMA)
        empty.attrs["wide_buyers"] = wide
        return empty
    out = pd.concat(parts, ignore_index=True)
    out["beyond_chance"] = ~within_chance(out)
    out["kind_order"] = out["kind"].map({SAME_ORDER: 0, AFTER: 1})
    out = out.sort_values(
        ["beyond_chance", "lift", "pairs", "kind_order", "product_a", "product_b"],
        ascending=[False, False, False, True, True, True],
        kind="stable",
    )
    out = out.drop(columns="kind_order").reset_index(drop=True)
    out = out.astype(AFFINITY_SCHEMA)[list(AFFINITY_COLUMNS)]
    out.attrs["wide_buyers"] = wide
    return out


def _without_wide_buyers(purchases: ir.Table) -> tuple[ir.Table, int]:
    """``purchases`` without the buyers of more than :data:`MAX_PRODUCTS_PAIRED` distinct
    products (a customer, or a guest's order), and how many were left out (one small
    aggregate where none is: the pairs are not touched)."""
    buyer = ibis.coalesce(purchases.customer_id, "order " + purchases.order_id.cast("string"))
    keyed = purchases.mutate(_buyer=buyer)
    widths = keyed.group_by("_buyer").aggregate(_products=keyed["product"].nunique())
    wide = widths.filter(widths._products > MAX_PRODUCTS_PAIRED)
    count = _scalar(wide.count())
    if not count:
        return purchases, 0
    return keyed.anti_join(wide, "_buyer").drop("_buyer"), count


def wide_buyers(
    orders: ir.Table, order_lines: ir.Table, as_of: date, purchases: ir.Table | None = None
) -> int:
    """The buyers :func:`product_affinity` leaves out of its pairs as of ``as_of`` (more than
    :data:`MAX_PRODUCTS_PAIRED` distinct products), without pairing the others."""
    bought = by_title(purchases_of(orders, order_lines, as_of, purchases), order_lines)
    return _without_wide_buyers(bought)[1]


def wide_buyers_note(count: int) -> str | None:
    """The note on the buyers :func:`product_affinity` left out of the pairs; None without."""
    if not count:
        return None
    who = "1 customer (or guest order)" if count == 1 else f"{count:,} customers (or guest orders)"
    return (
        f"{who} with more than {MAX_PRODUCTS_PAIRED} distinct products (a wholesale account) "
        "left out of product affinity: such a basket pairs every product with every other and "
        "says nothing of what a shopper buys next"
    )


CHANCE = 0.05
"""How often chance alone may give a pair's count for the pair to be read as chance-level."""
FEW_PAIRS = 10
"""Orders (customers) a pair below which a chance-level count is for want of purchases; of more,
the pair is chance-level for a lift near 1 (two products that both sell well), which more
purchases would not make an affinity."""


def within_chance(rows: pd.DataFrame) -> np.ndarray:
    """Per row of :func:`product_affinity` (``kind, pairs, support, confidence, lift``),
    whether chance alone gives its count often: were A and B bought independently, at least
    ``pairs`` orders (customers) would hold both more often than :data:`CHANCE`.

    An *after* row's count is then binomial: each of the A customers it counts (``pairs /
    confidence``) buys B at B's base rate (``confidence / lift``).  A *same order* row's is
    hypergeometric, B's orders falling among the orders at random; the binomial of either
    product's orders at the other's share of all orders (``pairs / support``) has its mean and
    a spread a little wider, and the test takes the narrower of the two, so that the row of A
    and B and the row of B and A agree.  A count of rare purchases is near Poisson either way,
    but a best-seller's is not: Shaker in 20 of 100 orders, each of them also holding the Whey
    75 orders hold, is a chance of 0.75^20 = 0.3%, where a Poisson count of mean 15 gives 12%.
    Two baskets holding both in a small shop (a lift of 4 from 2 orders where chance predicts
    0.5) are within chance."""
    from scipy.special import bdtrc

    def whole(values: np.ndarray) -> np.ndarray:
        return np.rint(np.nan_to_num(values, nan=0.0, posinf=0.0)).astype(np.int64)

    count = rows["pairs"].to_numpy(dtype=np.int64)
    confidence = rows["confidence"].to_numpy(dtype=float)
    lift = rows["lift"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        holding_a = whole(count / confidence)
        share_b = np.clip(np.nan_to_num(confidence / lift), 0.0, 1.0)
        # bdtrc(k, n, p) = P(X > k) for X ~ Binomial(n, p)
        chance = bdtrc(count - 1, holding_a, share_b)
        same = (rows["kind"].astype(str) == SAME_ORDER).to_numpy()
        if same.any():
            orders = whole(count / rows["support"].to_numpy(dtype=float))
            holding_b = whole(orders * share_b)
            share_a = np.clip(np.nan_to_num(holding_a / orders), 0.0, 1.0)
            chance = np.where(same, np.fmin(chance, bdtrc(count - 1, holding_b, share_a)), chance)
    return np.asarray(np.nan_to_num(chance, nan=1.0) > CHANCE, bool)


def suggestion_rules(affinity: pd.DataFrame) -> pd.DataFrame:
    """One rule per ordered pair (A, B) of ``affinity``, ranked within A.

    The rule is the pair's *after* row when it has one, else its *same order* row.  Columns
    ``rule_a, rule_b, rule_kind, priority`` (0 after, 1 same order), ``score`` (the confidence),
    ``rule_pairs`` and ``rule_rank``: 1, 2, ... within A by score (descending), then after before
    same order, more pairs, B's name, which is the order :func:`next_products` ranks by.
    """
    rules = pd.DataFrame(
        {
            "rule_a": affinity["product_a"].astype(str).to_numpy(),
            "rule_b": affinity["product_b"].astype(str).to_numpy(),
            "rule_kind": affinity["kind"].astype(str).to_numpy(),
            "priority": np.where(affinity["kind"].astype(str) == AFTER, 0, 1).astype("int64"),
            "score": affinity["confidence"].astype("float64").to_numpy(),
            "rule_pairs": affinity["pairs"].astype("int64").to_numpy(),
        }
    )
    rules = rules.sort_values(["rule_a", "rule_b", "priority"], kind="stable")
    rules = rules.drop_duplicates(["rule_a", "rule_b"], keep="first")
    rules = rules.sort_values(
        ["rule_a", "score", "priority", "rule_pairs", "rule_b"],
        ascending=[True, False, True, False, True],
        kind="stable",
    )
    rules["rule_rank"] = rules.groupby("rule_a").cumcount().astype("int64") + 1
    return rules.reset_index(drop=True)


def next_products(
    orders: ir.Table,
    order_lines: ir.Table,
    *,
    as_of: date | str | None = None,
    k: int = TOP_K,
    affinity: pd.DataFrame | None = None,
    within_days: int = WITHIN_DAYS,
    min_pairs: int = MIN_PAIRS,
    purchases: ir.Table | None = None,
) -> pd.DataFrame:
    """Per customer the top ``k`` products they have not bought yet (:data:`NEXT_PRODUCTS_COLUMNS`).

    Rules come from ``affinity`` (by default :func:`product_affinity` with ``within_days`` and
    ``min_pairs``): for each ordered pair (A, B) its *after* confidence, or its *same order*
    confidence when the pair has no *after* row (``kind`` says which).  A candidate B of a
    customer is reached by a rule from a product A they bought up to the as-of date, B not bought
    by then; its ``score`` is the best such rule's confidence and ``because_of`` that rule's A
    (ties: after before same order, more pairs, then A's name).  Candidates are ranked by score
    (descending), then after before same order, more pairs, the product's name.  ``rank`` starts
    at 1; customers without any candidate get no row; guests never get one.  Rows are sorted by
    customer and rank.

    Only the first ``k + n - 1`` rules of each A (in ranking order) are joined to a customer with
    ``n`` products: a later rule has at least ``k`` better candidates ahead of it that the customer
    does not own, so it cannot reach the top ``k``.  The result is exact and the join stays small
    for products (bestsellers) with rules to most of the catalogue.
    """
    if int(k) < 1:
        raise ValueError(f"k must be at least 1 (got {k})")
    as_of_date = resolve_as_of(orders, as_of)
    if affinity is None:
        affinity = product_affinity(
            orders, order_lines, as_of=as_of_date, within_days=within_days, min_pairs=min_pairs,
            purchases=purchases,
        )  # fmt: skip
    if not len(affinity):
        return empty_frame(NEXT_PRODUCTS_SCHEMA)
    # variants are named by titles over every purchase, guests' too, as in product_affinity
    bought = by_title(purchases_of(orders, order_lines, as_of_date, purchases), order_lines)
    bought = bought.filter(bought.customer_id.notnull())
    owned = bought.select("customer_id", "product").distinct().to_pyarrow()
    return _ranked_suggestions(owned, suggestion_rules(affinity), int(k))


def _sorted_by(major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """The order sorting by ``major``, then ``minor`` (both non-negative integers): one sort of
    a combined key where it fits in 63 bits, else NumPy's two-key ``lexsort``."""
    if len(major) and (int(major.max()) + 1) * (int(minor.max()) + 1) < 2**63:
        return np.argsort(major * (int(minor.max()) + 1) + minor, kind="stable")
    return np.lexsort((minor, major))


_PAIRS_AT_A_TIME = 250_000
"""Owned (customer, product) pairs ranked at once: a block's candidates (about five a pair) and
their sort orders are held, not the whole shop's (a 1M-order shop: 1.1M pairs, 5.9M
candidates)."""


def _block_suggestions(
    customer: np.ndarray, product: np.ndarray, take: np.ndarray, start: np.ndarray,
    rule_b: np.ndarray, n_names: int, best_first: np.ndarray, shown_first: np.ndarray, k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(rule, customer, rank) of the suggestions of one block of customers' pairs (sorted by
    customer, every pair of a customer in the block): each pair takes the first ``take`` rules
    of its product, from ``start``."""
    ends = np.cumsum(take)
    rule = np.repeat(start[product] - (ends - take), take)
    rule += np.arange(len(rule))
    candidate_customer = np.repeat(customer, take)
    key = candidate_customer * n_names + rule_b[rule]
    owned_keys = np.sort(customer * n_names + product)  # the pairs are distinct
    at = np.minimum(np.searchsorted(owned_keys, key), len(owned_keys) - 1)
    new = owned_keys[at] != key
    key, rule, candidate_customer = key[new], rule[new], candidate_customer[new]

    order = _sorted_by(key, best_first[rule])
    first = np.ones(len(order), bool)
    first[1:] = key[order][1:] != key[order][:-1]
    rule, candidate_customer = rule[order][first], candidate_customer[order][first]
    order = _sorted_by(candidate_customer, shown_first[rule])
    rule, candidate_customer = rule[order], candidate_customer[order]
    starts = np.ones(len(rule), bool)
    starts[1:] = candidate_customer[1:] != candidate_customer[:-1]
    position = np.arange(len(rule))
    rank = position - np.maximum.accumulate(np.where(starts, position, 0)) + 1
    kept = rank <= k
    return rule[kept], candidate_customer[kept], rank[kept]


def _ranked_suggestions(owned: pa.Table, rules: pd.DataFrame, k: int) -> pd.DataFrame:
    """:func:`next_products` of the distinct ``owned`` (customer_id, product) pairs and the
    :func:`suggestion_rules`, ranked on integer codes (customers and products numbered in
    name order): the engine's join, anti-join and two windows over text keys take several
    times as long (a 1M-order shop's 1.1M pairs and 5.9M candidates: 6.9 s against 2.6 s for
    the whole of :func:`next_products`, and 0.5 GB more memory).

    Each pair (C, A) reaches A's first ``k + n - 1`` rules (``n``: C's products); a candidate
    B that C owns is dropped; of C's candidates for one B the best rule is kept, by score
    (descending), after before same order, more pairs, then A's name; C's best ``k`` of them
    are ranked by score, after before same order, more pairs, then B's name.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if owned.num_rows == 0:
        return empty_frame(NEXT_PRODUCTS_SCHEMA)
    names = np.unique(np.concatenate([rules["rule_a"].to_numpy(), rules["rule_b"].to_numpy()]))
    rule_a = np.searchsorted(names, rules["rule_a"].to_numpy())
    rule_b = np.searchsorted(names, rules["rule_b"].to_numpy())
    score = rules["score"].to_numpy()
    priority = rules["priority"].to_numpy()
    pairs = rules["rule_pairs"].to_numpy()
    # a candidate's best rule, and the order of a customer's candidates: ranks of every rule
    best_first = np.empty(len(rules), np.int64)
    best_first[np.lexsort((rule_a, -pairs, priority, -score))] = np.arange(len(rules))
    shown_first = np.empty(len(rules), np.int64)
    shown_first[np.lexsort((rule_b, -pairs, priority, -score))] = np.arange(len(rules))
    # suggestion_rules lists each A's rules together, best first
    start = np.searchsorted(rule_a, np.arange(len(names)))
    count = np.searchsorted(rule_a, np.arange(len(names)), side="right") - start

    # text as one type, whichever the engine gives (string, large or view)
    owned = owned.select(["customer_id", "product"]).cast(
        pa.schema([("customer_id", pa.string()), ("product", pa.string())])
    )
    customers = pc.unique(owned["customer_id"])
    customers = customers.take(pc.sort_indices(customers))
    customer = pc.index_in(owned["customer_id"], value_set=customers).to_numpy()
    product = pc.index_in(owned["product"], value_set=pa.array(names, pa.string()))
    n_owned = np.bincount(customer, minlength=len(customers))
    with_rules = product.is_valid().to_numpy(zero_copy_only=False)
    customer = customer[with_rules].astype(np.int64)
    product = product.filter(product.is_valid()).to_numpy().astype(np.int64)
    if not len(customer):
        return empty_frame(NEXT_PRODUCTS_SCHEMA)
    by_customer = np.argsort(customer, kind="stable")
    customer, product = customer[by_customer], product[by_customer]
    del by_customer

    # customers a block at a time (their pairs and candidates in memory, not the shop's)
    ranked = []
    bounds = np.searchsorted(customer, customer[::_PAIRS_AT_A_TIME])
    for low, high in zip(bounds, [*bounds[1:], len(customer)], strict=True):
        if low == high:
            continue
        take = np.minimum(count[product[low:high]], n_owned[customer[low:high]] + (k - 1))
        ranked.append(
            _block_suggestions(
                customer[low:high],
                product[low:high],
                take,
                start,
                rule_b,
                len(names),
                best_first,
                shown_first,
                k,
            )
        )
    rule = np.concatenate([block[0] for block in ranked])
    candidate_customer = np.concatenate([block[1] for block in ranked])
    rank = np.concatenate([block[2] for block in ranked])
    if not len(rule):
        return empty_frame(NEXT_PRODUCTS_SCHEMA)
    text = pa.array(names, pa.string())
    table = pa.table(
        {
            "customer_id": customers.take(pa.array(candidate_customer)),
            "rank": pa.array(rank, pa.int64()),
            "product": text.take(pa.array(rule_b[rule])),
            "score": pa.array(score[rule], pa.float64()),
            "because_of": text.take(pa.array(rule_a[rule])),
            "kind": pa.array(rules["rule_kind"].to_numpy(dtype=object), pa.string()).take(
                pa.array(rule)
            ),
        }
    )
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    return frame.astype(NEXT_PRODUCTS_SCHEMA)
