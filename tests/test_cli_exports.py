"""`valuecast export` on a small workspace built from an orders CSV, through the command line."""

from __future__ import annotations

import csv
import hashlib
import random
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from valuecast.cli import app as valuecast
from valuecast.cli.exports import export
from valuecast.io import read_exports
from valuecast.jobs.analyze import AnalysisOptions, analyze
from valuecast.outputs.audiences import HEADERS, SEGMENTS
from valuecast.store import Workspace, snapshots

runner = CliRunner()
app = typer.Typer()
app.command("export")(export)

N_CUSTOMERS = 60
COLUMN_MAP = "customer_id=customer,ordered_at=date,revenue=amount,accepts_marketing=consent"
# (customer_id, email, first_name, last_name, phone, city, province, country, zip)
CONTACTS = [
    ("c1@example.com", "Test@Example.com", "=HYPERLINK(\"http://x\")", "Doe", "(616) 954-7888",
     "New York", "NY", "US", "02134-1234"),
    ("c2@example.com", "c2.home@example.com", "+1", "-x", "07700 900123", "London", None,
     "GB", "SW1A 1AA"),
    ("c4@example.com", None, "@x", "Smith", None, None, None, None, None),
]  # fmt: skip


def consents(number: int) -> bool:
    return number % 3 != 0


def write_orders(path) -> None:
    """A year of orders of N_CUSTOMERS customers buying at their own pace; c0, c3, ... decline
    marketing."""
    rng = random.Random(7)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer", "date", "amount", "consent"])
        for number in range(N_CUSTOMERS):
            day = date(2024, 1, 1) + timedelta(days=rng.randint(0, 300))
            first, rate, life = day, rng.uniform(1 / 120, 1 / 30), rng.expovariate(1 / 200)
            while day <= date(2024, 12, 31):
                consent = "yes" if consents(number) else "no"
                writer.writerow(
                    [f"c{number}@example.com", day.isoformat(), rng.randint(10, 200), consent]
                )
                day += timedelta(days=max(1, int(rng.expovariate(rate))))
                if (day - first).days > life:
                    break


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """The workspace path and the analysis the command sees (customers and as-of)."""
    folder = tmp_path_factory.mktemp("shop")
    orders = folder / "orders.csv"
    write_orders(orders)
    path = folder / "w.duckdb"
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(orders)], column_map=COLUMN_MAP))
        for row in CONTACTS:
            ws.con.con.execute(
                "INSERT INTO customers (customer_id, email, first_name, last_name, phone, city, "
                "province, country, zip) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                list(row),
            )
    # as it was before any analysis: the command analyses it itself
    shutil.copy(path, folder / "unanalysed.duckdb")
    # as `valuecast analyze` leaves it: the command reads the stored snapshot
    with Workspace(path) as ws:
        analysis = analyze(ws, AnalysisOptions())
        snapshots.save_snapshot(ws, analysis, options=AnalysisOptions())
    return path, analysis.customers


@pytest.fixture(scope="module")
def unanalysed(shop) -> Path:
    """The same shop's workspace holding no snapshot."""
    return shop[0].with_name("unanalysed.duckdb")


def read_csv(path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    assert lines[0].startswith("error: ")
    return lines[0]


def test_the_shop_has_champions_with_and_without_consent(shop):
    _, customers = shop
    champions = customers[customers["rfm_group"] == "Champions"]
    assert champions["accepts_marketing"].any() and not champions["accepts_marketing"].all()
    assert customers["churn_probability"].notna().all()  # the model was fitted


def test_champions_for_klaviyo_default_file_name_and_consent(
    shop, unanalysed, tmp_path, monkeypatch
):
    # without a snapshot the command analyses the workspace, and gets the same customers
    _, customers = shop
    path = tmp_path / "w.duckdb"
    shutil.copy(unanalysed, path)
    monkeypatch.chdir(tmp_path)
    result = invoke("--segment", "champions", "--to", "klaviyo", "--workspace", str(path))
    assert result.exit_code == 0, result.output
    header, rows = read_csv(tmp_path / "champions-klaviyo.csv")
    assert header == list(HEADERS["klaviyo"])  # test_exports spells the header out
    champions = customers[customers["rfm_group"] == "Champions"]
    consenting = champions[champions["accepts_marketing"]]
    # c1 and c2 have a contact e-mail; everyone else is exported under their e-mail id
    contact_email = {row[0]: row[1].lower() for row in CONTACTS if row[1]}
    expected = sorted(contact_email.get(cid, cid) for cid in consenting["customer_id"])
    assert sorted(row["Email"] for row in rows) == expected
    assert {row["rfm_group"] for row in rows} == {"Champions"}
    left_out = len(champions) - len(consenting)
    assert f"exported {len(consenting):,} customer" in result.output
    assert f"{left_out:,} left out for lack of marketing consent" in result.output
    by_id = {row["Email"]: row for row in rows}
    some = consenting.iloc[0]
    row = by_id[contact_email.get(some["customer_id"], some["customer_id"])]
    assert float(row["predicted_clv"]) == round(some["predicted_clv"], 2)


def test_include_non_consenting(shop, tmp_path):
    path, customers = shop
    out = tmp_path / "all.csv"
    result = invoke(
        "--segment", "champions", "--to", "mailchimp", "-w", str(path), "--out", str(out),
        "--include-non-consenting",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    header, rows = read_csv(out)
    assert header[:3] == ["Email Address", "First Name", "Last Name"]
    assert len(rows) == int((customers["rfm_group"] == "Champions").sum())
    assert "lack of marketing consent" not in result.output
    assert "--include-non-consenting" in result.output


def test_where_for_meta_hashes_the_contact_fields(shop, tmp_path):
    path, _ = shop
    out = tmp_path / "meta.csv"
    where = (
        "customer_id in ('c0@example.com', 'c1@example.com', 'c2@example.com', 'c4@example.com')"
    )
    result = invoke("--where", where, "--to", "meta", "-w", str(path), "-o", str(out))
    assert result.exit_code == 0, result.output
    header, rows = read_csv(out)
    assert header == ["email", "phone", "fn", "ln", "ct", "st", "zip", "country", "value"]
    # c0 declined marketing: 4 selected, 3 exported, 1 left out
    assert "exported 3 customers" in result.output and "4 selected" in result.output
    assert "1 left out for lack of marketing consent" in result.output
    c1, c2, c4 = rows
    assert c1["email"] == "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"
    assert c1["phone"] == sha("16169547888")
    assert c1["fn"] == sha("hyperlinkhttpx")
    assert (c1["ct"], c1["st"], c1["zip"]) == (sha("newyork"), sha("ny"), sha("02134"))
    assert c1["country"] == sha("us")
    assert float(c1["value"]) >= 0
    assert c2["email"] == sha("c2.home@example.com")
    assert c2["phone"] == sha("447700900123")
    assert (c2["fn"], c2["ln"]) == (sha("1"), sha("x"))
    assert (c2["st"], c2["zip"], c2["country"]) == ("", sha("sw1a1"), sha("gb"))
    assert c4["email"] == sha("c4@example.com")
    assert (c4["phone"], c4["ct"], c4["country"]) == ("", "", "")


def test_google_and_formula_safe_names(shop, tmp_path):
    path, _ = shop
    where = "customer_id in ('c1@example.com', 'c2@example.com', 'c4@example.com')"
    google = tmp_path / "google.csv"
    result = invoke("--where", where, "--to", "google", "-w", str(path), "-o", str(google))
    assert result.exit_code == 0, result.output
    header, rows = read_csv(google)
    assert header == ["Email", "Phone", "First Name", "Last Name", "Country", "Zip"]
    assert rows[0]["Phone"] == sha("+16169547888")
    assert rows[0]["First Name"] == sha('=hyperlink("http://x")')
    assert (rows[0]["Country"], rows[0]["Zip"]) == ("US", "02134")
    assert (rows[1]["Country"], rows[1]["Zip"]) == ("GB", "SW1A 1AA")

    mailchimp = tmp_path / "mailchimp.csv"
    result = invoke("--where", where, "--to", "mailchimp", "-w", str(path), "-o", str(mailchimp))
    assert result.exit_code == 0, result.output
    _, rows = read_csv(mailchimp)
    names = [(row["First Name"], row["Last Name"]) for row in rows]
    assert names == [('\'=HYPERLINK("http://x")', "Doe"), ("'+1", "'-x"), ("'@x", "Smith")]


def test_where_with_dates_and_keywords_in_capitals(shop, tmp_path):
    path, customers = shop
    out = tmp_path / "recent.csv"
    result = invoke(
        "--where", "last_order_date >= '2024-10-01' AND NOT rfm_group IN ('Dormant')",
        "--to", "klaviyo", "-w", str(path), "-o", str(out), "--include-non-consenting",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    _, rows = read_csv(out)
    expected = customers[
        (customers["last_order_date"] >= "2024-10-01") & (customers["rfm_group"] != "Dormant")
    ]
    assert len(rows) == len(expected) > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--segment", "vip", "--to", "klaviyo"], "unknown segment 'vip': known segments are"),
        (["--segment", "champions", "--where", "predicted_clv > 1", "--to", "meta"], "not both"),
        (["--to", "meta"], "give --segment NAME or --where EXPR"),
        (["--segment", "champions"], "give --to"),
        (["--segment", "champions", "--to", "tiktok"], "unknown --to 'tiktok'"),
        (
            ["--where", "__import__('os').system('touch pwned')", "--to", "meta"],
            "no function calls",
        ),
        (["--where", "rfm_group.lower() == 'x'", "--to", "meta"], "no function calls"),
        (["--where", "predicted_clv.real > 1", "--to", "meta"], "no attribute access"),
        (["--where", "secret > 1", "--to", "meta"], "unknown column 'secret'"),
        (["--where", "rfm_group = 'Champions'", "--to", "meta"], "compare with =="),
        (["--where", "x in [/]", "--to", "meta"], "--where: cannot read"),
        (
            ["--segment", "champions", "--to", "meta", "-o", "no/such/folder/x.csv"],
            "does not exist",
        ),
    ],
)
def test_errors_are_one_line_exit_2(shop, tmp_path, monkeypatch, args, message):
    path, _ = shop
    monkeypatch.chdir(tmp_path)
    line = one_error_line(invoke(*args, "--workspace", str(path)))
    assert message in line
    if "known segments" in message:
        assert all(name in line for name in SEGMENTS)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_missing_workspace_is_one_line(tmp_path):
    line = one_error_line(
        invoke("--segment", "champions", "--to", "meta", "-w", str(tmp_path / "none.duckdb"))
    )
    assert "no such workspace" in line


def test_out_is_a_folder(shop, tmp_path):
    path, _ = shop
    line = one_error_line(
        invoke("--segment", "champions", "--to", "meta", "-w", str(path), "-o", str(tmp_path))
    )
    assert "is a folder" in line


def test_empty_workspace_is_one_line(tmp_path):
    path = tmp_path / "empty.duckdb"
    Workspace(path).close()
    line = one_error_line(invoke("--segment", "champions", "--to", "meta", "-w", str(path)))
    assert "nothing to summarise" in line


def test_bracketed_input_is_shown_as_written_in_the_error(tmp_path):
    """fail() escapes Rich markup once: no markup eaten, no stray backslash."""
    result = runner.invoke(
        app, ["--segment", "vip[/]x[bold]", "--to", "klaviyo", "-w", str(tmp_path / "w")]
    )
    assert result.exit_code == 2
    assert "unknown segment 'vip[/]x[bold]'" in result.output
    assert "\\[" not in result.output


def test_a_shop_keyed_by_customer_number_exports_the_orders_emails(tmp_path):
    # a generic orders table (a database's orders) names customers by number and gives the
    # e-mail in a column of its own: the audience takes it from the orders
    orders = tmp_path / "orders.csv"
    rng = random.Random(3)
    with orders.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer", "date", "amount", "email", "consent"])
        for number in range(40):
            for _ in range(rng.randint(1, 4)):
                day = date(2024, 1, 1) + timedelta(days=rng.randint(0, 360))
                writer.writerow([number, day.isoformat(), rng.randint(10, 90),
                                 f"Buyer{number}@example.com", "yes"])  # fmt: skip
    path = tmp_path / "w.duckdb"
    mapping = (
        "customer_id=customer,ordered_at=date,revenue=amount,email=email,accepts_marketing=consent"
    )
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(orders)], column_map=mapping))
    out = tmp_path / "all.csv"
    result = invoke(
        "--where", "historic_clv > 0", "--to", "klaviyo", "-w", str(path), "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "exported 40 customers" in result.output
    _, rows = read_csv(out)
    assert sorted(row["Email"] for row in rows) == sorted(
        f"buyer{n}@example.com" for n in range(40)
    )


def test_customers_whose_consent_no_export_records_are_told_apart(tmp_path):
    # a WooCommerce or Magento export, or an orders table without a consent column, records
    # no consent: they are left out, and the output says why and what records it
    from shops import ingested

    rows = [f"buyer{n}@example.com,2024-0{1 + n % 3}-1{n % 9},{20 + n}" for n in range(12)]
    text = "customer,date,amount\n" + "\n".join(rows) + "\n"
    path = ingested(tmp_path, text, "customer_id=customer,ordered_at=date,revenue=amount")
    out = tmp_path / "all.csv"
    result = invoke(
        "--where", "historic_clv > 0", "--to", "klaviyo", "-w", str(path), "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "12 left out for lack of marketing consent (all of them with no consent recorded" in flat
    assert "--include-non-consenting" in flat
    # nobody ordered twice: nothing is predicted, and a value-based audience would get no value
    meta = invoke("--where", "historic_clv > 0", "--to", "meta", "--include-non-consenting",
                  "-w", str(path), "--out", str(tmp_path / "m.csv"))  # fmt: skip
    assert meta.exit_code == 0, meta.output
    assert "note: the value column is empty: no predicted CLV" in " ".join(meta.output.split())


def test_customers_without_an_email_are_left_out_for_that_not_for_consent(tmp_path):
    # an orders table of customer numbers, dates and amounts: no e-mail and no consent; what
    # would export them is an e-mail column, so --include-non-consenting is not offered
    from shops import ingested

    rows = [f"C{n:03d},2024-0{1 + n % 3}-1{n % 9},{20 + n}" for n in range(12)]
    text = "customer,date,amount\n" + "\n".join(rows) + "\n"
    path = ingested(tmp_path, text, "customer_id=customer,ordered_at=date,revenue=amount")
    meta = (
        "an e-mail, a phone whose country code is known or both names with a country and a zip "
        "or a city"
    )
    for to, missing, none in (
        ("klaviyo", "an e-mail", "an e-mail"),
        ("meta", meta, "an e-mail, a phone or a name and address"),
    ):
        out = tmp_path / f"{to}.csv"
        result = invoke("--where", "historic_clv > 0", "--to", to, "-w", str(path), "-o", out)
        assert result.exit_code == 0, result.output
        flat = " ".join(result.output.split())
        assert f"12 left out without {missing}" in flat
        assert f"note: no customer selected has {none}: the exports ingested give them none" in flat
        assert "--map email=COLUMN" in flat
        assert "0 left out for lack of marketing consent" in flat
        assert "--include-non-consenting" not in flat


def test_an_email_file_says_which_customers_left_out_the_meta_and_google_files_match(tmp_path):
    # a cash-on-delivery shop: customers known by a phone alone are in no Klaviyo file, and
    # the merchant is pointed to the files that match them, not told to add e-mails
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer,date,amount,phone,country,consent\n"
        "ann@x.com,2024-01-05,40,,US,yes\n"
        ",2024-02-05,30,(206) 555-0143,US,yes\n"
        ",2024-03-05,35,07700 900123,GB,no\n"
        "C-17,2024-03-07,20,,,yes\n"
    )
    path = tmp_path / "w.duckdb"
    mapping = (
        "customer_id=customer,ordered_at=date,revenue=amount,phone=phone,country=country,"
        "accepts_marketing=consent"
    )
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(orders)], column_map=mapping))
    result = invoke("--where", "historic_clv > 0", "--to", "klaviyo", "-w", str(path), "-o",
                    tmp_path / "k.csv")  # fmt: skip
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert (
        "3 left out without an e-mail (2 of them known by a phone number alone: the meta and "
        "google files match them)"
    ) in flat
    phones = invoke("--where", "customer_id != 'ann@x.com' and customer_id != 'C-17'", "--to",
                    "mailchimp", "-w", str(path), "-o", tmp_path / "m.csv")  # fmt: skip
    flat = " ".join(phones.output.split())
    assert "2 left out without an e-mail (known by a phone number alone: the meta" in flat
    assert "--map email=COLUMN" not in flat


def test_a_shopify_guest_known_by_a_phone_is_exported_on_sms_consent_alone(tmp_path):
    # a Shopify order's Accepts Marketing is consent to e-mail: a guest who gave a phone alone
    # is in no Meta or Google file on it; a customers export's Accepts SMS Marketing says
    orders = tmp_path / "orders_export.csv"
    orders.write_text(
        "Name,Email,Financial Status,Accepts Marketing,Currency,Subtotal,Total,Created at,"
        "Phone,Billing Country\n"
        "#1001,ann@example.com,paid,yes,USD,40.00,40.00,2024-01-05 10:00:00 -0500,,US\n"
        "#1002,,paid,yes,USD,30.00,30.00,2024-02-05 10:00:00 -0500,(206) 555-0143,US\n"
        "#1003,,paid,yes,USD,35.00,35.00,2024-03-05 10:00:00 -0500,(206) 555-0188,US\n"
    )
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(orders)]))
    out = tmp_path / "meta.csv"
    result = invoke("--where", "historic_clv > 0", "--to", "meta", "-w", str(path), "-o", out)
    assert result.exit_code == 0, result.output
    assert [row["email"] for row in read_csv(out)[1]] == [sha("ann@example.com")]
    flat = " ".join(result.output.split())
    assert (
        "2 left out for lack of marketing consent (all of them known by a phone alone, with no "
        "consent recorded for it: a Shopify order's Accepts Marketing is consent to e-mail; a "
        "Shopify customers export's Accepts SMS Marketing, or a column mapped as "
        "accepts_marketing, records it"
    ) in flat
    people = tmp_path / "customers_export.csv"
    people.write_text(
        "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,"
        "Default Address Country Code,Phone,Accepts SMS Marketing\n"
        "1,Bo,Lee,,no,US,+1 206 555 0143,yes\n"
        "2,Cy,Ray,,yes,US,+1 206 555 0188,no\n"
    )
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(people)]))
    result = invoke("--where", "historic_clv > 0", "--to", "google", "-w", str(path), "-o", out)
    assert result.exit_code == 0, result.output
    assert [row["Phone"] for row in read_csv(out)[1]] == ["", sha("+12065550143")]
    assert "1 left out for lack of marketing consent" in " ".join(result.output.split())


def test_an_orders_tables_phone_column_is_its_customers_phone_for_meta_and_google(tmp_path):
    # a shop keyed by customer number with a phone column: each customer's phone is that of
    # their latest order giving a number (a cell without one, n/a, gives none), with its row's
    # country, so the meta and google files match them by phone
    from shops import ingested

    text = (
        "customer,date,amount,tel,country,consent\n"
        "C-1,2024-01-05,40,(206) 555-0100,US,yes\n"
        "C-1,2024-03-05,45,(206) 555-0143,US,yes\n"
        "C-2,2024-02-05,30,06 12 34 56 78,FR,yes\n"
        "C-2,2024-04-05,35,n/a,FR,yes\n"
        "C-3,2024-02-07,20,,,yes\n"
    )
    mapping = (
        "customer_id=customer,ordered_at=date,revenue=amount,phone=tel,country=country,"
        "accepts_marketing=consent"
    )
    path = ingested(tmp_path, text, mapping)
    meta, google = tmp_path / "meta.csv", tmp_path / "google.csv"
    result = invoke("--where", "historic_clv > 0", "--to", "meta", "-w", str(path), "-o", meta)
    assert result.exit_code == 0, result.output
    rows = read_csv(meta)[1]
    assert [(row["phone"], row["country"]) for row in rows] == [
        (sha("12065550143"), sha("us")),
        (sha("33612345678"), sha("fr")),
    ]
    assert "1 left out without an e-mail, a phone" in " ".join(result.output.split())
    result = invoke("--where", "historic_clv > 0", "--to", "google", "-w", str(path), "-o", google)
    assert result.exit_code == 0, result.output
    assert [row["Phone"] for row in read_csv(google)[1]] == [
        sha("+12065550143"),
        sha("+33612345678"),
    ]


def test_a_phone_that_is_not_a_number_is_left_out_as_such(tmp_path):
    # Shopify's Phone "5550199" with country US is +1 555 0199: no number (a US number has 10
    # digits), so it is in no file, and the merchant is told why
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer,date,amount,phone,country,consent\n"
        ",2024-02-05,30,(206) 555-0143,US,yes\n"
        ",2024-03-05,35,5550199,US,yes\n"
        "ann@x.com,2024-03-07,20,,,yes\n"
    )
    path = tmp_path / "w.duckdb"
    mapping = (
        "customer_id=customer,ordered_at=date,revenue=amount,phone=phone,country=country,"
        "accepts_marketing=consent"
    )
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(orders)], column_map=mapping))
    out = tmp_path / "g.csv"
    result = invoke("--where", "historic_clv > 0", "--to", "google", "-w", str(path), "-o", out)
    assert result.exit_code == 0, result.output
    assert [row["Phone"] for row in read_csv(out)[1]] == ["", sha("+12065550143")]
    assert (
        "1 left out without an e-mail, a phone whose country code is known or both names with a "
        "country and a zip (all of them with a phone that is not a valid number: too short or "
        "too long for its country, so it is not hashed)"
    ) in " ".join(result.output.split())


def test_an_email_cell_with_two_addresses_is_exported_under_the_first(tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer,mail,date,amount,consent\n"
        'C-1,"carl@x.com, dora@x.com",2024-02-05,30,yes\n'
        "C-2,erin@x.com;fay@x.com,2024-03-05,35,yes\n"
        "C-3,gus@x.com,2024-03-07,20,yes\n"
    )
    path = tmp_path / "w.duckdb"
    mapping = (
        "customer_id=customer,email=mail,ordered_at=date,revenue=amount,accepts_marketing=consent"
    )
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(orders)], column_map=mapping))
    out = tmp_path / "k.csv"
    result = invoke("--where", "historic_clv > 0", "--to", "klaviyo", "-w", str(path), "-o", out)
    assert result.exit_code == 0, result.output
    assert [row["Email"] for row in read_csv(out)[1]] == ["carl@x.com", "erin@x.com", "gus@x.com"]
    assert (
        "note: 2 customers exported with an e-mail cell holding more than one address "
        "(carl@x.com;dora@x.com): each is exported under the first"
    ) in " ".join(result.output.split())


def test_a_filter_naming_a_group_in_other_letters_says_how_it_is_written(shop, tmp_path):
    out = tmp_path / "c.csv"
    result = invoke("--where", "rfm_group == 'champions' or predicted_spend_tier == 'HIGH'",
                    "--to", "klaviyo", "-w", str(shop[0]), "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "0 selected" in flat
    assert "note: 'champions' is written 'Champions' in the customers table" in flat
    assert "note: 'HIGH' is written 'high' in the customers table" in flat


def test_a_back_dated_export_uses_the_consent_known_today(tmp_path):
    # ann said yes in January and no in November; bob no, then yes: an analysis as of June
    # knows only their first answers, but an upload goes out today
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer,date,amount,consent\n"
        "ann@x.com,2024-01-16,71,yes\nann@x.com,2024-11-24,83,no\n"
        "bob@x.com,2024-02-10,40,no\nbob@x.com,2024-12-01,50,yes\n"
        "cy@x.com,2024-03-01,30,yes\n"
    )
    path = tmp_path / "w.duckdb"
    mapping = "customer_id=customer,ordered_at=date,revenue=amount,accepts_marketing=consent"
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(orders)], column_map=mapping))
    analysed = runner.invoke(
        valuecast, ["analyze", "-w", str(path), "--as-of", "2024-06-01", "-o", str(tmp_path / "q")]
    )
    assert analysed.exit_code == 0, analysed.output
    with Workspace(path, read_only=True) as ws:
        latest = snapshots.latest_snapshot(ws).snapshot_id
        then = snapshots.load_customers(ws, latest).set_index("customer_id")["accepts_marketing"]
    assert bool(then["ann@x.com"]) and not bool(then["bob@x.com"])  # as of June
    out = tmp_path / "k.csv"
    result = invoke("--where", "historic_clv > 0", "--to", "klaviyo", "-w", str(path), "-o", out)
    assert result.exit_code == 0, result.output
    _, rows = read_csv(out)
    assert sorted(row["Email"] for row in rows) == ["bob@x.com", "cy@x.com"]
    assert "1 left out for lack of marketing consent" in result.output


def test_prospects_are_the_customers_export_rows_without_orders(shop, tmp_path):
    # a Shopify customers export names subscribers who never bought: the prospects segment
    # (Shopify's Prospects) exports those who accept marketing, and no other segment moves
    path = tmp_path / "w.duckdb"
    shutil.copy(shop[0], path)
    customers = tmp_path / "customers_export.csv"
    customers.write_text(
        "First Name,Last Name,Email,Accepts Marketing,Total Spent,Total Orders\n"
        "Pia,Neu,pia@example.com,yes,0.00,0\n"
        "Otto,Nie,otto@example.com,no,0.00,0\n"
        "Carl,Zero,c1@example.com,yes,120.00,3\n"  # a buyer: not a prospect
    )
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(customers)]))
    before = invoke("--segment", "champions", "--to", "klaviyo", "-w", str(path), "--out",
                    str(tmp_path / "c.csv"))  # fmt: skip
    out = tmp_path / "prospects.csv"
    result = invoke("--segment", "prospects", "--to", "klaviyo", "-w", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "exported 1 customer (segment prospects, 2 selected, as of" in result.output
    assert "1 left out for lack of marketing consent" in result.output
    _, rows = read_csv(out)
    assert [row["Email"] for row in rows] == ["pia@example.com"]
    after = invoke("--segment", "champions", "--to", "klaviyo", "-w", str(path), "--out",
                   str(tmp_path / "c2.csv"))  # fmt: skip
    assert before.exit_code == after.exit_code == 0
    assert (tmp_path / "c.csv").read_text() == (tmp_path / "c2.csv").read_text()
    # the analysis predicts the buyers; a prospect has no order to predict from
    meta = invoke("--segment", "prospects", "--to", "meta", "-w", str(path), "--out",
                  str(tmp_path / "m.csv"))  # fmt: skip
    flat = " ".join(meta.output.split())
    assert "the value column is 0 on every row: prospects have no orders" in flat
    assert "no predicted CLV in this analysis" not in flat
    # a value on every row: Meta's value-based audience takes no empty cell
    assert [row["value"] for row in read_csv(tmp_path / "m.csv")[1]] == ["0.00"]


def test_a_customers_export_record_whose_address_bought_under_a_customer_number_is_no_prospect(
    tmp_path,
):
    # orders keyed by customer number carry the e-mail; the customers export names the same
    # people by their addresses (one written in capitals), and one subscriber who never bought
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer,email,date,amount\n"
        "1,S1,sue@example.com,2024-01-05,40\n"
        "2,S1,sue@example.com,2024-03-05,60\n"
        "3,S2,Dan@Example.com,2024-02-01,80\n"
    )
    export_file = tmp_path / "customers_export.csv"
    export_file.write_text(
        "First Name,Last Name,Email,Accepts Marketing,Total Spent,Total Orders\n"
        "Sue,Sub,sue@example.com,yes,100.00,2\n"
        "Dan,Dup,DAN@example.com,yes,80.00,1\n"
        "Pia,Neu,pia@example.com,yes,0.00,0\n"
    )
    path = tmp_path / "w.duckdb"
    column_map = "customer_id=customer,ordered_at=date,revenue=amount,email=email"
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(orders)], column_map=column_map))
        ws.ingest(read_exports([str(export_file)]))
        assert ws.prospects()["customer_id"].tolist() == ["pia@example.com"]
        analysis = analyze(ws, AnalysisOptions())
        snapshots.save_snapshot(ws, analysis, options=AnalysisOptions())
    out = tmp_path / "prospects.csv"
    result = invoke("--segment", "prospects", "--to", "klaviyo", "-w", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert [row["Email"] for row in read_csv(out)[1]] == ["pia@example.com"]


def test_an_opt_out_on_an_order_after_the_customers_export_stands(tmp_path):
    # the customers export (ingested on 2024-02-01) says yes; sue's order of March says no:
    # she opted out since, and dan's no of January is older than the export's yes
    export_file = tmp_path / "customers_export.csv"
    export_file.write_text(
        "First Name,Last Name,Email,Accepts Marketing,Total Spent,Total Orders\n"
        "Sue,Sub,sue@example.com,yes,40.00,1\n"
        "Dan,Dup,dan@example.com,yes,80.00,1\n"
    )
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer,date,amount,consent\n"
        "1,sue@example.com,2024-01-05,40,yes\n"
        "2,dan@example.com,2024-01-20,80,no\n"
        "3,sue@example.com,2024-03-05,60,no\n"
    )
    column_map = "customer_id=customer,ordered_at=date,revenue=amount,accepts_marketing=consent"
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(export_file)]))
        ws.raw.execute("UPDATE ingests SET ingested_at = TIMESTAMP '2024-02-01 12:00:00'")
        ws.ingest(read_exports([str(orders)], column_map=column_map))
        consent = ws.contacts().set_index("customer_id")["accepts_marketing"]
        assert consent.to_dict() == {"dan@example.com": True, "sue@example.com": False}
        analysis = analyze(ws, AnalysisOptions())
        snapshots.save_snapshot(ws, analysis, options=AnalysisOptions())
    out = tmp_path / "k.csv"
    args = ("--where", "historic_clv > 0", "--to", "klaviyo", "-w", str(path), "--out", str(out))
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert [row["Email"] for row in read_csv(out)[1]] == ["dan@example.com"]


def test_hashed_audiences_without_names_or_places_say_what_would_match_more(shop, tmp_path):
    """Meta and Google match on names and places too: an orders table gives neither, and the
    merchant is told where they come from; the shop holding contact rows gets no such note."""
    folder = tmp_path / "plain"
    folder.mkdir()
    orders = folder / "orders.csv"
    write_orders(orders)
    path = folder / "w.duckdb"
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(orders)], column_map=COLUMN_MAP))
        # as `valuecast analyze` leaves it: the three exports read one snapshot
        analysis = analyze(ws, AnalysisOptions())
        snapshots.save_snapshot(ws, analysis, options=AnalysisOptions())
    args = ("--where", "historic_clv > 0", "--include-non-consenting")
    meta = invoke(*args, "--to", "meta", "-w", str(path), "--out", str(tmp_path / "m.csv"))
    assert meta.exit_code == 0, meta.output
    assert (
        "note: no customer exported has a name or a place (city, zip or country): meta matches "
        "them on the e-mail alone; ingest a customers CSV with Email, First Name, Last Name, "
        "City, Zip, Country and Accepts Email Marketing columns (read as a Shopify customers "
        "export) to add them"
    ) in " ".join(meta.output.split())
    assert "ingest a Shopify customers export" not in meta.output
    google = invoke(*args, "--to", "google", "-w", str(path), "--out", str(tmp_path / "g.csv"))
    assert "has a name or a place (zip or country): google" in " ".join(google.output.split())
    klaviyo = invoke(*args, "--to", "klaviyo", "-w", str(path), "--out", str(tmp_path / "k.csv"))
    assert "note: no customer exported" not in klaviyo.output
    contacts = invoke(*args, "--to", "meta", "-w", str(shop[0]), "--out", str(tmp_path / "s.csv"))
    assert contacts.exit_code == 0 and "note: no customer exported" not in contacts.output


def test_a_shop_of_its_own_orders_table_gets_names_from_the_customers_csv_it_is_told_of(
    tmp_path,
):
    """The customers file the note describes for an orders table is read, and its names and
    places reach the Meta file."""
    orders = tmp_path / "orders.csv"
    write_orders(orders)
    with orders.open() as source:
        emails = sorted({row["customer"] for row in csv.DictReader(source)})
    customers = tmp_path / "people.csv"
    with customers.open("w", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(["Email", "First Name", "Last Name", "City", "Zip", "Country",
                         "Accepts Email Marketing"])  # fmt: skip
        for email in emails:
            writer.writerow([email, "Ann", "Lee", "Boston", "02134", "US", "yes"])
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(orders), str(customers)], column_map=COLUMN_MAP))
    args = ("--where", "historic_clv > 0", "--include-non-consenting")
    meta = invoke(*args, "--to", "meta", "-w", str(path), "--out", str(tmp_path / "m.csv"))
    assert meta.exit_code == 0, meta.output
    assert "note: no customer exported" not in meta.output


def test_two_records_of_one_name_and_address_are_one_row_of_the_meta_file(tmp_path):
    """Two customer records without a usable e-mail (``ann@example`` has no domain) or phone,
    of one name and address, are one person to Meta and Google, matched on the name and the
    place: one row, and the other counted as repeated, named as what repeats."""
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer,date,amount,consent\n"
        "ann@example,2024-01-05,30,yes\nann@example,2024-03-05,40,yes\n"
        "ann@shop,2024-02-05,25,yes\nbo@x.com,2024-02-07,20,yes\n"
    )
    people = tmp_path / "people.csv"
    people.write_text(
        "Email,First Name,Last Name,City,Zip,Country,Accepts Email Marketing\n"
        "ann@example,Ann,Lee,Boston,02134,US,yes\nann@shop,Ann,Lee,Boston,02134,US,yes\n"
    )
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(orders), str(people)], column_map=COLUMN_MAP))
    for to in ("meta", "google"):
        out = tmp_path / f"{to}.csv"
        result = invoke("--where", "historic_clv > 0", "--to", to, "-w", str(path), "-o", out)
        assert result.exit_code == 0, result.output
        flat = " ".join(result.output.split())
        assert "exported 2 customers" in flat
        assert "1 left out as repeated e-mail addresses, phones or names and addresses" in flat


def test_a_shop_of_two_platforms_is_told_each_ones_columns(tmp_path):
    """A shop whose orders come from WooCommerce and from its own table is told what gives
    names and places for each, and nothing of Shopify."""
    from valuecast.cli.exports import _where_contact_fields_come_from

    said = _where_contact_fields_come_from([], None, False, {"woocommerce", "orders"})
    assert said.startswith("ingest a customers CSV with Email, First Name, Last Name, City,")
    assert ", or a WooCommerce orders export with its billing_first_name," in said
    assert said.endswith("billing_country columns, to add them and match more")
    assert "Shopify customers export to" not in said


def test_hashed_audiences_say_what_an_ingested_customers_export_lacks(tmp_path):
    """With a customers export ingested, the note on missing places says what is missing (its
    Default Address columns), not to ingest one; where it gives places for other customers
    only, it says that."""
    orders = tmp_path / "orders.csv"
    write_orders(orders)
    names = tmp_path / "customers_export.csv"
    names.write_text(
        "First Name,Last Name,Email,Accepts Marketing\n"
        + "".join(f"F{n},L{n},c{n}@example.com,yes\n" for n in range(N_CUSTOMERS))
    )
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(orders)], column_map=COLUMN_MAP))
        ws.ingest(read_exports([str(names)]))
    args = ("--where", "historic_clv > 0", "--include-non-consenting")
    meta = invoke(*args, "--to", "meta", "-w", str(path), "--out", str(tmp_path / "m.csv"))
    assert meta.exit_code == 0, meta.output
    assert (
        "note: no customer exported has a place (city, zip or country): meta matches them on the "
        "e-mail alone; the customers export ingested has none: its Default Address columns are "
        "missing or empty"
    ) in " ".join(meta.output.split())
    assert "ingest a Shopify customers export" not in meta.output
    places = tmp_path / "places.csv"
    places.write_text(
        "First Name,Last Name,Email,Accepts Marketing,Default Address Zip\n"
        "Pia,Neu,pia@example.com,yes,10115\n"
    )
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(places)]))
    google = invoke(*args, "--to", "google", "-w", str(path), "--out", str(tmp_path / "g.csv"))
    assert google.exit_code == 0, google.output
    assert (
        "has a place (zip or country): google matches them on the e-mail alone; the exports "
        "ingested give them for other customers only"
    ) in " ".join(google.output.split())


def test_a_shop_before_its_first_sale_exports_its_subscribers_as_prospects(tmp_path):
    """A customers export alone (a pre-launch shop's subscriber list): the prospects segment
    needs no analysis; any other segment has nothing to select from, and says so."""
    customers = tmp_path / "customers_export.csv"
    customers.write_text(
        "First Name,Last Name,Email,Accepts Marketing,Total Spent,Total Orders\n"
        "Pia,Neu,pia@example.com,yes,0.00,0\nOtto,Nie,otto@example.com,no,0.00,0\n"
    )
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(customers)]))
    out = tmp_path / "prospects.csv"
    result = invoke("--segment", "prospects", "--to", "klaviyo", "-w", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"(segment prospects, 2 selected, as of {date.today()})" in result.output
    _, rows = read_csv(out)
    assert [row["Email"] for row in rows] == ["pia@example.com"]
    other = invoke("--segment", "champions", "--to", "klaviyo", "-w", str(path),
                   "--out", str(tmp_path / "c.csv"))  # fmt: skip
    assert "no orders with an order date" in one_error_line(other)


def test_an_export_after_a_back_dated_analysis_names_its_date(shop, tmp_path):
    """A quarter's snapshot analysed afterwards (``analyze --as-of``) is what export and
    channels read next: they say which day their customers are of, and how to get today's."""
    path = tmp_path / "w.duckdb"
    shutil.copy(shop[0], path)
    with Workspace(path, read_only=True) as ws:
        latest = ws.orders().order_date.max().execute().date()
    earlier = (latest - timedelta(days=90)).isoformat()
    analysed = runner.invoke(
        valuecast, ["analyze", "-w", str(path), "--as-of", earlier, "-o", str(tmp_path / "q")]
    )
    assert analysed.exit_code == 0, analysed.output
    note = (
        f"note: as of {earlier}, the date of the last analysis; the orders run to {latest}: "
        f"give --as-of {latest} for the customers as they are now"
    )
    args = ("--where", "historic_clv > 0", "--to", "klaviyo", "-w", str(path))
    result = invoke(*args, "--out", str(tmp_path / "a.csv"))
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert f"selected, as of {earlier}) for klaviyo" in flat and note in flat
    channels = runner.invoke(valuecast, ["channels", "-w", str(path), "-o", str(tmp_path / "c")])
    assert channels.exit_code == 0, channels.output
    assert note in " ".join(channels.output.split())
    now = invoke(*args, "--out", str(tmp_path / "b.csv"), "--as-of", latest.isoformat())
    assert now.exit_code == 0, now.output
    assert f"as of {latest})" in " ".join(now.output.split()) and "note: as of" not in now.output


def test_an_export_of_nobody_says_its_file_holds_the_header_only(shop, tmp_path):
    out = tmp_path / "none.csv"
    result = invoke("--where", "historic_clv < 0", "--to", "klaviyo", "-w", str(shop[0]),
                    "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "exported 0 customers" in flat
    assert (
        f"note: {out} holds the header only: no customer of the selection could be exported" in flat
    )
    assert out.read_text().count("\n") == 1
    some = invoke("--where", "historic_clv > 0", "--to", "klaviyo", "-w", str(shop[0]),
                  "--out", str(tmp_path / "some.csv"))  # fmt: skip
    assert "holds the header only" not in some.output


def test_margin_reruns_the_last_analysis_for_the_export(shop, tmp_path):
    # --margin scales the predicted CLV exported (the stored analysis has margin 1.0)
    path, customers = shop
    out = tmp_path / "half.csv"
    result = invoke(
        "--segment", "champions", "--to", "klaviyo", "--workspace", str(path),
        "--out", str(out), "--include-non-consenting", "--margin", "0.5",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    _, rows = read_csv(out)
    full = dict(zip(customers["customer_id"], customers["predicted_clv"], strict=True))
    contact_email = {row[1].lower(): row[0] for row in CONTACTS if row[1]}
    for row in rows:
        cid = contact_email.get(row["Email"], row["Email"])
        assert float(row["predicted_clv"]) == pytest.approx(0.5 * full[cid], abs=0.006)
    result = invoke(
        "--segment", "champions", "--to", "klaviyo", "--workspace", str(path),
        "--out", str(tmp_path / "bad.csv"), "--margin", "1.5",
    )  # fmt: skip
    assert "margin" in one_error_line(result)


def test_a_woocommerce_shop_without_names_is_told_its_orders_exports_columns(tmp_path):
    """A WooCommerce shop has no Shopify customers export: the note names the billing columns
    of its own orders export that give the names and places."""
    generic = tmp_path / "generic.csv"
    write_orders(generic)
    orders = tmp_path / "orders.csv"
    with generic.open() as source, orders.open("w", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(["order_id", "order_date", "status", "order_total", "order_currency",
                         "customer_email", "billing_email"])  # fmt: skip
        for number, row in enumerate(csv.DictReader(source), start=1):
            writer.writerow([number, f"{row['date']} 10:00:00", "wc-completed",
                             f"{row['amount']}.00", "EUR", row["customer"], row["customer"]])  # fmt: skip
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(orders)]))
    args = ("--where", "historic_clv > 0", "--include-non-consenting")
    meta = invoke(*args, "--to", "meta", "-w", str(path), "--out", str(tmp_path / "m.csv"))
    assert meta.exit_code == 0, meta.output
    said = " ".join(meta.output.split())
    assert "ingest a WooCommerce orders export with its billing_first_name," in said
    assert "Shopify" not in said


def test_an_email_that_is_no_address_is_left_out_and_said_so(shop, tmp_path):
    """Klaviyo rejects a row whose Email is no valid address: ``carl@example`` (no domain) is
    left out of the file, and the command says how many such cells it met."""
    path = tmp_path / "w.duckdb"
    shutil.copy(shop[0], path)
    with Workspace(path) as ws:
        ws.con.con.execute("UPDATE customers SET email = 'carl@example' WHERE customer_id = ?",
                           ["c1@example.com"])  # fmt: skip
    out = tmp_path / "k.csv"
    where = "customer_id in ('c1@example.com', 'c2@example.com')"
    result = invoke("--where", where, "--to", "klaviyo", "--include-non-consenting",
                    "-w", str(path), "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    _, rows = read_csv(out)
    assert [row["Email"] for row in rows] == ["c2.home@example.com"]
    assert "1 left out without an e-mail" in result.output
    assert "of those, 1 has an e-mail cell that is no address" in result.output


def test_a_shopify_order_email_that_is_no_address_is_counted_as_such(tmp_path):
    """A Shopify orders export keys its customers by the order's Email: one that is no address
    (``omar@example``) is the customer's id and nothing else, and Klaviyo's count of those
    left out says their e-mail cell is no address, as it does for a customers export's; Meta
    matches the buyer by name and address, with the e-mail cell empty, and says so."""
    orders = tmp_path / "orders_export.csv"
    orders.write_text(
        "Name,Email,Financial Status,Accepts Marketing,Currency,Subtotal,Total,Created at,"
        "Billing Name,Billing City,Billing Zip,Billing Country\n"
        "#1001,ann@example.com,paid,yes,USD,40.00,40.00,2024-01-05 10:00:00 -0500,"
        "Ann Lee,Boston,02134,US\n"
        "#1002,omar@example,paid,yes,USD,30.00,30.00,2024-02-05 10:00:00 -0500,"
        "Omar Said,Boston,02134,US\n"
    )
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        ws.ingest(read_exports([str(orders)]))
    out = tmp_path / "k.csv"
    result = invoke("--where", "historic_clv > 0", "--to", "klaviyo", "-w", str(path), "-o", out)
    assert result.exit_code == 0, result.output
    assert [row["Email"] for row in read_csv(out)[1]] == ["ann@example.com"]
    flat = " ".join(result.output.split())
    assert "1 left out without an e-mail" in flat
    assert "of those, 1 has an e-mail cell that is no address" in flat
    result = invoke("--where", "historic_clv > 0", "--to", "meta", "-w", str(path), "-o", out)
    assert result.exit_code == 0, result.output
    assert [row["email"] for row in read_csv(out)[1]] == [sha("ann@example.com"), ""]
    flat = " ".join(result.output.split())
    assert (
        "note: 1 customer exported by a phone or a name and address with an e-mail cell that "
        "is no address (carl@example): their e-mail cells are empty"
    ) in flat


def test_an_audience_from_an_old_analysis_says_how_old_it_is(shop, tmp_path):
    """A flow keyed on expected next-order dates months past would misfire: the export says the
    analysis' age and what to do; a recent analysis gets no note."""
    from datetime import date, timedelta

    from valuecast.cli.common import STALE_AFTER_DAYS, stale_analysis_note

    path, customers = shop
    result = invoke("--segment", "champions", "--to", "klaviyo", "--workspace", str(path),
                    "--out", str(tmp_path / "c.csv"))  # fmt: skip
    assert result.exit_code == 0, result.output
    with Workspace(path, read_only=True) as ws:
        as_of = snapshots.list_snapshots(ws)[-1].as_of
    days = (date.today() - date.fromisoformat(str(as_of))).days
    assert days > STALE_AFTER_DAYS
    assert (
        f"note: the analysis is as of {as_of}, {days:,} days before today: its groups, churn and "
        "expected next-order dates are that day's (dates before today have passed); refresh it "
        "with a newer export before sending"
    ) in " ".join(result.output.split())
    day = date(2026, 6, 30)
    assert stale_analysis_note("2026-06-30", day + timedelta(days=STALE_AFTER_DAYS)) is None
    assert stale_analysis_note("2026-06-30", day + timedelta(days=STALE_AFTER_DAYS + 1))
