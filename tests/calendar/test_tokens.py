"""Calendar feed tokens: 256 bits from the OS's random source, only a hash stored, compared in constant
time, 404 once revoked (exactly like an unknown token), and never written to any log at any level:
the demo portal runs under waitress and under Werkzeug's development server while every log record
at DEBUG is captured, and the token appears in none of them."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from home_visits.calendar import service as feeds
from home_visits.calendar import views as feed_views
from home_visits.extension import state
from home_visits.models import Base

from ..conftest import TEST_DATABASE_URI, USERS
from ..load.portal import Client, demo_app, serve

FEED_URL = re.compile(r'id="feed-url"[^>]*value="https?://[^/"]+(/[^"]*/calendar/([A-Za-z0-9_-]+)\.ics)"')


def new_link(client: FlaskClient) -> tuple[str, str]:
    """(path, token) of a fresh link, through the Subscribe page."""
    response = client.post("/home-visits/calendar/", data={"create": "Create my calendar link"})
    assert response.status_code == 200
    found = FEED_URL.search(response.get_data(as_text=True))
    assert found, "no feed URL on the page"
    return found[1], found[2]


def everything_stored(app: Flask) -> str:
    """Every row of every plugin table, as text."""
    with state(app).engine.connect() as connection:
        return "\n".join(
            repr(row) for table in Base.metadata.sorted_tables
            for row in connection.execute(text(f"SELECT * FROM {table.name}"))
        )


def test_tokens_are_256_random_bits(app: Flask, login: Callable[[str], FlaskClient],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []
    real = secrets.token_urlsafe

    def spy(nbytes: int | None = None) -> str:
        asked.append(nbytes or 0)
        return real(nbytes)

    monkeypatch.setattr(feeds.secrets, "token_urlsafe", spy)
    _, token = new_link(login("alex"))
    assert asked == [32], "the token must come from secrets.token_urlsafe(32): 256 bits from the OS"
    assert len(base64.urlsafe_b64decode(token + "=")) == 32 and len(token) == 43
    st = state(app)
    with st.sessions() as session:
        person = st.directory.person(USERS["sam"])
        many = {feeds.issue(session, person, scope="own", now=st.clock()) for _ in range(500)}
        session.commit()
    assert len(many) == 500 and {len(t) for t in many} == {43}


def test_only_a_hash_is_stored(app: Flask, login: Callable[[str], FlaskClient]) -> None:
    _, token = new_link(login("alex"))
    stored = everything_stored(app)
    assert token not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    if not TEST_DATABASE_URI:  # SQLite: not in the database file or its write-ahead log either
        state(app).engine.dispose()
        for file in Path(app.instance_path).glob("home_visits.sqlite*"):
            assert token.encode() not in file.read_bytes(), file


def test_lookup_compares_hashes_in_constant_time(app: Flask, login: Callable[[str], FlaskClient],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path, token = new_link(login("alex"))
    compared: list[tuple[Any, Any]] = []
    real = feeds.hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(feeds.hmac, "compare_digest", spy)
    assert app.test_client().get(path).status_code == 200
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert compared == [(digest, digest)], "the feed must check the token with hmac.compare_digest"
    # The database finds the row by the token's hash, never by the token: a guess the attacker
    # controls only ever meets an index of SHA-256 values.
    source = Path(feeds.__file__).read_text()
    assert "FeedToken.token_hash == digest" in source and "== token" not in source


def test_a_revoked_link_answers_404_exactly_like_an_unknown_one(
    app: Flask, login: Callable[[str], FlaskClient]
) -> None:
    client = login("alex")
    path, token = new_link(client)
    outlook = app.test_client()
    first = outlook.get(path)
    assert first.status_code == 200
    unknown = outlook.get(path.replace(token, secrets.token_urlsafe(32)))
    assert client.post("/home-visits/calendar/", data={"revoke": "Stop my calendar link"}).status_code == 200
    revoked = outlook.get(path)
    assert unknown.status_code == revoked.status_code == 404
    assert revoked.get_data() == unknown.get_data() and revoked.headers.get("ETag") is None
    # Not a 304 either, even with the ETag the client still holds.
    assert outlook.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 404
    # A new link replaces the old one: the old stays dead, the new works.
    new_path, _ = new_link(client)
    assert outlook.get(path).status_code == 404 and outlook.get(new_path).status_code == 200


@pytest.mark.parametrize("length", [0, 1, 19, 42, 44, 101, 5000])
def test_tokens_of_the_wrong_length_are_refused_without_a_query(app: Flask, length: int) -> None:
    token = "A" * length
    response = app.test_client().get(f"/home-visits/calendar/{token}.ics")
    assert response.status_code == 404


# --------------------------------------------------------------------------- the logs


@pytest.mark.parametrize("server", ["waitress", "werkzeug"])
def test_no_token_in_any_log_record(tmp_path: Path, server: str, caplog: pytest.LogCaptureFixture,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Create, fetch, poll, mistype, break and revoke a feed through a real server, every logger at DEBUG."""
    caplog.set_level(logging.DEBUG)
    for name in ("werkzeug", "waitress", "waitress.queue", "sqlalchemy.engine", "demo_portal"):
        caplog.set_level(logging.DEBUG, logger=name)
    app = demo_app(tmp_path / "instance")
    with serve(app, server=server, threads=4) as portal:
        client = Client(portal.url)
        client.login("alex")
        csrf = client.csrf_token("/home-visits/calendar/")
        created = client.post("/home-visits/calendar/", {"csrf_token": csrf, "create": "Create my calendar link"})
        found = FEED_URL.search(created.body)
        assert created.status == 200 and found
        path, token = found[1], found[2]
        outlook = Client(portal.url)
        fetched = outlook.get(path)
        assert fetched.status == 200 and "BEGIN:VCALENDAR" in fetched.body
        assert outlook.get(path, headers={"If-None-Match": fetched.headers["ETag"]}).status == 304
        assert outlook.get(path + "?refresh=1").status == 200
        for mistyped in (path.removesuffix(".ics"), path.replace(".ics", ".ICS"), path + "/",
                         path.replace(".ics", ".ical")):
            assert outlook.get(mistyped).status == 404, mistyped
        with monkeypatch.context() as broken:  # the database fails mid-request: Flask logs the exception
            broken.setattr(feed_views.feeds, "etag", lambda *_args: 1 / 0)
            assert outlook.get(path).status == 500
        csrf = client.csrf_token("/home-visits/calendar/")
        assert client.post("/home-visits/calendar/", {"csrf_token": csrf, "revoke": "Stop"}).status == 200
        assert outlook.get(path).status == 404
        client.close()
        outlook.close()
    assert any("ZeroDivisionError" in error for error in portal.errors)
    leaks = []
    for record in caplog.records:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        whole = f"{message}\n{record.exc_text or ''}\n{record.msg!r}\n{record.args!r}"
        if token in whole:
            leaks.append(f"{record.name} {record.levelname}: {message[:300]}")
    assert not leaks, f"the token reached the log through {len(leaks)} record(s):\n" + "\n".join(leaks)
    assert token not in caplog.text
    # The logs were really captured: the requests are there, with the token taken out.
    messages = "\n".join(record.getMessage() for record in caplog.records)
    assert "/calendar/[redacted]" in messages
    if server == "werkzeug":
        assert messages.count("/calendar/[redacted]") >= 8, messages


@pytest.mark.parametrize(("name", "message", "args"), [
    # gunicorn's access log: a dict of atoms (r: request line, U: path, q: query).
    ("gunicorn.access", '%(h)s "%(r)s" %(s)s', {"h": "10.0.0.1", "r": "GET /hv/calendar/{t}.ics HTTP/1.1",
                                                 "U": "/hv/calendar/{t}.ics", "s": "200"}),
    ("gunicorn.error", "Error handling request %s", ("/hv/calendar/{t}.ics?x=1",)),
    ("waitress", "Exception while serving /hv/calendar/{t}.ics", None),
    ("werkzeug", '%s - - [date] "%s" %s %s', ("127.0.0.1", "GET /hv/calendar/{t} HTTP/1.1", "404", "-")),
])
def test_the_filter_cleans_each_servers_log_format(app: Flask, name: str, message: str, args: Any) -> None:
    token = secrets.token_urlsafe(32)
    if isinstance(args, dict):
        args = {key: value.format(t=token) for key, value in args.items()}
    elif args:
        args = tuple(value.format(t=token) for value in args)
    else:
        message = message.format(t=token)
    logger = logging.getLogger(name)
    record = logger.makeRecord(name, logging.INFO, __file__, 1, message, args, None)
    assert all(f.filter(record) for f in logger.filters)  # the filters init_app installed on that logger
    assert token not in record.getMessage() and "/calendar/[redacted]" in record.getMessage()
