"""outputs.audiences: segments, the --where language, consent, the four formats and CSV safety."""

from __future__ import annotations

import csv
import hashlib
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from valuecast.io.phones import placeholder_phone
from valuecast.outputs import csvtext
from valuecast.outputs.audiences import (
    AUDIENCE_COLUMNS,
    HEADERS,
    SEGMENTS,
    ExportError,
    audience_table,
    build_audience,
    consenting,
    country_code,
    e164_phone,
    format_audience,
    impossible_phone,
    neutralize_formulas,
    normalize_phone,
    parse_where,
    segment_mask,
    sha256_hex,
    where_mask,
    write_audience,
)
from valuecast.tables import CUSTOMER_COLUMNS, GROUPS

AS_OF = date(2026, 6, 30)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def customers(*rows: dict) -> pd.DataFrame:
    """An analysis customers table (CUSTOMER_COLUMNS) with ordinary defaults and ``rows`` on top."""
    defaults = {
        "first_order_date": pd.Timestamp("2025-01-01"),
        "last_order_date": pd.Timestamp("2026-01-01"),
        "historic_number_of_orders": 1,
        "historic_clv": 50.0,
        "average_order_value": 50.0,
        "average_days_between_orders": np.nan,
        "frequency": 0,
        "recency": 0,
        "T": 500,
        "probability_alive": 0.5,
        "churn_probability": 0.5,
        "predicted_number_of_orders": 0.5,
        "predicted_average_order_value": 50.0,
        "predicted_clv": 25.0,
        "predicted_clv_p10": 10.0,
        "predicted_clv_p90": 40.0,
        "total_clv": 75.0,
        "expected_date_of_next_order": pd.NaT,
        "rfm_recency": 3,
        "rfm_frequency": 1,
        "rfm_monetary": 3,
        "rfm_score": "313",
        "rfm_group": "Needs attention",
        "predicted_spend_tier": "medium",
        "acquisition_channel": "web",
        "first_discount_code": None,
        "first_product": None,
        "accepts_marketing": True,
    }
    records = []
    for number, row in enumerate(rows):
        record = {"customer_id": f"c{number}@example.com", **defaults, **row}
        if "churn_probability" in row and "probability_alive" not in row:
            record["probability_alive"] = 1 - row["churn_probability"]
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=list(CUSTOMER_COLUMNS))
    frame["expected_date_of_next_order"] = [
        None if pd.isna(value) else pd.Timestamp(value).date()
        for value in frame["expected_date_of_next_order"]
    ]
    return frame


def selected(table: pd.DataFrame, mask: pd.Series) -> list[str]:
    return list(table.loc[mask.to_numpy(dtype=bool), "customer_id"])


# ------------------------------------------------------------------------------------------------
# the customers to export
# ------------------------------------------------------------------------------------------------
def test_audience_table_joins_contacts_and_falls_back_to_email_like_ids():
    table = customers({"customer_id": "ann@shop.com"}, {"customer_id": "bob@shop.com"}, {})
    table.loc[2, "customer_id"] = "12345"
    contacts = pd.DataFrame(
        {
            "customer_id": ["ann@shop.com", "12345", "12345", "nobody@shop.com"],
            "email": ["Ann.Work@Shop.com", None, None, "x@y.z"],
            "first_name": ["Ann", "Old", "Carl", "X"],
            "phone": [None, None, "555", None],
            "tags": ["vip", None, None, None],
        }
    )
    out = audience_table(table, contacts)
    assert list(out.columns) == list(AUDIENCE_COLUMNS)
    assert len(out) == 3
    # the contact e-mail wins; an e-mail-like id is the fallback; other ids give no e-mail
    assert list(out["email"].fillna("")) == ["Ann.Work@Shop.com", "bob@shop.com", ""]
    # a repeated customer id keeps its last contact row
    assert list(out["first_name"].fillna("")) == ["Ann", "", "Carl"]
    assert list(out["phone"].fillna("")) == ["", "", "555"]
    assert out["city"].isna().all()


def test_every_audience_column_has_a_kind_for_where():
    from valuecast.outputs.audiences.where import WHERE_COLUMN_KINDS as _STATIC_KINDS

    assert (
        set(_STATIC_KINDS)
        == set(AUDIENCE_COLUMNS)
        == set(CUSTOMER_COLUMNS)
        | {
            "email",
            "first_name",
            "last_name",
            "phone",
            "city",
            "province",
            "country",
            "zip",
        }
    )


def test_audience_table_without_contacts_has_empty_contact_fields():
    out = audience_table(customers({}), None)
    assert out.loc[0, "email"] == "c0@example.com"
    assert out[["first_name", "last_name", "phone", "zip"]].isna().all().all()


# ------------------------------------------------------------------------------------------------
# named segments
# ------------------------------------------------------------------------------------------------
def test_segment_names_are_the_documented_ones():
    slugs = {"-".join(group.lower().split()) for group in GROUPS}
    assert {"at-risk", "needs-attention", "previously-loyal", "almost-lost"} <= slugs
    assert (
        set(SEGMENTS)
        == {
            "champions",
            "at-risk-high-value",
            "win-back",
            "due-for-reorder",
            "new-high-potential",
            "tier-high",
            "tier-medium",
            "tier-low",
        }
        | slugs
    )
    assert all(description for description in SEGMENTS.values())


def test_champions():
    table = audience_table(
        customers({"rfm_group": "Champions"}, {"rfm_group": "Loyal"}, {"rfm_group": "Champions"})
    )
    assert selected(table, segment_mask(table, "champions")) == [
        "c0@example.com",
        "c2@example.com",
    ]


@pytest.mark.parametrize("group", GROUPS)
def test_every_rfm_group_has_its_slug(group):
    table = audience_table(customers(*({"rfm_group": name} for name in GROUPS)))
    slug = "-".join(group.lower().split())
    picked = table.loc[segment_mask(table, slug).to_numpy(), "rfm_group"]
    assert list(picked) == [group]


@pytest.mark.parametrize("tier", ["high", "medium", "low"])
def test_spend_tiers(tier):
    table = audience_table(
        customers(
            {"predicted_spend_tier": "high"},
            {"predicted_spend_tier": "medium"},
            {"predicted_spend_tier": "low"},
            {"predicted_spend_tier": None},
        )
    )
    assert list(
        table.loc[segment_mask(table, f"tier-{tier}").to_numpy(), "predicted_spend_tier"]
    ) == [tier]


def value_rows(churn: dict[int, float]) -> pd.DataFrame:
    """Ten customers with historic CLV 10, 20, ..., 100 (c7-c9 are the top 30%)."""
    rows = [
        {"historic_clv": 10.0 * (n + 1), "churn_probability": churn.get(n, 0.1)} for n in range(10)
    ]
    return audience_table(customers(*rows))


def test_at_risk_high_value_is_top_30_percent_with_churn_from_0_3_below_0_6():
    table = value_rows({0: 0.5, 6: 0.5, 7: 0.3, 8: 0.599, 9: 0.6})
    # c6 beats 60% of the shop only; c7 beats 70%: high value
    assert selected(table, segment_mask(table, "at-risk-high-value")) == [
        "c7@example.com",
        "c8@example.com",
    ]


def test_win_back_is_top_30_percent_with_churn_at_least_0_6():
    table = value_rows({0: 0.9, 6: 0.95, 7: 0.6, 8: 0.59, 9: 0.99})
    assert selected(table, segment_mask(table, "win-back")) == [
        "c7@example.com",
        "c9@example.com",
    ]


def test_value_and_risk_segments_select_nobody_without_predictions():
    table = value_rows({n: np.nan for n in range(10)})
    assert not segment_mask(table, "win-back").any()
    assert not segment_mask(table, "at-risk-high-value").any()


def test_due_for_reorder():
    table = audience_table(
        customers(
            # c0: expected on the last day of the window (as-of + 14)
            {"probability_alive": 0.8, "expected_date_of_next_order": "2026-07-14"},
            # c1: expected one day too late, and no repeat purchase
            {"probability_alive": 0.8, "expected_date_of_next_order": "2026-07-15"},
            # c2: expected soon but more likely gone than active
            {"probability_alive": 0.4, "expected_date_of_next_order": "2026-07-01"},
            # c3: usual gap of 30 days passed on 2026-05-31: overdue, still probably active
            {
                "probability_alive": 0.9,
                "last_order_date": pd.Timestamp("2026-05-01"),
                "average_days_between_orders": 30.0,
            },
            # c4: usual gap ends 2026-07-30, outside the window
            {
                "probability_alive": 0.9,
                "last_order_date": pd.Timestamp("2026-06-20"),
                "average_days_between_orders": 40.0,
            },
            # c5: overdue by its usual gap but alive below 0.5
            {
                "probability_alive": 0.49,
                "last_order_date": pd.Timestamp("2026-01-01"),
                "average_days_between_orders": 30.0,
            },
            # c6: alive at exactly 0.5, gap ends exactly on as-of + 14
            {
                "probability_alive": 0.5,
                "last_order_date": pd.Timestamp("2026-06-14"),
                "average_days_between_orders": 30.0,
            },
            # c7: a gap of 30.5 days ends half a day after as-of + 14
            {
                "probability_alive": 0.9,
                "last_order_date": pd.Timestamp("2026-06-14"),
                "average_days_between_orders": 30.5,
            },
        )
    )
    assert selected(table, segment_mask(table, "due-for-reorder", AS_OF)) == [
        "c0@example.com",
        "c3@example.com",
        "c6@example.com",
    ]
    assert selected(table, segment_mask(table, "due-for-reorder", "2026-07-01")) == [
        "c0@example.com",
        "c1@example.com",
        "c3@example.com",
        "c6@example.com",
        "c7@example.com",
    ]
    with pytest.raises(ExportError, match="as-of"):
        segment_mask(table, "due-for-reorder")


def test_new_high_potential():
    table = audience_table(
        customers(
            {"rfm_group": "New", "predicted_spend_tier": "high"},
            {"rfm_group": "Promising", "predicted_spend_tier": "high"},
            {"rfm_group": "New", "predicted_spend_tier": "medium"},
            {"rfm_group": "Champions", "predicted_spend_tier": "high"},
            {"rfm_group": "Promising", "predicted_spend_tier": None},
        )
    )
    assert selected(table, segment_mask(table, "new-high-potential")) == [
        "c0@example.com",
        "c1@example.com",
    ]


def test_unknown_segment_lists_the_known_ones():
    table = audience_table(customers({}))
    with pytest.raises(ExportError) as caught:
        segment_mask(table, "big-spenders")
    message = str(caught.value)
    assert "\n" not in message
    assert "'big-spenders'" in message
    assert all(name in message for name in SEGMENTS)


# ------------------------------------------------------------------------------------------------
# --where
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def where_table() -> pd.DataFrame:
    table = audience_table(
        customers(
            {"predicted_clv": 150.0, "rfm_group": "Champions", "churn_probability": 0.1},
            {"predicted_clv": 80.0, "rfm_group": "Loyal", "churn_probability": 0.4},
            {"predicted_clv": np.nan, "rfm_group": "At risk", "churn_probability": np.nan},
            {
                "predicted_clv": 20.0,
                "rfm_group": "Dormant",
                "churn_probability": 0.9,
                "accepts_marketing": False,
                "last_order_date": pd.Timestamp("2025-03-01"),
                "expected_date_of_next_order": "2026-07-02",
            },
        ),
        pd.DataFrame(
            {
                "customer_id": ["c0@example.com", "c1@example.com"],
                "country": ["US", "GB"],
                "first_name": ["Ann", "O'Neil"],
            }
        ),
    )
    return table


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("predicted_clv > 100", [0]),
        ("predicted_clv >= 80", [0, 1]),
        ("predicted_clv < 100", [1, 3]),  # missing is never selected
        ("predicted_clv != 80", [0, 3]),  # missing is false for != too
        ("not predicted_clv != 80", [1, 2]),
        ("rfm_group == 'Champions'", [0]),
        ('rfm_group == "Loyal"', [1]),
        ("rfm_group in ('Champions', 'Loyal')", [0, 1]),
        ("rfm_group not in ('Champions', 'Loyal')", [2, 3]),
        ("rfm_group in ('Loyal')", [1]),
        ("rfm_group in 'Loyal'", [1]),
        ("rfm_group IN ('Dormant') AND NOT accepts_marketing", [3]),
        ("predicted_clv > 100 or churn_probability >= 0.9", [0, 3]),
        ("(predicted_clv > 50 or rfm_group == 'At risk') and churn_probability < 0.5", [0, 1]),
        ("0.2 < churn_probability < 0.95", [1, 3]),
        ("100 < predicted_clv", [0]),
        ("predicted_clv > -1", [0, 1, 3]),
        ("accepts_marketing", [0, 1, 2]),
        ("accepts_marketing == false", [3]),
        ("country == 'US'", [0]),
        ("country == None", [2, 3]),
        ("country != null", [0, 1]),
        ('first_name == "O\'Neil"', [1]),
        ("last_order_date < '2025-06-01'", [3]),
        ("expected_date_of_next_order <= '2026-07-02'", [3]),
        ("predicted_clv > predicted_clv_p90", [0, 1]),
    ],
)
def test_where_selects(where_table, expression, expected):
    assert list(np.flatnonzero(where_mask(where_table, expression))) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os')", "no function calls"),
        ("__import__('os').system('echo hi') == 0", "no function calls"),
        ("customer_id.upper() == 'X'", "no function calls"),
        ("predicted_clv.__class__ == 1", "no attribute access"),
        ("().__class__.__bases__[0] == 1", "no indexing"),
        ("().__class__ == 1", "no attribute access"),
        ("rfm_group[0] == 'C'", "no indexing"),
        ("predicted_clv + 1 > 2", "no arithmetic"),
        ("(lambda: 1)() == 1", "no function calls"),
        ("[x for x in ()] == 1", "no comprehensions"),
        ("f'{rfm_group}' == 'a'", "no f-strings"),
        ("predicted_clv is None", "no 'is'"),
        ("(x := 1) == 1", "no assignment"),
        ("unknown_column > 1", "unknown column 'unknown_column'"),
        ("os == 'x'", "unknown column 'os'"),
        ("rfm_group = 'Champions'", "compare with =="),
        ("predicted_clv >", "cannot read"),
        ("rfm_group == 'Champions", "cannot read"),
        ("", "empty"),
        ("1 < 2", "needs a column"),
        ("'Champions'", "not a condition"),
        ("predicted_clv", "not true/false"),
        ("rfm_group > 1", "holds text"),
        ("predicted_clv > '100'", "holds numbers"),
        ("accepts_marketing == 1", "True or False"),
        ("last_order_date < 'yesterday'", "holds dates"),
        ("rfm_group in rfm_score", "list of values"),
        ("rfm_group in ('A', 'B') == 1", "needs 'in'"),
        ("rfm_group == ('A', 'B')", "needs 'in'"),
        ("rfm_group in ('A', rfm_score)", "must be literals"),
        ("predicted_clv > 1\nor True", "one line"),
        ("(" * 300 + "predicted_clv > 1" + ")" * 300, "--where: "),
        ("predicted_clv > 1 and " * 200 + "predicted_clv > 1", "longer than"),
    ],
)
def test_where_rejects_with_one_line(where_table, expression, message):
    with pytest.raises(ExportError) as caught:
        where_mask(where_table, expression)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text and text.startswith("--where: ")


def test_where_never_executes_the_expression(tmp_path):
    target = tmp_path / "pwned"
    for expression in (
        f"__import__('pathlib').Path({str(target)!r}).touch()",
        f"open({str(target)!r}, 'w') == 1",
        f"rfm_group == __import__('pathlib').Path({str(target)!r}).touch()",
    ):
        with pytest.raises(ExportError):
            parse_where(expression)
    assert not target.exists()


def test_where_checks_columns_before_the_table_is_known():
    parse_where("predicted_clv > 100 and country in ('US', 'CA')")
    with pytest.raises(ExportError, match="unknown column 'nope'"):
        parse_where("nope > 1")


# ------------------------------------------------------------------------------------------------
# consent
# ------------------------------------------------------------------------------------------------
def test_consent_keeps_true_only_and_counts_the_rest():
    table = audience_table(
        customers(
            {"accepts_marketing": True},
            {"accepts_marketing": False},
            {"accepts_marketing": None},
            {"accepts_marketing": True},
        )
    )
    kept, left_out = consenting(table)
    assert list(kept["customer_id"]) == ["c0@example.com", "c3@example.com"]
    assert left_out == 2
    everyone, none_left = consenting(table, include_non_consenting=True)
    assert len(everyone) == 4 and none_left == 0


def test_build_audience_counts():
    table = customers(
        {"rfm_group": "Champions"},
        {"rfm_group": "Champions", "accepts_marketing": False},
        {"rfm_group": "Champions", "customer_id": "no-email-1"},
        {"rfm_group": "Loyal"},
    )
    audience = build_audience(table, None, "klaviyo", segment="champions")
    assert (audience.selected, audience.exported) == (3, 1)
    assert audience.left_out_consent == 1
    assert audience.left_out_no_identifier == 1
    assert list(audience.frame["Email"]) == ["c0@example.com"]
    everyone = build_audience(
        table, None, "klaviyo", where="rfm_group == 'Champions'", include_non_consenting=True
    )
    assert everyone.exported == 2 and everyone.left_out_consent == 0
    with pytest.raises(ExportError, match="exactly one"):
        build_audience(table, None, "klaviyo", segment="champions", where="predicted_clv > 1")
    with pytest.raises(ExportError, match="exactly one"):
        build_audience(table, None, "klaviyo")
    with pytest.raises(ExportError, match="unknown format"):
        build_audience(table, None, "tiktok", segment="champions")


# ------------------------------------------------------------------------------------------------
# formats
# ------------------------------------------------------------------------------------------------
CONTACT = pd.DataFrame(
    {
        "customer_id": ["c0@example.com", "c1@example.com", "c2@example.com"],
        "email": [" Test@Example.com ", "second@example.com", None],
        "first_name": ["  Mary-Ann ", "Jean", None],
        "last_name": ["O'Brien", "Dupont", None],
        "phone": ["(616) 954-7888", "06 12 34 56 78", None],
        "city": ["New York", "Saint-Étienne", None],
        "province": ["California", "Auvergne-Rhône-Alpes", None],
        "country": ["US", "France", None],
        "zip": ["02134-1234", "42 000", None],
    }
)


def contact_table() -> pd.DataFrame:
    rows = customers(
        {
            "predicted_clv": 123.456,
            "historic_clv": 99.999,
            "churn_probability": 0.123456,
            "predicted_number_of_orders": 1.23456,
            "rfm_group": "Champions",
            "predicted_spend_tier": "high",
            "expected_date_of_next_order": "2026-07-03",
        },
        {"predicted_clv": np.nan},
        {},  # c2@example.com: a contact row without e-mail, so the id is the e-mail
    )
    return audience_table(rows, CONTACT)


def test_published_sha256_example():
    assert sha256_hex("test@example.com") == (
        "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"
    )
    assert sha256_hex("") == ""


def test_klaviyo_format():
    frame = format_audience(contact_table(), "klaviyo").frame
    assert list(frame.columns) == [
        "Email",
        "First Name",
        "Last Name",
        "predicted_clv",
        "churn_probability",
        "rfm_group",
        "expected_date_of_next_order",
        "historic_clv",
        "predicted_spend_tier",
        "predicted_number_of_orders",
    ]
    first = frame.iloc[0]
    assert first["Email"] == "test@example.com"
    # a customers export's names, as Mailchimp's file carries them
    assert (first["First Name"], first["Last Name"]) == ("Mary-Ann", "O'Brien")
    assert first["predicted_clv"] == 123.46 and first["historic_clv"] == 100.0
    assert first["churn_probability"] == 0.1235
    assert first["predicted_number_of_orders"] == 1.23
    assert first["expected_date_of_next_order"] == "2026-07-03"
    assert (first["rfm_group"], first["predicted_spend_tier"]) == ("Champions", "high")
    assert frame.iloc[1]["expected_date_of_next_order"] == ""
    assert np.isnan(frame.iloc[1]["predicted_clv"])
    # c2 has a contact row without e-mail: its e-mail-like id is the fallback
    assert list(frame["Email"]) == ["test@example.com", "second@example.com", "c2@example.com"]


def test_mailchimp_format():
    frame = format_audience(contact_table(), "mailchimp").frame
    assert list(frame.columns) == [
        "Email Address",
        "First Name",
        "Last Name",
        "Predicted CLV",
        "Churn Probability",
        "RFM Group",
        "Next Order Date",
        "Historic CLV",
        "Spend Tier",
        "Predicted Orders",
    ]
    assert list(frame.iloc[0][["Email Address", "First Name", "Last Name"]]) == [
        "test@example.com",
        "Mary-Ann",
        "O'Brien",
    ]
    assert frame.iloc[0]["Predicted CLV"] == 123.46
    assert frame.iloc[0]["Next Order Date"] == "2026-07-03"


def test_meta_format_hashes_normalised_identifiers():
    frame = format_audience(contact_table(), "meta").frame
    assert list(frame.columns) == [
        "email",
        "phone",
        "fn",
        "ln",
        "ct",
        "st",
        "zip",
        "country",
        "value",
    ]
    us, fr, bare = (frame.iloc[i] for i in range(3))
    assert us["email"] == "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"
    assert us["phone"] == sha("16169547888")
    assert us["fn"] == sha("maryann")
    assert us["ln"] == sha("obrien")
    assert us["ct"] == sha("newyork")
    assert us["st"] == sha("ca")
    assert us["zip"] == sha("02134")
    assert us["country"] == sha("us")
    assert us["value"] == 123.46
    assert fr["phone"] == sha("33612345678")
    assert fr["ct"] == sha("saintetienne")
    assert fr["st"] == sha("auvergnerhonealpes")
    assert fr["zip"] == sha("42000")
    assert fr["country"] == sha("fr")
    assert np.isnan(fr["value"])
    # missing identifiers stay empty: never the hash of ""
    assert bare["email"] == sha("c2@example.com")
    for column in ("phone", "fn", "ln", "ct", "st", "zip", "country"):
        assert bare[column] == ""
    assert sha("") not in set(frame.drop(columns="value").to_numpy().ravel())


def test_google_format():
    frame = format_audience(contact_table(), "google").frame
    assert list(frame.columns) == ["Email", "Phone", "First Name", "Last Name", "Country", "Zip"]
    us, fr, bare = (frame.iloc[i] for i in range(3))
    assert us["Email"] == sha("test@example.com")
    assert us["Phone"] == sha("+16169547888")
    assert us["First Name"] == sha("mary-ann")
    assert us["Last Name"] == sha("o'brien")
    assert (us["Country"], us["Zip"]) == ("US", "02134")
    assert fr["Phone"] == sha("+33612345678")
    assert (fr["Country"], fr["Zip"]) == ("FR", "42 000")
    assert list(bare[["Phone", "First Name", "Last Name", "Country", "Zip"]]) == [""] * 5


def test_google_names_are_hashed_without_extra_spaces_in_between():
    """Google's hashed-data template: lower case, no extra spaces before, after or in between
    names; a name typed with two spaces (or a tab) matches the one typed with one."""
    table = contact_table().iloc[:1].copy()
    table["first_name"], table["last_name"] = " Mary  Ann ", "van\tder  Berg"
    frame = format_audience(table, "google").frame
    assert frame.iloc[0]["First Name"] == sha("mary ann")
    assert frame.iloc[0]["Last Name"] == sha("van der berg")


def test_meta_and_google_leave_out_rows_without_email_or_phone():
    rows = customers({}, {}, {})
    rows["customer_id"] = ["id-1", "id-2", "id-3"]
    contacts = pd.DataFrame(
        {"customer_id": ["id-1", "id-2"], "phone": ["+44 20 7946 0000", None], "zip": [None, "1"]}
    )
    for to in ("meta", "google"):
        result = format_audience(audience_table(rows, contacts), to)
        assert len(result.frame) == 1 and result.no_identifier == 2
    result = format_audience(audience_table(rows, contacts), "klaviyo")
    assert len(result.frame) == 0 and result.no_identifier == 3


@pytest.mark.parametrize("to", ["klaviyo", "meta"])
def test_a_customer_without_an_identifier_is_left_out_for_that_before_consent(to):
    # declining marketing or not, a customer without an e-mail (or phone) cannot be exported:
    # counted as without one, so the consent count is what --include-non-consenting would add
    rows = customers({}, {"accepts_marketing": False}, {"accepts_marketing": None}, {})
    rows["customer_id"] = ["n-1", "n-2", "n-3", "a@x.com"]
    audience = build_audience(rows, None, to, where="historic_clv >= 0")
    assert (audience.exported, audience.left_out_no_identifier) == (1, 3)
    assert (audience.left_out_consent, audience.consent_unknown) == (0, 0)
    everyone = build_audience(
        rows, None, to, where="historic_clv >= 0", include_non_consenting=True
    )
    assert everyone.exported == audience.exported + audience.left_out_consent


@pytest.mark.parametrize("to", ["meta", "google"])
def test_customers_known_by_a_phone_alone_without_consent_are_counted_apart(to):
    # what records the consent of a customer the file reaches by phone differs (a Shopify
    # order's Accepts Marketing is consent to e-mail): the export tells them apart
    rows = customers(
        {"accepts_marketing": True}, {"accepts_marketing": None},
        {"accepts_marketing": False}, {"accepts_marketing": None},
    )  # fmt: skip
    rows["customer_id"] = ["phone:+12065550143", "phone:+12065550144", "phone:+12065550145",
                           "ann@x.com"]  # fmt: skip
    audience = build_audience(rows, None, to, where="historic_clv >= 0")
    assert list(audience.frame[HEADERS[to][1]]) == [sha(
        "12065550143" if to == "meta" else "+12065550143"
    )]  # fmt: skip
    assert (audience.left_out_consent, audience.consent_unknown) == (3, 2)
    assert audience.phone_consent_unknown == 1
    everyone = build_audience(
        rows, None, to, where="historic_clv >= 0", include_non_consenting=True
    )
    assert (everyone.exported, everyone.phone_consent_unknown) == (4, 0)


def test_repeated_emails_are_left_out_as_duplicates():
    rows = customers({}, {})
    contacts = pd.DataFrame(
        {"customer_id": ["c0@example.com", "c1@example.com"], "email": ["A@x.com", "a@x.com "]}
    )
    result = format_audience(audience_table(rows, contacts), "mailchimp")
    assert list(result.frame["Email Address"]) == ["a@x.com"] and result.duplicates == 1


@pytest.mark.parametrize("to", ["klaviyo", "mailchimp"])
def test_of_customers_sharing_an_email_the_most_valuable_keeps_the_profile(to):
    # a shop keyed by customer number: two records for one person; the id order says nothing
    rows = customers(
        {"historic_clv": 20.0, "predicted_clv": 1.0},
        {"historic_clv": 1200.0, "predicted_clv": 210.0},
        {
            "historic_clv": 1200.0,
            "predicted_clv": 99.0,
            "last_order_date": pd.Timestamp("2025-06-01"),
        },
        {"historic_clv": 5.0},
    )
    rows["customer_id"] = ["100", "200", "300", "400"]
    contacts = pd.DataFrame(
        {"customer_id": ["100", "200", "300", "400"],
         "email": ["same@shop.com", "Same@Shop.com ", "same@shop.com", "other@shop.com"]}
    )  # fmt: skip
    result = format_audience(audience_table(rows, contacts), to)
    assert result.duplicates == 2
    email = HEADERS[to][0]
    kept = result.frame.set_index(email)
    assert list(kept.index) == ["same@shop.com", "other@shop.com"]
    if to == "klaviyo":  # 200: as much historic CLV as 300, and the later order
        assert float(kept.loc["same@shop.com", "predicted_clv"]) == 210.0


@pytest.mark.parametrize("to", ["meta", "google"])
def test_a_customer_list_holds_one_row_per_email_or_phone(to):
    # two records of one person (a shop keyed by customer number) are one person to Meta and
    # Google too: one row, the most valuable record's (Meta's value is that record's)
    rows = customers(
        {"historic_clv": 20.0, "predicted_clv": 1.0},
        {"historic_clv": 1200.0, "predicted_clv": 210.0},
        {"historic_clv": 30.0},
        {"historic_clv": 40.0},
        {"historic_clv": 50.0},
    )
    rows["customer_id"] = ["100", "200", "300", "400", "500"]
    contacts = pd.DataFrame(
        {"customer_id": ["100", "200", "300", "400", "500"],
         "email": ["same@shop.com", " Same@Shop.com", None, None, "other@shop.com"],
         "phone": [None, None, "+1 616 954 7888", "+1 (616) 954-7888", "+1 616 954 7888"]}
    )  # fmt: skip
    result = format_audience(audience_table(rows, contacts), to)
    assert result.duplicates == 2 and result.no_identifier == 0
    email, phone = HEADERS[to][:2]
    assert list(result.frame[email]) == [sha("same@shop.com"), "", sha("other@shop.com")]
    hashed = sha("16169547888" if to == "meta" else "+16169547888")  # Meta's without the +
    assert list(result.frame[phone]) == ["", hashed, hashed]
    if to == "meta":
        assert list(result.frame["value"]) == [210.0, 25.0, 25.0]


@pytest.mark.parametrize(
    ("phone", "country", "digits"),
    [
        ("(616) 954-7888", "US", "16169547888"),
        ("616.954.7888", "United States", "16169547888"),
        ("1 616 954 7888", "US", "16169547888"),  # already has the code: 11 digits > 10
        ("+1 (616) 954-7888", None, "16169547888"),
        ("011 44 20 7946 0000", "US", "442079460000"),  # US international prefix
        ("07700 900123", "GB", "447700900123"),  # trunk 0 dropped
        ("+44 (0)7700 900123", "GB", "447700900123"),  # the bracketed trunk 0 is dropped
        ("0044 7700 900123", "DE", "447700900123"),  # 00 prefix
        ("030 1234567", "DE", "49301234567"),
        ("06 12 34 56 78", "FR", "33612345678"),
        ("33 6 12 34 56 78", "FR", "33612345678"),  # starts with 33 and longer than 9 digits
        ("06 1234 5678", "IT", "390612345678"),  # Italy keeps the 0
        ("+44 07290 183543", "GB", "447290183543"),  # a trunk 0 written after the code
        ("+49 0151 4545166", None, "491514545166"),
        ("0044 07700 900123", "DE", "447700900123"),
        ("+61 0412 345 678", None, "61412345678"),
        ("+39 06 1234 5678", None, "390612345678"),  # Italy's 0 is the number's
        ("+1 616 954 7888", None, "16169547888"),
        ("9112345678", "IN", "919112345678"),  # starts with 91 but has the national length
        ("0412 345 678", "AU", "61412345678"),
        ("12345678", "ZZ", "12345678"),  # unknown country: digits as written
        ("555 0100", None, "5550100"),
        ("'+1 616 954 7888", "US", "16169547888"),  # spreadsheet apostrophe
        ("+1-415-555-0102 ext 5", None, "14155550102"),  # an extension is no part of it
        ("(415) 555-0102 x12", "US", "14155550102"),
        ("+44 20 7946 0000 Ext. 204", None, "442079460000"),
        ("415-555-0102 #3", "US", "14155550102"),
        ("", "US", ""),
        (None, "US", ""),
        ("n/a", "US", ""),
    ],
)
def test_phone_normalisation(phone, country, digits):
    assert normalize_phone(phone, country) == digits
    # E.164 needs the country code: a national number of no known country has none
    unknown = (phone, country) in {("12345678", "ZZ"), ("555 0100", None)}
    assert e164_phone(phone, country) == (f"+{digits}" if digits and not unknown else "")


@pytest.mark.parametrize(
    ("phone", "country"),
    [
        ("5550199", "US"),  # a US number without its area code
        ("+1 206 155 0143", None),  # a US exchange never starts with 1
        ("(206) 555-01433", "US"),  # 11 digits after the 1
        ("+44 20 7946 0000 000", None),  # longer than any UK number
        ("+1234567890123456", None),  # longer than E.164's 15 digits
        ("+12 345", None),  # shorter than any number in use
    ],
)
def test_a_number_that_cannot_exist_has_no_e164_form(phone, country):
    assert impossible_phone(phone, country)
    assert e164_phone(phone, country) == ""


@pytest.mark.parametrize(
    ("phone", "country"),
    [
        ("0000000000", "US"),  # 00 is the international prefix: zeros after it are no number
        ("0000000000", None),
        ("1234567890", "US"),
        ("+1 000 000 0000", None),  # zeros after the country code
        ("+44 0000 000000", None),
        ("+91 98765 43210", None),  # a run down
        ("0123456789", "FR"),
        ("+1 555 555 5555", None),  # one digit repeated
    ],
)
def test_a_placeholder_phone_is_no_number_and_never_all_zeros(phone, country):
    """A number typed where the customer gave none: as a placeholder e-mail, no audience file
    may send it, and ``0000000000`` is never ``+00000000``."""
    assert placeholder_phone(phone, country)
    assert impossible_phone(phone, country)
    assert e164_phone(phone, country) == ""


@pytest.mark.parametrize(
    ("phone", "country", "customer"),
    [
        ("+52 1 55 1234 5678", None, "phone:+5215512345678"),  # Mexico's old mobile form
        ("555-0199", "US", "phone:+15550199"),  # a number missing its area code
        ("+45 67 89 01 23", None, "phone:+4567890123"),  # digits running, not from the start
        ("0444 444 440", "AU", "phone:+61444444440"),  # one digit repeated, then another
        ("+353 1 234 5678", None, "phone:+35312345678"),  # eight digits running
    ],
)
def test_a_real_or_impossible_number_is_still_its_customers(phone, country, customer):
    """Only a placeholder names no one: a number that cannot exist (a typo, an old national
    form) is still the customer who typed it, kept out of the audience files alone, and a real
    number whose digits repeat or run for a while is no placeholder."""
    from valuecast.io.phones import phone_ids

    assert not placeholder_phone(phone, country)
    countries = None if country is None else pd.Series([country])
    assert phone_ids(pd.Series([phone]), countries).tolist() == [customer]


@pytest.mark.parametrize("to", ["meta", "google"])
def test_a_placeholder_phone_is_never_hashed_and_is_counted(to):
    rows = customers({}, {})
    rows["customer_id"] = ["ann@x.com", "bob@x.com"]
    contacts = pd.DataFrame(
        {"customer_id": ["ann@x.com", "bob@x.com"], "phone": ["0000000000", "1234567890"],
         "country": ["US", "US"]}
    )  # fmt: skip
    audience = build_audience(rows, contacts, to, where="historic_clv >= 0")
    phone = HEADERS[to][1]
    assert list(audience.frame[phone]) == ["", ""]
    assert audience.phones_left_empty == 2
    forbidden = {sha(d) for d in ("00000000", "+00000000", "11234567890", "+11234567890")}
    assert not forbidden & set(audience.frame[phone])


@pytest.mark.parametrize("to", ["meta", "google"])
def test_a_phone_that_is_not_a_number_is_never_hashed_and_is_counted(to):
    rows = customers({}, {}, {})
    rows["customer_id"] = ["phone:+15550199", "ann@x.com", "phone:+12065550143"]
    contacts = pd.DataFrame({"customer_id": ["ann@x.com"], "phone": ["5550188"], "country": ["US"]})
    audience = build_audience(rows, contacts, to, where="historic_clv >= 0")
    email, phone = HEADERS[to][:2]
    hashed = sha("12065550143" if to == "meta" else "+12065550143")
    assert list(audience.frame[phone]) == ["", hashed]
    assert list(audience.frame[email]) == [sha("ann@x.com"), ""]
    assert (audience.left_out_no_identifier, audience.impossible_phone) == (1, 1)
    assert audience.phones_left_empty == 1
    forbidden = {sha(d) for d in ("15550199", "+15550199", "15555550188", "+15555550188")}
    assert not forbidden & set(audience.frame[phone])


def test_an_email_cell_holding_two_addresses_is_its_first_in_every_file():
    # "Only one email address can go in each cell" (Meta): a customer record written with two
    # is exported under the first, the same in all four files, and counted
    rows = customers({}, {}, {})
    rows["customer_id"] = ["1", "2", "3"]
    contacts = pd.DataFrame(
        {"customer_id": ["1", "2", "3"],
         "email": ["Carl@x.com;dora@x.com", " erin@x.com,  fay@x.com", "gus@x.com"]}
    )  # fmt: skip
    first = ["carl@x.com", "erin@x.com", "gus@x.com"]
    for to in ("klaviyo", "mailchimp", "meta", "google"):
        audience = build_audience(rows, contacts, to, where="historic_clv >= 0")
        cells = list(audience.frame[HEADERS[to][0]])
        assert cells == (first if to in ("klaviyo", "mailchimp") else [sha(e) for e in first])
        assert audience.several_addresses == 2


@pytest.mark.parametrize(
    ("value", "code"),
    [("US", "US"), ("gb", "GB"), ("UK", "GB"), ("United Kingdom", "GB"), ("Germany", "DE"),
     ("U.S.A.", "US"), ("Atlantis", ""), ("", ""), (None, ""),
     # a country's own name, other English names and the 3-letter code
     ("España", "ES"), ("México", "MX"), ("Österreich", "AT"), ("Italia", "IT"),
     ("Schweiz", "CH"), ("Nederland", "NL"), ("ESP", "ES"), ("Russian Federation", "RU")],
)  # fmt: skip
def test_country_code(value, code):
    assert country_code(value) == code


# ------------------------------------------------------------------------------------------------
# CSV formula neutralisation and writing
# ------------------------------------------------------------------------------------------------
DANGEROUS = ['=HYPERLINK("http://evil.example","click")', "+1", "-x", "@x", "\tx", "\rx"]


def test_formula_cells_get_an_apostrophe_in_the_written_file(tmp_path):
    rows = customers(*({} for _ in DANGEROUS))
    contacts = pd.DataFrame(
        {
            "customer_id": list(rows["customer_id"]),
            "first_name": DANGEROUS,
            "last_name": ["Plain", "=1+2", "Smith", "", None, "x"],
            "zip": ["=1", "-2", "+3", "@4", "5", "6"],
        }
    )
    table = audience_table(rows, contacts)
    # _text trims, so tab/CR survive only inside: check the raw neutraliser for them too
    raw = pd.DataFrame({"a": ["\tx", "\rx", "=1", "ok", None], "n": [-1.0, 2.0, 3.0, 4.0, 5.0]})
    neutral = neutralize_formulas(raw)
    assert list(neutral["a"].iloc[:4]) == ["'\tx", "'\rx", "'=1", "ok"]
    assert pd.isna(neutral["a"].iloc[4])
    assert list(neutral["n"]) == [-1.0, 2.0, 3.0, 4.0, 5.0]  # numbers are not text cells

    path = tmp_path / "mailchimp.csv"
    write_audience(format_audience(table, "mailchimp").frame, path)
    with path.open(newline="", encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))
    first_names = [row["First Name"] for row in written]
    assert first_names == [
        '\'=HYPERLINK("http://evil.example","click")',
        "'+1",
        "'-x",
        "'@x",
        "x",
        "x",
    ]
    assert [row["Last Name"] for row in written][:3] == ["Plain", "'=1+2", "Smith"]
    for row in written:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))

    google = tmp_path / "google.csv"
    write_audience(format_audience(table, "google").frame, google)
    with google.open(newline="", encoding="utf-8") as handle:
        zips = [row["Zip"] for row in csv.DictReader(handle)]
    assert zips == ["'=1", "'-2", "'+3", "'@4", "5", "6"]
    # hashed identifiers are computed from the value, not from the neutralised cell
    meta = format_audience(table, "meta").frame
    assert meta.loc[0, "fn"] == sha("hyperlinkhttpevilexampleclick")
    assert meta.loc[1, "fn"] == sha("1")


def test_write_audience_is_atomic_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "audience.csv"
    path.write_text("old contents\n")
    frame = format_audience(contact_table(), "klaviyo").frame
    write_audience(frame, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audience.csv"]
    assert path.read_text(encoding="utf-8").splitlines()[0] == (
        "Email,First Name,Last Name,predicted_clv,churn_probability,rfm_group,"
        "expected_date_of_next_order,"
        "historic_clv,predicted_spend_tier,predicted_number_of_orders"
    )
    assert pd.read_csv(path)["Email"].tolist() == list(frame["Email"])

    def broken(self, target, *args, **kwargs):
        Path(target).write_text("half a fi")
        raise OSError("disk full")

    def full_disk(lines):  # the text Arrow makes: the header is written, then the disk is full
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    monkeypatch.setattr(csvtext, "_joined_bytes", full_disk)
    with pytest.raises(OSError, match="disk full"):
        write_audience(frame, path)
    assert path.read_text(encoding="utf-8").startswith("Email,")  # the old file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audience.csv"]


@pytest.mark.parametrize("to", ["klaviyo", "mailchimp", "meta", "google"])
def test_an_address_one_record_declines_for_is_not_exported_from_another(to):
    # a shop keyed by customer number: the address opted out on one record, in on the other
    rows = customers(
        {"accepts_marketing": True, "historic_clv": 5.0},
        {"accepts_marketing": False, "historic_clv": 900.0, "rfm_group": "Dormant"},
        {"accepts_marketing": True},
    )
    rows["customer_id"] = ["100", "200", "300"]
    contacts = pd.DataFrame(
        {"customer_id": ["100", "200", "300"],
         "email": ["mixed@shop.com", " Mixed@Shop.com", "yes@shop.com"]}
    )  # fmt: skip
    audience = build_audience(rows, contacts, to, where="historic_number_of_orders >= 0")
    assert audience.exported == 1 and audience.left_out_consent == 2
    # whichever record a segment selects
    champions = rows.assign(rfm_group=["Champions", "Dormant", "Loyal"])
    audience = build_audience(champions, contacts, to, segment="champions")
    assert (audience.selected, audience.exported, audience.left_out_consent) == (1, 0, 1)
    everyone = build_audience(
        rows, contacts, to, where="historic_number_of_orders >= 0", include_non_consenting=True
    )
    assert everyone.left_out_consent == 0


@pytest.mark.parametrize("to", ["klaviyo", "mailchimp", "meta", "google"])
def test_an_address_a_record_outside_the_analysis_declines_for_is_not_exported(to):
    # orders keyed by customer number, carrying the e-mail; a customers export keyed by that
    # e-mail declines marketing for it: its record has no order under its own id, so the
    # analysis does not hold it, and its opt-out still binds the address
    rows = customers({"accepts_marketing": True}, {"accepts_marketing": True})
    rows["customer_id"] = ["S1", "S2"]
    contacts = pd.DataFrame(
        {"customer_id": ["S1", "S2", "sub@shop.com"],
         "email": ["Sub@Shop.com", "yes@shop.com", None],
         "accepts_marketing": pd.array([True, True, False], dtype="boolean")}
    )  # fmt: skip
    audience = build_audience(rows, contacts, to, where="historic_number_of_orders >= 0")
    assert (audience.exported, audience.left_out_consent) == (1, 1)
    # a record outside the analysis that accepts takes no one's opt-out away
    contacts.loc[2, "accepts_marketing"] = True
    audience = build_audience(rows, contacts, to, where="historic_number_of_orders >= 0")
    assert (audience.exported, audience.left_out_consent) == (2, 0)


def test_a_name_of_punctuation_alone_is_an_empty_cell_in_every_file():
    """A last name typed as ``-`` or ``.`` (a checkout's required field) is no name.  Meta's
    rule for ``fn``/``ln`` (lower case, no punctuation) leaves nothing of it, so every file has
    an empty cell: Klaviyo's and Mailchimp's ``Last Name`` are not ``-`` (nor the ``'-`` the
    formula escape makes of it), and Google's hashed ``Last Name`` is not the hash of ``-``."""
    rows = customers({}, {})
    rows["customer_id"] = ["1", "2"]
    contacts = pd.DataFrame(
        {"customer_id": ["1", "2"], "email": ["ann@x.com", "bob@x.com"],
         "first_name": ["Ann", "."], "last_name": ["-", "Lee"]}
    )  # fmt: skip
    names = {
        "klaviyo": ["Ann", "", "", "Lee"],
        "mailchimp": ["Ann", "", "", "Lee"],
        "meta": [sha("ann"), "", "", sha("lee")],
        "google": [sha("ann"), "", "", sha("lee")],
    }
    for to, expected in names.items():
        frame = build_audience(rows, contacts, to, where="historic_clv >= 0").frame
        first, last = HEADERS[to][2:4] if to in ("meta", "google") else HEADERS[to][1:3]
        cells = [frame.iloc[0][first], frame.iloc[0][last], frame.iloc[1][first],
                 frame.iloc[1][last]]  # fmt: skip
        assert cells == expected, to


def test_an_address_copied_with_its_display_name_or_as_a_link_is_the_address_alone():
    """Meta takes one e-mail address a cell and Klaviyo rejects a row whose Email is no valid
    address: ``Dora Lee <dora@x.com>`` (a mail program's copy) and ``mailto:erin@x.com`` (a
    link's) are written as ``dora@x.com`` and ``erin@x.com`` (hashed so for Meta and Google), and
    a second record of ``dora@x.com`` is the same person, left out as a duplicate."""
    rows = customers({"historic_clv": 90.0}, {}, {"historic_clv": 10.0})
    rows["customer_id"] = ["1", "2", "3"]
    contacts = pd.DataFrame(
        {"customer_id": ["1", "2", "3"],
         "email": ['"Lee, Dora" <Dora@X.com>', "mailto:Erin@x.com", "dora@x.com"]}
    )  # fmt: skip
    for to in ("klaviyo", "mailchimp", "meta", "google"):
        audience = build_audience(rows, contacts, to, where="historic_clv >= 0")
        expected = ["dora@x.com", "erin@x.com"]
        if to in ("meta", "google"):
            expected = [sha(address) for address in expected]
        assert list(audience.frame[HEADERS[to][0]]) == expected, to
        assert audience.left_out_duplicates == 1


@pytest.mark.parametrize("to", ["klaviyo", "mailchimp", "meta", "google"])
def test_an_email_cell_that_is_no_address_is_never_exported_and_is_counted(to):
    """Klaviyo rejects a row whose Email is no valid address (Mailchimp skips it) and its hash
    matches nobody on Meta or Google: ``carl@example`` (no domain) and ``bob @example.com`` (a
    space) are no address.  Without a phone the customer is left out, counted as without an
    e-mail and as holding no address; Meta and Google match one with a phone on the phone, their
    e-mail cell empty and counted."""
    rows = customers({}, {}, {})
    rows["customer_id"] = ["1", "2", "3"]
    contacts = pd.DataFrame(
        {"customer_id": ["1", "2", "3"],
         "email": ["carl@example", "bob @example.com", "ann@example.com"],
         "phone": [None, "+44 7700 900123", None]}
    )  # fmt: skip
    audience = build_audience(rows, contacts, to, where="historic_clv >= 0")
    emails = list(audience.frame[HEADERS[to][0]])
    if to in ("klaviyo", "mailchimp"):
        assert emails == ["ann@example.com"]
        assert (audience.left_out_no_identifier, audience.not_an_address) == (2, 2)
        assert audience.emails_left_empty == 0
    else:
        assert emails == ["", sha("ann@example.com")]
        assert audience.frame.iloc[0][HEADERS[to][1]] != ""  # matched on the phone
        assert (audience.left_out_no_identifier, audience.not_an_address) == (1, 1)
        assert audience.emails_left_empty == 1


@pytest.mark.parametrize("to", ["klaviyo", "mailchimp", "meta", "google"])
def test_an_email_cell_of_markup_is_no_address_not_another_one(to):
    """``<script>alert(1)</script>@x.com`` holds no address: taking the display name off it
    (as off ``Dora Lee <dora@x.com>``) left ``/script>@x.com``, which was sent as an address.
    A character an address holds only quoted (``<``, ``>``, ``(``, ``,`` ...) tells such a
    cell; it is left out and counted as holding no address."""
    rows = customers({}, {}, {})
    rows["customer_id"] = ["1", "2", "3"]
    contacts = pd.DataFrame(
        {"customer_id": ["1", "2", "3"],
         "email": ["<script>alert(1)</script>@x.com", "Dora Lee <Dora@X.com>", "(a)b@x.com"],
         "phone": [None, None, None]}
    )  # fmt: skip
    audience = build_audience(rows, contacts, to, where="historic_clv >= 0")
    expected = ["dora@x.com"] if to in ("klaviyo", "mailchimp") else [sha("dora@x.com")]
    assert list(audience.frame[HEADERS[to][0]]) == expected
    assert (audience.left_out_no_identifier, audience.not_an_address) == (2, 2)


def test_a_province_written_as_its_code_is_hashed_as_its_name_outside_the_us():
    """Meta's customer-list guide takes full names of states and provinces, and abbreviations of
    US states only: Shopify's ``Billing Province`` ``ON`` (Canada) and ``NSW`` (Australia) are
    hashed as ``ontario`` and ``newsouthwales``, the name typed whole gives the same hash, and a
    US state stays its 2-letter code."""
    rows = customers({}, {}, {}, {})
    rows["customer_id"] = ["1", "2", "3", "4"]
    contacts = pd.DataFrame(
        {"customer_id": ["1", "2", "3", "4"],
         "email": ["a@x.com", "b@x.com", "c@x.com", "d@x.com"],
         "province": ["ON", "Ontario", "NSW", "California"],
         "country": ["CA", "Canada", "AU", "US"]}
    )  # fmt: skip
    frame = build_audience(rows, contacts, "meta", where="historic_clv >= 0").frame
    assert list(frame["st"]) == [sha("ontario"), sha("ontario"), sha("newsouthwales"), sha("ca")]


def test_a_province_code_with_its_country_code_is_hashed_as_the_province():
    """ISO 3166-2 writes a subdivision after its country's code (``JP-13``, ``US-CA``), and
    admin exports write it with or without the dash (``JP13``): Tokyo's prefecture is hashed
    as ``tokyo`` however it is written (never ``jp``, the letters of the code, which name no
    prefecture), a prefecture numbered without its leading zero too (``JP-1``, Hokkaido's
    ``JP-01``), a US state as its 2-letter code (never ``usca``), and a numbered code no
    prefecture has is an empty cell rather than the hash of ``jp``."""
    cells = [("JP-13", "JP"), ("JP13", "JP"), ("Tokyo", "Japan"), ("JP-1", "JP"),
             ("US-CA", "US"), ("USNY", "US"), ("CA-QC", "CA"), ("JP-99", "JP")]  # fmt: skip
    rows = customers(*({} for _ in cells))
    rows["customer_id"] = [str(n) for n in range(len(cells))]
    contacts = pd.DataFrame(
        {"customer_id": rows["customer_id"],
         "email": [f"{n}@x.com" for n in range(len(cells))],
         "province": [province for province, _ in cells],
         "country": [country for _, country in cells]}
    )  # fmt: skip
    frame = build_audience(rows, contacts, "meta", where="historic_clv >= 0").frame
    expected = ["tokyo", "tokyo", "tokyo", "hokkaido", "ca", "ny", "quebec"]
    assert list(frame["st"]) == [sha(name) for name in expected] + [""]


def test_meta_places_are_hashed_in_a_to_z_letters_without_accents():
    """Meta's customer-list hashing guide asks for cities and states in a-z only (lower case, no
    punctuation, special characters or spaces): a province written as its ISO code is its name
    without the accents of the code table's spelling (``IN-MH`` is ``maharashtra``, Brazil's
    ``SP`` ``saopaulo``), the same hash as the name typed plain or accented, and a city's
    accents and letters such as ``ł`` or ``ß`` are their a-z letters; a name in another script
    keeps its letters."""
    cells = [("MH", "IN", "Mumbai"), ("Maharashtra", "India", "Pune"),
             ("SP", "BR", "São Paulo"), ("São Paulo", "Brazil", "Sao Paulo"),
             ("Île-de-France", "FR", "Saint-Étienne"), ("Łódzkie", "PL", "Łódź"),
             ("Zürich", "CH", "Straße"), ("Tokyo", "JP", "東京")]  # fmt: skip
    rows = customers(*({} for _ in cells))
    rows["customer_id"] = [str(n) for n in range(len(cells))]
    contacts = pd.DataFrame(
        {"customer_id": rows["customer_id"],
         "email": [f"{n}@x.com" for n in range(len(cells))],
         "province": [province for province, _, _ in cells],
         "country": [country for _, country, _ in cells],
         "city": [city for _, _, city in cells]}
    )  # fmt: skip
    frame = build_audience(rows, contacts, "meta", where="historic_clv >= 0").frame
    states = ["maharashtra", "maharashtra", "saopaulo", "saopaulo", "iledefrance", "lodzkie",
              "zurich", "tokyo"]  # fmt: skip
    cities = ["mumbai", "pune", "saopaulo", "saopaulo", "saintetienne", "lodz", "strasse", "東京"]
    assert list(frame["st"]) == [sha(name) for name in states]
    assert list(frame["ct"]) == [sha(name) for name in cities]


def test_invisible_characters_are_no_part_of_an_address_a_phone_or_a_name():
    """Meta's and Google's customer-list rules hash an e-mail trimmed and lower-cased, and names
    in lower case without extra spaces: a zero-width space, word joiner or byte-order mark copied
    in with a cell (``ann@x.com`` then U+200B) is invisible to the merchant, and hashed with it
    the row matches nobody.  It is dropped before normalising: the address, the name and the
    phone hash as typed without it, the address is one person (and one consent) with the plain
    one, and a cell holding it alone is empty, not an e-mail that is no address."""
    rows = customers({"historic_clv": 90.0}, {}, {})
    rows["customer_id"] = ["1", "2", "3"]
    contacts = pd.DataFrame(
        {"customer_id": ["1", "2", "3"],
         "email": ["Ann@x.com\u200b", "\ufeffbob@x.com", "\u200b"],
         "first_name": ["\ufeffAnn", "Bob\u2060", "Cy"], "last_name": ["Lee\u200b", None, None],
         "phone": [None, None, "+1 206 555 0143\u200b"]}
    )  # fmt: skip
    klaviyo = build_audience(rows, contacts, "klaviyo", where="historic_clv >= 0")
    assert list(klaviyo.frame["Email"]) == ["ann@x.com", "bob@x.com"]
    assert list(klaviyo.frame["First Name"]) == ["Ann", "Bob"]
    assert list(klaviyo.frame["Last Name"]) == ["Lee", ""]
    assert klaviyo.not_an_address == 0 and klaviyo.phone_only == 1
    meta = build_audience(rows, contacts, "meta", where="historic_clv >= 0")
    assert list(meta.frame["email"]) == [sha("ann@x.com"), sha("bob@x.com"), ""]
    assert list(meta.frame["fn"]) == [sha("ann"), sha("bob"), sha("cy")]
    assert meta.frame.iloc[0]["ln"] == sha("lee")
    assert meta.frame.iloc[2]["phone"] == sha("12065550143")
    assert (meta.not_an_address, meta.emails_left_empty) == (0, 0)
    # a decline of the plain address reaches the record holding it with the invisible character
    declined = pd.concat([contacts, pd.DataFrame({"customer_id": ["4"], "email": ["ann@x.com"],
                                                  "accepts_marketing": [False]})])  # fmt: skip
    more = pd.concat([rows, customers({}).assign(customer_id="4")], ignore_index=True)
    kept = build_audience(more, declined, "klaviyo", where="historic_clv >= 0")
    assert list(kept.frame["Email"]) == ["bob@x.com"]


def test_google_matches_a_customer_without_email_or_phone_on_their_mailing_address():
    """Google's Customer Match matches a mailing address when a row gives a first name, a last
    name, a country and a zip, all four (its file template: First Name and Last Name are needed
    to match on Country and Zip).  A customer of an orders export without e-mail or phone (a
    cash-on-delivery guest) but with a billing name and address is a Google row of those four,
    marketing consent ruling as for every row; one missing any of the four is left out as
    without an identifier, and two records of one name and address are one person.  Meta's file
    matches the same rows: its ``fn`` and ``ln`` are main identifiers, matched with the place."""
    rows = customers(
        {}, {"historic_clv": 90.0}, {}, {"accepts_marketing": False}, {}, {"historic_clv": 10.0}
    )
    rows["customer_id"] = ["1", "2", "3", "4", "5", "6"]
    contacts = pd.DataFrame(
        {"customer_id": ["1", "2", "3", "4", "5", "6"],
         "email": ["ann@x.com", None, None, None, None, None],
         "first_name": ["Ann", "Jane", "Bo", "Cy", "-", "Jane"],
         "last_name": ["Lee", "Smith", "Berg", "Ng", "Doe", "Smith "],
         "country": [None, "United States", "SE", "US", "US", "US"],
         "zip": [None, "2134", None, "94016", "10001", "02134-1234"]}
    )  # fmt: skip
    google = build_audience(rows, contacts, "google", where="historic_clv >= 0")
    frame = google.frame
    assert list(frame["Email"]) == [sha("ann@x.com"), ""]
    jane = frame.iloc[1]
    assert (jane["First Name"], jane["Last Name"]) == (sha("jane"), sha("smith"))
    assert (jane["Country"], jane["Zip"], jane["Phone"]) == ("US", "02134", "")
    # Bo gives no zip, 5's first name is no name: without an identifier; Cy declines marketing
    assert (google.left_out_no_identifier, google.left_out_consent) == (2, 1)
    assert google.left_out_duplicates == 1  # the second record of Jane Smith, 02134, US
    meta = build_audience(rows, contacts, "meta", where="historic_clv >= 0")
    assert list(meta.frame["email"]) == [sha("ann@x.com"), ""]
    jane = meta.frame.iloc[1]
    assert (jane["fn"], jane["ln"], jane["zip"]) == (sha("jane"), sha("smith"), sha("02134"))
    assert (jane["country"], jane["phone"]) == (sha("us"), "")
    assert (meta.left_out_no_identifier, meta.left_out_consent) == (2, 1)
    assert meta.left_out_duplicates == 1
    # consent no export records of a customer reached by their address is not the phone's
    unknown = build_audience(
        rows.assign(accepts_marketing=None), contacts, "google", where="historic_clv >= 0"
    )
    assert (unknown.consent_unknown, unknown.phone_consent_unknown) == (4, 0)


def test_meta_matches_a_customer_without_email_or_phone_on_their_name_and_place():
    """Meta's customer list takes ``fn`` and ``ln`` as main identifiers and matches them with the
    place beside them: a customer with both names, a country and a zip (or a city, where the
    address has no zip) but no e-mail or phone is a row of the Meta file, counted as exported;
    one without a last name, a country or any place is left out as without an identifier; a
    phone-only customer is counted as reached by a phone, and one reached by the address
    alone is not."""
    rows = customers({}, {}, {}, {}, {}, {})
    rows["customer_id"] = ["1", "2", "3", "4", "5", "6"]
    rows["accepts_marketing"] = [True, True, True, True, True, None]
    contacts = pd.DataFrame(
        {"customer_id": ["1", "2", "3", "4", "5", "6"],
         "first_name": ["Mei", "Omar", "Lea", "Ivo", "Ana", "Rui"],
         "last_name": ["Chan", "Haddad", None, "Horvat", "Silva", "Costa"],
         "city": [None, "Dubai", "Lyon", None, "Porto", "Faro"],
         "country": ["HK", "AE", "FR", None, "PT", "PT"],
         "zip": ["999077", None, "69001", "10000", None, None],
         "phone": [None, None, None, None, "+351 912 345 678", None]}
    )  # fmt: skip
    meta = build_audience(rows, contacts, "meta", where="historic_clv >= 0")
    assert list(meta.frame["fn"]) == [sha("mei"), sha("omar"), sha("ana")]
    assert list(meta.frame["ct"]) == ["", sha("dubai"), sha("porto")]
    assert list(meta.frame["phone"]) == ["", "", sha("351912345678")]
    # Lea has no last name, Ivo no country; Rui's consent is unknown, reached by his address
    assert (meta.exported, meta.left_out_no_identifier, meta.left_out_consent) == (3, 2, 1)
    assert (meta.consent_unknown, meta.phone_consent_unknown) == (1, 0)
    klaviyo = build_audience(rows, contacts, "klaviyo", where="historic_clv >= 0")
    assert (klaviyo.left_out_no_identifier, klaviyo.phone_only) == (6, 1)


def test_a_zip_of_a_dash_is_no_place_for_meta_whatever_the_consent():
    """Meta's ``zip`` is written without spaces or dashes, so a zip typed ``-`` (a checkout's
    required field) is an empty cell: a customer with no e-mail, phone or city is matched on
    nothing and counted as without an identifier, not as declining marketing."""
    rows = customers({"accepts_marketing": False})
    rows["customer_id"] = ["1"]
    contacts = pd.DataFrame(
        {"customer_id": ["1"], "first_name": ["Ann"], "last_name": ["Lee"], "country": ["FR"],
         "zip": ["-"]}
    )  # fmt: skip
    meta = build_audience(rows, contacts, "meta", where="historic_clv >= 0")
    assert (meta.exported, meta.left_out_no_identifier, meta.left_out_consent) == (0, 1, 0)


def test_meta_values_a_prospect_at_zero_and_a_buyer_at_their_predicted_clv():
    """A value-based audience takes a non-negative number on every row: a prospect (a
    subscriber without an order) is worth 0 so far and no model predicts them, so their value
    is 0, never an empty cell; a buyer's is their predicted CLV, and a buyer the model gave no
    prediction keeps an empty cell (no value is made up for them)."""
    rows = customers({"predicted_clv": 80.126}, {"predicted_clv": np.nan})
    rows["customer_id"] = ["a@x.com", "b@x.com"]
    prospects = pd.DataFrame({"customer_id": ["p@x.com", "q@x.com"], "accepts_marketing": True})
    meta = build_audience(rows, None, "meta", segment="prospects", prospects=prospects).frame
    assert list(meta["email"]) == [sha("p@x.com"), sha("q@x.com")]
    assert list(meta["value"]) == [0.0, 0.0]
    buyers = build_audience(rows, None, "meta", where="historic_clv >= 0").frame
    assert buyers["value"].iloc[0] == 80.13 and np.isnan(buyers["value"].iloc[1])


def test_meta_and_google_hash_names_without_titles_and_generational_suffixes():
    """Google's Customer Match guide asks for first names without prefixes (``Mrs.``) and last
    names without suffixes (``Jr.``); Meta's ``fn`` is the first name (or its initial).  A
    WooCommerce billing first name ``Dr. Jane`` is hashed as ``jane`` and ``Smith Jr.`` as
    ``smith`` in both files, a title alone is no first name, a last name of a suffix alone
    stays, and Klaviyo's greeting fields keep the cells as written."""
    rows = customers({}, {}, {})
    rows["customer_id"] = ["1", "2", "3"]
    contacts = pd.DataFrame(
        {"customer_id": ["1", "2", "3"], "email": ["jane@x.com", "bo@x.com", "drew@x.com"],
         "first_name": ["Dr. Jane", "MRS", "Drew"], "last_name": ["Smith, Jr.", "King III", "Jr"]}
    )  # fmt: skip
    meta = build_audience(rows, contacts, "meta", where="historic_clv >= 0").frame
    assert list(meta["fn"]) == [sha("jane"), "", sha("drew")]
    assert list(meta["ln"]) == [sha("smith"), sha("king"), sha("jr")]
    google = build_audience(rows, contacts, "google", where="historic_clv >= 0").frame
    assert list(google["First Name"]) == [sha("jane"), "", sha("drew")]
    assert list(google["Last Name"]) == [sha("smith"), sha("king"), sha("jr")]
    klaviyo = build_audience(rows, contacts, "klaviyo", where="historic_clv >= 0").frame
    assert list(klaviyo["First Name"]) == ["Dr. Jane", "MRS", "Drew"]
