"""A staff portal on Flask-AppBuilder, as its documentation builds one: SQLA, AppBuilder with its database
authentication (its own User and Role models, login page and layout). AppBuilder's Flask-Login
``login_view`` is ``"login"``, an endpoint it does not have; its title block is ``page_title``."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_appbuilder import AppBuilder
from flask_appbuilder.models.sqla.base import SQLA

from home_visits import HomeVisits

#: Who works here: (username, first name, last name, email, roles). ``Admin`` is AppBuilder's own role.
PEOPLE = [
    ("sam", "Sam", "Patel", "sam@school.example", ["staff"]),
    ("jo", "Jo", "Jones", "jo@school.example", ["staff"]),
    ("alex", "Alex", "Morgan", "alex@school.example", ["staff", "approver"]),
    ("office", "School", "Office", "office@school.example", ["office"]),
    ("admin", "Portal", "Admin", "admin@school.example", ["Admin"]),
]
PASSWORD = "correct horse battery staple"

#: A trust's portal (``tests/trust.py``'s schools): roles named per school in **Security > List Roles**.
TRUST_PEOPLE = [
    ("ned", "Ned", "North", "ned@north.example", ["north:staff"]),
    ("nina", "Nina", "North", "nina@north.example", ["north:staff"]),
    ("noor", "Noor", "North", "noor@north.example", ["north:approver"]),
    ("nell", "North", "Office", "office@north.example", ["north:office"]),
    ("sol", "Sol", "South", "sol@south.example", ["south:staff"]),
    ("sid", "Sid", "South", "sid@south.example", ["south:staff"]),
    ("sky", "Sky", "South", "sky@south.example", ["south:approver"]),
    ("sue", "South", "Office", "office@south.example", ["south:office"]),
    ("tom", "Tom", "Trust", "tom@trust.example", ["trust:approver", "trust:office", "trust:dsl"]),
]


def create_app(config: dict[str, Any] | None = None, *, instance_path: str | None = None,
               people: list[tuple[str, str, str, str, list[str]]] = PEOPLE) -> Flask:
    app = Flask(__name__, instance_path=instance_path)
    app.config.update(SECRET_KEY="a test secret", SQLALCHEMY_DATABASE_URI="sqlite://", APP_NAME="Exampleton portal")
    app.config.update(config or {})
    db = SQLA()
    appbuilder = AppBuilder()
    with app.app_context():
        db.init_app(app)
        appbuilder.init_app(app, db.session)

    # recipe: Flask-AppBuilder
    app.config["HOME_VISITS_BASE_TEMPLATE"] = "home_visits/appbuilder.html"  # AppBuilder's layout and menu
    app.config["HOME_VISITS_LOGIN_ENDPOINT"] = "AuthDBView.login"  # AppBuilder's login page
    app.context_processor(lambda: {"appbuilder": appbuilder, "base_template": appbuilder.base_template})
    home_visits = HomeVisits()
    home_visits.init_app(app, users=appbuilder.sm.get_all_users)
    # end of recipe

    with app.app_context():
        sm = appbuilder.sm
        for username, first, last, email, roles in people:
            if sm.find_user(username=username) is None:
                found = [sm.find_role(name) or sm.add_role(name) for name in roles]
                sm.add_user(username, first, last, email, found, password=PASSWORD)
    return app
