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
    gc.unfreeze()
    try:
        with pytest.raises(RuntimeError, match="boom"):
            cli.main()
        frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()
    assert frozen > 0
