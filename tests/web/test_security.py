"""The dashboard's safety rules: bind address, token, login cookie, CSRF, Host, upload size."""

from __future__ import annotations

import re

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from valuecast.cli.web import serve
from valuecast.web import create_app
from valuecast.web.security import BindError, check_bind, is_loopback, safe_next

TOKEN = "a-long-test-token-0123456789"


@pytest.fixture(scope="module")
def token_app(web_shop, tmp_path_factory):
    import shutil

    path = tmp_path_factory.mktemp("web-token") / "shop.duckdb"
    shutil.copy(web_shop.workspace, path)
    app = create_app(path, token=TOKEN, host="0.0.0.0", warm=False, max_upload_bytes=4096)
    yield app
    app.state.dashboard.close()


def fresh(app, **kwargs) -> TestClient:
    return TestClient(app, base_url="http://dashboard.example:8765", **kwargs)


@pytest.mark.parametrize(
    "host, loopback",
    [("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("0.0.0.0", False), ("192.168.1.5", False), ("::", False),
     ("example.com", False)],
)  # fmt: skip
def test_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_a_non_loopback_bind_needs_a_long_token():
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", TOKEN)
    with pytest.raises(BindError, match="VALUECAST_TOKEN"):
        check_bind("0.0.0.0", None)
    with pytest.raises(BindError, match="too short"):
        check_bind("0.0.0.0", "short")


def _serve_app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def main() -> None:
        """valuecast"""

    app.command("serve")(serve)
    return app


def test_serve_refuses_a_public_address_without_a_token(tmp_path, monkeypatch):
    monkeypatch.delenv("VALUECAST_TOKEN", raising=False)
    result = CliRunner().invoke(
        _serve_app(), ["serve", "--host", "0.0.0.0", "--workspace", str(tmp_path / "w.duckdb")]
    )
    assert result.exit_code == 2
    assert "refusing to listen on 0.0.0.0" in result.output and "VALUECAST_TOKEN" in result.output
    assert not (tmp_path / "w.duckdb").exists()  # refused before anything was opened


def test_serve_on_a_port_in_use_is_one_line_and_says_no_start(tmp_path, monkeypatch):
    """It said "valuecast dashboard on http://..." and then failed with uvicorn's own error
    and exit code 3: a script waiting for that line took a dashboard that never ran."""
    import socket

    monkeypatch.delenv("VALUECAST_TOKEN", raising=False)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            _serve_app(),
            ["serve", "--port", str(port), "--workspace", str(tmp_path / "w.duckdb")],
        )
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        f"error: --port {port}: in use on 127.0.0.1; stop what listens there or give another port"
    )
    assert not (tmp_path / "w.duckdb").exists()  # refused before anything was opened


def test_every_request_needs_the_token(token_app):
    client = fresh(token_app)
    for path in ("/api/v1/overview", "/api/v1/snapshots", "/api/v1/openapi.json",
                 "/api/v1/segments/champions/export?to=klaviyo"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"].startswith("Bearer")
    for path in ("/", "/customers", "/static/plotly.min.js", "/static/app.js"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")
    assert client.post("/api/v1/uploads").status_code == 401
    wrong = client.get("/api/v1/overview", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    ok = client.get("/api/v1/overview", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and ok.json()["snapshot"]["as_of"] == "2026-06-30"


def test_login_sets_an_http_only_cookie(token_app):
    client = fresh(token_app)
    form = client.get("/login?next=/customers")
    assert form.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    assert "as of 2026" not in form.text  # nothing about the shop before logging in
    bad = client.post("/login", data={"token": "nope", "csrf_token": csrf, "next": "/customers"})
    assert bad.status_code == 401 and "not the token" in bad.text
    no_csrf = client.post("/login", data={"token": TOKEN, "csrf_token": "x" * 43})
    assert no_csrf.status_code == 403
    good = client.post(
        "/login", data={"token": TOKEN, "csrf_token": csrf, "next": "/customers"},
        follow_redirects=False,
    )  # fmt: skip
    assert good.status_code == 303 and good.headers["location"] == "/customers"
    cookie = good.headers["set-cookie"]
    assert "valuecast_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert TOKEN not in cookie and "Max-Age=" in cookie  # a session id that expires
    assert client.get("/customers").status_code == 200
    assert client.get("/api/v1/overview").status_code == 200
    # the cookie is not a way around CSRF for state-changing requests
    upload = client.post("/api/v1/spend", files={"file": ("s.csv", b"month,channel,spend\n")})
    assert upload.status_code == 403
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and "Max-Age=0" in out.headers["set-cookie"]


def test_login_redirects_only_to_local_paths():
    assert safe_next("/customers?q=a") == "/customers?q=a"
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "", None):
        assert safe_next(target) == "/"


def test_bearer_requests_need_no_csrf_token(token_app):
    client = fresh(token_app)
    response = client.post(
        "/api/v1/spend",
        headers={"Authorization": f"Bearer {TOKEN}"},
        files={"file": ("spend.csv", b"month,channel,spend\n2025-13,google,10\n")},
    )
    # past the guard: the importer's own error, one line naming the uploaded file's name
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert detail.startswith("spend.csv") and "month" in detail and "\n" not in detail
    assert "valuecast-upload-" not in detail  # the temporary path is never shown


def test_uploads_have_a_size_limit(token_app):
    client = fresh(token_app)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    big = client.post("/api/v1/uploads", headers=auth, files={"files": ("a.csv", b"x" * 8000)})
    assert big.status_code == 413 and "limit" in big.json()["detail"]

    def chunks():  # no Content-Length: counted while it streams
        for _ in range(10):
            yield b"y" * 1000

    streamed = client.post(
        "/api/v1/uploads",
        headers={**auth, "content-type": "multipart/form-data; boundary=xyz"},
        content=chunks(),
    )
    assert streamed.status_code == 413


def test_state_changing_requests_need_the_csrf_token(client):
    assert client.post("/api/v1/uploads", files={"files": ("a.csv", b"a")}).status_code == 403
    wrong = client.post(
        "/api/v1/uploads", files={"files": ("a.csv", b"a")}, headers={"X-CSRF-Token": "x" * 43}
    )
    assert wrong.status_code == 403
    token = client.get("/api/v1/csrf").json()["csrf_token"]
    assert client.cookies.get("valuecast_csrf") == token
    response = client.post(
        "/api/v1/spend",
        files={"file": ("s.csv", b"month,channel,spend\n2025-01,google,-5\n")},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 400 and "s.csv" in response.json()["detail"]


def test_loopback_dashboard_answers_loopback_host_names_only(client, app):
    assert client.get("/api/v1/snapshots").status_code == 200
    for host in ("localhost:8765", "127.0.0.1", "[::1]:8765"):
        assert client.get("/api/v1/snapshots", headers={"host": host}).status_code == 200
    rebound = TestClient(app, base_url="http://attacker.example")
    assert rebound.get("/api/v1/snapshots").status_code == 421
    assert rebound.get("/").status_code == 421


def test_security_headers(client):
    response = client.get("/")
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    cookie = response.headers.get("set-cookie") or ""
    assert cookie == "" or ("HttpOnly" in cookie and "SameSite=Strict" in cookie)
