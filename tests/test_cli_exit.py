"""The console script leaves the interpreter's exit little to scan, and keeps the exit code."""

from __future__ import annotations

import gc
import tomllib
from pathlib import Path

import pytest

import valuecast.cli as cli

ROOT = Path(__file__).resolve().parents[1]


def test_console_script_is_main():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["valuecast"] == "valuecast.cli:main"


@pytest.mark.parametrize("module", ["valuecast", "valuecast.cli"])
def test_python_dash_m_runs_the_command_line(module):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", module, "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("valuecast ")


@pytest.mark.parametrize("code", [0, 2])
def test_main_freezes_what_is_left_and_keeps_the_exit_code(monkeypatch, code):
    def app() -> None:
        raise SystemExit(code)

    monkeypatch.setattr(cli, "app", app)
    gc.unfreeze()
    try:
        with pytest.raises(SystemExit) as exited:
            cli.main()
        frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()
    assert exited.value.code == code
    assert frozen > 0


def test_main_freezes_after_an_error(monkeypatch):
    def app() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "app", app)
    monkeypatch.delenv("VALUECAST_TRACEBACK", raising=False)
    gc.unfreeze()
    try:
        # an error no command words is one line and exit 2 (test_cli_interrupts checks the line)
        with pytest.raises(SystemExit) as stopped:
            cli.main()
        assert stopped.value.code == 2
        frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()
    assert frozen > 0


def test_engine_options_it_cannot_honour_are_refused_before_it_starts(tmp_path):
    """Spark's analysis writes no CAC, and its summary a folder of Parquet parts: --spend and a
    .csv --out are refused, in one line, before any Spark session starts."""
    from typer.testing import CliRunner

    from valuecast.cli import app

    spend = tmp_path / "spend.csv"
    spend.write_text("month,channel,spend\n2025-01,web,5\n")
    runner = CliRunner()
    result = runner.invoke(app, ["analyze", "--engine", "spark", "--tables", str(tmp_path),
                                 "--spend", str(spend), "-o", str(tmp_path / "o")])  # fmt: skip
    assert result.exit_code == 2 and "--spend runs on the workspace" in result.output
    result = runner.invoke(app, ["summary", "--engine", "spark", "--tables", str(tmp_path),
                                 "--out", str(tmp_path / "s.csv")])  # fmt: skip
    assert result.exit_code == 2
    assert "--engine spark writes Parquet: give a .parquet path" in result.output


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["analyze", "--model", "NBD"], "error: Invalid value for '--model'"),
        (["analyze", "--nope"], "error: No such option: --nope"),
    ],
)
def test_a_usage_error_is_one_line_not_a_box(monkeypatch, capsys, argv, said):
    monkeypatch.setattr("sys.argv", ["valuecast", *argv])
    gc.unfreeze()
    try:
        with pytest.raises(SystemExit) as exited:
            cli.main()
    finally:
        gc.unfreeze()
    assert exited.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(said), lines
    assert lines[0].endswith(" analyze --help`)")  # the program as it was called


def test_version_is_printed_and_a_negative_top_refused():
    from typer.testing import CliRunner

    from valuecast import __version__

    runner = CliRunner()
    result = runner.invoke(cli.app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"valuecast {__version__}"
    result = runner.invoke(cli.app, ["compare", "--top", "-1"])
    assert result.exit_code == 2 and "--top" in result.output


def test_analyze_on_an_engine_says_the_kept_spend_is_not_used(monkeypatch, tmp_path):
    """The workspace keeps a spend, which every analysis there divides: the engine's analysis
    writes no CAC, and says that it leaves the kept spend unused rather than nothing."""
    from typer.testing import CliRunner

    import valuecast.jobs.scale as engine_jobs
    from valuecast.cli import app
    from valuecast.io.spend import read_spend
    from valuecast.store import Workspace
    from valuecast.store.spend import store_spend

    spend = tmp_path / "spend.csv"
    spend.write_text("month,channel,spend\n2025-01,web,5\n")
    workspace = tmp_path / "shop.duckdb"
    with Workspace(workspace) as ws:
        store_spend(ws, read_spend(spend), "spend.csv")
    summary = {"n_customers": 3, "as_of": "2025-02-01", "engine": "spark", "notes": [],
               "totals": {"historic_clv": 10.0, "predicted_clv": 5.0}, "model": {"name": "pnbd"}}  # fmt: skip
    monkeypatch.setattr(engine_jobs, "analyze_on_engine", lambda *args, **kwargs: (summary, {}))
    runner = CliRunner()
    result = runner.invoke(app, ["analyze", "--engine", "spark", "--tables", str(tmp_path),
                                 "-w", str(workspace), "-o", str(tmp_path / "o")])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "note: the engine's analysis writes no CAC: the spend file kept from" in text
    # a long workspace path is broken across lines wherever the terminal ends
    assert f"(spend.csv)in{workspace}isnotused" in "".join(text.split())
    result = runner.invoke(app, ["analyze", "--engine", "spark", "--tables", str(tmp_path),
                                 "-w", str(workspace), "--no-spend"])  # fmt: skip
    assert result.exit_code == 2 and "the engine's analysis uses no spend" in result.output


def test_a_refused_choice_is_worded_as_the_merchant_gave_it(monkeypatch, capsys):
    """``--format shopfy`` was "Invalid value for '--format': Value error, 'shopfy' is not one
    of ...": a validator's wording, not the merchant's."""
    monkeypatch.setattr("sys.argv", ["valuecast", "analyze", "--format", "shopfy"])
    gc.unfreeze()
    try:
        with pytest.raises(SystemExit) as exited:
            cli.main()
    finally:
        gc.unfreeze()
    assert exited.value.code == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert line.startswith("error: Invalid value for '--format': 'shopfy' is not one of 'shopify',")


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["analyze", "--model", "nbd"], "use auto, bgnbd, pnbd, mbgnbd, ggnbd"),
        (
            ["fit", "x.csv", "--model", "Gamma Gama"],
            "use bgnbd, pnbd, mbgnbd, ggnbd, bgbb, gg, sbg",
        ),
    ],
)
def test_an_unknown_model_lists_the_names_it_could_be(monkeypatch, capsys, argv, said):
    monkeypatch.setattr("sys.argv", ["valuecast", *argv])
    gc.unfreeze()
    try:
        with pytest.raises(SystemExit) as exited:
            cli.main()
    finally:
        gc.unfreeze()
    assert exited.value.code == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert line.startswith("error: Invalid value for '--model'")
    assert f"'{argv[-1]}' is no model valuecast knows: {said}" in line
