"""DuckDB connections: the memory limit a workspace gets, and a bad one as a one-line error."""

from __future__ import annotations

import pytest

from valuecast.store.connection import (
    EngineError,
    connect_duckdb,
    uses_default_memory_limit,
    workspace_memory_bytes,
)


def _limit(backend) -> str:
    return backend.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0]


def test_a_workspace_file_gets_one_gigabyte_unless_told_otherwise(tmp_path, monkeypatch):
    monkeypatch.delenv("VALUECAST_MEMORY_LIMIT", raising=False)
    default = connect_duckdb(tmp_path / "a.duckdb")
    explicit = connect_duckdb(tmp_path / "b.duckdb", memory_limit="3GB")
    monkeypatch.setenv("VALUECAST_MEMORY_LIMIT", "2GB")
    from_environment = connect_duckdb(tmp_path / "c.duckdb")
    try:
        # DuckDB shows the limit in binary units: 1 GB = 953.6 MiB
        assert _limit(default) == "953.6 MiB"
        assert _limit(explicit) == "2.7 GiB"
        assert _limit(from_environment) == "1.8 GiB"
    finally:
        for backend in (default, explicit, from_environment):
            backend.disconnect()


def test_an_unreadable_memory_limit_is_one_line_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("VALUECAST_MEMORY_LIMIT", "lots")
    with pytest.raises(EngineError, match=r"^memory limit 'lots': not a memory size.*VALUECAST_"):
        connect_duckdb(tmp_path / "a.duckdb")
    with pytest.raises(EngineError, match="not a memory size"):
        connect_duckdb(None)


def test_the_cli_reports_a_bad_memory_limit_without_a_traceback(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from valuecast.cli import app
    from valuecast.store import Workspace

    Workspace(tmp_path / "w.duckdb").close()
    monkeypatch.setenv("VALUECAST_MEMORY_LIMIT", "lots")
    result = CliRunner().invoke(app, ["history", "--workspace", str(tmp_path / "w.duckdb")])
    assert result.exit_code != 0
    assert "not a memory size" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("orders", "machine_gb", "expected"),
    [
        (0, 24, 10**9),
        (3_119_350, 24, 10**9),  # a million customers: 1 GB
        (10_416_666, 24, 10**9),  # 96 bytes an order reach 1 GB here
        (10_416_667, 24, 10_416_667 * 96),
        (31_224_909, 24, 31_224_909 * 96),  # ten million customers: 3.0 GB
        (31_224_909, 8, 2 * 10**9),  # at most a quarter of the machine
        (31_224_909, 2, 10**9),  # never less than 1 GB
    ],
)
def test_the_default_limit_grows_with_the_orders(orders, machine_gb, expected):
    assert workspace_memory_bytes(orders, machine_gb * 10**9) == expected


def test_the_default_limit_is_the_only_one_that_grows(tmp_path, monkeypatch):
    monkeypatch.delenv("VALUECAST_MEMORY_LIMIT", raising=False)
    assert uses_default_memory_limit(tmp_path / "a.duckdb")
    assert not uses_default_memory_limit(tmp_path / "a.duckdb", "3GB")
    assert not uses_default_memory_limit(None)
    monkeypatch.setenv("VALUECAST_MEMORY_LIMIT", "2GB")
    assert not uses_default_memory_limit(tmp_path / "a.duckdb")
