"""Marketing spend files: parsing, summing and one-line errors naming file, row and column."""

from __future__ import annotations

import pandas as pd
import pytest

from valuecast.io.schema import InputError
from valuecast.io.spend import SHOP_WIDE, SPEND_BY_DAY, SPEND_COLUMNS, read_spend


def records(spend: pd.DataFrame) -> list[dict]:
    """The rows of month, channel and spend (without the spend of each day)."""
    return spend[list(SPEND_COLUMNS)].to_dict("records")


def write(tmp_path, text: str, name: str = "spend.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_reads_months_channels_and_money_and_sums_duplicates(tmp_path):
    path = write(
        tmp_path,
        "Month,CHANNEL,Spend\n"
        '2024-01,google,"$1,234.50"\n'
        "2024-01-15,google,100\n"  # a date means its month: google 2024-01 = 1234.50 + 100
        "2024-02,facebook,0\n"  # zero is a reported spend
        "2024-02, google ,USD 50.25\n",  # channel trimmed
    )
    spend = read_spend(path)
    assert list(spend.columns) == ["month", "channel", "spend", SPEND_BY_DAY]
    # a month written as a month and as a day has no days: its spend is the month's
    assert spend[SPEND_BY_DAY].isna().tolist() == [True, True, True]
    assert records(spend) == [
        {"month": "2024-01", "channel": "google", "spend": 1334.5},
        {"month": "2024-02", "channel": "facebook", "spend": 0.0},
        {"month": "2024-02", "channel": "google", "spend": 50.25},
    ]
    assert spend["spend"].dtype == float
    assert spend.attrs["repeated_rows"] is None  # two rows of a month, neither a copy


def test_a_row_repeating_another_exactly_is_added_up_and_noted(tmp_path):
    """A row pasted twice doubles its channel's spend: added up, as two campaigns' rows are,
    and noted; the same month written 2024-01 and 2024-01-01 is the same row too."""
    from typer.testing import CliRunner

    from valuecast.cli.common import read_spend_or_fail

    path = write(tmp_path, "month,channel,spend\n2024-01,Google,1000\n2024-01-01,Google,1000\n"
                 "2024-02,Google,1000\n2024-02,Meta,1000\n")  # fmt: skip
    spend = read_spend(path)
    assert spend.loc[spend["month"] == "2024-01", "spend"].tolist() == [2000.0]
    assert spend.attrs["repeated_rows"] == (
        "1 row repeats another row exactly (2024-01, Google, 1,000.00): rows of one month and "
        "channel are added up, so if the file holds copies, remove it"
    )
    import typer

    app = typer.Typer()
    app.command()(lambda: None if read_spend_or_fail(path) is None else None)
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 0
    assert " ".join(result.output.split()).startswith("note: spend.csv: 1 row repeats another")


def test_decimal_comma_semicolons_aliases_and_timestamps(tmp_path):
    path = write(
        tmp_path,
        "channel;month;cost;comment\n"
        "Meta Ads;2024-03-01 00:00:00;1.234,50;spring\n"  # decimal comma: 1234.50
        "Meta Ads;2024-03;0,50;\n"  # + 0.50 -> 1235.00
        "email;2023-12;12,00;\n",
    )
    spend = read_spend(path)
    assert records(spend) == [
        {"month": "2023-12", "channel": "email", "spend": 12.0},
        {"month": "2024-03", "channel": "Meta Ads", "spend": 1235.0},
    ]


@pytest.mark.parametrize("header", ["Day", "date"])
def test_a_daily_export_s_date_column_is_its_month(tmp_path, header):
    # Google Ads' daily report names the column Day: each day's spend goes to its month
    path = write(
        tmp_path,
        f"{header},Channel,Cost\n2024-01-30,google,10\n2024-01-31,google,12\n2024-02-01,google,7\n",
    )
    assert records(read_spend(path)) == [
        {"month": "2024-01", "channel": "google", "spend": 22.0},
        {"month": "2024-02", "channel": "google", "spend": 7.0},
    ]
    # a month column beside it is the month column
    both = write(tmp_path, f"{header},month,channel,spend\n2023-05-02,2024-01,google,10\n")
    assert read_spend(both)["month"].tolist() == ["2024-01"]


def test_spend_per_week_is_refused_with_the_forms_that_work(tmp_path):
    # a week starting on 29 January runs into February: all of it in January would be wrong
    path = write(tmp_path, "Week,Channel,Cost\n2024-01-29,google,70\n")
    with pytest.raises(InputError) as caught:
        read_spend(path)
    assert caught.value.row == 1 and caught.value.column == "Week"
    assert "give the spend per month or per day (a month or date column)" in str(caught.value)


def test_rows_of_only_empty_cells_are_skipped(tmp_path):
    path = write(tmp_path, "month,channel,spend\n2024-01,google,10\n,,\n2024-01,google,5\n")
    assert records(read_spend(path)) == [{"month": "2024-01", "channel": "google", "spend": 15.0}]


def test_channels_differing_in_case_stay_apart_here(tmp_path):
    # matching channels case-insensitively is the CAC table's job; the reader keeps what it read
    path = write(tmp_path, "month,channel,spend\n2024-01,Google,10\n2024-01,google,5\n")
    assert read_spend(path)["channel"].tolist() == ["Google", "google"]


@pytest.mark.parametrize(
    ("text", "row", "column", "fragment"),
    [
        ("month,channel\n2024-01,google\n", 1, "spend", "required column is missing"),
        ("Channel,Spend\ngoogle,10\n", 1, "month", "the header has: Channel, Spend"),
        ("month,channel,spend\n2024-01,google,10\n2024-13,google,5\n", 3, "month", "2024-13"),
        # a two-digit year is not read as a year (Jan-24 could be 24 January)
        ("month,channel,spend\nJan-24,google,5\n", 2, "month", "Mar 2024 are read too"),
        (
            "month,channel,spend\n2024-01-01 - 2024-02-29,google,5\n",
            2,
            "month",
            "covers several months (2024-01 to 2024-02): give the spend of each month",
        ),
        ("month,channel,spend\n2024-02-30,google,5\n", 2, "month", "2024-02-30"),
        ("month,channel,spend\n24-02,google,5\n", 2, "month", "use YYYY-MM"),
        ("month,channel,spend\n,google,5\n", 2, "month", "month is empty"),
        ("month,channel,spend\n2024-01,,5\n", 2, "channel", "channel is empty"),
        ("month,channel,spend\n2024-01,google,10\n2024-02,google,-5\n", 3, "spend", "negative"),
        ("month,channel,spend\n2024-01,google,(12.00)\n", 2, "spend", "negative"),
        ("month,channel,spend\n2024-01,google,10\n2024-01,tv,abc\n", 3, "spend", "'abc'"),
        ("month,channel,spend\n2024-01,google,\n", 2, "spend", "spend is empty"),
        # blank lines count as rows, as a spreadsheet shows them
        ("month,channel,spend\n2024-01,google,1\n\n\n2024-1x,tv,2\n", 5, "month", "2024-1x"),
        ("month,channel,spend\n", 2, None, "no spend rows"),
    ],
)
def test_errors_name_file_row_and_column_on_one_line(tmp_path, text, row, column, fragment):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        read_spend(path)
    error = caught.value
    assert error.file == str(path)
    assert error.row == row
    assert error.column == column
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"{path}, row {row}")
    if column is not None:
        assert f"column {column!r}" in message
    assert fragment in message


def test_empty_and_missing_files(tmp_path):
    empty = write(tmp_path, "", name="empty.csv")
    with pytest.raises(InputError, match="empty"):
        read_spend(empty)
    with pytest.raises(InputError, match="cannot read the file"):
        read_spend(tmp_path / "nope.csv")


def test_result_is_a_plain_frame_sorted_by_month_then_channel(tmp_path):
    path = write(
        tmp_path, "month,channel,spend\n2024-02,b,1\n2024-01,c,2\n2024-02,a,3\n2024-01,a,4\n"
    )
    expected = pd.DataFrame(
        {
            "month": ["2024-01", "2024-01", "2024-02", "2024-02"],
            "channel": ["a", "c", "a", "b"],
            "spend": [4.0, 2.0, 3.0, 1.0],
        }
    )
    pd.testing.assert_frame_equal(
        read_spend(path)[list(SPEND_COLUMNS)], expected, check_dtype=False
    )


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("month,channel,spend\n2025-01,google,€500\n2025-02,meta,€300\n", "EUR"),
        ("month,channel,spend,currency\n2025-01,google,500,eur\n", "EUR"),
        ("month,channel,spend\n2025-01,google,$500\n", None),  # a bare $ names none
        ("month,channel,spend\n2025-01,google,500\n", None),
    ],
)
def test_spend_in_another_currency_than_the_orders_is_refused(tmp_path, text, named):
    from valuecast.io.spend import check_spend_currency

    path = tmp_path / "spend.csv"
    path.write_text(text)
    spend = read_spend(path)
    assert spend.attrs["currency"] == named
    check_spend_currency(spend, named or "USD")  # its own currency, or none named: fine
    check_spend_currency(spend, None)  # orders naming no currency: nothing to compare
    if named:
        with pytest.raises(InputError, match="the spend is in EUR, the orders in USD: give"):
            check_spend_currency(spend, "USD")


def test_spend_written_in_dollars_is_refused_against_orders_in_euros(tmp_path):
    """A bare "$" names no one currency, yet it is some dollar's, never the euro's: CAC would
    divide dollars by customers valued in euros."""
    from valuecast.io.spend import check_spend_currency
    from valuecast.store import Workspace
    from valuecast.store.spend import kept_spend, store_spend

    path = tmp_path / "spend.csv"
    path.write_text('month,channel,spend\n2025-01,google,$300\n2025-02,meta,"$1,200.50"\n')
    spend = read_spend(path)
    assert spend.attrs["currency"] is None and spend.attrs["written_symbol"] == "$"
    for dollars in ("USD", "CAD", "aud"):  # some dollar: taken to be the orders'
        check_spend_currency(spend, dollars)
    with pytest.raises(InputError, match=r"amounts written in \$ name no currency, while the "
                       r"orders are in EUR: add a currency column"):  # fmt: skip
        check_spend_currency(spend, "EUR")
    # kept by the workspace, it is refused alike, naming the way out
    with Workspace(tmp_path / "w.duckdb") as ws:
        store_spend(ws, spend, "spend.csv")
        kept = kept_spend(ws).frame
    with pytest.raises(InputError, match=r"while the orders are in EUR.*--no-spend"):
        check_spend_currency(kept, "EUR")
    # a spend naming its currency is compared by that, whatever its symbol
    named = tmp_path / "named.csv"
    named.write_text("month,channel,spend,currency\n2025-01,google,$300,CAD\n")
    assert read_spend(named).attrs["written_symbol"] is None


def test_spend_in_two_currencies_is_an_error(tmp_path):
    path = tmp_path / "spend.csv"
    path.write_text("month,channel,spend,currency\n2025-01,google,5,EUR\n2025-01,meta,5,USD\n")
    with pytest.raises(InputError, match=r"spend in more than one currency \(EUR, USD\)"):
        read_spend(path)


@pytest.mark.parametrize(("cell", "named"), [("€", "EUR"), ("eur", "EUR"), ("$", None)])
def test_a_spend_currency_column_is_read_as_the_orders_is(tmp_path, cell, named):
    path = tmp_path / "spend.csv"
    path.write_text(f"month,channel,spend,currency\n2025-01,web,500,{cell}\n")
    assert read_spend(path).attrs["currency"] == named


@pytest.mark.parametrize(
    "written",
    ["2024-03", "2024/03", "2024/3", "03/2024", "3.2024", "Mar 2024", "March 2024", "mar. 2024",
     "März 2024", "mars 2024", "2024-Mar", "Mar-2024", "2024-03-01 - 2024-03-31",
     "2024-03-01 \u2013 2024-03-31", "2024-03-01 to 2024-03-31"],
)  # fmt: skip
def test_months_as_ad_platforms_and_spreadsheets_write_them(tmp_path, written):
    """A month by its name, the year first or last, or a monthly report's range of days."""
    path = write(tmp_path, f"Month,Channel,Spend\n{written},google,50\n2024-04,google,5\n")
    assert read_spend(path)["month"].tolist() == ["2024-03", "2024-04"]


@pytest.mark.parametrize(
    ("header", "named"),
    [("Amount spent (EUR)", "EUR"), ("Spend (€)", "EUR"), ("cost (USD)", "USD"),
     ("Amount spent", None), ("Spend ($)", None)],
)  # fmt: skip
def test_a_spend_header_naming_its_currency_is_the_spend_column(tmp_path, header, named):
    """Meta's export and many spreadsheets name the spend column with its currency."""
    path = write(tmp_path, f"Month,Channel,{header}\n2024-03,google,50\n")
    spend = read_spend(path)
    assert spend["spend"].tolist() == [50.0]
    assert spend.attrs["currency"] == named


def test_a_bracketed_word_is_no_currency(tmp_path):
    path = write(tmp_path, "Month,Channel,Cost (net)\n2024-03,google,50\n")
    with pytest.raises(InputError, match="required column is missing"):
        read_spend(path)


@pytest.mark.parametrize(
    "text",
    ["month,channel,Spend (EUR),currency\n2024-03,google,50,USD\n",
     "month,channel,Spend (EUR)\n2024-03,google,USD 50\n",
     "month,channel,spend,currency\n2024-03,google,USD 50,EUR\n"],
)  # fmt: skip
def test_a_spend_naming_two_currencies_in_its_header_cells_or_amounts_is_an_error(tmp_path, text):
    with pytest.raises(InputError, match=r"spend in more than one currency \(EUR, USD\)"):
        read_spend(write(tmp_path, text))


def test_each_distinct_month_cell_is_read_once(tmp_path, monkeypatch):
    """A month written by its name costs a pass of every month-name pattern: a file writing
    each month once per channel reads each month cell once, not once a row."""
    from valuecast.io import spend as spend_module

    rows = "".join(f"{name} 2024,channel {c},{c}\n" for name in ("März", "Apr") for c in range(5))
    path = write(tmp_path, "month,channel,spend\n" + rows)
    read: list[str] = []
    parse = spend_module._parse_month
    monkeypatch.setattr(spend_module, "_parse_month", lambda text: read.append(text) or parse(text))
    spend = read_spend(path)
    assert sorted(read) == ["Apr 2024", "März 2024"]
    assert spend["month"].tolist() == ["2024-03"] * 5 + ["2024-04"] * 5


def test_a_file_without_a_channel_column_is_the_whole_shops_spend(tmp_path):
    path = write(tmp_path, "Month,Spend\n2024-01,100\n,\n2024-02,50\n2024-02,25\n")
    spend = read_spend(path)
    assert records(spend) == [
        {"month": "2024-01", "channel": SHOP_WIDE, "spend": 100.0},
        {"month": "2024-02", "channel": SHOP_WIDE, "spend": 75.0},
    ]


def test_a_channel_of_all_or_total_is_the_whole_shops_spend(tmp_path):
    path = write(
        tmp_path,
        "month,channel,spend\n2024-01,google,60\n2024-01,Total,100\n2024-02, ALL ,50\n"
        "2024-03,All  Channels,20\n",
    )
    assert records(read_spend(path)) == [
        {"month": "2024-01", "channel": SHOP_WIDE, "spend": 100.0},
        {"month": "2024-01", "channel": "google", "spend": 60.0},
        {"month": "2024-02", "channel": SHOP_WIDE, "spend": 50.0},
        {"month": "2024-03", "channel": SHOP_WIDE, "spend": 20.0},
    ]


def test_a_total_below_its_channels_is_refused_naming_its_row(tmp_path):
    """A row of all channels is the month's total: one smaller than the channels' sum is an
    amount that no reading counts once."""
    path = write(tmp_path, "month,channel,spend\n2024-01,google,60\n2024-01,all,40\n")
    with pytest.raises(InputError) as caught:
        read_spend(path)
    assert (caught.value.row, caught.value.column) == (3, "channel")
    assert "the whole shop's spend of 2024-01 (40.00) is less than its channels' (60.00)" in str(
        caught.value
    )


def test_a_daily_export_s_days_of_one_budget_are_no_copies(tmp_path):
    """A fixed daily budget writes one channel and amount on every day: added up into the
    month, with no note asking to remove copies (which would cut the spend to a day's); the
    same day written twice still is a copy."""
    days = "".join(f"2024-02-{day:02d},google,50.00\n" for day in range(1, 30))
    spend = read_spend(write(tmp_path, "date,channel,spend\n" + days))
    assert records(spend) == [{"month": "2024-02", "channel": "google", "spend": 1450.0}]
    assert list(spend[SPEND_BY_DAY][0]) == [50.0] * 29  # each of February's days
    assert spend.attrs["repeated_rows"] is None
    twice = read_spend(write(tmp_path, "date,channel,spend\n" + days + "2024-02-27,google,50\n"))
    assert twice.attrs["repeated_rows"].startswith(
        "1 row repeats another row exactly (2024-02, google, 50.00)"
    )


def test_a_file_of_months_written_as_their_first_days_has_no_days(tmp_path):
    """Spreadsheets and ad reports write a month as its 1st: such a file's spend is the
    month's, whose days are unknown (an analysis as of the 15th cannot count it to the day);
    a daily file's 1st is a day like the others."""
    monthly = read_spend(
        write(tmp_path, "date,channel,spend\n2024-01-01,a,310\n2024-02-01,a,290\n")
    )
    assert monthly[SPEND_BY_DAY].isna().all()
    daily = read_spend(write(tmp_path, "date,channel,spend\n2024-02-01,a,10\n2024-02-02,a,20\n"))
    assert list(daily[SPEND_BY_DAY][0][:3]) == [10.0, 20.0, 0.0]
