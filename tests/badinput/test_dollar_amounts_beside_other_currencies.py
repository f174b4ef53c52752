"""Amounts written with ``$`` name no currency (a US, Canadian, Australian ... dollar), so
they are read in the shop's one currency; beside orders in a currency no dollar is (euros),
in the same ingest, with ``--fx`` or in the workspace, they are refused, not added to them."""

from __future__ import annotations

import pytest

HEADER = "order_id,customer_email,order_date,total\n"
DOLLARS = HEADER + "1,a@x.com,2025-01-05,$100.00\n2,b@x.com,2025-02-05,$50.00\n"
EUROS = HEADER + "101,c@x.com,2025-01-07,€80.00\n102,d@x.com,2025-02-09,€20.00\n"
CANADIAN = HEADER + "201,e@x.com,2025-01-08,CA$30.00\n"


@pytest.fixture
def files(tmp_path):
    paths = {}
    for name, text in (("us", DOLLARS), ("eu", EUROS), ("ca", CANADIAN)):
        paths[name] = tmp_path / f"{name}_orders.csv"
        paths[name].write_text(text, encoding="utf-8")
    return paths


def _refused(corpus, result, file: str, start: str) -> None:
    corpus.no_traceback(result)
    assert result.exit_code != 0
    assert f"{file}: amounts written in $" in result.output
    assert start in " ".join(result.output.split())


def test_dollars_and_euros_in_one_ingest_are_refused(corpus, tmp_path, files):
    workspace = tmp_path / "ws.duckdb"
    result = corpus.ingest([files["us"], files["eu"]], workspace)
    _refused(
        corpus, result, "us_orders.csv", "while other orders are in EUR: add a currency column"
    )
    assert not workspace.exists() or not corpus.stored_orders(workspace)


def test_fx_does_not_take_dollars_to_be_its_euro_base(corpus, tmp_path, files):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate\nEUR,1\nUSD,0.92\n")
    result = corpus.ingest([files["us"], files["eu"]], tmp_path / "ws.duckdb", "--fx", rates)
    _refused(
        corpus, result, "us_orders.csv", "--fx would take them to be in EUR, as the others are"
    )


@pytest.mark.parametrize("first", ["us", "eu"])
def test_dollars_and_euros_in_two_ingests_are_refused_either_way(corpus, tmp_path, files, first):
    workspace = tmp_path / "ws.duckdb"
    second = "eu" if first == "us" else "us"
    assert corpus.ingest(files[first], workspace).exit_code == 0
    before = corpus.stored_orders(workspace)
    result = corpus.ingest(files[second], workspace)
    stored = " (stored by ingest 1)" if first == "us" else ""
    _refused(corpus, result, "us_orders.csv", "while other orders are in EUR")
    assert f"amounts written in ${stored} name no currency" in " ".join(result.output.split())
    assert corpus.stored_orders(workspace) == before


def test_dollars_beside_a_dollar_currency_are_read(corpus, tmp_path, files):
    workspace = tmp_path / "ws.duckdb"
    report = corpus.report(corpus.ingest([files["us"], files["ca"]], workspace, "--json"))
    assert report["orders"] == 3


def test_a_large_file_of_dollars_loaded_by_duckdb_is_refused_beside_euros(corpus, tmp_path, files):
    # over 1 MiB: DuckDB's route loads it, and knows its amounts were written in $ as well
    rows = "".join(f"{k},c{k % 5000}@x.com,2025-01-{1 + k % 28:02d},$1,{k % 1000:03d}.50\n"
                   for k in range(40_000))  # fmt: skip
    large = tmp_path / "us_orders.csv"
    large.write_text(HEADER.replace("total", '"total"') + rows.replace("$1,", '"$1,').replace(
        ".50\n", '.50"\n'))  # fmt: skip
    assert large.stat().st_size > 1 << 20
    workspace = tmp_path / "ws.duckdb"
    assert corpus.ingest(files["eu"], workspace).exit_code == 0
    _refused(corpus, corpus.ingest(large, workspace), "us_orders.csv", "other orders are in EUR")
