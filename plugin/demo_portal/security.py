"""What the demo portal does to be a host schools can copy: safe redirects after login, sessions that
end at logout, throttled logins that do not tell which usernames exist, cookies that stay on the site,
and the plugin's security headers on the portal's own pages."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.security import check_password_hash, generate_password_hash

from home_visits import files
from home_visits.web.guards import security_headers

#: A path on this portal: "/" then printable ASCII with no backslash, never "//" (browsers drop tabs
#: and line breaks and read "/\\x" and "/<tab>/x" as "//x", another site).
LOCAL_PATH = re.compile(r"/(?![/\\])[!-\[\]-~]*")


def safe_next(target: str, default: str) -> str:
    """``target`` when it is a path on this portal, else ``default``."""
    return target if LOCAL_PATH.fullmatch(target) else default


class SessionVersions:
    """A number per user that logging out raises; a session carries the number it began with and
    is refused once it is stale, so a copied cookie stops working at logout. Kept in a small
    owner-only file in the instance folder, so every worker and a restart see the same numbers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _read(self) -> dict[str, int]:
        try:
            return {str(k): int(v) for k, v in json.loads(self.path.read_text(encoding="utf-8")).items()}
        except (FileNotFoundError, ValueError):
            return {}

    def current(self, user_id: str) -> int:
        return self._read().get(user_id, 0)

    def end_sessions(self, user_id: str) -> None:
        with self._lock:
            versions = self._read()
            versions[user_id] = versions.get(user_id, 0) + 1
            files.write(self.path, json.dumps(versions))


#: Failed logins allowed per account, and per address (whatever the accounts), in each window.
PER_ACCOUNT, PER_ADDRESS = "5 per 15 minutes", "20 per 15 minutes"


def throttle_logins(app: Flask, view: Callable[..., Any]) -> Callable[..., Any]:
    """Flask-Limiter around the login view: only failed attempts (422) count; past either limit the
    view is not run and the 429 handler answers. Counts live in ``RATELIMIT_STORAGE_URI`` (memory by
    default: with several workers, point it at a shared store such as Redis, or throttle at the proxy)."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    limiter = Limiter(get_remote_address, app=app)

    def account() -> str:
        return "account:" + (request.form.get("username") or "").strip().lower()[:64]

    def failed(response: Response) -> bool:
        return response.status_code == 422

    view = limiter.limit(PER_ACCOUNT, key_func=account, methods=["POST"], deduct_when=failed)(view)
    return limiter.limit(PER_ADDRESS, methods=["POST"], deduct_when=failed)(view)


#: Checked against when the username is unknown, so a wrong username costs the same time as a wrong password.
_NOBODY = generate_password_hash("not anyone's password")


def password_matches(password_hash: str | None, password: str) -> bool:
    """Check ``password``; with no such user, check against a dummy hash and say no."""
    return check_password_hash(password_hash or _NOBODY, password) and password_hash is not None


class SessionCookies(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` whenever the request came over https (or the config says so)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (_request_is_secure())


def _request_is_secure() -> bool:
    try:
        current: Request = request._get_current_object()  # type: ignore[attr-defined]
    except RuntimeError:
        return False
    return current.is_secure


def add_headers(app: Flask, *, handbook_prefix: str = "/handbook/") -> None:
    """The plugin's security headers on the portal's own pages too (the plugin adds its own to its
    pages). The built handbook keeps its inline scripts: it gets every header but the CSP."""
    headers = security_headers(app.config.get("HOME_VISITS_SECURITY_HEADERS"))

    @app.after_request
    def _headers(response: Response) -> Response:
        if response.status_code == 304:
            return response
        handbook = request.path.startswith(handbook_prefix)
        for name, value in headers.items():
            if handbook and name in ("Content-Security-Policy", "Cache-Control"):
                continue
            response.headers.setdefault(name, value)
        return response


def configure(app: Flask, config: dict[str, Any]) -> None:
    """Cookie settings for the demo, then the caller's ``config`` over them."""
    app.config.update(SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True)  # Flask's keys exist already
    app.session_interface = SessionCookies()
    app.config.update(config)
