"""Property tests of the API against its own OpenAPI schema (schemathesis): no request, however
odd, gets a 500, and every answer matches the schema it promises.  Bounded: a few dozen cases per
operation, well under a minute."""

from __future__ import annotations

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from valuecast.web import create_app


@pytest.fixture(scope="module")
def dashboard_app(web_shop, tmp_path_factory):
    path = tmp_path_factory.mktemp("web-schema") / "shop.duckdb"
    shutil.copy(web_shop.workspace, path)
    app = create_app(path, warm=False, max_upload_bytes=256 * 1024)
    yield app
    app.state.dashboard.close()


@pytest.fixture(scope="module")
def api_schema(dashboard_app):
    return schemathesis.openapi.from_asgi(
        "/api/v1/openapi.json", dashboard_app, headers={"host": "localhost"}
    )


@pytest.fixture(scope="module")
def csrf(dashboard_app):
    from fastapi.testclient import TestClient

    client = TestClient(dashboard_app, base_url="http://localhost")
    return client.get("/api/v1/csrf").json()["csrf_token"]


def test_no_server_errors(api_schema, csrf):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    statuses: dict[str, set[int]] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        def check(case):
            # with the CSRF token, so that uploads get past the guard and reach the importers
            response = case.call(
                headers={"X-CSRF-Token": csrf, "host": "localhost"},
                cookies={"valuecast_csrf": csrf},
            )
            statuses.setdefault(case.operation.label, set()).add(response.status_code)
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )

        check()
    # every operation was called, and the reads answered with data, not only with errors
    assert len(statuses) == len(operations)
    assert 200 in statuses["GET /api/v1/customers"] and 200 in statuses["GET /api/v1/overview"]
    assert 202 in statuses["POST /api/v1/uploads"]  # random files got to the importers' job
    assert 400 in statuses["POST /api/v1/spend"]  # and spend files to read_spend's errors
