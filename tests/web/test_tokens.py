"""Dashboard tokens and sessions: the token rule at start-up, sessions that expire and that
logout ends, the login page's stylesheet without a session, and the Host header's parsing."""

from __future__ import annotations

import re
import shutil

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from valuecast.web import create_app
from valuecast.web import security as web_security
from valuecast.web.security import SESSION_COOKIE, SESSION_SECONDS, BindError, check_token

TOKEN = "a-long-test-token-0123456789"


@pytest.fixture(scope="module")
def token_app(web_shop, tmp_path_factory):
    path = tmp_path_factory.mktemp("web-tokens") / "shop.duckdb"
    shutil.copy(web_shop.workspace, path)
    app = create_app(path, token=TOKEN, host="0.0.0.0", warm=False)
    yield app
    app.state.dashboard.close()


def fresh(app) -> TestClient:
    return TestClient(app, base_url="http://dashboard.example:8765")


def log_in(client: TestClient) -> tuple[str, str]:
    """Log ``client`` in; its session id and CSRF token."""
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    done = client.post("/login", data={"token": TOKEN, "csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303, done.text
    return client.cookies.get(SESSION_COOKIE), csrf


@pytest.mark.parametrize(
    "token, why",
    [(" " * 16, "white space"), ("a" * 16, "too easy to guess"),
     ("abababababababab", "too easy to guess"), ("0123456789abcde", "too short"),
     ("correct horse battery staple", "white space"), ("\t" + TOKEN, "white space")],
)  # fmt: skip
def test_blank_or_low_entropy_tokens_are_refused(token, why):
    with pytest.raises(BindError, match=why):
        check_token(token)


@pytest.mark.parametrize("token", [TOKEN, "0123456789abcdef", "Zq3-xv_8Lr0pWm2s"])
def test_random_looking_tokens_are_accepted(token):
    check_token(token)


def test_serve_refuses_a_token_of_spaces_in_one_line(tmp_path, monkeypatch):
    from valuecast.cli import app

    monkeypatch.setenv("VALUECAST_TOKEN", " " * 16)
    workspace = tmp_path / "w.duckdb"
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "-w", str(workspace)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: VALUECAST_TOKEN contains white space")
    assert "token_urlsafe" in lines[0]  # says how to make a good one
    assert not workspace.exists()


def test_logout_ends_the_session_a_copied_cookie_used(token_app):
    first = fresh(token_app)
    session, csrf = log_in(first)
    assert session and TOKEN not in session
    copy = fresh(token_app)
    copy.cookies.set(SESSION_COOKIE, session)
    assert copy.get("/api/v1/overview").status_code == 200
    assert (
        first.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    )
    assert copy.get("/api/v1/overview").status_code == 401
    assert copy.get("/customers", follow_redirects=False).status_code == 303


def test_sessions_are_new_each_login_and_expire(token_app, monkeypatch):
    client = fresh(token_app)
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    done = client.post("/login", data={"token": TOKEN, "csrf_token": csrf}, follow_redirects=False)
    assert f"Max-Age={SESSION_SECONDS}" in done.headers["set-cookie"]
    session = client.cookies.get(SESSION_COOKIE)
    assert log_in(fresh(token_app))[0] != session  # not a function of the token
    assert client.get("/api/v1/overview").status_code == 200
    later = web_security.time.monotonic() + SESSION_SECONDS + 1
    monkeypatch.setattr(web_security.time, "monotonic", lambda: later)
    assert client.get("/api/v1/overview").status_code == 401


def test_the_login_page_is_styled_before_logging_in(token_app):
    client = fresh(token_app)
    page = client.get("/login")
    assert '<link rel="stylesheet" href="/static/app.css">' in page.text
    style = client.get("/static/app.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    # the stylesheet only: scripts and everything with data still need the token
    for path in ("/static/app.js", "/static/plotly.min.js", "/static/app.css/../app.js"):
        assert client.get(path, follow_redirects=False).status_code in (303, 404), path
    assert client.get("/api/v1/overview").status_code == 401


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:8765@evil.example", "evil.example@127.0.0.1", "127.0.0.1:99999",
     "127.0.0.1:0", "127.0.0.1:", "127.0.0.1:80:80", "127.0.0.1/evil", "127.0.0.1 evil",
     "[::1]x", "::1", ""],
)  # fmt: skip
def test_a_host_header_that_is_not_a_plain_loopback_authority_is_refused(client, host):
    assert client.get("/api/v1/snapshots", headers={"host": host}).status_code == 421, host


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.1:8765", "localhost", "LOCALHOST:80", "[::1]", "[::1]:8765"]
)
def test_loopback_host_names_are_still_answered(client, host):
    assert client.get("/api/v1/snapshots", headers={"host": host}).status_code == 200, host
