"""The journey both host tests walk, through each framework's own pages: helpers that read forms the way a
browser does (CSRF tokens from the page) and check what a person would see."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from home_visits.extension import state

from ..conftest import TEST_DATABASE_URI, Clock, form_data, reset_database, valid_plan


def plugin_config(tmp_path: Any, handbook: Any) -> dict[str, Any]:
    """What the tests (not the recipe) set: the plugin's database, where the built handbook is, CSRF on."""
    if TEST_DATABASE_URI:
        reset_database(TEST_DATABASE_URI)
    return {
        "TESTING": True,
        "HOME_VISITS_DATABASE_URI": TEST_DATABASE_URI or f"sqlite:///{tmp_path / 'home_visits.sqlite'}",
        "HOME_VISITS_HANDBOOK_DIR": str(handbook),
    }


def host_app(create_app: Any, tmp_path: Any, handbook: Any, deployment: dict[str, Any]) -> Flask:
    """A test host's app under one of the suite's configurations (``tests/conftest.py``'s ``deployed``
    one: public URL set, neither debug nor testing, migrations by ``flask home-visits db upgrade``),
    its own users in SQLite beside the plugin's tables, the clock at the conftest's Monday morning."""
    config = plugin_config(tmp_path, handbook) | deployment
    config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'portal.sqlite'}"  # the portal's own users
    app = controlled(create_app(config, instance_path=str(tmp_path / "instance")))
    if not app.config["HOME_VISITS_AUTO_MIGRATE"]:  # the deploy script's step, run through the host's CLI
        upgraded = app.test_cli_runner().invoke(args=["home-visits", "db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
    return app


def controlled(app: Flask) -> Flask:
    """The plugin's clock at the conftest's Monday morning, so the conftest's plan is valid."""
    state(app).clock = Clock()
    return app


def csrf_token(page: TestResponse | str) -> str:
    html = page if isinstance(page, str) else page.get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert found, "no CSRF token on the page:\n" + html[:2000]
    return unescape(found.group(1))


def text(response: TestResponse) -> str:
    return unescape(response.get_data(as_text=True))


def path_of(response: TestResponse) -> str:
    return urlsplit(response.headers["Location"]).path


def file_plan(client: FlaskClient, *, second: str, contact: str) -> int:
    """Sam files the conftest's plan (second member of staff and contact by their portal ids) and submits it."""
    form = client.get("/home-visits/new")
    assert form.status_code == 200, text(form)[:2000]
    data = form_data(valid_plan(), second_staff_id=second, contact_id=contact, csrf_token=csrf_token(form),
                     submit="Continue")
    saved = client.post("/home-visits/new", data=data)  # a draft, then "Check your answers"
    assert saved.status_code == 302 and path_of(saved).endswith("/check"), text(saved)[:3000]
    check = client.get(path_of(saved))
    seen = re.search(r'id="version" name="version" type="hidden" value="(\d+)"', text(check))
    assert "Check your answers" in text(check) and seen, text(check)[:3000]
    sent = client.post(path_of(saved), data={"csrf_token": csrf_token(check), "version": seen[1],
                                             "submit": "Submit for authorisation"})
    assert sent.status_code == 302, text(sent)[:3000]
    return int(path_of(sent).rstrip("/").rsplit("/", 1)[1])


def authorise(client: FlaskClient, visit_id: int) -> None:
    page = client.get(f"/home-visits/{visit_id}")
    assert "Authorise" in text(page), text(page)[:2000]
    seen = re.search(r'id="version" name="version" type="hidden" value="(\d+)"', text(page))
    assert seen, "the decision form carries no version"
    done = client.post(f"/home-visits/{visit_id}/decide",
                       data={"csrf_token": csrf_token(page), "version": seen[1], "authorise": "Authorise"})
    assert done.status_code == 302, text(done)[:2000]
    assert "Authorised" in text(client.get(f"/home-visits/{visit_id}"))


def calendar_link(client: FlaskClient) -> str:
    """Create a calendar link on the Calendar page; the path of the feed URL it shows once."""
    page = client.get("/home-visits/calendar/")
    made = client.post("/home-visits/calendar/",
                       data={"csrf_token": csrf_token(page), "create": "Create my calendar link"})
    found = re.search(r'value="(https?://[^"]+\.ics)"', made.get_data(as_text=True))
    assert made.status_code == 200 and found, text(made)[:2000]
    return urlsplit(unescape(found.group(1))).path


def feed_shows(app: Flask, feed_path: str, visit_id: int) -> bool:
    """Fetch the feed as Outlook does: no cookies, no login."""
    response = app.test_client().get(feed_path)
    assert response.status_code == 200, response.status
    return f"home-visit-{visit_id}@" in response.get_data(as_text=True).replace("\r\n ", "")


def visit_and_record(app: Flask, client: FlaskClient, visit_id: int) -> str:
    """The lead checks out at the start, is back safe at the expected return, and submits the record (nobody
    answered); the record page's address."""
    clock = state(app).clock
    clock.advance(days=2, hours=2)  # Wednesday 10:00, when the conftest's plan starts
    page = client.get(f"/home-visits/{visit_id}")
    assert client.post(f"/home-visits/{visit_id}/check-out", data={"csrf_token": csrf_token(page)}).status_code == 302
    clock.advance(hours=1)
    page = client.get(f"/home-visits/{visit_id}")
    assert client.post(f"/home-visits/{visit_id}/check-in", data={"csrf_token": csrf_token(page)}).status_code == 302
    record = f"/home-visits/{visit_id}/record"
    form = client.get(record)
    sent = client.post(record, data={"outcome": "no_answer", "day": "2026-03-04", "submit": "Submit",
                                     "csrf_token": csrf_token(form)})
    assert sent.status_code == 302, text(sent)[:3000]
    assert "No answer at the door" in text(client.get(record))
    return record


def per_school_roles(log_in: Any, portal_id: Any) -> None:
    """A trust's portal whose own role table holds ``north:staff``, ``south:approver``, ``trust:office``
    (``tests/trust.py``'s schools; each host's ``TRUST_PEOPLE``): staff plan at their school, its approver
    authorises, and nobody of the other school can open the visit (404, never 403); the trust's lead sees
    both. ``log_in(name)`` and ``portal_id(name)`` take the names ned, nina, noor, north-office, sol, sid,
    sky, south-office and tom."""
    north = file_plan(log_in("ned"), second=portal_id("nina"), contact=portal_id("north-office"))
    south = file_plan(log_in("sol"), second=portal_id("sid"), contact=portal_id("south-office"))
    noor, sky = log_in("noor"), log_in("sky")
    assert "North Primary" in text(noor.get(f"/home-visits/{north}"))
    authorise(noor, north)
    for outsider, visit in [(sky, north), (log_in("south-office"), north), (log_in("sid"), north),
                            (noor, south), (log_in("north-office"), south), (log_in("nina"), south)]:
        assert outsider.get(f"/home-visits/{visit}").status_code == 404
        assert outsider.get(f"/home-visits/{visit}/card").status_code == 404
    queue = text(sky.get("/home-visits/approvals"))
    assert f'href="/home-visits/{south}"' in queue and f'href="/home-visits/{north}"' not in queue
    page = sky.get(f"/home-visits/{north}")
    refused = sky.post(f"/home-visits/{north}/decide", data={"csrf_token": csrf_token(text(sky.get(
        "/home-visits/approvals"))), "version": "1", "authorise": "Authorise"})
    assert page.status_code == refused.status_code == 404
    authorise(sky, south)
    tom = log_in("tom")
    everything = text(tom.get("/home-visits/?scope=all"))
    assert f'href="/home-visits/{north}"' in everything and f'href="/home-visits/{south}"' in everything
    assert tom.get(f"/home-visits/{north}").status_code == tom.get(f"/home-visits/{south}").status_code == 200
