"""A phone-only customer whose number a later export gives without its country: the customer of
the one number stored with its country that it can be, as within a file."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from valuecast.cli import app
from valuecast.store import Workspace

HEADER = "order_id,customer_id,ordered_at,revenue,phone"
MAP = "revenue=revenue,phone=phone"


def _ingest(tmp_path, name: str, rows: list[str]) -> dict:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    workspace = tmp_path / "w.duckdb"
    result = CliRunner().invoke(
        app, ["ingest", str(path), "-w", str(workspace), "--map", MAP, "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _ingest_together(tmp_path, files: dict[str, list[str]]) -> dict:
    """One ingest of several files (name -> rows) into the workspace."""
    paths = []
    for name, rows in files.items():
        paths.append(tmp_path / name)
        paths[-1].write_text("\n".join([HEADER, *rows]) + "\n")
    workspace = tmp_path / "w.duckdb"
    result = CliRunner().invoke(
        app, ["ingest", *map(str, paths), "-w", str(workspace), "--map", MAP, "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _customers(tmp_path) -> dict[str, str]:
    with Workspace(tmp_path / "w.duckdb", read_only=True) as ws:
        orders = ws.orders().execute()
    return dict(zip(orders["order_number"], orders["customer_id"], strict=True))


def test_a_national_number_of_a_later_export_is_the_stored_international_ones_customer(tmp_path):
    """``+44 7700 900123`` then ``07700900123`` with no country: one customer, said once."""
    _ingest(tmp_path, "q1.csv", ["1,,2025-01-05,10,+44 7700 900123", "2,C2,2025-01-06,20,"])
    report = _ingest(tmp_path, "q2.csv", ["3,,2025-04-05,30,07700900123"])
    assert report["workspace_customers"] == 2, report
    assert (
        "1 order naming its customer by a phone number without its country (07700900123) is the "
        "customer of the one number stored with its country it can be (+447700900123), by which "
        "the audience files match them"
    ) in report["notes"], report["notes"]
    assert _customers(tmp_path) == {
        "1": "phone:+447700900123", "2": "C2", "3": "phone:+447700900123"
    }  # fmt: skip
    again = _ingest(tmp_path, "q2.csv", ["3,,2025-04-05,30,07700900123"])
    assert (again["new_orders"], again["updated_orders"]) == (0, 0), again
    assert not any("one number stored" in note for note in again["notes"]), again["notes"]


@pytest.mark.parametrize("first", ["international", "national"])
def test_files_of_a_first_ingest_join_a_national_number_as_one_file_does(tmp_path, first):
    """``+44 7700 900123`` in one file and ``07700900123`` in another, both in the first ingest
    of an empty workspace, whichever comes first: one customer, said once, as when the files
    are ingested one after the other."""
    files = {
        "q1.csv": ["1,,2025-01-05,10,+44 7700 900123", "2,C2,2025-01-06,20,"],
        "q2.csv": ["3,,2025-04-05,30,07700900123"],
    }
    if first == "national":
        files = {"q2.csv": files["q2.csv"], "q1.csv": files["q1.csv"]}
    report = _ingest_together(tmp_path, files)
    assert report["workspace_customers"] == 2, report
    assert (
        "1 order naming its customer by a phone number without its country (07700900123) is the "
        "customer of the one number stored with its country it can be (+447700900123), by which "
        "the audience files match them"
    ) in report["notes"], report["notes"]
    assert not any("without its country code" in note for note in report["notes"]), report
    assert _customers(tmp_path) == {
        "1": "phone:+447700900123", "2": "C2", "3": "phone:+447700900123"
    }  # fmt: skip
    again = _ingest_together(tmp_path, files)
    assert (again["new_orders"], again["updated_orders"]) == (0, 0), again
    assert not any("one number stored" in note for note in again["notes"]), again["notes"]


def test_a_national_number_joins_the_customer_whose_orders_gave_it_with_its_country(tmp_path):
    """A registered customer's number (``C1`` with ``+44 7700 900123``): a later guest order
    giving it nationally is C1's, as the same phone's orders are within a file."""
    _ingest(tmp_path, "q1.csv", ["1,C1,2025-01-05,10,+44 7700 900123"])
    report = _ingest(tmp_path, "q2.csv", ["2,,2025-04-05,30,07700 900123"])
    assert report["workspace_customers"] == 1, report
    assert _customers(tmp_path) == {"1": "C1", "2": "C1"}


@pytest.mark.parametrize("first", ["international", "national"])
def test_files_of_one_ingest_join_a_national_number_to_the_customer_giving_it_with_its_country(
    tmp_path, first
):
    """``C1`` with ``+44 7700 900123`` in one file and a guest order with ``07700 900123`` in
    another, both in one ingest: C1's order, as in one file or two ingests."""
    files = {
        "q1.csv": ["1,C1,2025-01-05,10,+44 7700 900123"],
        "q2.csv": ["2,,2025-04-05,30,07700 900123"],
    }
    if first == "national":
        files = {"q2.csv": files["q2.csv"], "q1.csv": files["q1.csv"]}
    report = _ingest_together(tmp_path, files)
    assert report["workspace_customers"] == 1, report
    assert not any("without its country code" in note for note in report["notes"]), report
    assert _customers(tmp_path) == {"1": "C1", "2": "C1"}
    again = _ingest_together(tmp_path, files)
    assert (again["new_orders"], again["updated_orders"]) == (0, 0), again


def test_a_stored_national_number_joins_the_customer_a_later_export_gives_it_with(tmp_path):
    """A guest order with ``07700 900123`` stored, then ``C1``'s order with ``+44 7700 900123``:
    C1's order, as when the files come the other way round."""
    _ingest(tmp_path, "q1.csv", ["1,,2025-01-05,10,07700 900123"])
    report = _ingest(tmp_path, "q2.csv", ["2,C1,2025-04-05,30,+44 7700 900123"])
    assert report["workspace_customers"] == 1, report
    assert _customers(tmp_path) == {"1": "C1", "2": "C1"}


def test_a_national_number_two_stored_numbers_can_be_stays_a_customer_of_its_own(tmp_path):
    """``07700900123`` is ``+44 7700 900123`` at home in Britain and ``+49 770 0900123`` at
    home in Germany: which customer it is cannot be told."""
    _ingest(
        tmp_path, "q1.csv",
        ["1,,2025-01-05,10,+44 7700 900123", "2,,2025-01-06,20,+49 770 0900123"],
    )  # fmt: skip
    report = _ingest(tmp_path, "q2.csv", ["3,,2025-04-05,30,07700900123"])
    assert report["workspace_customers"] == 3, report
    assert _customers(tmp_path)["3"] == "phone:07700900123"


def test_a_stored_national_number_is_the_customer_a_later_export_gives_with_its_country(
    tmp_path,
):
    """``07700900123`` with no country first, then ``+44 7700 900123``: one customer, the
    number's, said once."""
    _ingest(tmp_path, "q1.csv", ["1,,2025-01-05,10,07700900123", "2,C2,2025-01-06,20,"])
    report = _ingest(tmp_path, "q2.csv", ["3,,2025-04-05,30,+44 7700 900123"])
    assert report["workspace_customers"] == 2, report
    assert (
        "1 stored order named its customer by a phone number without its country "
        "(07700900123): named by the one number with its country it can be now, as these files "
        "give it, so that each is one customer"
    ) in report["notes"], report["notes"]
    assert _customers(tmp_path) == {
        "1": "phone:+447700900123", "2": "C2", "3": "phone:+447700900123"
    }  # fmt: skip
    again = _ingest(tmp_path, "q2.csv", ["3,,2025-04-05,30,+44 7700 900123"])
    assert (again["new_orders"], again["updated_orders"]) == (0, 0), again
    assert not any("stored order named" in note for note in again["notes"]), again["notes"]


def test_a_stored_order_numbered_by_its_national_number_is_one_with_the_export_again(tmp_path):
    """A file without order ids numbers an order by its customer (``phone:07700900123|...``):
    the whole history exported again with the country numbers it by the number with it, and
    the stored order is that one, not a second."""
    header = HEADER.split(",", 1)[1]
    first = tmp_path / "q1.csv"
    first.write_text(f"{header}\n,2025-01-05,10,07700900123\n")
    second = tmp_path / "q2.csv"
    second.write_text(f"{header}\n,2025-01-05,10,+44 7700 900123\n,2025-04-05,30,+44 7700 900123\n")
    workspace = tmp_path / "w.duckdb"
    for path in (first, second):
        result = CliRunner().invoke(
            app, ["ingest", str(path), "-w", str(workspace), "--map", MAP, "--json"]
        )
        assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["new_orders"], report["workspace_orders"]) == (1, 2), report
    assert set(_customers(tmp_path).values()) == {"phone:+447700900123"}


def test_the_note_on_numbers_without_their_country_counts_those_the_join_left(tmp_path):
    """The file's note on customers known by a number without its country counts, after the
    ingest gave such a number the customer of the stored international one it is, only the
    numbers still without it: the audience files match the joined ones."""
    _ingest(tmp_path, "q1.csv", ["1,,2025-01-05,10,+44 7700 900123", "2,C2,2025-01-06,20,"])
    report = _ingest(
        tmp_path, "q2.csv", ["3,,2025-04-05,30,07700900123", "4,,2025-04-06,40,0612345678"]
    )
    national = [note for note in report["notes"] if "without its country code" in note]
    assert national == [
        "q2.csv: 1 customer is known by a phone number without its country code "
        "(phone:0612345678): counted and modelled, but Meta and Google audiences cannot match "
        "it; map country=COLUMN (each row's country) or country=FR (the country of every row) "
        "to give the numbers their code"
    ], report["notes"]
    (file,) = report["files"]
    assert [note for note in file["notes"] if "without its country code" in note] == [
        national[0].removeprefix("q2.csv: ")
    ]
    joined = _ingest(tmp_path, "q3.csv", ["5,,2025-07-05,50,07700 900123"])
    assert not any("without its country code" in note for note in joined["notes"]), joined
    assert not any("without its country code" in n for n in joined["files"][0]["notes"])
    assert _customers(tmp_path)["5"] == "phone:+447700900123"
