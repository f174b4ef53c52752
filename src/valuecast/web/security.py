"""Who may talk to the dashboard, and how: the bind rule, the token, CSRF, the Host header, limits.

* **Bind**: 127.0.0.1 by default.  Any address that is not loopback needs ``VALUECAST_TOKEN``
  (:func:`check_bind`); ``valuecast serve`` refuses to start without it.
* **Token**: at least 16 characters, no white space, at least 6 different characters
  (:func:`check_token`).  With a token every request needs it, as ``Authorization: Bearer TOKEN``
  or the HttpOnly session cookie the login form (``/login``) sets.  The cookie holds a random
  session id (never the token), kept in memory by the server until it expires (``Max-Age``, 12
  hours) or the user logs out; token comparisons are constant-time.  The login page's
  stylesheet is the one thing served without the token.
* **CSRF**: every state-changing request (POST, PUT, PATCH, DELETE) made with the cookie, or with
  no credentials on loopback, carries ``X-CSRF-Token`` equal to the ``valuecast_csrf`` cookie
  (HttpOnly, SameSite=Strict; the pages hold the value in a ``<meta>`` element).  A request with
  the bearer header is not forgeable by another site and needs no CSRF token.
* **Host**: on loopback without a token only loopback host names are answered, so a web page
  cannot reach the dashboard through DNS rebinding; the header must be a plain ``name[:port]``
  (no user info, path or bad port).
* **Size**: request bodies are cut at ``max_upload_bytes`` (413), by Content-Length up front and
  by counting while they stream.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote

from starlette.exceptions import HTTPException

SESSION_COOKIE = "valuecast_session"
CSRF_COOKIE = "valuecast_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
# no credentials needed: the login form and its stylesheet (no data in either)
PUBLIC_PATHS = {"/login", "/static/app.css"}
SESSION_SECONDS = 12 * 3600
# HTML form posts: their handlers check the CSRF token of the form field against the cookie
FORM_CSRF_PATHS = {"/login", "/logout"}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)


class BindError(ValueError):
    """A non-loopback address without a token."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


MIN_TOKEN_LENGTH = 16
MIN_TOKEN_DISTINCT = 6
_TOKEN_ADVICE = "e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))'"


def check_token(token: str) -> None:
    """Raise :class:`BindError` unless ``token`` is at least 16 characters, has no white space
    and at least 6 different characters (a blank or repeated token is guessed at once, and the
    login form trims white space, so a token with spaces could never log in)."""
    if len(token) < MIN_TOKEN_LENGTH:
        raise BindError(
            f"VALUECAST_TOKEN is too short: use at least {MIN_TOKEN_LENGTH} random characters, "
            + _TOKEN_ADVICE
        )
    if any(ch.isspace() for ch in token):
        raise BindError(
            "VALUECAST_TOKEN contains white space: use random characters without spaces, "
            + _TOKEN_ADVICE
        )
    if len(set(token)) < MIN_TOKEN_DISTINCT:
        raise BindError(
            f"VALUECAST_TOKEN is too easy to guess: it has {len(set(token))} different "
            f"characters, use random ones (at least {MIN_TOKEN_DISTINCT} different), "
            + _TOKEN_ADVICE
        )


def check_bind(host: str, token: str | None) -> None:
    """Raise :class:`BindError` unless ``host`` is loopback or a strong enough token is set."""
    if token is not None:
        check_token(token)
    if not is_loopback(host) and not token:
        raise BindError(
            f"refusing to listen on {host}: it is reachable from other machines; set "
            "VALUECAST_TOKEN to a long random secret (every request then needs it), or bind to "
            "127.0.0.1"
        )


class Sessions:
    """Logged-in sessions: random ids kept in memory until they expire or are ended.

    A copied cookie stops working at logout (its id is forgotten) and after ``seconds``; a
    restart of the server ends every session.
    """

    def __init__(self, seconds: int = SESSION_SECONDS) -> None:
        self.seconds = seconds
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def start(self) -> str:
        """A new session id, valid for ``seconds``."""
        session = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._expiry = {key: end for key, end in self._expiry.items() if end > now}
            self._expiry[session] = now + self.seconds
        return session

    def valid(self, session: str | None) -> bool:
        """True for a session started here that has not expired or ended."""
        if not session:
            return False
        with self._lock:
            end = self._expiry.get(session)
        return end is not None and end > time.monotonic()

    def end(self, session: str | None) -> None:
        with self._lock:
            self._expiry.pop(session or "", None)


_HOST = re.compile(r"(?P<name>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(?P<port>[0-9]{1,5}))?")


def host_name(header: str) -> str | None:
    """The host name of a ``Host`` header (``name[:port]``, IPv6 in brackets), lower case;
    None for anything else: user info (``@``), a path, an empty or out-of-range port."""
    found = _HOST.fullmatch(header)
    if found is None:
        return None
    port = found["port"]
    if port is not None and not 0 < int(port) < 65536:
        return None
    return found["name"].lower()


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())


def safe_next(target: str | None) -> str:
    """A local path to go to after logging in (anything else: the overview)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@dataclass
class Security:
    token: str | None
    loopback_only: bool  # answer loopback host names only (no token, loopback bind)
    max_body_bytes: int
    sessions: Sessions = field(default_factory=Sessions)


class _TooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the upload is larger than the limit of {_size(limit)}")


def _size(limit: int) -> str:
    return f"{limit / 2**20:,.0f} MB" if limit >= 2**20 else f"{limit:,} bytes"


def _cookies(headers: dict[bytes, bytes]) -> dict[str, str]:
    raw = headers.get(b"cookie")
    if not raw:
        return {}
    jar = SimpleCookie()
    try:
        jar.load(raw.decode("latin-1"))
    except Exception:  # a malformed cookie header counts as no cookies
        return {}
    return {key: morsel.value for key, morsel in jar.items()}


def cookie_header(name: str, value: str, *, max_age: int | None = None) -> str:
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Strict"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return "; ".join(parts)


class Guard:
    """ASGI middleware applying :class:`Security` to every HTTP request (module docstring)."""

    def __init__(self, app, security: Security) -> None:
        self.app = app
        self.security = security

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        security = self.security
        headers = dict(scope["headers"])
        path: str = scope["path"]
        method: str = scope["method"]
        api = path.startswith("/api/")

        if security.loopback_only:
            name = host_name(headers.get(b"host", b"").decode("latin-1"))
            if name not in LOOPBACK_NAMES:
                return await _reply(send, 421, "this dashboard answers on 127.0.0.1 only", api)

        cookies = _cookies(headers)
        auth = None
        if security.token:
            bearer = headers.get(b"authorization", b"").decode("latin-1")
            if bearer[:7].lower() == "bearer " and same(bearer[7:].strip(), security.token):
                auth = "bearer"
            elif security.sessions.valid(cookies.get(SESSION_COOKIE)):
                auth = "cookie"
            elif path not in PUBLIC_PATHS:
                if api or method not in SAFE_METHODS:
                    return await _reply(
                        send, 401, "authentication required (Authorization: Bearer TOKEN)", True,
                        [(b"www-authenticate", b'Bearer realm="valuecast"')],
                    )  # fmt: skip
                query = scope.get("query_string", b"").decode("latin-1")
                target = path + (f"?{query}" if query else "")
                location = "/login?next=" + quote(target, safe="")
                return await _reply(
                    send, 303, "log in first", False, [(b"location", location.encode())]
                )

        csrf = cookies.get(CSRF_COOKIE)
        fresh = None
        if not csrf or len(csrf) < 32 or len(csrf) > 128:
            csrf = fresh = secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf"] = csrf
        scope["state"]["auth"] = auth

        if method not in SAFE_METHODS:
            if auth != "bearer" and path not in FORM_CSRF_PATHS:
                sent = headers.get(CSRF_HEADER.encode(), b"").decode("latin-1")
                if fresh is not None or not same(sent, csrf):
                    return await _reply(
                        send, 403, "missing or wrong CSRF token (X-CSRF-Token header)", api
                    )
            length = headers.get(b"content-length")
            if length is not None:
                try:
                    declared = int(length)
                except ValueError:
                    return await _reply(send, 400, "bad Content-Length", api)
                if declared > security.max_body_bytes:
                    error = _TooLarge(security.max_body_bytes)
                    return await _reply(send, 413, str(error.detail), api)
            receive = _limited(receive, security.max_body_bytes)

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                ]
                if fresh is not None:
                    extra.append((b"set-cookie", cookie_header(CSRF_COOKIE, fresh).encode()))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _limited(receive, limit: int):
    received = 0

    async def wrapped():
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _TooLarge(limit)
        return message

    return wrapped


async def _reply(
    send, status: int, message: str, as_json: bool, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    if as_json:
        body = json.dumps({"detail": message}).encode()
        kind = b"application/json"
    else:
        body = (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>valuecast</title>"
            f"<link rel='icon' href='data:,'></head><body><p>{_escape(message)}</p></body></html>"
        ).encode()
        kind = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
                (b"x-content-type-options", b"nosniff"),
                (b"x-frame-options", b"DENY"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def state(request) -> dict[str, Any]:
    """The CSRF token and how the request authenticated (set by :class:`Guard`)."""
    return {"csrf": request.scope["state"]["csrf"], "auth": request.scope["state"].get("auth")}
