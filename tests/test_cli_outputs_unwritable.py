"""An output path that cannot be written (a folder where a file goes, a file where a folder goes,
a missing folder) is one line naming it and exit 2, never a traceback, for every command."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from valuecast.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    folder = tmp_path_factory.mktemp("unwritable")
    orders = folder / "orders.csv"
    rows = ["customer_id,order_date,revenue,product"]
    for k in range(40):
        for month in range(1, 2 + k % 4):
            rows.append(f"c{k}@x.com,2024-{month:02d}-{1 + k % 27:02d},{10 + k},Tea")
    orders.write_text("\n".join(rows) + "\n")
    path = folder / "ws.duckdb"
    result = runner.invoke(app, [
        "analyze", str(orders), "-w", str(path), "-o", str(folder / "out"),
        "--map", "customer_id=customer_id,ordered_at=order_date,revenue=revenue,product=product",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    return path


def _one_line(result, target) -> None:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith(f"error: {target}: cannot write"), lines


@pytest.mark.parametrize(
    ("command", "what"),
    [
        (["summary"], "the summary"),
        (["history"], "the history"),
    ],
)
def test_a_folder_where_a_file_goes_is_one_line(workspace, tmp_path, command, what):
    target = tmp_path / "taken.csv"
    target.mkdir()
    result = runner.invoke(app, [*command, "-w", str(workspace), "--out", str(target)])
    _one_line(result, target)
    assert what in result.output


def test_a_file_where_a_folder_goes_is_one_line(workspace, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    target = blocker / "inside"
    result = runner.invoke(app, ["affinity", "-w", str(workspace), "--out", str(target)])
    _one_line(result, target)
    result = runner.invoke(app, ["demo", "--customers", "20", "--out", str(target)])
    _one_line(result, target)


def test_fit_predictions_to_a_folder_and_in_its_json(tmp_path):
    summary = tmp_path / "summary.csv"
    summary.write_text(
        "customer_id,frequency,recency,T\n"
        + "".join(f"c{k},{k % 4},{(k % 4) * 7},{30 + k}\n" for k in range(60))
    )
    taken = tmp_path / "p.csv"
    taken.mkdir()
    result = runner.invoke(app, ["fit", str(summary), "--predict", "10", "--out", str(taken)])
    _one_line(result, taken)
    # without --out the JSON holds the predictions it was asked for
    import json

    result = runner.invoke(app, ["fit", str(summary), "--predict", "10", "--json"])
    assert result.exit_code == 0, result.output
    predictions = json.loads(result.output)["predictions"]
    assert len(predictions) == 60 and {"customer_id", "probability_alive"} <= set(predictions[0])


def test_a_demo_larger_than_it_simulates_is_refused(tmp_path):
    result = runner.invoke(app, ["demo", "--customers", "99999999999", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "is more than the demo simulates" in result.output


def test_a_workspace_named_as_an_export_is_refused_and_the_export_kept(workspace, tmp_path):
    # DuckDB opens a CSV file as an in-memory database over it: the ingest vanished silently
    export = tmp_path / "orders.csv"
    text = "customer_id,order_date,revenue\na@x.com,2024-01-05,10\n"
    export.write_text(text)
    for command in (["ingest", str(export)], ["analyze", str(export)], ["history"]):
        result = runner.invoke(app, [*command, "-w", str(export)])
        assert result.exit_code == 2, result.output
        assert "not a valuecast workspace (a DuckDB file)" in result.output
    assert export.read_text() == text
    fresh = tmp_path / "new.csv"
    result = runner.invoke(app, ["ingest", str(export), "-w", str(fresh)])
    assert result.exit_code == 2 and "give --workspace a name ending in .duckdb" in result.output
    assert not fresh.exists()


def test_summary_refuses_to_write_over_the_export_it_reads(tmp_path):
    export = tmp_path / "orders.csv"
    text = "customer_id,order_date,revenue\na@x.com,2024-01-05,10\n"
    export.write_text(text)
    mapping = "customer_id=customer_id,ordered_at=order_date,revenue=revenue"
    result = runner.invoke(app, ["summary", str(export), "--map", mapping, "--out", str(export)])
    assert result.exit_code == 2 and "is the export being summarised" in result.output
    assert export.read_text() == text


def test_brackets_in_paths_are_shown_as_written_not_read_as_markup(tmp_path):
    export = tmp_path / "i[b].csv"
    export.write_text(
        "customer_id,order_date,revenue\n"
        + "".join(f"c{k % 7}@x.com,2024-0{1 + k % 6}-1{k % 9},{10 + k}\n" for k in range(40))
    )
    out = tmp_path / "o[/b]"
    mapping = "customer_id=customer_id,ordered_at=order_date,revenue=revenue"
    result = runner.invoke(app, [
        "analyze", str(export), "-w", str(tmp_path / "w[x].duckdb"), "--out", str(out),
        "--map", mapping,
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"{out / 'customers.csv'}" in " ".join(result.output.split())
    result = runner.invoke(app, ["ingest", str(export), "-w", str(tmp_path / "v.duckdb"),
                                 "--map", mapping])  # fmt: skip
    assert result.exit_code == 0 and "i[b].csv" in result.output


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (["analyze", "--horizon", "365"], "the horizon is in months, not days"),
        (["analyze", "--annual-discount-rate", "10"], "give it as a fraction (0.10 for 10%)"),
        (["affinity", "--within-days", "99999999999"], "must be at most 3,650 days"),
        (["reminders", "--due-within", "99999"], "must be at most 3,650 days"),
    ],
)
def test_values_typed_in_the_wrong_unit_are_refused_in_one_line(workspace, command, said):
    result = runner.invoke(app, [*command, "-w", str(workspace)])
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.output.split())


@pytest.mark.parametrize("typed", ["Champions", "CHAMPIONS", "At risk", "at-risk", "Almost Lost"])
def test_a_segment_is_named_as_the_analysis_prints_its_group(workspace, tmp_path, typed):
    out = tmp_path / "audience.csv"
    result = runner.invoke(app, [
        "export", "--segment", typed, "--to", "klaviyo", "-w", str(workspace), "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.exists()


def test_a_duckdb_database_of_something_else_is_not_made_a_workspace(tmp_path):
    import duckdb

    foreign = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(foreign)) as con:
        con.execute("CREATE TABLE sales (x INTEGER)")
    export = tmp_path / "orders.csv"
    export.write_text("customer_id,order_date,revenue\na@x.com,2024-01-05,10\n")
    result = runner.invoke(app, ["ingest", str(export), "-w", str(foreign)])
    assert result.exit_code == 2, result.output
    assert "a DuckDB database of something else (tables sales)" in result.output
    with duckdb.connect(str(foreign), read_only=True) as con:
        assert [name for (name,) in con.execute("SHOW TABLES").fetchall()] == ["sales"]


def test_a_named_pipe_or_a_link_given_as_out_is_written_through_never_replaced(workspace, tmp_path):
    """`--out /dev/stdout` put a regular file where the device was (as root, for every later
    process of the machine), since the file is written beside its path and renamed over it:
    a named pipe, a device's kind, now gets the file's bytes and stays a pipe, and a link
    in /dev or /proc (/dev/stdout redirected to a file) is followed to that file."""
    import os
    import stat
    import threading

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    read: list[bytes] = []
    reader = threading.Thread(target=lambda: read.append(pipe.read_bytes()), daemon=True)
    reader.start()
    result = runner.invoke(app, ["history", "-w", str(workspace), "--out", str(pipe)])
    reader.join(timeout=20)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(pipe.lstat().st_mode)
    assert read and read[0].startswith(b"snapshot_id,")
    # /dev/stdout redirected to a file is /proc/self/fd/1, a link to that file: written there
    redirected = tmp_path / "captured.csv"
    with redirected.open("w") as handle:
        descriptor = f"/proc/self/fd/{handle.fileno()}"
        result = runner.invoke(app, ["history", "-w", str(workspace), "--out", descriptor])
    assert result.exit_code == 0, result.output
    assert redirected.read_bytes() == read[0]
    # any other link is replaced, never followed: one planted in a shared results folder
    # would have the run write wherever it points
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep\n")
    link = tmp_path / "latest.csv"
    link.symlink_to(elsewhere)
    result = runner.invoke(app, ["history", "-w", str(workspace), "--out", str(link)])
    assert result.exit_code == 0, result.output
    assert not link.is_symlink() and link.read_bytes() == read[0]
    assert elsewhere.read_text() == "keep\n"


def test_a_full_disk_names_the_file_it_was_writing(tmp_path):
    """ "writing the results failed: OSError: [Errno 27] File too large" named no file (a full
    disk's error names none): the file being written is named."""
    import errno

    from valuecast.outputs.files import write_atomically

    def full(path):
        path.write_text("part")
        raise OSError(errno.EFBIG, "File too large")

    target = tmp_path / "report.html"
    with pytest.raises(OSError) as caught:
        write_atomically(target, full)
    assert str(caught.value) == f"[Errno 27] File too large: '{target}'"
    assert list(tmp_path.iterdir()) == []  # the part written is gone
