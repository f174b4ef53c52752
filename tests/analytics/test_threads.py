"""The models fit on one BLAS thread (valuecast.analysis.threads), whatever the caller set, and
the caller's setting is back afterwards."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import valuecast.analysis.customers as customers_module
import valuecast.jobs.fit_file as fit_file_module
from shops import ingested
from valuecast.jobs.analyze import AnalysisOptions, analyze
from valuecast.store import Workspace


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


class _Seen(Exception):
    pass


def test_the_analysis_fits_on_one_blas_thread(tmp_path, monkeypatch):
    rows = ["id,who,day,amount"] + [
        f"{i},c{i % 5},2024-0{1 + i % 9}-1{i % 7},{10 + i}.00" for i in range(30)
    ]
    workspace = ingested(tmp_path, "\n".join(rows) + "\n", "order_id=id,customer_id=who,"
                         "ordered_at=day,revenue=amount")  # fmt: skip
    seen = []

    def choose_model(*args, **kwargs):
        seen.append(_blas_threads())
        raise _Seen

    monkeypatch.setattr(customers_module, "choose_model", choose_model)
    with threadpool_limits(limits=2, user_api="blas"), Workspace(workspace) as ws:
        assert _blas_threads() == {2}
        with pytest.raises(Exception) as raised:
            analyze(ws, AnalysisOptions())
        assert isinstance(raised.value.__cause__ or raised.value, _Seen)
        assert _blas_threads() == {2}
    assert seen == [{1}]


def test_the_fit_command_fits_on_one_blas_thread(tmp_path, monkeypatch):
    summary = tmp_path / "summary.csv"
    summary.write_text("frequency,recency,T\n1,10,30\n0,0,20\n3,25,40\n2,5,35\n")
    seen = []

    class Recording:
        def __init__(self, **options):
            pass

        def fit(self, *columns, **options):
            seen.append(_blas_threads())
            raise _Seen

    monkeypatch.setattr("valuecast.models.registry.model_class", lambda name: Recording)
    with threadpool_limits(limits=2, user_api="blas"):
        with pytest.raises(_Seen):
            fit_file_module.fit_summary_file(summary, "bgnbd")
        assert _blas_threads() == {2}
    assert seen == [{1}]
