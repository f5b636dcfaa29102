"""The demo portal in a real WSGI server on loopback, and a small HTTP client that logs in through it.

Shared by the load test and ``tests/test_tokens.py``. The client is ``http.client`` on purpose: it
keeps one connection per client, handles the session cookie and the CSRF token, and (unlike urllib3)
writes nothing to the log, so a test that reads every log record sees only the server's.
"""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask

from ..conftest import TEST_DATABASE_URI, reset_database

#: Every demo account's password (demo_portal/users.py).
PASSWORD = "home-visits-demo"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def demo_app(instance: Path, **config: Any) -> Flask:
    """The demo portal, empty (no seeded visits, no handbook build), on the test database."""
    from demo_portal import create_app

    settings: dict[str, Any] = {"DEMO_SEED": False, "DEMO_BUILD_HANDBOOK": False,
                                "HOME_VISITS_HANDBOOK_DIR": str(instance / "no-handbook")}
    if TEST_DATABASE_URI:
        reset_database(TEST_DATABASE_URI)
        settings["HOME_VISITS_DATABASE_URI"] = TEST_DATABASE_URI
    settings.update(config)
    return create_app(settings, instance_path=str(instance))


@dataclass
class Served:
    app: Flask
    url: str
    #: Exceptions the app raised while serving (a teardown hook collects them).
    errors: list[str] = field(default_factory=list)


def collect_errors(app: Flask) -> list[str]:
    """A list that fills with every exception ``app`` raises while serving (a teardown hook)."""
    errors: list[str] = []

    @app.teardown_request
    def _remember(error: BaseException | None) -> None:
        if error is not None:
            errors.append(repr(error))

    return errors


class Waitress:
    """waitress serving ``app`` on a free loopback port, its event loop in a thread of its own.

    :meth:`stop` lets the requests in hand finish, then the loop thread ends its own loop and closes
    every socket itself: nothing of the loop's is touched from another thread (pulling waitress's
    trigger from outside at shutdown fails now and then with EBADF).
    """

    def __init__(self, app: Flask, *, threads: int, **options: Any) -> None:
        import waitress

        self.server = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads, **options)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=f"waitress-{self.server.effective_port}",
                                       daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        server = self.server
        while not self._stopping.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, count=1)
        for channel in list(server._map.values()):
            channel.close()

    def stop(self) -> None:
        self.server.task_dispatcher.shutdown(timeout=5)  # the loop still runs: answers in hand are sent
        self._stopping.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the waitress server did not stop"


@contextmanager
def serve(app: Flask, *, server: str = "waitress", threads: int = 8) -> Iterator[Served]:
    """Serve ``app`` on a free loopback port with waitress (``threads`` worker threads) or Werkzeug's
    threaded development server; stopped, and its engine disposed, on leaving."""
    from home_visits.extension import state

    served = Served(app, "", collect_errors(app))

    def public(url: str) -> str:
        """A served portal knows its public address, as the README's deployment section says to set."""
        app.config["HOME_VISITS_PUBLIC_URL"] = url
        return url

    if server == "waitress":
        wsgi = Waitress(app, threads=threads, channel_timeout=60)
        served.url = public(wsgi.url)
        try:
            yield served
        finally:
            wsgi.stop()
            state(app).engine.dispose()
    elif server == "werkzeug":
        from werkzeug.serving import make_server

        dev = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=dev.serve_forever, name="werkzeug-test", daemon=True)
        thread.start()
        served.url = public(f"http://127.0.0.1:{dev.server_port}")
        try:
            yield served
        finally:
            dev.shutdown()
            thread.join(timeout=10)
            dev.server_close()
            state(app).engine.dispose()
    else:
        raise ValueError(f"unknown server {server!r}")


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


class Client:
    """One browser-like user: a keep-alive connection, the session cookie, CSRF tokens from forms."""

    def __init__(self, base_url: str, timeout: float = 60) -> None:
        parts = urlsplit(base_url)
        self.host, self.port, self.timeout = parts.hostname or "127.0.0.1", parts.port or 80, timeout
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def close(self) -> None:
        self.connection.close()

    def request(self, method: str, path: str, form: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body=body, headers=sent)
            response = self.connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if method != "GET":  # never send a form twice: a retried POST could store a plan twice
                raise
            self.connection.close()
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.connection.request(method, path, body=body, headers=sent)
            response = self.connection.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Reply(response.status, response.headers, data.decode("utf-8", "replace"))

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, form: dict[str, Any], **kwargs: Any) -> Reply:
        return self.request("POST", path, form=form, **kwargs)

    def csrf_token(self, path: str) -> str:
        """The CSRF token from the form on ``path`` (the one a browser would send back)."""
        page = self.get(path)
        found = CSRF.search(page.body)
        assert page.status == 200 and found, f"GET {path}: {page.status}, no CSRF token on the page"
        return found[1]

    def login(self, username: str, password: str = PASSWORD) -> None:
        token = self.csrf_token("/login")
        reply = self.post("/login", {"csrf_token": token, "username": username, "password": password,
                                     "submit": "Log in"})
        assert reply.status == 302, f"could not log in as {username}: {reply.status}"
