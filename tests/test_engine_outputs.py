"""The customers table kept in the workspace's engine gives the same outputs as the frame.

``valuecast analyze`` keeps the analysed customers table in the workspace (``analyze(...,
in_engine=True)``) and never builds the whole pandas frame: the analysis writes it as the
snapshot's rows (or, outside a transaction, the snapshot copies it by SQL), the customers files
are streamed from the snapshot in record batches, the charts read the columns they need.  Each must give what the frame gave: a hand-written table with cells that need
escaping, missing values, NaN, dates and numbers that need rounding, stored both ways.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from valuecast.cli.analyze import CustomersFiles
from valuecast.jobs.analyze import Analysis, CustomersReleasedError, customers_frame
from valuecast.outputs.files import write_arrow_batches, write_arrow_csv
from valuecast.store import Workspace, snapshots
from valuecast.tables import CUSTOMER_COLUMN_KINDS, CUSTOMER_COLUMNS, PAGE_COLUMNS

IDS = ["=cmd", "a,b", 'say "hi"', "line\nbreak", "plain", "+1", "z@x"]
TEXT = ["=1+1", None, "Champions", "-2", "@SUM(A1)", "a, b", "x"]
ROUNDING = [127.42999999999999, 1 / 3, None, 2.675, -0.0049999, 1e-7, float("nan")]
DATES = [date(2025, 1, 31), None, date(2024, 2, 29), date(2025, 12, 1), None, date(2026, 6, 30),
         date(2020, 1, 1)]  # fmt: skip


def _column(name: str, kind: str, row: int) -> list:
    """Cells of one column; each column shifted so that rows differ everywhere."""
    shift = lambda values: values[row:] + values[:row]  # noqa: E731
    if kind == "text":
        return shift(TEXT)
    if kind == "date":
        return shift(DATES)
    if kind == "bool":
        return shift([True, None, False, True, False, None, True])
    if name in ("historic_number_of_orders", "frequency", "recency", "T"):
        return shift([1, 5, 0, 12, 3, 7, 2])
    if name.startswith("rfm_"):
        return shift([1, 2, 3, 4, 5, 1, 2])
    return shift(ROUNDING)


def _engine_arrow() -> pa.Table:
    """The customers table as the engine gives it (text as ``string``, NaN kept), id order."""
    types = {"text": pa.string(), "date": pa.date32(), "bool": pa.bool_()}
    columns = {}
    for index, (name, kind) in enumerate(CUSTOMER_COLUMN_KINDS.items()):
        if name == "customer_id":
            columns[name] = pa.array(sorted(IDS), pa.string())
            continue
        if kind == "number":
            sample = _column(name, kind, index % 7)
            kind_type = pa.float64() if any(isinstance(v, float) for v in sample) else pa.int64()
            if name.startswith("rfm_") and name != "rfm_score":
                kind_type = pa.int8()
            columns[name] = pa.array(sample, kind_type, from_pandas=False)
        else:
            columns[name] = pa.array(_column(name, kind, index % 7), types[kind])
    return pa.table(columns)


def _in_engine(ws, name: str, summary: dict) -> Analysis:
    """An analysis whose customers table is the temporary table ``name`` of the workspace."""
    raw = ws.con.con
    raw.register("_arrow", _engine_arrow())
    raw.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM _arrow")
    raw.unregister("_arrow")
    return Analysis(
        summary=summary, table=ws.con.table(name),
        release=lambda: raw.execute(f"DROP TABLE {name}"),
    )  # fmt: skip


SUMMARY = {"as_of": "2026-06-30", "n_customers": len(IDS), "totals": {"historic_clv": 1.0}}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """One workspace holding the table twice: snapshot 1 copied by SQL from the engine table,
    snapshot 2 from the frame ``analyze`` gives; the two analyses."""
    folder = tmp_path_factory.mktemp("engine-outputs")
    engine_arrow = _engine_arrow()
    # the engine holds a NaN (a missing value once in pandas)
    assert [v for v in engine_arrow["historic_clv"].to_pylist() if v is not None and math.isnan(v)]
    with Workspace(folder / "w.duckdb") as ws:
        in_engine = _in_engine(ws, "engine_customers", dict(SUMMARY))
        # the second snapshot has an as-of date of its own (one snapshot per date)
        frame = Analysis(
            customers=customers_frame(engine_arrow), summary={**SUMMARY, "as_of": "2026-07-01"}
        )
        for analysis in (in_engine, frame):
            info = snapshots.save_snapshot(ws, analysis, {}, {})
            snapshots.store_sort_orders(ws, info.snapshot_id)
        yield ws, in_engine, frame, folder


def _stored_orders(ws, snapshot_id: int) -> pa.Table:
    """The sort orders snapshot ``snapshot_id`` stored, read back column by column."""
    return pa.table(dict(snapshots.load_sort_orders(ws, snapshot_id)))


def test_snapshot_by_sql_equals_the_frame_snapshot(stored):
    ws, *_ = stored
    by_sql = snapshots.customers_arrow_table(ws, 1)
    from_frame = snapshots.customers_arrow_table(ws, 2)
    assert by_sql.column_names == list(CUSTOMER_COLUMNS)
    assert by_sql.equals(from_frame)
    # the engine's NaN is stored as missing, as the frame's Arrow table has it
    assert by_sql["historic_clv"].null_count == 2
    assert _stored_orders(ws, 1).equals(_stored_orders(ws, 2))


def test_engine_columns_read_as_the_frame_has_them(stored):
    _, in_engine, frame, _ = stored
    columns = ["customer_id", "last_order_date", "expected_date_of_next_order", "historic_clv",
               "rfm_group", "accepts_marketing", "frequency"]  # fmt: skip
    pd.testing.assert_frame_equal(in_engine.frame(columns), frame.customers[columns])
    assert in_engine.arrow(PAGE_COLUMNS).equals(frame.arrow(PAGE_COLUMNS))
    assert in_engine.schema() == frame.schema()


def test_segment_columns_read_as_the_engine_gives_them_make_the_same_frame(stored):
    """``analyze`` makes the segment counts' frame from the engine's own types (text as
    ``string``, NaN as stored), freeing each column as it is converted: the frame is the one
    of the columns read as the frame's Arrow table has them."""
    from valuecast.web.views import SEGMENT_COLUMNS, segment_frame

    _, in_engine, frame, _ = stored
    as_read = in_engine.arrow(SEGMENT_COLUMNS, as_read=True)
    assert pa.types.is_string(as_read.schema.field("rfm_group").type)
    assert pc.any(pc.is_nan(as_read["historic_clv"])).as_py()
    expected = segment_frame(frame.arrow(SEGMENT_COLUMNS))
    pd.testing.assert_frame_equal(segment_frame(as_read, self_destruct=True), expected)
    assert frame.arrow(SEGMENT_COLUMNS, as_read=True).equals(frame.arrow(SEGMENT_COLUMNS))


def test_streamed_csv_is_the_whole_tables_bytes(stored, tmp_path):
    *_, frame, _ = stored
    table = frame.arrow()
    write_arrow_csv(table, tmp_path / "whole.csv")
    write_arrow_batches(table.to_batches(max_chunksize=2), table.schema, csv=tmp_path / "b.csv")
    whole = (tmp_path / "whole.csv").read_bytes()
    assert whole == (tmp_path / "b.csv").read_bytes()
    assert b"'=cmd" in whole and b"127.43" in whole and b"2024-02-29" in whole


def test_customers_files_streamed_from_the_snapshot_equal_the_frames(stored, tmp_path):
    ws, in_engine, frame, _ = stored
    batches = list(snapshots.customers_batches(ws, 1, in_engine.schema(), rows=3))
    assert [batch.num_rows for batch in batches] == [3, 3, 1]
    streamed = CustomersFiles(in_engine, tmp_path / "engine", (ws, 1)).publish()
    written = CustomersFiles(frame, tmp_path / "frame").publish()
    csv = [paths["customers_csv"].read_bytes() for paths in (streamed, written)]
    assert csv[0] == csv[1]
    parquet = [pq.read_table(paths["customers_parquet"]) for paths in (streamed, written)]
    assert parquet[0].equals(parquet[1])


def test_a_released_table_cannot_be_read_but_a_read_frame_stays(stored):
    ws, *_ = stored
    read_first = _in_engine(ws, "kept", {})
    customers = read_first.customers
    read_first.release()
    assert read_first.customers is customers and not read_first.in_engine
    unread = _in_engine(ws, "gone", {})
    unread.release()
    with pytest.raises(CustomersReleasedError, match="released"):
        unread.customers  # noqa: B018


def test_labels_read_as_text_give_the_same_sort_orders(stored, monkeypatch):
    # a column of more labels than LABELS_AS_ENUM is read as text, not as an ENUM
    ws, *_ = stored
    monkeypatch.setattr(snapshots, "LABELS_AS_ENUM", 1)
    many = _in_engine(ws, "many_labels", {**SUMMARY, "as_of": "2026-07-02"})
    info = snapshots.save_snapshot(ws, many, {}, {})
    snapshots.store_sort_orders(ws, info.snapshot_id)
    many.release()
    assert _stored_orders(ws, 1).equals(_stored_orders(ws, info.snapshot_id))


def test_a_parquet_write_that_fails_leaves_no_files(stored, tmp_path):
    *_, frame, _ = stored
    table = frame.arrow()
    wrong = pa.schema([field.with_type(pa.int64()) for field in table.schema])
    with pytest.raises(pa.ArrowInvalid):
        write_arrow_batches(
            table.to_batches(max_chunksize=2), table.schema, csv=tmp_path / "c.csv",
            parquet=tmp_path / "c.parquet", parquet_schema=wrong,
        )  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_parquet_keys_labels_and_counts_in_dictionaries_but_not_floats_nor_ids(stored, tmp_path):
    # floats hardly repeat and customer ids never: a dictionary for them is built only to be
    # dropped for plain values
    *_, frame, _ = stored
    table = frame.arrow()
    write_arrow_batches(table.to_batches(), table.schema, parquet=tmp_path / "c.parquet")
    group = pq.ParquetFile(tmp_path / "c.parquet").metadata.row_group(0)
    encodings = {
        group.column(i).path_in_schema: group.column(i).encodings for i in range(group.num_columns)
    }
    for field in table.schema:
        keyed = "RLE_DICTIONARY" in encodings[field.name]
        plain = pa.types.is_floating(field.type) or field.name == "customer_id"
        assert keyed != plain or pa.types.is_boolean(field.type), field.name
    assert pq.read_table(tmp_path / "c.parquet").equals(table)


def _stored_rows(ws) -> int:
    return ws.raw.execute("SELECT count(*) FROM snapshot_customers").fetchall()[0][0]


def test_rows_the_analysis_stores_read_nan_until_the_snapshot_stores_them_missing(stored):
    from valuecast.analysis.customers import _group_totals

    ws, *_ = stored
    engine = ws.con.table("engine_customers")
    rows = snapshots.SnapshotCustomers(ws)
    with pytest.raises(RuntimeError, match="inside a transaction"):
        rows.store([engine])
    with ws.transaction():
        kept = rows.store([engine.order_by("customer_id")])
        # what the analysis reads before the snapshot is saved is its own values, NaN included:
        # a total of a group with a NaN is NaN
        assert kept.schema() == engine.schema()
        historic = kept.historic_clv.to_pyarrow()
        assert historic.null_count == 1 and pc.sum(pc.is_nan(historic)).as_py() == 1
        totals = _group_totals(kept, ("rfm_group",))["rfm_group"]
        # (a group whose values are all missing totals None)
        assert [g for g, t in totals.items() if math.isnan(t["historic_clv"] or 0.0)]
        analysis = Analysis(
            summary={**SUMMARY, "as_of": "2026-07-03"}, table=kept, snapshot_rows=rows
        )
        info = snapshots.save_snapshot(ws, analysis, {}, {})
    assert info.snapshot_id == rows.snapshot_id
    snapshots.store_sort_orders(ws, info.snapshot_id)
    # stored once, NaN as missing: the same rows and sort orders as the copy by SQL
    assert snapshots.customers_arrow_table(ws, info.snapshot_id).equals(
        snapshots.customers_arrow_table(ws, 1)
    )
    assert _stored_orders(ws, 1).equals(_stored_orders(ws, info.snapshot_id))


def test_rows_stored_in_parts_are_read_part_after_part(stored):
    # the analysis stores its customers in two halves by id, each sorted on its own
    ws, *_ = stored
    engine = ws.con.table("engine_customers")
    middle = sorted(IDS)[len(IDS) // 2]
    below = engine.customer_id < middle
    parts = [engine.filter(half).order_by("customer_id") for half in (below, ~below)]
    before = _stored_rows(ws)
    # rolled back: the module's workspace keeps no rows without their snapshot
    with pytest.raises(RuntimeError, match="read"), ws.transaction():
        kept = snapshots.SnapshotCustomers(ws).store(parts)
        ids = kept.customer_id.to_pyarrow().to_pylist()
        schema = kept.schema()
        raise RuntimeError("read")
    assert ids == sorted(IDS) and schema == engine.schema()
    assert _stored_rows(ws) == before


def test_rows_stored_by_a_failed_analysis_are_rolled_back(stored):
    ws, *_ = stored
    before = _stored_rows(ws)
    with pytest.raises(RuntimeError, match="broke"), ws.transaction():
        snapshots.SnapshotCustomers(ws).store([ws.con.table("engine_customers")])
        assert _stored_rows(ws) == before + len(IDS)
        raise RuntimeError("the analysis broke after storing its rows")
    assert _stored_rows(ws) == before


def _as_written(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as customers.csv's cells, for Arrow's one writer over the whole table: rounded
    as the pandas files round it, its float columns the decimals of their places, escaped."""
    from valuecast.csvsafe import escape_arrow
    from valuecast.outputs.files import fixed_point, rounded_for_csv
    from valuecast.tables import csv_decimals

    table = pa.Table.from_pandas(rounded_for_csv(frame), preserve_index=False)
    for index, field in enumerate(table.schema):
        if pa.types.is_floating(field.type):
            values = table.column(index).to_numpy()  # missing ones NaN
            cells = fixed_point(values, csv_decimals(field.name))
            table = table.set_column(index, field.name, cells)
    return escape_arrow(table)


def test_csv_written_many_rows_at_a_time_is_arrows_default_bytes(tmp_path):
    """customers.csv turns CSV_ROWS_AT_A_TIME rows into text at a time, not Arrow's default
    1024: the same bytes over several of its batches (numbers of every size, quoted and
    escaped text, missing cells, dates)."""
    import numpy as np
    import pyarrow.csv as pacsv

    from valuecast.outputs.files import CSV_ROWS_AT_A_TIME

    n = 2 * CSV_ROWS_AT_A_TIME + 7
    rng = np.random.default_rng(3)
    clv = rng.lognormal(3.0, 3.0, n) * rng.choice([-1.0, 1.0], n)
    clv[::97] = np.nan
    frame = pd.DataFrame(
        {
            "customer_id": [f'c{i},"x"' if i % 5 else f"=c{i}" for i in range(n)],
            "historic_clv": clv,
            "probability_alive": rng.random(n),
            "frequency": rng.integers(0, 10**12, n),
            "first_order_date": pd.Series(
                [date(2020, 1, 1 + i % 28) if i % 11 else None for i in range(n)], dtype=object
            ),
        }
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    write_arrow_csv(table, tmp_path / "ours.csv")
    safe = _as_written(frame)
    pacsv.write_csv(safe, tmp_path / "default.csv", pacsv.WriteOptions(quoting_style="needed"))
    ours = (tmp_path / "ours.csv").read_bytes()
    assert ours == (tmp_path / "default.csv").read_bytes()
    assert ours.count(b"\n") == n + 1 and b"'=c5" in ours


def test_csv_made_in_pieces_by_several_threads_keeps_the_rows_order(tmp_path, monkeypatch):
    """customers.csv's text is made in pieces by CSV_TEXT_THREADS threads: written in the
    batches' order, a table given whole or in batches of any size gives the bytes of Arrow's
    one writer over the whole table."""
    import pyarrow.csv as pacsv

    from valuecast.outputs import files

    monkeypatch.setattr(files, "CSV_ROWS_PER_PIECE", 7)
    n = 1000
    frame = pd.DataFrame(
        {
            "customer_id": [f"=c{i}" if i % 13 == 0 else f"c{i:04d}" for i in range(n)],
            "historic_clv": [i * 1.005 for i in range(n)],
            "frequency": list(range(n)),
        }
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    files.write_arrow_csv(table, tmp_path / "whole.csv")
    files.write_arrow_batches(
        table.to_batches(max_chunksize=30), table.schema, csv=tmp_path / "batches.csv"
    )
    safe = _as_written(frame)
    pacsv.write_csv(safe, tmp_path / "one.csv", pacsv.WriteOptions(quoting_style="needed"))
    one = (tmp_path / "one.csv").read_bytes()
    assert (tmp_path / "whole.csv").read_bytes() == one
    assert (tmp_path / "batches.csv").read_bytes() == one
    rows = one.decode().splitlines()
    assert len(rows) == n + 1 and rows[1].startswith('"\'=c0"') and rows[-1].startswith('"c0999"')


def test_a_csv_piece_that_fails_leaves_no_file(tmp_path, monkeypatch):
    from valuecast.outputs import files

    monkeypatch.setattr(files, "CSV_ROWS_PER_PIECE", 2)
    calls = []
    text = files._CsvThreads._text

    def failing(table, *, header=False):
        calls.append(header)
        if len(calls) == 4:
            raise OSError("disk full")
        return text(table, header=header)

    monkeypatch.setattr(files._CsvThreads, "_text", staticmethod(failing))
    table = pa.table({"customer_id": [f"c{i}" for i in range(20)]})
    with pytest.raises(OSError, match="disk full"):
        files.write_arrow_csv(table, tmp_path / "c.csv")
    assert list(tmp_path.iterdir()) == []


def test_sort_orders_are_made_from_the_committed_snapshot_not_in_its_transaction(
    stored, monkeypatch
):
    # made inside the transaction, the page's columns would be held while the analysis goes on
    ws, *_ = stored
    made = []
    orders_table = snapshots.orders_table
    monkeypatch.setattr(
        snapshots,
        "orders_table",
        lambda *args: made.append(ws.in_transaction) or orders_table(*args),
    )
    rows = snapshots.SnapshotCustomers(ws)
    with ws.transaction():
        kept = rows.store([ws.con.table("engine_customers").order_by("customer_id")])
        summary = {**SUMMARY, "as_of": "2026-07-04"}
        analysis = Analysis(summary=summary, table=kept, snapshot_rows=rows)
        info = snapshots.save_snapshot(ws, analysis, {}, {})
    assert made == []
    assert snapshots.SORT_ORDERS not in snapshots.load_pages(ws, info.snapshot_id)
    snapshots.store_sort_orders(ws, info.snapshot_id)
    assert made == [False]
    assert _stored_orders(ws, 1).equals(_stored_orders(ws, info.snapshot_id))


def test_sort_orders_of_rows_stored_out_of_id_order_and_read_in_parallel(tmp_path):
    # rows in several row groups, stored in no id order: the workspace's connection reads them
    # in any order, yet every column's query must give the same rows in the same order
    from valuecast.store.sort_orders import orders_table

    rows = 400_000
    with Workspace(tmp_path / "w.duckdb") as ws:
        ws.raw.execute("SET threads = 4")
        ws.raw.execute("SET preserve_insertion_order = false")
        ws.raw.execute(
            "CREATE TABLE snapshot_customers AS SELECT 7::BIGINT AS snapshot_id, "
            "(CASE WHEN k % 3 = 0 THEN 'C' ELSE 'b' END) || lpad(k::VARCHAR, 7, '0') AS customer_id, "
            "(k * 31 % 1000) / 10 AS historic_clv, "
            "CASE WHEN k % 11 = 0 THEN NULL ELSE k % 13 END AS historic_number_of_orders, "
            "DATE '2024-01-01' + (k * 17 % 400)::INT AS last_order_date, "
            "['Champions', 'Loyal', 'At risk', NULL][k % 4 + 1] AS rfm_group "
            f"FROM (SELECT range * 7919 % {rows} AS k FROM range({rows}))"
        )
        made = snapshots.snapshot_sort_orders(ws, 7)
        in_id_order = ws.raw.sql(
            "SELECT * EXCLUDE (snapshot_id) FROM snapshot_customers ORDER BY customer_id"
        ).to_arrow_table()
    assert made.equals(orders_table(in_id_order, PAGE_COLUMNS))
