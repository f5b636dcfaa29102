"""The directory contract and the pages a host portal's users meet before the plugin lets them in: Role
objects, ids that survive a password change, the 403 page for a user with no role, login redirects that
never 500, and error pages inside the host's own layout."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login import LoginManager, UserMixin
from flask_wtf import FlaskForm

from home_visits import HomeVisits, Person
from home_visits.extension import state
from home_visits.people import AttributeDirectory

from ..conftest import TEST_DATABASE_URI, reset_database

LAYOUT = """<!doctype html><html lang="en"><head><title>{% block title %}{% endblock %} | Exampleton portal</title>
</head><body><nav>Exampleton portal navigation</nav>{% block content %}{% endblock %}</body></html>"""


@dataclass
class Role:
    """A role as Flask-Security-Too and Flask-AppBuilder keep them: an object with a ``name``."""

    name: str


@dataclass(eq=False)
class SecurityUser(UserMixin):
    """A user whose ``get_id()`` changes with each password change, as Flask-Security-Too's does."""

    id: int
    name: str
    roles: list[Role] = field(default_factory=list)
    uniquifier: str = "first"

    def get_id(self) -> str:
        return self.uniquifier


USERS = {
    "first-sam": SecurityUser(1, "Sam Patel", [Role("staff")], "first-sam"),
    "first-alex": SecurityUser(2, "Alex Morgan", [Role("staff"), Role("approver")], "first-alex"),
    "first-gov": SecurityUser(3, "A Governor", [Role("governor"), Role("admin")], "first-gov"),
}


def host(tmp_path: Path, *, login_view: str | None = None, **config: Any) -> Flask:
    """A host portal with Role objects, a changing ``get_id()`` and its own layout."""
    (tmp_path / "templates").mkdir(parents=True, exist_ok=True)
    (tmp_path / "templates" / "layout.html").write_text(LAYOUT)
    app = Flask("role_object_host", root_path=str(tmp_path), instance_path=str(tmp_path / "instance"))
    app.config.update(SECRET_KEY="test", TESTING=True, WTF_CSRF_ENABLED=False,
                      HOME_VISITS_DATABASE_URI=TEST_DATABASE_URI, HOME_VISITS_BASE_TEMPLATE="layout.html", **config)
    if TEST_DATABASE_URI:
        reset_database(TEST_DATABASE_URI)
    manager = LoginManager(app)
    manager.login_view = login_view
    manager.user_loader(lambda uid: next((u for u in USERS.values() if u.get_id() == uid), None))
    HomeVisits(app, users=lambda: list(USERS.values()))
    return app


@pytest.fixture
def app(tmp_path: Path) -> Any:
    app = host(tmp_path)
    yield app
    state(app).engine.dispose()


def sign_in(client: FlaskClient, user: SecurityUser) -> FlaskClient:
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return client


def test_roles_may_be_objects_with_a_name_and_the_id_is_the_users_id(app: Flask) -> None:
    person = state(app).directory.person(USERS["first-alex"])
    assert person.id == "2" and person.roles == {"staff", "approver"}
    assert person.has("approver")
    assert state(app).directory.find("2") == person


def test_person_takes_roles_from_any_iterable_and_ids_as_text() -> None:
    person = Person(7, "Kim Lee", roles=["staff", "office"])  # type: ignore[arg-type]
    assert person.has("office") and person.id == "7" and isinstance(person.roles, frozenset)


def test_the_id_attribute_is_configurable_and_get_id_is_a_warned_fallback(caplog: pytest.LogCaptureFixture) -> None:
    @dataclass
    class Bare(UserMixin):  # no id attribute: only get_id()
        key: str
        staff_number: str
        roles: tuple[str, ...] = ("staff",)

        def get_id(self) -> str:
            return self.key

    by_number = AttributeDirectory(id_attr="staff_number")
    assert by_number.person(Bare("k1", "S042")).id == "S042"
    with caplog.at_level(logging.WARNING, logger="home_visits"):
        fallback = AttributeDirectory()
        assert fallback.person(Bare("k1", "S042")).id == "k1"
        fallback.person(Bare("k2", "S043"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "get_id()" in warnings[0] and "HOME_VISITS_USER_ID_ATTR" in warnings[0]


def test_plans_stay_with_their_lead_when_get_id_changes(app: Flask) -> None:
    client = sign_in(app.test_client(), USERS["first-sam"])
    saved = client.post("/home-visits/new", data={"pupil": "Jamie Smith", "address": "12 Larch Close", "save": "Save"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    sam = USERS.pop("first-sam")
    sam.uniquifier = "after-password-change"
    USERS[sam.uniquifier] = sam
    try:
        again = sign_in(app.test_client(), sam)
        page = again.get(saved.headers["Location"])
        assert page.status_code == 200 and "Jamie Smith" in page.get_data(as_text=True)
        assert "J. S." in again.get("/home-visits/").get_data(as_text=True) or "Jamie" in again.get(
            "/home-visits/").get_data(as_text=True)
    finally:
        USERS.pop(sam.uniquifier)
        sam.uniquifier = "first-sam"
        USERS["first-sam"] = sam


def test_a_user_without_a_plugin_role_is_told_who_grants_them(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    client = sign_in(app.test_client(), USERS["first-gov"])
    with caplog.at_level(logging.INFO, logger="home_visits"):
        response = client.get("/home-visits/")
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Exampleton portal navigation" in page  # inside the host's layout
    assert all(role in page for role in ("staff", "approver", "office")) and "administrator" in page
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any("3" in line and "governor" in line and "admin" in line for line in lines), lines


def test_a_wrong_login_view_gives_a_401_page_and_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = host(tmp_path, login_view="no_such_endpoint")
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        first, second = client.get("/home-visits/"), client.get("/home-visits/approvals")
    for response in (first, second):
        page = response.get_data(as_text=True)
        assert response.status_code == 401, page[:500]
        assert "Exampleton portal navigation" in page and "log in" in page.lower()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if "HOME_VISITS_LOGIN_ENDPOINT" in w]) == 1, warnings
    state(app).engine.dispose()


def test_the_login_endpoint_setting_sends_strangers_to_the_hosts_login_page(tmp_path: Path) -> None:
    app = host(tmp_path, login_view="no_such_endpoint", HOME_VISITS_LOGIN_ENDPOINT="sign_in")
    app.add_url_rule("/sign-in", "sign_in", lambda: "the host's login form")
    response = app.test_client().get("/home-visits/approvals")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")
    assert "approvals" in response.headers["Location"]
    state(app).engine.dispose()


def test_the_hosts_own_login_view_is_used_when_it_builds(tmp_path: Path) -> None:
    app = host(tmp_path, login_view="portal_login")
    app.add_url_rule("/portal-login", "portal_login", lambda: "the host's login form")
    response = app.test_client().get("/home-visits/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/portal-login?next=")
    state(app).engine.dispose()


@pytest.mark.parametrize(
    ("method", "path", "status", "says"),
    [
        ("GET", "/home-visits/999999", 404, "no visit"),
        ("GET", "/home-visits/no-such-page", 404, "no visit"),
        ("GET", "/home-visits/?page=x", 400, "The page number must be a whole number"),
        ("GET", "/home-visits/approvals", 403, "approver"),
        ("PUT", "/home-visits/new", 405, "cannot be"),
    ],
)
def test_error_pages_sit_in_the_hosts_layout(app: Flask, method: str, path: str, status: int, says: str) -> None:
    client = sign_in(app.test_client(), USERS["first-sam"])
    response = client.open(path, method=method)
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert "Exampleton portal navigation" in page and says in page, page
    assert "Home visits" in page  # the plugin's own navigation, so the next step is one click away


def test_a_body_too_large_gets_the_plugins_413_page(app: Flask) -> None:
    client = sign_in(app.test_client(), USERS["first-sam"])
    response = client.post("/home-visits/new", data={"pupil": "x" * (2 * 1024 * 1024)})
    page = response.get_data(as_text=True)
    assert response.status_code == 413 and "Exampleton portal navigation" in page and "too large" in page


def test_the_413_page_renders_when_the_hosts_layout_builds_a_form(app: Flask) -> None:
    """A host whose layout context makes a form (a logout button, as the demo portal's does) reads the
    request's form while the error page renders: the body too large is never read, the page still renders."""
    app.context_processor(lambda: {"logout_form": FlaskForm()})
    client = sign_in(app.test_client(), USERS["first-sam"])
    response = client.post("/home-visits/new", data={"pupil": "x" * (2 * 1024 * 1024)})
    page = response.get_data(as_text=True)
    assert response.status_code == 413 and "Exampleton portal navigation" in page and "too large" in page


def test_the_hosts_own_error_pages_are_left_alone(app: Flask) -> None:
    app.add_url_rule("/timetable", "timetable", lambda: "timetable")
    response = app.test_client().get("/not-the-plugin")
    assert response.status_code == 404 and "Exampleton portal navigation" not in response.get_data(as_text=True)
