"""Formula payloads in a shop's data never reach a CSV valuecast writes as a live formula.

A Shopify shop (the demo shop's orders, so every model and table has data) whose e-mails,
channels, discount codes, product names, SKUs, tags, names, phones and zips are spreadsheet
formulas is analysed, refreshed, summarised, grouped, exported and compared through the real
command line; then every cell of every ``*.csv`` written is read back with the ``csv`` module.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest

from valuecast.csvsafe import FORMULA_STARTS, unescape_cell

# what a customer or a merchant's staff can type into a field that ends up in an analysis file
PAYLOADS = (
    '=HYPERLINK("http://evil.example","{}")',
    "-2+3+cmd|' /C calc'!A0 {}",
    "@SUM(1+1)*cmd|' /C calc'!A0 {}",
    "+{}",
    "\t=1+{}",
)
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _payload(index: int, value: str) -> str:
    return PAYLOADS[index % len(PAYLOADS)].format(value)


def _mapped(column: pd.Series, *, skip_empty: bool = True) -> pd.Series:
    """Each distinct value of ``column`` replaced by a payload built from it."""
    values = [v for v in column.unique() if v or not skip_empty]
    mapping = {value: _payload(i, value) for i, value in enumerate(values)}
    return column.map(lambda v: mapping.get(v, v))


def _email(index: int, email: str) -> str:
    if index % 4 == 0:
        return f'=hyperlink("http://evil.example/{index}")@evil.example'
    return "-+@"[index % 4 - 1] + email  # a legitimate leading - or + survives as itself


def _payload_shop(folder: Path) -> dict[str, Path]:
    """The demo shop with formula payloads in every free-text field, and its customers export."""
    from valuecast.datasets.demo_shop import generate_demo_shop

    demo = folder / "demo.csv"
    generate_demo_shop(demo, customers=400, seed=3)
    orders = pd.read_csv(demo, dtype=str, keep_default_na=False)
    emails = {e: _email(i, e) for i, e in enumerate(e for e in orders["Email"].unique() if e)}
    orders["Email"] = orders["Email"].map(lambda e: emails.get(e, e))
    for column in ("Source", "Discount Code", "Lineitem name", "Lineitem sku", "Vendor"):
        orders[column] = _mapped(orders[column])
    full, early = folder / "full.csv", folder / "early.csv"
    orders.to_csv(full, index=False)
    orders[orders["Created at"] < "2026-01-01"].to_csv(early, index=False)

    contacts = pd.DataFrame({"Email": list(emails.values())})
    n = len(contacts)
    contacts["First Name"] = [_payload(i, "Ann") for i in range(n)]
    contacts["Last Name"] = [_payload(i + 1, "Lee") for i in range(n)]
    contacts["City"] = [_payload(i + 2, "Leeds") for i in range(n)]
    contacts["Country Code"] = "GB"
    contacts["Zip"] = [_payload(i + 3, "LS1") for i in range(n)]
    contacts["Phone"] = [f"+44 7700 900{i:03d}" for i in range(n)]
    contacts["Accepts Marketing"] = "yes"
    contacts["Tags"] = [f"{_payload(i, 'vip')}, {_payload(i + 1, 'wholesale')}" for i in range(n)]
    customers = folder / "customers.csv"
    contacts.to_csv(customers, index=False)

    channels = sorted(set(orders["Source"]) - {""})
    spend = folder / "spend.csv"
    pd.DataFrame(
        [(month, channel, 100.0) for month in ("2025-01", "2025-06") for channel in channels],
        columns=["month", "channel", "spend"],
    ).to_csv(spend, index=False)
    attributes = folder / "attributes.csv"
    pd.DataFrame(
        {"email": list(emails.values()), "segment": [_payload(i, "b2b") for i in range(n)]}
    ).to_csv(attributes, index=False)
    return {"full": full, "early": early, "customers": customers, "spend": spend,
            "attributes": attributes}  # fmt: skip


def _run(corpus, *args) -> None:
    result = corpus.invoke(*args)
    corpus.no_traceback(result)
    assert result.exit_code == 0, (args, result.output)


def _every_output(corpus, folder: Path) -> Path:
    """Run every command that writes a CSV on the payload shop; the folder they wrote into."""
    shop = _payload_shop(folder)
    ws, out = folder / "w.duckdb", folder / "out"
    _run(corpus, "analyze", shop["early"], shop["customers"], "-w", ws, "-o", out / "q4")
    _run(corpus, "refresh", shop["full"], "-w", ws, "-o", out / "q2", "--spend", shop["spend"])
    _run(corpus, "summary", "-w", ws, "--out", out / "summary.csv")
    _run(corpus, "summary", shop["full"], "--out", out / "summary_files.csv",
         "--compressed", out / "compressed.csv")  # fmt: skip
    _run(corpus, "fit", out / "summary.csv", "--predict", "30", "--out", out / "predictions.csv")
    for by in ("channel", "first_product", "discount_code", "accepts_marketing", "tags"):
        _run(corpus, "channels", "-w", ws, "--by", by, "-o", out / f"channels-{by}",
             "--spend", shop["spend"])  # fmt: skip
    _run(corpus, "channels", "-w", ws, "--attributes", shop["attributes"],
         "--by-column", "segment", "-o", out / "channels-attributes")  # fmt: skip
    _run(corpus, "cohorts", "-w", ws, "-o", out / "cohorts")
    for by in ("channel", "first_product", "discount_code"):
        _run(corpus, "cohorts", "-w", ws, "--by", by, "-o", out / f"cohorts-{by}")
    _run(corpus, "affinity", "-w", ws, "--min-pairs", "1", "-o", out / "affinity")
    _run(corpus, "reminders", "-w", ws, "--due-within", "365", "--out", out / "reminders.csv")
    for to in ("klaviyo", "mailchimp", "meta", "google"):
        _run(corpus, "export", "--where", "historic_clv >= 0", "--to", to, "-w", ws,
             "--include-non-consenting", "-o", out / f"audience-{to}.csv")  # fmt: skip
    _run(corpus, "history", "-w", ws, "-o", out / "history.csv")
    _run(corpus, "compare", "-w", ws, "--top", "1000", "-o", out / "compare")
    return out


@pytest.fixture(scope="module")
def written(tmp_path_factory, corpus) -> dict[Path, list[list[str]]]:
    """Every CSV the commands wrote, as the rows of cells the ``csv`` module reads."""
    out = _every_output(corpus, tmp_path_factory.mktemp("formulas"))
    files = {}
    for path in sorted(out.rglob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            files[path.relative_to(out)] = list(csv.reader(handle))
    return files


def test_no_csv_valuecast_writes_has_a_live_formula_cell(written):
    live = [
        (str(path), r, c, cell)
        for path, rows in written.items()
        for r, row in enumerate(rows, start=1)
        for c, cell in enumerate(row, start=1)
        if cell.startswith(FORMULA_STARTS) and not NUMBER.match(cell)
    ]
    assert not live, f"{len(live)} formula cells, e.g. {live[:5]}"


def _cells(written, name: str, column: str) -> set[str]:
    """The cells of ``column`` in every written file called ``name``, read back."""
    found = set()
    for path, rows in written.items():
        if path.name == name and column in rows[0]:
            index = rows[0].index(column)
            found |= {unescape_cell(row[index]) for row in rows[1:]}
    assert found, f"no {column!r} in {name}"
    return found


@pytest.mark.parametrize(
    ("name", "column", "payload"),
    [
        ("customers.csv", "customer_id", '=hyperlink("http://evil.example/0")@evil.example'),
        ("customers.csv", "acquisition_channel", '=HYPERLINK("http://evil.example","email")'),
        ("channels.csv", "acquisition_channel", "@SUM(1+1)*cmd|' /C calc'!A0 google"),
        ("cac.csv", "channel", "-2+3+cmd|' /C calc'!A0 web"),
        ("channels.csv", "first_discount_code", '=HYPERLINK("http://evil.example","WELCOME10")'),
        ("channels.csv", "tag", "-2+3+cmd|' /C calc'!A0 wholesale"),
        ("channels.csv", "segment", "+b2b"),
        ("affinity.csv", "product_a", "@SUM(1+1)*cmd|' /C calc'!A0 Ceramic Pour-Over Dripper"),
    ],
)
def test_payloads_are_written_escaped_and_read_back_as_given(written, name, column, payload):
    """A payload is in the file (escaped), and reading the cell back gives it exactly."""
    assert payload in _cells(written, name, column)


def test_a_legitimate_leading_minus_or_plus_survives_a_round_trip(written):
    ids = _cells(written, "customers.csv", "customer_id")
    assert any(i.startswith("-") and i.endswith("@example.com") for i in ids)
    assert any(i.startswith("+") and i.endswith("@example.com") for i in ids)
    raw = {row[0] for row in written[Path("q2/customers.csv")][1:]}
    assert all(i[0] == "'" for i in raw if i.lstrip("'")[:1] in ("-", "+"))


def test_numbers_stay_numbers(written):
    """Number columns are written as numbers: negative values keep their sign, no apostrophe."""
    rows = written[Path("q2/customers.csv")]
    header = rows[0]
    numeric = [header.index(c) for c in ("historic_clv", "predicted_clv", "frequency")]
    for row in rows[1:]:
        for index in numeric:
            assert row[index] == "" or NUMBER.match(row[index]), row[index]


def test_every_command_wrote_its_files(written):
    """The scan covers each kind of file valuecast writes (a missing one would hide a writer)."""
    names = {path.name for path in written}
    expected = {
        "customers.csv", "channels.csv", "cac.csv", "cohorts.csv", "retention.csv",
        "affinity.csv", "next_products.csv", "reminders.csv", "summary.csv", "compressed.csv",
        "predictions.csv", "history.csv", "rfm_migration.csv", "tier_migration.csv",
        "high_value_to_at_risk.csv", "audience-klaviyo.csv", "audience-mailchimp.csv",
        "audience-meta.csv", "audience-google.csv",
    }  # fmt: skip
    assert expected <= names, expected - names
