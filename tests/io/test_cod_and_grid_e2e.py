"""`valuecast analyze` and `valuecast export` end to end on merchant exports no one here designed:
a cash-on-delivery Shopify shop whose customers give a phone and no e-mail, and Magento's admin
order-grid export."""

from __future__ import annotations

import csv
import hashlib
import json
import random
import shutil
from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

from valuecast.cli import app

runner = CliRunner()
N_PHONE_CUSTOMERS = 150


def _phone_forms(number: int) -> list[dict[str, str]]:
    """The ways a cash-on-delivery customer's number reaches the export, all one customer."""
    national = f"017{number:08d}"
    spaced = f"+880 {national[1:5]}-{national[5:]}"
    return [
        {"Phone": spaced},
        {"Billing Phone": "+880" + national[1:]},
        {"Billing Phone": national, "Billing Country": "BD"},
        {"Shipping Phone": spaced},
    ]


def write_cod_shop(exports, path) -> dict[str, bool]:
    """A year of phone-only orders; returns each customer's E.164 number -> marketing consent."""
    rng = random.Random(20)
    rows, consent, name = [], {}, 1000
    for number in range(N_PHONE_CUSTOMERS):
        accepts = number % 3 != 0
        consent["+8801" + f"7{number:08d}"] = accepts
        day = date(2024, 1, 1) + timedelta(days=rng.randint(0, 250))
        rate = rng.uniform(1 / 90, 1 / 20)
        while day <= date(2024, 12, 31):
            name += 1
            fields = rng.choice(_phone_forms(number))
            fields["Accepts Marketing"] = "yes" if accepts else "no"
            fields["Payment Method"] = "Cash on Delivery (COD)"
            fields = {key.replace(" ", "_"): value for key, value in fields.items()}
            rows.extend(
                exports.shopify_order(
                    f"#{name}", None, f"{day.isoformat()} 12:00:00 +0600",
                    lines=[("Saree", 1, float(rng.randint(20, 90)))], **fields,
                )
            )  # fmt: skip
            day += timedelta(days=max(1, int(rng.expovariate(rate))))
            if rng.random() < 0.15:
                break
    rows.extend(exports.shopify_order("#9999", None, "2024-12-30 12:00:00 +0600"))  # a guest
    exports.write_csv(path, exports.SHOPIFY_ORDERS_HEADER, rows)
    return consent


@pytest.fixture(scope="module")
def cod_shop(tmp_path_factory, exports):
    folder = tmp_path_factory.mktemp("cod")
    consent = write_cod_shop(exports, folder / "orders_export.csv")
    workspace = folder / "w.duckdb"
    result = runner.invoke(
        app,
        ["analyze", str(folder / "orders_export.csv"), "--workspace", str(workspace),
         "--out", str(folder / "out")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder, workspace, consent, result.output


def test_phone_only_shop_is_analysed_with_its_customers_counted(cod_shop):
    folder, _, consent, output = cod_shop
    report = json.loads((folder / "out" / "ingest_report.json").read_text())
    assert report["customers"] == report["phone_customers"] == N_PHONE_CUSTOMERS == len(consent)
    assert report["guest_orders"] == 1
    ingest = runner.invoke(
        app,
        ["ingest", str(folder / "orders_export.csv"), "--workspace", str(folder / "i.duckdb")],
    )
    assert ingest.exit_code == 0, ingest.output
    assert f"{N_PHONE_CUSTOMERS:,}  ({N_PHONE_CUSTOMERS:,} identified by phone)" in ingest.output
    assert "nothing to analyse" not in output
    summary = json.loads((folder / "out" / "summary.json").read_text())
    assert summary["n_customers"] == N_PHONE_CUSTOMERS
    with (folder / "out" / "customers.csv").open() as handle:
        ids = {row["customer_id"] for row in csv.DictReader(handle)}
    assert ids == {f"phone:{phone}" for phone in consent}


@pytest.mark.parametrize(
    ("to", "column", "form"),
    [("meta", "phone", lambda p: p[1:]), ("google", "Phone", lambda p: p)],
)
def test_audiences_carry_the_hashed_phone_of_consenting_customers(
    cod_shop, exports, tmp_path, to, column, form
):
    """The orders' Accepts Marketing is consent to e-mail, which these customers never gave:
    the customers export's Accepts SMS Marketing is what exports them."""
    folder, workspace, consent, _ = cod_shop
    copy = tmp_path / "w.duckdb"
    shutil.copy(workspace, copy)

    def exported() -> tuple[list[dict[str, str]], str]:
        out = tmp_path / f"all-{to}.csv"
        result = runner.invoke(
            app,
            ["export", "--where", "historic_clv >= 0", "--to", to, "--workspace", str(copy),
             "--out", str(out)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        with out.open() as handle:
            return list(csv.DictReader(handle)), " ".join(result.output.split())

    rows, said = exported()
    assert rows == []
    assert (
        f"{N_PHONE_CUSTOMERS} left out for lack of marketing consent (all of them known by a "
        "phone alone"
    ) in said
    customers = [
        {"Email": "", "Phone": phone, "Accepts SMS Marketing": "yes" if yes else "no"}
        for phone, yes in consent.items()
    ]
    people = exports.write_csv(
        tmp_path / "customers_export.csv", exports.SHOPIFY_CUSTOMERS_HEADERS[1], customers
    )
    ingest = runner.invoke(app, ["ingest", str(people), "--workspace", str(copy)])
    assert ingest.exit_code == 0, ingest.output
    rows, _ = exported()
    expected = {
        hashlib.sha256(form(phone).encode()).hexdigest() for phone, yes in consent.items() if yes
    }
    assert {row[column] for row in rows} == expected
    assert all(row["email" if to == "meta" else "Email"] == "" for row in rows)


def write_grid_shop(exports, path) -> dict[str, int]:
    """A year of a Magento shop as its admin order grid exports it; returns the expected counts."""
    rng = random.Random(5)
    store = "Main Website\nMain Website Store\nDefault Store View"
    rows, counts, number = [], {"Canceled": 0, "Closed": 0, "customers": 0}, 100
    for customer in range(120):
        day = date(2024, 1, 1) + timedelta(days=rng.randint(0, 300))
        counted = False
        while day <= date(2024, 12, 31):
            number += 1
            status = rng.choices(["Complete", "Processing", "Canceled", "Closed"], [80, 8, 7, 5])[0]
            subtotal = rng.randint(20, 1500)
            refunded = rng.choice([0, 0, 0, 10]) if status == "Complete" else 0
            refunded = subtotal + 5 if status == "Closed" else refunded
            counts[status] = counts.get(status, 0) + 1
            counted |= status not in ("Canceled", "Closed")
            stamp = (
                f"{day:%b} {day.day}, {day.year} {rng.randint(1, 12)}:{rng.randint(0, 59):02d}:07"
            )
            rows.append(
                {
                    "ID": f"{number:09d}", "Purchase Point": store,
                    "Purchase Date": f"{stamp} {rng.choice(['AM', 'PM'])}",
                    "Grand Total (Base)": f"${subtotal + 5:,.2f}",
                    "Grand Total (Purchased)": f"${subtotal + 5:,.2f}", "Status": status,
                    "Customer Email": f"buyer{customer}@example.com", "Subtotal": f"${subtotal:,.2f}",
                    "Shipping and Handling": "$5.00", "Total Refunded": f"${refunded:,.2f}",
                    "Billing Address": "1 Main St\nSpringfield, Illinois, 62701",
                }
            )  # fmt: skip
            day += timedelta(days=max(1, int(rng.expovariate(1 / 45))))
            if rng.random() < 0.2:
                break
        counts["customers"] += counted
    exports.write_csv(path, exports.MAGENTO_GRID_HEADER, rows)
    return counts


def test_magento_order_grid_export_is_analysed(tmp_path, exports):
    counts = write_grid_shop(exports, tmp_path / "export.csv")
    result = runner.invoke(
        app,
        ["analyze", str(tmp_path / "export.csv"), "--workspace", str(tmp_path / "w.duckdb"),
         "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "ingest_report.json").read_text())
    assert [item["format"] for item in report["files"]] == ["magento-grid"]
    assert report["excluded_orders"] == {
        "cancelled": counts["Canceled"],
        "refunded": counts["Closed"],
    }
    assert report["customers"] == counts["customers"] and report["guest_orders"] == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["n_customers"] == counts["customers"]
