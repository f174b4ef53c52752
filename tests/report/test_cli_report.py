"""`valuecast report`: the command on a workspace, and its one-line errors."""

from __future__ import annotations

import typer
from plotly.offline import get_plotlyjs
from typer.testing import CliRunner

from valuecast.cli.report import report

runner = CliRunner()


def _app() -> typer.Typer:
    """An app with the report command only (the real one registers it in valuecast.cli)."""
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def main() -> None:
        """valuecast"""

    app.command("report")(report)
    return app


def run(*args):
    return runner.invoke(_app(), ["report", *map(str, args)])


def _one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    for fragment in fragments:
        assert fragment in lines[0], result.output


def test_report_command_writes_the_page(shop, tmp_path):
    out = tmp_path / "shop report.html"
    result = run("--workspace", shop.workspace, "--out", out, "--spend", shop.spend)
    assert result.exit_code == 0, result.output
    assert f"report written to {out}" in " ".join(result.output.split())
    html = out.read_text(encoding="utf-8")
    assert html.count(get_plotlyjs()) == 1
    assert 'data-figure="channels-cac"' in html
    assert f"{shop.with_spend[0]['n_customers']:,}" in html


def test_report_command_writes_where_analyze_writes_it(shop, tmp_path, monkeypatch):
    """By default the report is valuecast-out/report.html, as analyze writes it (the folder
    made), not ./report.html beside them."""
    monkeypatch.chdir(tmp_path)
    result = run("-w", shop.workspace, "--as-of", "2026-03-31", "--margin", "0.5")
    assert result.exit_code == 0, result.output
    assert "report written to valuecast-out/report.html" in result.output
    assert not (tmp_path / "report.html").exists()
    html = (tmp_path / "valuecast-out" / "report.html").read_text(encoding="utf-8")
    assert "as of 2026-03-31" in html and "at a 50% margin" in html
    assert 'data-figure="channels-cac"' not in html  # no spend: CLV by channel only


def test_report_command_errors_are_one_line(shop, tmp_path):
    _one_line_error(run("-w", tmp_path / "none.duckdb"), "no such workspace")
    _one_line_error(
        run("-w", shop.workspace, "--as-of", "31/03/2026", "--out", tmp_path / "r.html"),
        "31/03/2026", "YYYY-MM-DD",
    )  # fmt: skip
    _one_line_error(
        run("-w", shop.workspace, "--margin", "2", "--out", tmp_path / "r.html"), "margin"
    )
    _one_line_error(
        run("-w", shop.workspace, "--spend", tmp_path / "none.csv", "--out", tmp_path / "r.html"),
        "none.csv", "no such file",
    )  # fmt: skip
    bad = tmp_path / "spend.csv"
    bad.write_text("month,channel,spend\n2025-01,google,-5\n")
    _one_line_error(
        run("-w", shop.workspace, "--spend", bad, "--out", tmp_path / "r.html"), "spend.csv"
    )
    _one_line_error(run("-w", shop.workspace, "--out", tmp_path), "is a folder")
    _one_line_error(
        run("-w", shop.workspace, "--out", tmp_path / "missing" / "r.html"), "no such folder"
    )
    not_a_workspace = tmp_path / "orders.duckdb"
    not_a_workspace.write_text("month,channel\n")
    _one_line_error(run("-w", not_a_workspace, "--out", tmp_path / "r.html"), "orders.duckdb")
    assert not (tmp_path / "r.html").exists()


def test_report_uses_the_spend_the_workspace_keeps(shop, tmp_path):
    """Without --spend, the report has CLV:CAC from the spend kept in the workspace (given to
    `analyze --spend` or uploaded in the dashboard), and says which file it is."""
    import shutil

    from valuecast.io.spend import read_spend
    from valuecast.store import Workspace
    from valuecast.store.spend import store_spend

    workspace = tmp_path / "shop.duckdb"
    shutil.copy(shop.workspace, workspace)
    with Workspace(workspace) as ws:
        store_spend(ws, read_spend(shop.spend), "ads.csv")
    out = tmp_path / "report.html"
    result = run("-w", workspace, "--out", out)
    assert result.exit_code == 0, result.output
    assert "note: using the spend file kept from " in result.output
    assert "(ads.csv)" in result.output
    assert 'data-figure="channels-cac"' in out.read_text(encoding="utf-8")
