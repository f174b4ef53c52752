"""A simulated two-year coffee shop, written as a Shopify orders export.

Its length (about 900 lines) is the simulation and the 79 columns of a real Shopify export, kept in
one place so the demo shop reads as the export a merchant downloads.

:func:`generate_demo_shop` writes the orders of a fictional online coffee roaster ("Juniper &
Oak Coffee") as the CSV that Shopify's *Admin > Orders > Export* produces: the current 79-column
header ending at ``Payment References``, one row per line item, the order-level fields on the
first row of each order only, the rows of an order adjacent and the orders newest first, as the
admin lists them. The file is a pure function of the arguments: the same seed gives the same
bytes. Every customer, name, address and email is invented (emails use the reserved
``example.*`` domains).

The simulator
-------------
Customers are acquired over the window (``years`` ending on ``end_date``) with growth (the daily
acquisition rate triples from the first day to the last) and a strong Q4 peak (gift buyers and
Black Friday deal hunters; see :func:`_seasonality`); each comes through one acquisition channel
(``web``, ``google``, ``instagram``, ``facebook ads``, ``email``, ``tiktok``; TikTok's share
grows over time), written in ``Source`` on the first order (repeat orders come from ``email``,
``web`` or the same channel). Per customer:

* purchase rate ``lambda ~ Gamma(r, r * mean_gap)`` per day, channel-dependent, times a factor
  for the customer's favourite consumable (a 30-day coffee buyer orders more often than a
  90-day descaler buyer); while alive, orders follow a Poisson process in *seasonal time*
  (calendar time warped by a mild daily multiplier of repeat demand), so the seasonality scales
  every customer's rate alike;
* after every order (the first included) the customer drops out for good with probability
  ``p ~ Beta(a, b)``, channel-dependent and higher for customers acquired in the gift season:
  the MBG/NBD variant (Batislam, Denizel & Filiztekin 2007) of the BG/NBD process (Fader,
  Hardie & Lee 2005, "Counting your customers the easy way", Marketing Science 24(2),
  section 2);
* order value: each order has a target ``z ~ Gamma(4, nu)`` with the customer's
  ``nu ~ Gamma(5, 1/gamma)``, ``gamma`` channel-dependent (the Gamma-Gamma spend model of
  Fader, Hardie & Lee 2005, "RFM and CLV", JMR 42(4), after Colombo & Jiang 1999); the basket
  is filled from the 20 products (see :data:`PRODUCTS`) towards that target: the number of lines
  grows with ``z``, the products are drawn with weights favouring those priced near the target
  per line, and quantities are the target per line over the price (at most the product's
  ``max_quantity``); gift-season orders aim 20% higher;
* first orders favour durables (grinders, kettles, drippers) and beans; repeat orders are mostly
  consumables, and the first line of a repeat order is the customer's favourite consumable with a
  probability that is highest when the gap since the previous order is near the product's
  repurchase cycle (coffee ~30 days, filters ~60, descaler ~90); durables are rarely bought again.

Order attributes: discount codes (``WELCOME10`` on some first orders, more so from email and
social channels; ``BFCM20`` from Black Friday to Cyber Monday; ``HOLIDAY15`` in early December;
``SUMMER10`` in the first half of July; ``COMEBACK15`` on repeat orders after a gap of more than
120 days), allocated over the lines as ``Lineitem discount``; shipping (free from $50 after
discounts, else $6.95; some orders choose $14.95 express); sales tax by the customer's state on
the subtotal; ``Total = Subtotal + Shipping + Taxes`` with ``Subtotal`` the lines after discounts.
Statuses: about 2% cancelled (``Cancelled at`` set, then ``refunded`` or ``voided``), 3% fully
refunded, 3% partially refunded (``Refunded Amount`` one unit of the dearest line with its tax),
0.4% voided, 0.8% pending (manual payment); a handful of test orders paid with Shopify's ``bogus``
gateway by the shop's owner. About 5% of the customers check out as guests (no email); 60%
accept marketing (more from the email channel); a few orders carry the customer's email with
different case or surrounding spaces. One currency (USD); ``Created at`` is New York wall-clock time with its
offset (``-0500``, or ``-0400`` under daylight saving time).

:class:`DemoShopInfo` reports what was written; its exclusion counts follow the Shopify
importer's precedence (test order, then cancelled, voided, refunded), so they equal
``ImportResult.excluded_orders`` of :func:`valuecast.io.shopify.read_orders`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import repeat
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "CHANNELS",
    "HEADER",
    "PRODUCTS",
    "Channel",
    "DemoShopInfo",
    "Product",
    "generate_demo_shop",
]

# The current Shopify orders export header (79 columns, ending at "Payment References").
HEADER: tuple[str, ...] = (
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code",
    "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping",
    "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing Street",
    "Billing Address1", "Billing Address2", "Billing Company", "Billing City", "Billing Zip",
    "Billing Province", "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street",
    "Shipping Address1", "Shipping Address2", "Shipping Company", "Shipping City", "Shipping Zip",
    "Shipping Province", "Shipping Country", "Shipping Phone", "Notes", "Note Attributes",
    "Cancelled at", "Payment Method", "Payment Reference", "Refunded Amount", "Vendor",
    "Outstanding Balance", "Employee", "Location", "Device ID", "Id", "Tags", "Risk Level",
    "Source", "Lineitem discount", "Tax 1 Name", "Tax 1 Value", "Tax 2 Name", "Tax 2 Value",
    "Tax 3 Name", "Tax 3 Value", "Tax 4 Name", "Tax 4 Value", "Tax 5 Name", "Tax 5 Value",
    "Phone", "Receipt Number", "Duties", "Billing Province Name", "Shipping Province Name",
    "Payment ID", "Payment Terms Name", "Next Payment Due At", "Payment References",
)  # fmt: skip

# Columns written on every row of an order; the others only on its first row.
_EVERY_ROW = frozenset(
    {
        "Name", "Email", "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price",
        "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping",
        "Lineitem taxable", "Lineitem fulfillment status", "Vendor", "Lineitem discount",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Product:
    """One product: price and compare-at price in cents, repurchase cycle in days (0: durable),
    relative popularity and the largest quantity one order line takes."""

    name: str
    sku: str
    price: int
    cycle: int
    popularity: float
    max_quantity: int = 1
    vendor: str = "Juniper & Oak"
    compare_at: int = 0

    @property
    def consumable(self) -> bool:
        return self.cycle > 0


PRODUCTS: tuple[Product, ...] = (
    Product("House Blend Coffee Beans 12oz", "JO-HB-12", 1600, 30, 10.0, 4),
    Product("Ethiopia Yirgacheffe Coffee Beans 12oz", "JO-ETH-12", 1950, 30, 6.0, 4),
    Product("Colombia Huila Coffee Beans 12oz", "JO-COL-12", 1750, 30, 6.0, 4),
    Product("Dark Roast Espresso Beans 2lb", "JO-ESP-32", 3800, 45, 5.0, 3),
    Product("Swiss Water Decaf Coffee Beans 12oz", "JO-DEC-12", 1800, 35, 3.0, 3),
    Product("Cold Brew Coarse Grind 1lb", "JO-CB-16", 2100, 30, 4.0, 3),
    Product("Single Origin Sampler 4 x 4oz", "JO-SMP-4", 2900, 45, 4.0, 2),
    Product("Cone Paper Filters #4 (100 ct)", "JO-FLT-4", 750, 60, 5.0, 3, "Melitta"),
    Product("Bonded Filter Squares (100 ct)", "JO-FLT-SQ", 1295, 60, 3.0, 3, "Chemex"),
    Product("Espresso Machine Descaler", "JO-DSC-1", 1400, 90, 2.0, 2, "Urnex"),
    Product("Ceremonial Matcha 30g", "JO-MAT-30", 2400, 40, 3.0, 3),
    Product("Chai Spice Tea (50 bags)", "JO-CHAI-50", 1100, 45, 3.0, 3),
    Product("Conical Burr Grinder", "JO-GRD-PRO", 14900, 0, 2.0, 1, "Baratza", 17900),
    Product("Gooseneck Pour-Over Kettle", "JO-KTL-1", 6900, 0, 2.5, 1, "Fellow"),
    Product("French Press 34oz", "JO-FP-34", 3900, 0, 3.0, 1, "Bodum", 4500),
    Product("Ceramic Pour-Over Dripper", "JO-DRP-1", 2800, 0, 3.0, 2, "Hario"),
    Product("Digital Coffee Scale", "JO-SCL-1", 4500, 0, 2.0, 1, "Hario"),
    Product("Insulated Travel Mug 16oz", "JO-MUG-16", 2700, 0, 3.0, 2),
    Product("Espresso Cup Set of 4", "JO-CUP-4", 3200, 0, 1.5, 1),
    Product("Canvas Tote Bag", "JO-TOTE-1", 1800, 0, 1.5, 2),
)


@dataclass(frozen=True)
class Channel:
    """An acquisition channel and the distributions of its customers.

    ``share``: acquisition weight; ``mean_gap``: mean days between orders while alive (the
    Gamma rate's mean is ``1 / mean_gap``); ``dropout``: mean of the Beta dropout probability;
    ``spend``: the Gamma-Gamma scale ``gamma`` (the mean order target, dollars);
    ``welcome``: chance a first order uses WELCOME10; ``marketing``: chance of consent.
    """

    source: str
    share: float
    mean_gap: float
    dropout: float
    spend: float
    welcome: float
    marketing: float


CHANNELS: tuple[Channel, ...] = (
    Channel("web", 0.22, 70.0, 0.50, 48.0, 0.15, 0.55),
    Channel("google", 0.20, 80.0, 0.56, 46.0, 0.12, 0.50),
    Channel("instagram", 0.16, 95.0, 0.65, 40.0, 0.35, 0.65),
    Channel("facebook ads", 0.17, 100.0, 0.67, 42.0, 0.30, 0.60),
    Channel("email", 0.10, 55.0, 0.42, 52.0, 0.45, 0.92),
    Channel("tiktok", 0.15, 115.0, 0.76, 34.0, 0.35, 0.55),
)

_RATE_SHAPE = 1.2  # Gamma shape r of the purchase rate
_DROPOUT_CONCENTRATION = 4.0  # a + b of the Beta dropout distribution
_SPEND_P, _SPEND_Q = 4.0, 5.0  # Gamma-Gamma shapes: z ~ Gamma(p, nu), nu ~ Gamma(q, gamma)
_MAX_REPEATS = 400
_GUEST_SHARE = 0.05

# (city, state code, state name, zip prefix, combined sales tax rate in percent)
_PLACES = (
    ("New York", "NY", "New York", "100", 8.875),
    ("Brooklyn", "NY", "New York", "112", 8.875),
    ("Los Angeles", "CA", "California", "900", 9.5),
    ("San Francisco", "CA", "California", "941", 8.625),
    ("Chicago", "IL", "Illinois", "606", 10.25),
    ("Houston", "TX", "Texas", "770", 8.25),
    ("Austin", "TX", "Texas", "787", 8.25),
    ("Seattle", "WA", "Washington", "981", 10.25),
    ("Portland", "OR", "Oregon", "972", 0.0),
    ("Denver", "CO", "Colorado", "802", 8.81),
    ("Boston", "MA", "Massachusetts", "021", 6.25),
    ("Philadelphia", "PA", "Pennsylvania", "191", 8.0),
    ("Miami", "FL", "Florida", "331", 7.0),
    ("Atlanta", "GA", "Georgia", "303", 8.9),
    ("Minneapolis", "MN", "Minnesota", "554", 8.025),
    ("Nashville", "TN", "Tennessee", "372", 9.25),
    ("Phoenix", "AZ", "Arizona", "850", 8.6),
    ("Wilmington", "DE", "Delaware", "198", 0.0),
)
_PLACE_WEIGHTS = (8, 5, 7, 5, 6, 5, 4, 5, 3, 4, 4, 3, 4, 3, 3, 2, 3, 1)
_FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Chris", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Sandra", "Mark", "Ashley",
    "Steven", "Emily", "Andrew", "Michelle", "Joshua", "Amanda", "Kevin", "Melissa", "Brian",
    "Stephanie", "Ryan", "Rebecca", "Jacob", "Laura", "Nicholas", "Hannah", "Tyler", "Olivia",
    "Noah", "Emma", "Ethan", "Sophia", "Liam", "Ava", "Lucas", "Mia", "Mateo", "Isabella",
    "Wei", "Priya", "Diego", "Aisha", "Kenji", "Fatima", "Omar", "Sofia",
)  # fmt: skip
_LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Chen", "Patel", "Kim", "Singh",
    "Cohen", "Murphy", "O'Brien", "Novak", "Rossi", "Schmidt",
)  # fmt: skip
_STREETS = (
    "Main St", "Oak Ave", "Maple St", "Cedar Ln", "Park Ave", "Pine St", "Elm St", "Lake Dr",
    "Hill Rd", "Washington Ave", "Sunset Blvd", "River Rd", "Church St", "Highland Ave",
    "Mill St", "Spring St", "Union St", "Broadway",
)  # fmt: skip
_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")
_OWNER_EMAIL = "owner@juniperandoak.example.com"
# Relative order intensity by hour of day (New York time): morning and evening peaks.
_HOURLY = (
    0.25, 0.15, 0.1, 0.08, 0.08, 0.15, 0.4, 0.8, 1.1, 1.2, 1.2, 1.25,
    1.4, 1.35, 1.2, 1.15, 1.15, 1.25, 1.45, 1.7, 1.85, 1.7, 1.2, 0.6,
)  # fmt: skip


@dataclass(frozen=True)
class DemoShopInfo:
    """What :func:`generate_demo_shop` wrote.

    ``n_customers`` is the number of simulated customers (each placed at least one order);
    ``n_customers_counted`` those with an email and at least one order the Shopify importer
    keeps (the customers an analysis sees). Orders: ``n_orders`` all orders in the file (test
    orders included), ``n_orders_counted`` those the importer keeps; the excluded ones are
    counted once each with the importer's precedence (test order, cancelled, voided, refunded).
    ``n_guest_orders`` are orders without email (all of them; ``n_guest_orders_counted`` those
    kept). ``n_repeat_customers`` are counted customers with two or more counted orders;
    ``revenue`` is the counted orders' net revenue (Subtotal minus Refunded Amount without its
    tax, as the importer takes it), dollars; ``n_pending_orders`` and ``pending_revenue`` the
    counted orders awaiting payment and theirs.
    """

    path: Path
    seed: int
    start_date: date
    end_date: date
    n_customers: int
    n_customers_counted: int
    n_repeat_customers: int
    n_orders: int
    n_orders_counted: int
    n_line_rows: int
    n_test_orders: int
    n_cancelled_orders: int
    n_voided_orders: int
    n_refunded_orders: int
    n_partially_refunded_orders: int
    n_guest_orders: int
    n_guest_orders_counted: int
    n_pending_orders: int
    revenue: float
    pending_revenue: float
    first_order_date: date
    last_order_date: date

    @property
    def excluded_orders(self) -> dict[str, int]:
        """Excluded orders by the Shopify importer's reason names (reasons with none omitted)."""
        counts = {
            "test order": self.n_test_orders,
            "cancelled": self.n_cancelled_orders,
            "voided": self.n_voided_orders,
            "refunded": self.n_refunded_orders,
        }
        return {reason: n for reason, n in counts.items() if n}

    @property
    def repeat_share(self) -> float:
        """Share of counted customers with two or more counted orders."""
        return self.n_repeat_customers / max(self.n_customers_counted, 1)


# ------------------------------------------------------------------------------------------------
# calendar
# ------------------------------------------------------------------------------------------------
def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th given weekday (Monday = 0) of a month."""
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _window_start(end_date: date, years: int) -> date:
    try:
        back = end_date.replace(year=end_date.year - years)
    except ValueError:  # 29 February
        back = end_date.replace(year=end_date.year - years, day=28)
    return back + timedelta(days=1)


def _seasonality(
    days: np.ndarray, strength: float
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Daily multipliers (each of mean 1 over the window) of acquisition and of repeat
    purchasing, and the promotion-day masks.

    At ``strength`` 1, acquisition (gift buyers and deal hunters) swings strongly: an annual
    wave of +-25% peaking in mid-December, 3.5 times the demand from Black Friday to Cyber
    Monday, +60% from 4 to 20 December, -50% from 24 to 26 December. Repeat purchasing (people
    drinking their coffee) swings mildly: +-5%, 1.5 times on BFCM, +10% in early December, -30%
    over Christmas. Both have a weekday pattern (+6% on Mondays, -5% on Saturdays).
    ``strength`` scales every deviation from 1 (0: a flat year).
    """
    frame = pd.DatetimeIndex(days)
    doy = frame.day_of_year.to_numpy()
    weekday = frame.day_of_week.to_numpy()
    month = frame.month.to_numpy()
    dom = frame.day.to_numpy()
    bfcm = np.zeros(len(days), dtype=bool)
    for year in range(int(frame.year.min()), int(frame.year.max()) + 1):
        black_friday = _nth_weekday(year, 11, 3, 4) + timedelta(days=1)
        first = np.datetime64(black_friday)
        bfcm |= (days >= first) & (days <= first + np.timedelta64(3, "D"))
    holiday = (month == 12) & (dom >= 4) & (dom <= 20)
    summer = (month == 7) & (dom <= 14)
    christmas = (month == 12) & (dom >= 24) & (dom <= 26)
    weekly = np.array([0.06, 0.02, 0.0, -0.02, -0.03, -0.05, 0.02])[weekday]
    wave = np.cos(2.0 * np.pi * (doy - 345) / 365.25)

    def multiplier(annual: float, on_bfcm: float, on_holiday: float, on_christmas: float):
        out = (
            (1.0 + strength * annual * wave)
            * (1.0 + strength * weekly)
            * np.where(bfcm, 1.0 + strength * on_bfcm, 1.0)
            * np.where(holiday, 1.0 + strength * on_holiday, 1.0)
            * np.where(christmas, 1.0 + strength * on_christmas, 1.0)
        )
        out = np.maximum(out, 0.05)
        return out / out.mean()

    acquisition = multiplier(0.25, 2.5, 0.6, -0.5)
    repeat = multiplier(0.05, 0.5, 0.1, -0.3)
    return acquisition, repeat, {"bfcm": bfcm, "holiday": holiday, "summer": summer}


def _dst_offsets(local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """US Eastern offsets for wall-clock ``datetime64[s]`` times, and the times made valid.

    Daylight saving time runs from 02:00 on the second Sunday of March to 02:00 on the first
    Sunday of November; a time in the skipped hour moves one hour on, and a time in the
    repeated hour is read as daylight time.
    """
    years = local.astype("datetime64[Y]").astype(int) + 1970
    out = local.copy()
    dst = np.zeros(len(local), dtype=bool)
    for year in np.unique(years):
        start = np.datetime64(_nth_weekday(int(year), 3, 6, 2)) + np.timedelta64(2, "h")
        end = np.datetime64(_nth_weekday(int(year), 11, 6, 1)) + np.timedelta64(2, "h")
        mine = years == year
        skipped = mine & (out >= start) & (out < start + np.timedelta64(1, "h"))
        out[skipped] += np.timedelta64(1, "h")
        dst |= mine & (out >= start) & (out < end)
    return out, dst


def _timestamps(local: np.ndarray) -> list[str]:
    """``2024-03-05 14:22:10 -0500`` strings for wall-clock ``datetime64[s]`` times."""
    local, dst = _dst_offsets(local.astype("datetime64[s]"))
    text = np.datetime_as_string(local, unit="s")
    return [
        f"{t[:10]} {t[11:]} {'-0400' if d else '-0500'}"
        for t, d in zip(text.tolist(), dst.tolist(), strict=True)
    ]


def _money(cents: np.ndarray) -> np.ndarray:
    """Non-negative cents as ``12.50`` (object array; each distinct amount formatted once)."""
    unique, inverse = np.unique(np.asarray(cents, dtype=np.int64), return_inverse=True)
    text = np.array([f"{c // 100}.{c % 100:02d}" for c in unique.tolist()], dtype=object)
    return text[inverse.reshape(-1)]


def _csv_cells(values: np.ndarray) -> np.ndarray:
    """Cells quoted as the csv module's QUOTE_MINIMAL does, where a value needs it."""
    values = np.asarray(values, dtype=object)
    if not any(c in "\x00".join(values.tolist()) for c in ',"\n\r'):
        return values
    return np.array(
        [
            '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n\r') else v
            for v in values.tolist()
        ],
        dtype=object,
    )


def _write_rows(
    path: Path,
    order_columns: dict[str, np.ndarray],
    line_columns: dict[str, np.ndarray],
    row_order: np.ndarray,
    row_line: np.ndarray,
    head: np.ndarray,
) -> None:
    """Write the export: row ``i`` is line ``row_line[i]`` of order ``row_order[i]``; the
    order-level columns are filled on the rows where ``head`` is true only."""
    parts = []
    for rows in (head, ~head):
        columns = []
        for name in HEADER:
            if name in line_columns:
                columns.append(line_columns[name][row_line[rows]].tolist())
            elif name in order_columns and (name in _EVERY_ROW or rows is head):
                columns.append(order_columns[name][row_order[rows]].tolist())
            else:
                columns.append(repeat(""))
        parts.append(np.array(list(map(",".join, zip(*columns, strict=False))), dtype=object))
    lines = np.empty(len(head), dtype=object)
    lines[head], lines[~head] = parts
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        handle.write(",".join(HEADER) + "\n")
        handle.write("\n".join(lines.tolist()))
        handle.write("\n" if len(lines) else "")


def _net_revenue(subtotal: np.ndarray, taxes: np.ndarray, refund: np.ndarray) -> np.ndarray:
    """Net revenue in cents as the Shopify importer takes it from an order whose tax is added at
    checkout: ``Subtotal`` less each refund without its tax (``Subtotal / (Subtotal + Taxes)`` of
    it), at least 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where((taxes > 0) & (subtotal > 0), subtotal / (subtotal + taxes), 1.0)
    return np.maximum(subtotal - refund * share, 0.0)


def _categorical(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One draw per row of a (rows x categories) weight matrix."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), weights.shape[1] - 1)


# ------------------------------------------------------------------------------------------------
# the simulation
# ------------------------------------------------------------------------------------------------
def _customers(
    rng: np.random.Generator, n: int, season: np.ndarray, gift_dropout: np.ndarray
) -> dict[str, np.ndarray]:
    """Draw the customers; ``gift_dropout`` adds to the mean dropout of those acquired each day."""
    n_days = len(season)
    # acquisition: growth (the rate triples over the window) times its seasonal multiplier
    acquisition = np.exp(np.log(3.0) * np.arange(n_days) / n_days) * season
    cum = np.cumsum(acquisition)
    day = np.minimum(np.searchsorted(cum, rng.random(n) * cum[-1], side="right"), n_days - 1)
    t0 = day + rng.random(n)
    shares = np.array([c.share for c in CHANNELS])
    ramp = np.ones((n, len(CHANNELS)))
    tiktok = [c.source for c in CHANNELS].index("tiktok")
    ramp[:, tiktok] = 0.3 + 1.4 * t0 / n_days
    channel = _categorical(rng, shares * ramp)

    consumables = np.array([i for i, p in enumerate(PRODUCTS) if p.consumable])
    popularity = np.array([PRODUCTS[i].popularity for i in consumables])
    favourite = consumables[rng.choice(len(consumables), size=n, p=popularity / popularity.sum())]
    cycle = np.array([p.cycle for p in PRODUCTS], dtype=float)[favourite]

    mean_gap = np.array([c.mean_gap for c in CHANNELS])[channel]
    rate = rng.gamma(_RATE_SHAPE, 1.0 / (_RATE_SHAPE * mean_gap)) * np.sqrt(35.0 / cycle)
    drop_mean = np.array([c.dropout for c in CHANNELS])[channel]
    drop_mean = np.minimum(drop_mean + gift_dropout[day], 0.95)
    dropout = rng.beta(_DROPOUT_CONCENTRATION * drop_mean, _DROPOUT_CONCENTRATION * (1 - drop_mean))
    gamma = np.array([c.spend for c in CHANNELS])[channel]
    nu = rng.gamma(_SPEND_Q, 1.0 / gamma)  # nu ~ Gamma(q, rate gamma)
    guest = rng.random(n) < _GUEST_SHARE
    marketing = np.array([c.marketing for c in CHANNELS])[channel]
    accepts = ~guest & (rng.random(n) < marketing)
    place = rng.choice(len(_PLACES), size=n, p=np.array(_PLACE_WEIGHTS) / sum(_PLACE_WEIGHTS))
    return {
        "t0": t0,
        "channel": channel,
        "favourite": favourite,
        "rate": rate,
        "dropout": dropout,
        "nu": nu,
        "guest": guest,
        "accepts": accepts,
        "place": place,
        "first": rng.integers(len(_FIRST_NAMES), size=n),
        "last": rng.integers(len(_LAST_NAMES), size=n),
        "email_style": rng.choice(4, size=n, p=[0.45, 0.25, 0.15, 0.15]),
        "domain": rng.choice(len(_DOMAINS), size=n, p=[0.4, 0.25, 0.2, 0.15]),
        "house": rng.integers(1, 2500, size=n),
        "street": rng.integers(len(_STREETS), size=n),
        "zip": rng.integers(0, 100, size=n),
    }


def _purchases(
    rng: np.random.Generator, people: dict[str, np.ndarray], season: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(customer, calendar time in days) of every order, customers' orders in time order."""
    n_days = len(season)
    grid = np.arange(n_days + 1, dtype=float)
    clock = np.concatenate([[0.0], np.cumsum(season)])  # seasonal (operational) time
    u0 = np.interp(people["t0"], grid, clock)
    n = len(u0)
    # number of orders if the window were endless: dropout after each order
    total = rng.geometric(people["dropout"])
    repeats = np.minimum(total - 1, _MAX_REPEATS)
    owner = np.repeat(np.arange(n), repeats)
    gaps = rng.exponential(size=len(owner)) / people["rate"][owner]
    flat = np.concatenate([[0.0], np.cumsum(gaps)])
    starts = np.concatenate([[0], np.cumsum(repeats)[:-1]])
    u = u0[owner] + flat[1:] - np.repeat(flat[starts], repeats)  # each customer's running sum
    keep = u < clock[-1]
    customer = np.concatenate([np.arange(n), owner[keep]])
    times = np.concatenate([people["t0"], np.interp(u[keep], clock, grid)])
    order = np.lexsort((times, customer))
    times = np.minimum(times[order], np.nextafter(float(n_days), 0.0))
    return customer[order], times


def _baskets(
    rng: np.random.Generator,
    customer: np.ndarray,
    is_first: np.ndarray,
    gap: np.ndarray,
    people: dict[str, np.ndarray],
    uplift: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Line items: (order index, product, quantity), lines of an order adjacent, first line
    first. ``uplift`` multiplies each order's target value (gift season)."""
    n_orders = len(customer)
    price = np.array([p.price for p in PRODUCTS], dtype=float) / 100.0
    popularity = np.array([p.popularity for p in PRODUCTS])
    durable = np.array([not p.consumable for p in PRODUCTS])
    # z ~ Gamma(p, rate nu), dollars
    target = rng.gamma(_SPEND_P, 1.0 / people["nu"][customer]) * uplift
    n_lines = np.minimum(1 + rng.poisson(np.clip(target / 45.0 - 0.5, 0.0, 5.0)), 7)
    per_line = target / n_lines
    base = np.where(
        is_first[:, None],
        popularity * np.where(durable, 1.6, 1.0),
        popularity * np.where(durable, 0.04, 1.0),
    )
    fit = np.exp(-0.5 * (np.log(price[None, :] / per_line[:, None]) / 0.9) ** 2)
    weights = base * (fit + 0.02)
    order_of_line = np.repeat(np.arange(n_orders), n_lines)
    product = _categorical(rng, weights[order_of_line])
    # the first line of a repeat order: the favourite consumable, most likely near its cycle
    first_line = np.concatenate([[0], np.cumsum(n_lines)[:-1]])
    cycle = np.array([max(p.cycle, 1) for p in PRODUCTS], dtype=float)
    favourite = people["favourite"][customer]
    closeness = np.exp(-0.5 * (np.log(np.maximum(gap, 0.5) / cycle[favourite]) / 0.4) ** 2)
    pick = ~is_first & (rng.random(n_orders) < 0.3 + 0.6 * closeness)
    product[first_line[pick]] = favourite[pick]
    line_price = price[product]
    quantity = np.maximum(np.rint(per_line[order_of_line] / line_price), 1).astype(np.int64)
    # the same product twice in an order is one line with the summed quantity
    key = order_of_line * len(PRODUCTS) + product
    unique, first_index, inverse = np.unique(key, return_index=True, return_inverse=True)
    summed = np.bincount(inverse, weights=quantity).astype(np.int64)
    keep = np.argsort(first_index, kind="stable")
    product = unique[keep] % len(PRODUCTS)
    max_quantity = np.array([p.max_quantity for p in PRODUCTS])
    return unique[keep] // len(PRODUCTS), product, np.minimum(summed[keep], max_quantity[product])


def _emails(people: dict[str, np.ndarray]) -> np.ndarray:
    first = np.array([name.lower() for name in _FIRST_NAMES], dtype=object)[people["first"]]
    last = np.array([name.lower().replace("'", "") for name in _LAST_NAMES], dtype=object)[
        people["last"]
    ]
    style = people["email_style"]
    local = np.where(
        style == 0,
        first + "." + last,
        np.where(
            style == 1,
            first + last,
            np.where(
                style == 2, first + "_" + last, np.array([f[0] for f in first], dtype=object) + last
            ),
        ),
    )
    domain = np.array(_DOMAINS, dtype=object)[people["domain"]]
    frame = pd.DataFrame({"local": local, "domain": domain})
    seen = frame.groupby(["local", "domain"], sort=False).cumcount().to_numpy()
    suffix = np.where(seen > 0, (seen + 1).astype(str).astype(object), "")
    return local + suffix + "@" + domain


def generate_demo_shop(
    path: str | Path,
    customers: int = 5000,
    seed: int = 0,
    end_date: date = date(2026, 6, 30),
    years: int = 2,
    seasonality: float = 1.0,
) -> DemoShopInfo:
    """Simulate ``customers`` customers of a coffee shop over ``years`` years ending on
    ``end_date`` and write their orders to ``path`` as a Shopify orders export (see the module
    docstring for the process). ``seasonality`` scales the seasonal swings of demand and the
    gift-season effects (0: a flat year; the promotion codes are used on their dates either
    way). Deterministic: the same
    arguments give the same bytes.
    """
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    if years < 1:
        raise ValueError(f"years must be at least 1, got {years}")
    if not 0.0 <= seasonality <= 2.0:
        raise ValueError(f"seasonality must be between 0 and 2, got {seasonality}")
    path = Path(path)
    rng = np.random.default_rng(seed)
    start = _window_start(end_date, years)
    n_days = (end_date - start).days + 1
    days = np.datetime64(start) + np.arange(n_days).astype("timedelta64[D]")
    acquisition, repeat_season, promo = _seasonality(days, seasonality)
    gift_season = promo["bfcm"] | promo["holiday"]
    gift_dropout = 0.08 * min(seasonality, 1.0) * gift_season
    people = _customers(rng, customers, acquisition, gift_dropout)
    customer, times = _purchases(rng, people, repeat_season)
    n_sim = len(customer)
    is_first = np.ones(n_sim, dtype=bool)
    is_first[1:] = customer[1:] != customer[:-1]
    gap = np.where(is_first, 0.0, times - np.concatenate([[0.0], times[:-1]]))

    # test orders by the shop's owner: two while setting the shop up, the rest scattered
    n_test = min(3 + customers // 2500, 10)
    test_times = np.concatenate(
        [rng.uniform(0.3, 2.0, size=2), rng.uniform(3.0, n_days - 1.0, size=n_test - 2)]
    )
    test_flag = np.concatenate([np.zeros(n_sim, bool), np.ones(n_test, bool)])
    customer = np.concatenate([customer, np.full(n_test, -1)])
    is_first = np.concatenate([is_first, np.zeros(n_test, bool)])
    gap = np.concatenate([gap, np.zeros(n_test)])
    times = np.concatenate([times, test_times])
    n_orders = len(customer)

    # wall-clock time: the day, and the time of day from the hourly profile (monotone in the
    # fraction of the day, so a customer's orders on one day keep their order)
    day = np.floor(times).astype(np.int64)
    hourly = np.array(_HOURLY)
    hour_cdf = np.concatenate([[0.0], np.cumsum(hourly) / hourly.sum()])
    seconds = np.interp(times - day, hour_cdf, np.arange(25) * 3600.0)
    seconds = np.minimum(np.floor(seconds).astype(np.int64), 86399)
    created = days[day].astype("datetime64[s]") + seconds.astype("timedelta64[s]")
    created, _ = _dst_offsets(created)  # no order in the hour skipped by daylight saving time

    # baskets (test orders: one tote bag)
    real = ~test_flag
    people_c = np.where(real, customer, 0)
    uplift = 1.0 + 0.2 * min(seasonality, 1.0) * gift_season[day]
    line_order, product, quantity = _baskets(rng, people_c, is_first, gap, people, uplift)
    tote = [p.sku for p in PRODUCTS].index("JO-TOTE-1")
    test_lines = np.flatnonzero(test_flag[line_order])
    product[test_lines] = tote
    quantity[test_lines] = 1
    # a test order has exactly one line: drop its others
    test_first = np.concatenate([[True], line_order[1:] != line_order[:-1]])
    keep_line = ~test_flag[line_order] | test_first
    line_order, product, quantity = line_order[keep_line], product[keep_line], quantity[keep_line]
    n_lines = np.bincount(line_order, minlength=n_orders)
    first_line = np.concatenate([[0], np.cumsum(n_lines)[:-1]])

    price = np.array([p.price for p in PRODUCTS], dtype=np.int64)
    gross_line = price[product] * quantity
    gross = np.add.reduceat(gross_line, first_line)

    # discount codes (percent off the lines)
    channel = np.where(real, people["channel"][people_c], 0)
    welcome = np.array([c.welcome for c in CHANNELS])[channel]
    u = rng.random(n_orders)
    code = np.full(n_orders, "", dtype=object)
    percent = np.zeros(n_orders)
    rules = (
        ("WELCOME10", 10, is_first & (u < welcome)),
        ("COMEBACK15", 15, ~is_first & (gap > 120) & (u < 0.35)),
        ("SUMMER10", 10, promo["summer"][day] & (u < 0.25)),
        ("HOLIDAY15", 15, promo["holiday"][day] & (u < 0.3)),
        ("BFCM20", 20, promo["bfcm"][day] & (u < 0.7)),
    )
    for name, pct, mask in rules:  # later rules win
        mask = mask & real
        code[mask] = name
        percent[mask] = pct
    discount = np.rint(gross * percent / 100.0).astype(np.int64)
    # allocate the discount over the lines in proportion to their value, the rest on line one
    share = np.floor(discount[line_order] * gross_line / gross[line_order]).astype(np.int64)
    share[first_line] += discount - np.add.reduceat(share, first_line)
    subtotal = gross - discount

    # shipping and tax
    express = rng.random(n_orders) < 0.06
    shipping = np.where(express, 1495, np.where(subtotal >= 5000, 0, 695))
    method = np.where(
        express, "Express Shipping", np.where(shipping == 0, "Free Shipping", "Standard Shipping")
    )
    place = np.where(real, people["place"][people_c], 0)
    rate = np.array([p[4] for p in _PLACES])[place]
    taxes = np.rint(subtotal * rate / 100.0).astype(np.int64)
    total = subtotal + shipping + taxes

    # statuses (mutually exclusive; test orders are paid)
    u = rng.random(n_orders)
    cancelled = real & (u < 0.02)
    refunded = real & (u >= 0.02) & (u < 0.05)
    partial = real & (u >= 0.05) & (u < 0.08)
    voided = real & (u >= 0.08) & (u < 0.084)
    pending = real & (u >= 0.084) & (u < 0.092)
    cancel_voided = cancelled & (rng.random(n_orders) < 0.25)
    status = np.full(n_orders, "paid", dtype=object)
    status[refunded | (cancelled & ~cancel_voided)] = "refunded"
    status[partial] = "partially_refunded"
    status[voided | cancel_voided] = "voided"
    status[pending] = "pending"
    refund = np.zeros(n_orders, dtype=np.int64)
    full_refund = refunded | (cancelled & ~cancel_voided)
    refund[full_refund] = total[full_refund]
    # partial: one unit of the order's dearest line after its discount, or half a single unit
    unit_net = (gross_line - share) // quantity
    dearest = np.maximum.reduceat(unit_net, first_line)
    units = np.add.reduceat(quantity, first_line)
    refunded_items = np.where(units > 1, dearest, subtotal // 2)
    # Shopify refunds an item with the tax it was charged
    refund[partial] = (refunded_items + np.rint(refunded_items * rate / 100.0).astype(np.int64))[
        partial
    ]

    end_of_export = np.datetime64(end_date) + np.timedelta64(1, "D") - np.timedelta64(1, "s")
    age_hours = (end_of_export - created).astype(np.int64) / 3600.0
    recent = age_hours < 48
    unfulfilled = cancelled | voided | pending | recent
    fulfilled_at = np.minimum(
        created + (rng.uniform(6, 72, n_orders) * 3600).astype("timedelta64[s]"), end_of_export
    )
    cancelled_at = np.minimum(
        created + (rng.uniform(0.2, 30, n_orders) * 3600).astype("timedelta64[s]"), end_of_export
    )
    paid_at = np.minimum(
        created + rng.integers(2, 40, n_orders).astype("timedelta64[s]"), end_of_export
    )

    # order numbers in creation order; the file lists orders newest first
    chronological = np.lexsort((np.arange(n_orders), created))
    number = np.empty(n_orders, dtype=np.int64)
    number[chronological] = 1001 + np.arange(n_orders)
    order_id = np.empty(n_orders, dtype=np.int64)
    order_id[chronological] = 5_600_000_000_000 + np.cumsum(rng.integers(20_000, 400_000, n_orders))
    written = chronological[::-1]

    # emails (guests have none; a few orders have the address typed differently)
    email = np.full(n_orders, "", dtype=object)
    emails = _emails(people)
    has_email = real & ~people["guest"][people_c]
    email[has_email] = emails[people_c[has_email]]
    email[test_flag] = _OWNER_EMAIL
    messy = has_email & (rng.random(n_orders) < 0.015)
    variant = rng.integers(3, size=n_orders)
    for index in np.flatnonzero(messy).tolist():
        address = email[index]
        email[index] = (
            address.upper() if variant[index] == 0 else
            " " + address.title() if variant[index] == 1 else
            address.capitalize() + " "
        )  # fmt: skip
    guest_order = real & ~has_email

    # ---- per-order text columns (indexed by simulation order) ----------------------------------
    first_names = np.array(_FIRST_NAMES, dtype=object)[people["first"]]
    last_names = np.array(_LAST_NAMES, dtype=object)[people["last"]]
    full_name = first_names + " " + last_names
    bill_name = np.where(real, full_name[people_c], "Shop Owner")
    street = (
        people["house"].astype(str).astype(object)
        + " "
        + np.array(_STREETS, dtype=object)[people["street"]]
    )
    bill_street = np.where(real, street[people_c], "1 Roastery Way")
    zip_code = np.array(
        [
            f"'{_PLACES[p][3]}{z:02d}"
            for p, z in zip(place.tolist(), people["zip"][people_c].tolist(), strict=True)
        ],
        dtype=object,
    )
    city = np.array([p[0] for p in _PLACES], dtype=object)[place]
    state = np.array([p[1] for p in _PLACES], dtype=object)[place]
    state_name = np.array([p[2] for p in _PLACES], dtype=object)[place]
    tax_name = np.array(
        [f"{p[1]} State Tax {p[4]:g}%" if p[4] else "" for p in _PLACES], dtype=object
    )[place]
    accepts_text = np.where(real & people["accepts"][people_c], "yes", "no")
    repeat_source = np.where(
        rng.random(n_orders) < 0.3,
        np.array([c.source for c in CHANNELS], dtype=object)[channel],
        np.where(rng.random(n_orders) < 0.5, "email", "web"),
    )
    source = np.where(
        is_first, np.array([c.source for c in CHANNELS], dtype=object)[channel], repeat_source
    )
    source[test_flag] = "web"
    pay_u = rng.random(n_orders)
    payment = np.where(pay_u < 0.8, "Shopify Payments", "PayPal Express Checkout").astype(object)
    payment[pending] = "manual"
    payment[test_flag] = "bogus"
    risk_u = rng.random(n_orders)
    risk = np.where(risk_u < 0.96, "Low", np.where(risk_u < 0.99, "Medium", "High")).astype(object)
    paid = ~(voided | cancel_voided | pending)
    reference = np.array([f"c{i // 1000}.1" for i in order_id.tolist()], dtype=object)
    fulfillment = np.where(unfulfilled, "unfulfilled", "fulfilled").astype(object)
    line_status = np.where(unfulfilled, "pending", "fulfilled").astype(object)

    def text(values: list[str] | np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        out = np.asarray(values, dtype=object)
        if where is not None:
            out = np.where(where, out, "")
        return out

    order_columns: dict[str, np.ndarray] = {
        "Name": np.array([f"#{k}" for k in number.tolist()], dtype=object),
        "Email": email,
        "Financial Status": status,
        "Paid at": text(_timestamps(paid_at), paid),
        "Fulfillment Status": fulfillment,
        "Fulfilled at": text(_timestamps(fulfilled_at), ~unfulfilled),
        "Accepts Marketing": accepts_text.astype(object),
        "Currency": np.full(n_orders, "USD", dtype=object),
        "Subtotal": text(_money(subtotal)),
        "Shipping": text(_money(shipping)),
        "Taxes": text(_money(taxes)),
        "Total": text(_money(total)),
        "Discount Code": code,
        "Discount Amount": text(_money(discount)),
        "Shipping Method": method.astype(object),
        "Created at": text(_timestamps(created)),
        "Billing Name": bill_name,
        "Billing Street": bill_street,
        "Billing Address1": bill_street,
        "Billing City": city,
        "Billing Zip": zip_code,
        "Billing Province": state,
        "Billing Country": np.full(n_orders, "US", dtype=object),
        "Shipping Name": bill_name,
        "Shipping Street": bill_street,
        "Shipping Address1": bill_street,
        "Shipping City": city,
        "Shipping Zip": zip_code,
        "Shipping Province": state,
        "Shipping Country": np.full(n_orders, "US", dtype=object),
        "Cancelled at": text(_timestamps(cancelled_at), cancelled),
        "Payment Method": payment,
        "Payment Reference": reference,
        "Refunded Amount": text(_money(refund)),
        "Outstanding Balance": text(_money(np.where(pending, total, 0))),
        "Id": np.array([str(i) for i in order_id.tolist()], dtype=object),
        "Tags": np.where(test_flag, "test", "").astype(object),
        "Risk Level": risk,
        "Source": source,
        "Tax 1 Name": tax_name,
        "Tax 1 Value": text(_money(taxes), tax_name != ""),
        "Billing Province Name": state_name,
        "Shipping Province Name": state_name,
        "Payment ID": reference,
        "Payment References": reference,
    }
    line_columns: dict[str, np.ndarray] = {
        "Lineitem quantity": quantity.astype(str).astype(object),
        "Lineitem name": np.array([p.name for p in PRODUCTS], dtype=object)[product],
        "Lineitem price": np.array(_money(price), dtype=object)[product],
        "Lineitem compare at price": np.array(
            [_money(np.array([p.compare_at]))[0] if p.compare_at else "" for p in PRODUCTS],
            dtype=object,
        )[product],
        "Lineitem sku": np.array([p.sku for p in PRODUCTS], dtype=object)[product],
        "Lineitem requires shipping": np.full(len(product), "true", dtype=object),
        "Lineitem taxable": np.full(len(product), "true", dtype=object),
        "Lineitem fulfillment status": line_status[line_order],
        "Vendor": np.array([p.vendor for p in PRODUCTS], dtype=object)[product],
        "Lineitem discount": text(_money(share)),
    }

    # rows in file order: orders newest first, each order's lines in line order
    counts = n_lines[written]
    row_start = np.repeat(first_line[written], counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    rows = row_start + offset
    row_order = line_order[rows]
    order_columns = {name: _csv_cells(values) for name, values in order_columns.items()}
    line_columns = {name: _csv_cells(values) for name, values in line_columns.items()}
    _write_rows(path, order_columns, line_columns, row_order, rows, offset == 0)

    # ---- what was written ----------------------------------------------------------------------
    excluded = test_flag | cancelled | voided | refunded | cancel_voided
    counted = ~excluded
    counted_customer = people_c[counted & has_email]
    per_customer = np.bincount(counted_customer, minlength=customers)
    first_day = days[day.min()].astype(object)
    last_day = days[day.max()].astype(object)
    return DemoShopInfo(
        path=path,
        seed=seed,
        start_date=start,
        end_date=end_date,
        n_customers=customers,
        n_customers_counted=int((per_customer > 0).sum()),
        n_repeat_customers=int((per_customer > 1).sum()),
        n_orders=n_orders,
        n_orders_counted=int(counted.sum()),
        n_line_rows=len(rows),
        n_test_orders=int(test_flag.sum()),
        n_cancelled_orders=int(cancelled.sum()),
        n_voided_orders=int(voided.sum()),
        n_refunded_orders=int(refunded.sum()),
        n_partially_refunded_orders=int(partial.sum()),
        n_guest_orders=int(guest_order.sum()),
        n_guest_orders_counted=int((guest_order & counted).sum()),
        n_pending_orders=int((pending & counted).sum()),
        revenue=float(_net_revenue(subtotal, taxes, refund)[counted].sum()) / 100.0,
        pending_revenue=float(_net_revenue(subtotal, taxes, refund)[pending & counted].sum())
        / 100.0,
        first_order_date=first_day,
        last_order_date=last_day,
    )
