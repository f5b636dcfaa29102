"""The plugin in a real Flask-Security-Too portal, driven through Flask-Security's own pages: its login
form (with the CSRF token from the page), its change-password form, and a session that has expired."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from home_visits.extension import state

from . import security_portal
from .journey import (
    authorise,
    calendar_link,
    csrf_token,
    feed_shows,
    file_plan,
    host_app,
    path_of,
    per_school_roles,
    text,
    visit_and_record,
)


@pytest.fixture
def app(tmp_path: Path, built_handbook: Path, deployment: dict[str, Any]) -> Iterator[Flask]:
    app = host_app(security_portal.create_app, tmp_path, built_handbook, deployment)
    yield app
    state(app).engine.dispose()


def log_in(app: Flask, email: str, password: str = security_portal.PASSWORD) -> FlaskClient:
    client = app.test_client()
    form = client.get("/login")
    assert form.status_code == 200
    done = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(form)})
    assert done.status_code == 302, text(done)[:2000]
    return client


def portal_id(app: Flask, email: str) -> str:
    with app.app_context():
        return str(app.security.datastore.find_user(email=email).id)


def change_password(client: FlaskClient, new: str) -> None:
    form = client.get("/change")
    assert form.status_code == 200, text(form)[:1000]
    done = client.post("/change", data={"password": security_portal.PASSWORD, "new_password": new,
                                        "new_password_confirm": new, "csrf_token": csrf_token(form)})
    assert done.status_code == 302, text(done)[:3000]


def test_plans_records_and_the_calendar_link_survive_a_password_change(app: Flask) -> None:
    sam = log_in(app, "sam@school.example")
    with app.app_context():
        before = app.security.datastore.find_user(email="sam@school.example").fs_uniquifier
    visit_id = file_plan(sam, second=portal_id(app, "jo@school.example"),
                         contact=portal_id(app, "office@school.example"))
    authorise(log_in(app, "alex@school.example"), visit_id)
    feed = calendar_link(sam)
    assert feed_shows(app, feed, visit_id)
    record = visit_and_record(app, sam, visit_id)

    change_password(sam, "a brand new passphrase")
    with app.app_context():
        assert app.security.datastore.find_user(email="sam@school.example").fs_uniquifier != before  # get_id() changed
    mine = text(sam.get("/home-visits/"))
    assert "My visits" in mine and f'href="/home-visits/{visit_id}"' in mine  # still theirs...
    assert sam.get(f"/home-visits/{visit_id}").status_code == 200  # ...still open to them...
    assert feed_shows(app, feed, visit_id)  # ...the calendar link still answers, with the visit...
    assert "No answer at the door" in text(sam.get(record))  # ...and the record is still theirs to read
    again = log_in(app, "sam@school.example", "a brand new passphrase")
    assert f'href="/home-visits/{visit_id}"' in text(again.get("/home-visits/"))


def test_pages_sit_in_the_portal_and_the_handbook_link_answers(app: Flask) -> None:
    sam = log_in(app, "sam@school.example")
    page = text(sam.get("/home-visits/"))
    assert "Exampleton staff portal" in page and "signed in as sam@school.example" in page
    handbook = sam.get("/home-visits/handbook/")
    assert 'href="/home-visits/handbook/"' in page and handbook.status_code == 200
    assert "Home visits handbook" in text(handbook)


def test_an_expired_session_goes_to_the_login_page_and_back(app: Flask) -> None:
    sam = log_in(app, "sam@school.example")
    assert sam.get("/home-visits/approvals").status_code == 403  # signed in, not an approver
    sam.delete_cookie("session")  # the session cookie expired
    gone = sam.get("/home-visits/approvals")
    assert gone.status_code == 302 and path_of(gone) == "/login"
    assert parse_qs(urlsplit(gone.headers["Location"]).query)["next"] == ["/home-visits/approvals"]
    alex = app.test_client()  # an approver follows the same link, logs in, and lands on the page they wanted
    form = alex.get(gone.headers["Location"])
    back = alex.post(gone.headers["Location"], data={"email": "alex@school.example", "csrf_token": csrf_token(form),
                                                     "password": security_portal.PASSWORD})
    assert path_of(back) == "/home-visits/approvals"
    assert "Plans awaiting authorisation" in text(alex.get("/home-visits/approvals"))


def test_a_portal_role_the_plugin_does_not_know_gets_a_page_that_says_so(app: Flask,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    governor = log_in(app, "governor@school.example")
    with caplog.at_level(logging.INFO, logger="home_visits"):
        refused = governor.get("/home-visits/")
    page = text(refused)
    assert refused.status_code == 403 and "Exampleton staff portal" in page and "administrator grants" in page
    assert any("governor" in r.getMessage() and portal_id(app, "governor@school.example") in r.getMessage()
               for r in caplog.records)


# --------------------------------------------------------------------------- a trust: roles per school

#: ``per_school_roles``'s names -> the trust portal's emails.
TRUST_EMAILS = {"north-office": "office@north.example", "south-office": "office@south.example",
                **{name: f"{name}@{school}.example" for name, school in [
                    ("ned", "north"), ("nina", "north"), ("noor", "north"), ("sol", "south"), ("sid", "south"),
                    ("sky", "south"), ("tom", "trust")]}}


@pytest.fixture
def trust_app(tmp_path: Path, built_handbook: Path, deployment: dict[str, Any]) -> Iterator[Flask]:
    from ..trust import trust_config

    schools = trust_config(tmp_path / "policies")

    def create_app(config: dict[str, Any], *, instance_path: str) -> Flask:
        return security_portal.create_app(config | schools, instance_path=instance_path,
                                          people=security_portal.TRUST_PEOPLE)

    app = host_app(create_app, tmp_path, built_handbook, deployment)
    yield app
    state(app).engine.dispose()


def test_roles_named_per_school_in_the_portals_role_table_scope_each_person(trust_app: Flask) -> None:
    per_school_roles(lambda name: log_in(trust_app, TRUST_EMAILS[name]),
                     lambda name: portal_id(trust_app, TRUST_EMAILS[name]))
