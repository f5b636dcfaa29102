"""The plugin in a real Flask-AppBuilder portal, driven through AppBuilder's own login form (with the CSRF
token from the page), in AppBuilder's own layout; strangers reach its login page, never a 500."""

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

from . import appbuilder_portal
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
)


@pytest.fixture
def app(tmp_path: Path, built_handbook: Path, deployment: dict[str, Any]) -> Iterator[Flask]:
    app = host_app(appbuilder_portal.create_app, tmp_path, built_handbook, deployment)
    yield app
    state(app).engine.dispose()


def log_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    form = client.get("/login/")
    assert form.status_code == 200
    done = client.post("/login/", data={"username": username, "password": appbuilder_portal.PASSWORD,
                                        "csrf_token": csrf_token(form)})
    assert done.status_code == 302 and path_of(done) != "/login/", text(done)[:2000]
    return client


def portal_id(app: Flask, username: str) -> str:
    with app.app_context():
        return str(app.appbuilder.sm.find_user(username=username).id)


def test_the_whole_journey(app: Flask) -> None:
    sam = log_in(app, "sam")
    visit_id = file_plan(sam, second=portal_id(app, "jo"), contact=portal_id(app, "office"))
    authorise(log_in(app, "alex"), visit_id)
    feed = calendar_link(sam)
    assert feed_shows(app, feed, visit_id)
    mine = text(sam.get("/home-visits/"))
    assert f'href="/home-visits/{visit_id}"' in mine and "Sam Patel" in mine


def test_pages_sit_in_appbuilders_layout_with_their_title(app: Flask) -> None:
    sam = log_in(app, "sam")
    page = text(sam.get("/home-visits/"))
    assert "<title>My visits · Exampleton portal</title>" in page
    assert "navbar" in page and "Exampleton portal" in page  # AppBuilder's own navigation bar
    handbook = sam.get("/home-visits/handbook/")
    assert handbook.status_code == 200 and "Home visits handbook" in text(handbook)
    missing = sam.get("/home-visits/999999")
    assert missing.status_code == 404 and "navbar" in text(missing) and "no visit" in text(missing)


def test_an_expired_session_goes_to_appbuilders_login_page(app: Flask) -> None:
    sam = log_in(app, "sam")
    sam.delete_cookie("session")
    gone = sam.get("/home-visits/calendar/")
    assert gone.status_code == 302 and path_of(gone) == "/login/"
    assert parse_qs(urlsplit(gone.headers["Location"]).query)["next"] == ["/home-visits/calendar/"]


def test_without_the_login_endpoint_strangers_get_a_401_page_not_a_500(app: Flask,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    app.config["HOME_VISITS_LOGIN_ENDPOINT"] = None  # AppBuilder's own login_view, "login", does not exist
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="home_visits"):
        answers = [client.get(path) for path in ("/home-visits/", "/home-visits/new", "/home-visits/handbook/")]
    for response in answers:
        assert response.status_code == 401 and "navbar" in text(response) and "log in" in text(response).lower()
    warnings = [r.getMessage() for r in caplog.records if "HOME_VISITS_LOGIN_ENDPOINT" in r.getMessage()]
    assert len(warnings) == 1 and "'login'" in warnings[0]


# --------------------------------------------------------------------------- a trust: roles per school

#: ``per_school_roles``'s names -> the trust portal's usernames.
TRUST_USERNAMES = {"north-office": "nell", "south-office": "sue"}


@pytest.fixture
def trust_app(tmp_path: Path, built_handbook: Path, deployment: dict[str, Any]) -> Iterator[Flask]:
    from ..trust import trust_config

    schools = trust_config(tmp_path / "policies")

    def create_app(config: dict[str, Any], *, instance_path: str) -> Flask:
        return appbuilder_portal.create_app(config | schools, instance_path=instance_path,
                                            people=appbuilder_portal.TRUST_PEOPLE)

    app = host_app(create_app, tmp_path, built_handbook, deployment)
    yield app
    state(app).engine.dispose()


def test_roles_named_per_school_in_the_portals_role_table_scope_each_person(trust_app: Flask) -> None:
    per_school_roles(lambda name: log_in(trust_app, TRUST_USERNAMES.get(name, name)),
                     lambda name: portal_id(trust_app, TRUST_USERNAMES.get(name, name)))
